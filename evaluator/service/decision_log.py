"""The decision log, and its replay.

The log (opt-in) is a JSON Lines file, appended to and flushed as each decision is made: what an
auditor needs to prove which rules produced which decision (modelled on OPA's decision logs). A
record names the decision (a uuid4), its time (UTC), the policy version that made it and the sha256
of that version's file, the sha256 of the application (of its canonical JSON, ``jsontext``) and of
the decision's JSON, the status and the grant. The application itself is stored only when asked.

``replay`` decides the stored applications again and reports every decision that would differ:
another status, grant, version, or any other content of the decision.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from evaluator.core.application import build_application, mapping_document, submission_date
from evaluator.core.decision import Decision, money_text
from evaluator.core.engine import evaluate
from evaluator.reading import jsontext
from evaluator.reading.files import os_error_text
from evaluator.reading.parse import json_line_document
from evaluator.reading.problems import InputError, Problem
from evaluator.versions.registry import Registry

LOG_FORMAT = "1"
_FIELDS = ("decision_id", "timestamp", "policy_id", "policy_version", "policy_sha256", "input_sha256",
           "decision_sha256", "status", "grant_total")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def input_digest(application: Any) -> str:
    """The sha256 of an application's canonical JSON: the same for the same data, however it was
    written (key order, spaces, ``1250.50`` or ``1250.5``)."""
    return sha256(jsontext.canonical(application))


def utc_now() -> str:
    """``2026-07-01T09:30:00.123456Z``."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LogRecord:
    """One line of the log."""

    decision_id: str
    timestamp: str
    policy_id: str
    policy_version: str
    policy_sha256: str
    input_sha256: str
    decision_sha256: str
    status: str
    grant_total: str
    reference: str | None = None
    requested_version: str | None = None
    input: bytes | None = None
    """The application's canonical JSON, when the log stores inputs; else ``None``."""

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"format": LOG_FORMAT}
        record.update((name, getattr(self, name)) for name in _FIELDS)
        record["reference"] = self.reference
        record["requested_version"] = self.requested_version
        if self.input is not None:
            record["input"] = orjson.Fragment(self.input)
        return record

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())


def record_for(decision: Decision, application: Any, *, decision_bytes: bytes | None = None,
               requested_version: str | None = None, store_input: bool = False,
               decision_id: str | None = None) -> LogRecord:
    """The log record of ``decision``, made from ``application`` (the decoded data it was asked for)."""
    policy = decision.applied
    canonical = jsontext.canonical(application)
    return LogRecord(
        decision_id=decision_id or str(uuid.uuid4()),
        timestamp=utc_now(),
        policy_id=policy.id,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        input_sha256=sha256(canonical),
        decision_sha256=sha256(decision_bytes if decision_bytes is not None else decision.to_bytes()),
        status=decision.status,
        grant_total=money_text(decision.amounts.grant_total),
        reference=decision.reference,
        requested_version=requested_version,
        input=canonical if store_input else None,
    )


