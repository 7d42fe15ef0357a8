"""Faults while the product writes (issue 14): a full disk, a file size limit, a write that stops
short. Nothing is torn and nothing is half published: a decision log record is written whole or
not at all (and a decision that could not be logged is not given), and a publication leaves, at
every moment and after a failure at any of its writes, either the draft it was or the version
published and locked."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ROOT, policy_directory
from evaluator import DecisionLog, InputError, LiveRegistry, Registry
from evaluator.service.decision_log import LogFailure
from evaluator.service.http import create_app
from evaluator.versions.authoring import new_draft, publish
from evaluator.versions.lock import read_lock
from live_server import running


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of a log, each a whole record (``json.loads`` fails on a torn one)."""
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").split("\n")[:-1]]


def failing_writes(monkeypatch: pytest.MonkeyPatch, *, after: int, short: bool = True) -> None:
    """``os.write`` on a log writes ``after`` calls normally; then the disk is full: a call writes
    part of what it is given (``short``) and the next ones fail with ``ENOSPC``."""
    write = os.write
    calls = [0]

    def full(descriptor: int, data: Any) -> int:
        calls[0] += 1
        if calls[0] <= after:
            return write(descriptor, data)
        if short and calls[0] == after + 1:
            return write(descriptor, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)


# The decision log


def test_a_record_that_cannot_be_written_whole_leaves_nothing(tmp_path: Path, application, monkeypatch):
    """Half a record written, then a full disk: the half is taken back, ``LogFailure`` says so in
    French, and once there is room again the next record starts on its own line."""
    decision = Registry.default().evaluate(application)
    path = tmp_path / "decisions.jsonl"
    with DecisionLog(path, store_input=True) as log:
        log.record(decision, application)
        kept = path.read_bytes()
        failing_writes(monkeypatch, after=0)
        for _ in range(2):  # a short write, then a write that fails at once
            with pytest.raises(LogFailure) as raised:
                log.record(decision, application)
            assert path.read_bytes() == kept
        assert "plus de place sur le disque" in str(raised.value) and "rien n'en a été gardé" in str(raised.value)
        monkeypatch.undo()
        log.record(decision, application)
    assert len(records(path)) == 2


def test_a_log_that_ends_with_part_of_a_line_is_never_appended_to(tmp_path: Path, application):
    """A power cut left part of a record: the next one is not glued to it."""
    path = tmp_path / "decisions.jsonl"
    path.write_bytes(b'{"format":"1","decision_id":"a1b2')
    with DecisionLog(path) as log:
        record = log.record(Registry.default().evaluate(application), application)
    part, line = path.read_bytes().decode("utf-8").split("\n")[:2]
    assert part == '{"format":"1","decision_id":"a1b2' and json.loads(line)["decision_id"] == record.decision_id


LIMITED = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from evaluator import DecisionLog, Registry
    from evaluator.service.decision_log import LogFailure

    application = json.loads(sys.argv[2])
    decision = Registry.default().evaluate(application)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails (EFBIG), short first
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
    logged = failed = 0
    with DecisionLog(Path(sys.argv[1]), store_input=True) as log:
        for _ in range(20):
            try:
                log.record(decision, application)
                logged += 1
            except LogFailure as failure:
                failed += 1
                reason = failure.reason
    print(json.dumps({"logged": logged, "failed": failed, "reason": reason}))