class LogFailure(Exception):
    """A record that could not be written, and why (``reason``, in French): nothing of it is left in
    the log."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"écriture impossible dans le journal des décisions {path} : {reason} ; "
                         "rien n'en a été gardé")
        self.reason = reason


class DecisionLog:
    """An append-only JSON Lines file of decisions, safe to share between threads and processes.

    A record is written whole or not at all: under a lock (a thread lock, and ``flock`` for other
    processes), it is appended by ``write`` calls on an unbuffered descriptor, so it reaches the file
    (the operating system) before ``record`` returns and never interleaves with another. A write that
    fails or stops short (a full disk, a file size limit) is undone: the file is cut back to the end
    of the last whole record, and ``record`` raises ``LogFailure`` — the service then refuses to give
    a decision it did not log (503). A log that ends with part of a line (a power cut) is never
    appended to: the part is ended first, an unreadable line that ``replay`` reports, and the next
    record starts on a line of its own."""

    def __init__(self, path: Path, *, store_input: bool = False) -> None:
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise InputError([Problem(str(path), f"journal des décisions impossible à ouvrir : {os_error_text(error)}")]
                             ) from None
        self.path = path
        self.store_input = store_input
        self._lock = threading.Lock()

    def record(self, decision: Decision, application: Any, *, decision_bytes: bytes | None = None,
               requested_version: str | None = None, decision_id: str | None = None) -> LogRecord:
        """Append the record of ``decision``; returns it (its ``decision_id`` names the decision).
        Raises ``LogFailure`` when it cannot be written (nothing of it is then in the log)."""
        record = record_for(decision, application, decision_bytes=decision_bytes,
                            requested_version=requested_version, store_input=self.store_input,
                            decision_id=decision_id)
        self._append(record.to_bytes() + b"\n")
        return record

    def _append(self, line: bytes) -> None:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                end = os.lseek(self._fd, 0, os.SEEK_END)
                if end and os.pread(self._fd, 1, end - 1) != b"\n":
                    line = b"\n" + line  # a part of a line left by a crash: ended, never appended to
                self._write_whole(line, end)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _write_whole(self, line: bytes, end: int) -> None:
        """Write ``line`` at ``end``, the end of the file; on failure, cut the file back to ``end``."""
        rest = memoryview(line)
        try:
            while rest:
                written = os.write(self._fd, rest)
                if not written:  # (a regular file takes at least a byte, or says why not)
                    raise OSError(errno.ENOSPC, "nothing written")
                rest = rest[written:]
        except OSError as error:
            with suppress(OSError):  # else the part left is ended by the next record (``_append``)
                os.ftruncate(self._fd, end)
            raise LogFailure(self.path, os_error_text(error)) from None

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Difference:
    """A logged decision that would not be the same today: where it is logged, and what changes."""

    line: int
    decision_id: str
    reference: str | None
    changes: tuple[str, ...]

    def render(self, source: str) -> str:
        dossier = f" (dossier {self.reference})" if self.reference else ""
        return "\n".join([f"{source}:{self.line} : la décision {self.decision_id}{dossier} serait différente :",
                          *(f"    {change}" for change in self.changes)])


@dataclass(frozen=True)
class Replay:
    """What a replay found."""

    same: int
    differences: tuple[Difference, ...]
    without_input: int
    problems: tuple[Problem, ...]

    @property
    def replayed(self) -> int:
        return self.same + len(self.differences)

    def summary(self) -> str:
        """``12 décisions rejouées : 11 identiques, 1 différente ; 3 sans demande enregistrée.``"""
        text = (f"{_count(self.replayed, 'décision rejouée', 'décisions rejouées')} : "
                f"{_count(self.same, 'identique', 'identiques')}, "
                f"{_count(len(self.differences), 'différente', 'différentes')}")
        if self.without_input:
            text += " ; " + _count(self.without_input, "sans demande enregistrée (non rejouée)",
                                   "sans demande enregistrée (non rejouées)")
        if self.problems:
            text += f" ; {_count(len(self.problems), 'ligne illisible', 'lignes illisibles')}"
        return text + "."


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {many if count > 1 else one}"


def replay(registry: Registry, lines: Iterable[tuple[int, str]], source: str, *,
           same_version: bool = False) -> Replay:
    """Decide again each logged application that the log stores (``lines``: the numbered lines of
    the log, ``parse.json_lines``), with the same choice of version as when it was logged — or
    with the very version that decided it (``same_version``) — and compare."""
    same = without_input = 0
    differences: list[Difference] = []
    problems: list[Problem] = []
    for number, record in _records(lines, source, problems):
        if "input" not in record:
            without_input += 1
            continue
        changes = _changes(registry, record, source, same_version)
        if changes:
            differences.append(Difference(number, record["decision_id"], record.get("reference"), tuple(changes)))
        else:
            same += 1
    return Replay(same, tuple(differences), without_input, tuple(problems))


def _records(lines: Iterable[tuple[int, str]], source: str,
             problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in lines:
        try:
            data = json_line_document(line, source, number).data
        except InputError as error:
            problems.extend(error.problems)
            continue
        if not isinstance(data, dict):
            problems.append(Problem(source, "un enregistrement du journal est un objet JSON", number))
            continue
        missing = [name for name in _FIELDS if not isinstance(data.get(name), str)]
        if missing:
            names = ", ".join(f"« {name} »" for name in missing)
            problems.append(Problem(source, f"enregistrement incomplet : {names} manquant ou mal formé", number,
                                    hint="le journal est écrit par « guichet serve --decision-log » : "
                                         "ne le modifiez pas"))
            continue
        yield number, data


def _changes(registry: Registry, record: dict[str, Any], source: str, same_version: bool) -> list[str]:
    application = record["input"]
    try:
        intact = input_digest(application) == record["input_sha256"]
    except TypeError:  # a number with no JSON form (NaN, 1e999999999): the service never logged one
        intact = False
    if not intact:
        return ["la demande enregistrée ne correspond plus à son empreinte (journal modifié ?)"]
    requested = record.get("requested_version")
    requested = requested if isinstance(requested, str) else None
    try:
        document = mapping_document(application, source)
        if same_version and requested is None:  # the very version, as if chosen by the date (as it was)
            policy = registry.version(record["policy_version"])
            built = build_application(document, registry.checked(policy))
            decision = evaluate(policy, built, submission_date(document))
        else:  # a version named is the version that decided; the decision says if it was outside its dates
            decision = registry.decide(document, requested)
    except InputError as error:
        return [f"la demande serait refusée : {error.problems[0].message}"
                + (f" (et {len(error.problems) - 1} autre(s) problème(s))" if len(error.problems) > 1 else "")]
    now = record_for(decision, application)
    changes = [f"{label} : {record[name]} → {getattr(now, name)}"
               for name, label in (("policy_version", "version de la politique"), ("status", "statut"),
                                   ("grant_total", "subvention"))
               if record[name] != getattr(now, name)]
    if record["policy_sha256"] != now.policy_sha256 and record["policy_version"] == now.policy_version:
        changes.append(f"empreinte de la version {now.policy_version} : {record['policy_sha256'][:12]}… → "
                       f"{now.policy_sha256[:12]}…")
    if not changes and record["decision_sha256"] != now.decision_sha256:
        changes.append("contenu de la décision (constats, montants détaillés, messages…) : empreinte "
                       f"{record['decision_sha256'][:12]}… → {now.decision_sha256[:12]}…")
    return changes