""")


def test_a_file_size_limit_reached_mid_record_leaves_whole_records(tmp_path: Path, application):
    """A real fault: the process may not write beyond 2.5 records (``RLIMIT_FSIZE``), so that a
    write stops short, then fails. The log keeps the whole records, nothing of the third."""
    path = tmp_path / "decisions.jsonl"
    with DecisionLog(path, store_input=True) as log:
        log.record(Registry.default().evaluate(application), application)
    size = len(path.read_bytes())
    path.unlink()
    result = subprocess.run([sys.executable, "-c", LIMITED, str(path), json.dumps(application), str(size * 5 // 2)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome == {"logged": 2, "failed": 18, "reason": "fichier trop volumineux pour le système"}
    assert len(records(path)) == 2 and path.stat().st_size < size * 5 // 2


def test_a_decision_that_cannot_be_logged_is_not_given(tmp_path: Path, application, monkeypatch, caplog):
    """The service answers 503 (not the decision) when its record cannot be written; in a batch,
    that application alone gets an error record. The log holds only the decisions given."""
    path = tmp_path / "decisions.jsonl"
    with DecisionLog(path) as log, running(create_app(LiveRegistry(), decision_log=log)) as base, \
            httpx.Client(base_url=base, timeout=10) as session:
        given = session.post("/v1/decisions", json=application)
        failing_writes(monkeypatch, after=0)  # the next record is cut short, then nothing goes
        refused = session.post("/v1/decisions", json=application)
        batch = session.post("/v1/decisions:batch", json=[application, application])
        monkeypatch.undo()
        after = session.post("/v1/decisions", json=application)
    assert given.status_code == after.status_code == 200
    assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
    body = refused.json()
    assert body["message"] == "décision non rendue : elle n'a pas pu être consignée dans le journal des décisions"
    assert body["problems"][0]["message"].endswith("journal des décisions : plus de place sur le disque")
    assert str(path) not in refused.text  # the service's files are not shown
    assert [item["status"] for item in batch.json()] == ["error", "error"]
    assert "non rendue" in batch.json()[0]["problems"][0]["message"]
    ids = [record["decision_id"] for record in records(path)]
    assert ids == [given.headers["guichet-decision-id"], after.headers["guichet-decision-id"]]
    assert "décision non rendue" in caplog.text


# Publishing


def _published_states(directory: Path) -> str:
    """What the directory says of version 1.1, checked as ``guichet validate`` checks it."""
    registry = Registry.from_directory(directory)  # raises when the set is not consistent
    status = registry.version("1.1").status
    locked = "1.1" in read_lock(directory)
    assert (status == "published") == locked, "file and lock disagree"
    return status


def _draft(tmp_path: Path) -> Path:
    directory = policy_directory(tmp_path)
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    return directory


WRITE_STEPS = [(name, number) for name in ("fsync", "replace") for number in range(1, 7 if name == "fsync" else 4)]
"""Each system call of a publication's writes that can fail: three files written (the lock
pending, the version, the lock confirmed), each flushed to disk and renamed, then its directory
flushed (where the system can: a failure there is not one of the publication)."""


@pytest.mark.parametrize(("call", "number"), WRITE_STEPS)
def test_a_publication_that_fails_at_any_write_leaves_draft_or_published(tmp_path: Path, monkeypatch,
                                                                         call: str, number: int):
    directory = _draft(tmp_path)
    real: Callable[..., Any] = getattr(os, call)
    calls = [0]

    def failing(*args: Any) -> Any:
        calls[0] += 1
        if calls[0] == number:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args)

    monkeypatch.setattr(os, call, failing)
    try:
        publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
        failed = None
    except InputError as error:
        failed = "\n".join(problem.render() for problem in error.problems)
    monkeypatch.undo()
    assert sorted(p.name for p in directory.iterdir()) == ["1.0.yaml", "1.1.yaml", "lock.json"]  # nothing beside
    state = _published_states(directory)
    if failed is not None:
        assert "écriture impossible : plus de place sur le disque" in failed
        assert state == ("published" if "est publiée et verrouillée" in failed else "draft"), failed
        again = publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))  # room again: it goes through
        assert again.policy.status == "published" and _published_states(directory) == "published"
    assert state == "published" or failed is not None
    assert "pending" not in (directory / "lock.json").read_text(encoding="utf-8")


def test_a_publication_is_consistent_at_every_moment(tmp_path: Path, monkeypatch):
    """Whoever reads the directory between two of a publication's writes (a service reloading,
    ``guichet validate``) sees the draft, then the version published and locked, never a mix."""
    directory = _draft(tmp_path)
    replace = os.replace
    seen: list[str] = []

    def observed(source: Any, target: Any) -> None:
        replace(source, target)
        seen.append(_published_states(directory))

    monkeypatch.setattr(os, "replace", observed)
    publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
    assert seen == ["draft", "published", "published"]


def test_a_full_disk_before_the_lock_is_confirmed_is_finished_by_publishing_again(tmp_path: Path, monkeypatch):
    directory = _draft(tmp_path)
    replace = os.replace
    calls = [0]

    def third_fails(source: Any, target: Any) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(os, "replace", third_fails)
    with pytest.raises(InputError) as raised:
        publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
    monkeypatch.undo()
    assert "relancez « guichet policy publish 1.1 »" in raised.value.problems[-1].hint
    assert '"pending": true' in (directory / "lock.json").read_text(encoding="utf-8")
    assert _published_states(directory) == "published"
    publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))  # confirms the entry
    assert "pending" not in (directory / "lock.json").read_text(encoding="utf-8")
    with pytest.raises(InputError, match="déjà publiée"):
        publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
