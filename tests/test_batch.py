"""guichet batch: streaming in blocks, several workers, output in input order, every record naming
its line; a batch interrupted or failing stops its workers and leaves whole records of the first
lines, nothing after them, and says how far it went."""

from __future__ import annotations

import errno
import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from openpyxl import load_workbook

from evaluator import InputError, Registry
from evaluator.core.application import accepted_line
from evaluator.core.summary import summary_bytes
from evaluator.reading.parse import Document
from evaluator.reading.problems import Refused
from evaluator.service.batch import Block, Failed, Render, Tally, blocks, decide_block, run, summaries
from evaluator.workbook.convert import to_workbook
from evaluator.workbook.layout import layout
from evaluator.workbook.reading import read_workbook
from strategies import applications

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DECISION_SCHEMA = json.loads((ROOT / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))


def _applications(count: int, seed: int = 7) -> list[str]:
    sys.path.insert(0, str(BENCH))
    from generate import applications

    return [json.dumps(item, ensure_ascii=False) for item in applications(count, seed=seed)]


@pytest.fixture(scope="module")
def portfolio() -> bytes:
    """120 applications of the benchmarks' generator, three lines spoilt."""
    lines = _applications(120)
    lines[10] = '{"submitted_on": "2026-07-01"'          # not JSON
    lines[20] = "   "                                     # blank: skipped
    lines[30] = '{"applicant": {}}'                       # not an application
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def _records(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_every_line_is_answered_in_order_and_named(registry: Registry, portfolio: bytes):
    output = io.BytesIO()
    tally = run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=1)
    records = _records(output.getvalue())
    assert tally == Tally(decided=117, refused=2, lines=120)
    assert [r["line"] for r in records] == [n for n in range(1, 121) if n != 21]
    assert records[0]["reference"] == "BENCH-0000000"
    assert [r["line"] for r in records if r["status"] == "error"] == [11, 31]
    assert records[-1]["reference"] == "BENCH-0000119"


def test_a_decision_record_is_the_decision_with_its_line_first(registry: Registry, portfolio: bytes):
    """The line number is spliced in front of the decision's own bytes, which are otherwise as
    ``guichet evaluate --format json`` gives them; the record is a decision of the schema."""
    output = io.BytesIO()
    run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=1)
    written = output.getvalue().splitlines()
    raw = portfolio.split(b"\n")[41]
    document = accepted_line(raw + b"\n", "lot.jsonl", 42)
    assert document is not None
    alone = registry.decide(document, None).to_bytes()
    assert alone.startswith(b"{")
    assert written[40] == b'{"line":42,' + alone[1:]
    record = json.loads(written[40])
    assert next(iter(record)) == "line"
    jsonschema.validate(record, DECISION_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "line": 0}, DECISION_SCHEMA)


def test_error_records_name_their_line_and_problems(registry: Registry, portfolio: bytes):
    output = io.BytesIO()
    run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
    errors = [r for r in _records(output.getvalue()) if r["status"] == "error"]
    assert [list(r) for r in errors] == [["line", "status", "problems"]] * 2
    for record in errors:
        problems = record["problems"]
        assert isinstance(problems, list) and problems
        assert all(p["line"] == record["line"] and p["source"] == "lot.jsonl" for p in problems)


@pytest.mark.parametrize("workers", [2, 3])
def test_several_workers_write_the_same_bytes(registry: Registry, portfolio: bytes, monkeypatch, tmp_path: Path,
                                              workers: int):
    """To memory and to a file (written through its descriptor), whatever the number of workers."""
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 20_000)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    shared = io.BytesIO()
    assert run(registry, io.BytesIO(portfolio), shared, "lot.jsonl", workers=workers) == Tally(117, 2, 120)
    assert shared.getvalue() == alone.getvalue()
    target = tmp_path / "decisions.jsonl"
    with target.open("wb") as output:
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=workers)
    assert target.read_bytes() == alone.getvalue()
    assert multiprocessing.active_children() == []


def test_blocks_of_blank_lines_give_nothing_and_keep_the_numbers(registry: Registry, portfolio: bytes, monkeypatch):
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 20_000)
    spaced = b"\n" * 50_000 + portfolio.removeprefix("\ufeff".encode())
    output = io.BytesIO()
    assert run(registry, io.BytesIO(spaced), output, "lot.jsonl", workers=2) == Tally(117, 2, 50_120)
    assert [r["line"] for r in _records(output.getvalue())] == [n + 50_000 for n in range(1, 121) if n != 21]


@pytest.mark.parametrize("mode", ["wb", "ab"])
def test_the_records_follow_what_the_file_holds(registry: Registry, portfolio: bytes, monkeypatch, tmp_path: Path,
                                                mode: str):
    """What was written to the file before (still in its buffer, or there already when it is open
    for appending) stays first; what is written after the batch comes after its records."""
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 7_000)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    target = tmp_path / "decisions.jsonl"
    target.write_bytes(b"lot du 2 mars\n" if mode == "ab" else b"")
    with target.open(mode) as output:
        output.write(b"" if mode == "ab" else b"lot du 2 mars\n")
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
        output.write(b"fin\n")
    assert target.read_bytes() == b"lot du 2 mars\n" + alone.getvalue() + b"fin\n"


def test_a_write_that_fails_midway_leaves_whole_records(registry: Registry, portfolio: bytes, monkeypatch,
                                                        tmp_path: Path):
    """A disk that fills up in the middle of a block: the part of the block written is taken back,
    the file ends with the last whole block, and ``progress`` was told of exactly what it holds."""
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 20_000)
    real, calls = os.write, []

    def filling(descriptor: int, data) -> int:
        calls.append(len(data))
        if len(calls) == 3:  # the third block: half of it, then the disk is full
            return real(descriptor, bytes(data[:len(data) // 2]))
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(descriptor, data)

    monkeypatch.setattr(os, "write", filling)
    told: list[Tally] = []
    target = tmp_path / "decisions.jsonl"
    with target.open("wb") as output, pytest.raises(OSError) as raised:
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=1, progress=told.append)
    assert raised.value.errno == errno.ENOSPC
    written = target.read_bytes()
    assert written.endswith(b"\n")
    records = _records(written)
    assert len(told) == 2 and told[-1].decided + told[-1].refused == len(records)
    assert [r["line"] for r in records] == [n for n in range(1, told[-1].lines + 1) if n != 21]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_block_that_fails_stops_the_batch(registry: Registry, portfolio: bytes, monkeypatch, tmp_path: Path,
                                            workers: int):
    """An error deciding a block (a bug) stops the batch with its text, in a worker as in this
    process; no worker is left, nothing waits for ever, and the blocks before are written."""
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 20_000)
    real = decide_block

    def failing(registry: Registry, block: Block, source: str, version: str | None,
                render: Render) -> tuple[bytes, Tally]:
        if block.first_line > 30:
            raise RuntimeError("panne simulée")
        return real(registry, block, source, version, render)

    monkeypatch.setattr("evaluator.service.batch.decide_block", failing)
    target = tmp_path / "decisions.jsonl"
    error = _raised_within_a_minute(lambda: _run_to(registry, portfolio, target, workers))
    assert isinstance(error, Failed) and str(error) == "RuntimeError: panne simulée"
    assert multiprocessing.active_children() == []
    lines = [r["line"] for r in _records(target.read_bytes())]
    assert lines and lines == [n for n in range(1, lines[-1] + 1) if n != 21] and lines[-1] < 100


def _run_to(registry: Registry, portfolio: bytes, target: Path, workers: int) -> None:
    with target.open("wb") as output:
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=workers)


def _raised_within_a_minute(attempt: Callable[[], None]) -> BaseException | None:
    outcome: list[BaseException] = []

    def attempting() -> None:
        try:
            attempt()
        except Exception as error:  # what it raised is what the test looks at
            outcome.append(error)

    thread = threading.Thread(target=attempting, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the batch hung"
    return outcome[0] if outcome else None


def test_an_amount_is_read_as_written_whatever_the_lines_before(registry: Registry):
    """``1234.50`` and ``1234.5`` are equal numbers, written differently: the second line's decision
    is the same after the first as alone."""
    sys.path.insert(0, str(BENCH))
    from generate import applications

    item = next(iter(applications(1, seed=7)))
    item["expenses"] = [{"kind": "licence", "amount": 1234.0, "entity": item["applicant"]["siren"]}]
    written = json.dumps(item, ensure_ascii=False)
    first, second = written.replace("1234.0", "1234.50"), written.replace("1234.0", "1234.5")
    after, alone = io.BytesIO(), io.BytesIO()
    run(registry, io.BytesIO(f"{first}\n{second}\n".encode()), after, "lot.jsonl")
    run(registry, io.BytesIO(f"{second}\n".encode()), alone, "lot.jsonl")
    assert after.getvalue().splitlines()[1].removeprefix(b'{"line":2,') == \
        alone.getvalue().splitlines()[0].removeprefix(b'{"line":1,')
    assert b'"eligible_licence":"1234.5"' in alone.getvalue()


def test_blocks_end_at_line_ends_and_count_lines():
    data = b"a\nbb\n\nccc\ndddd"
    cut = list(blocks(io.BytesIO(data), "lot.jsonl", size=3))
    assert b"".join(block.data for block in cut) == data
    assert all(block.data.endswith(b"\n") for block in cut[:-1])
    assert [block.first_line for block in cut] == [1 + block_lines for block_lines in _lines_before(cut)]
    assert cut[0] == Block(1, b"a\n")


def test_a_long_line_read_in_many_pieces_is_one_block():
    data = b"x" * 50 + b"\nyy\n" + b"z" * 30
    cut = list(blocks(io.BytesIO(data), "lot.jsonl", size=4))
    assert cut == [Block(1, b"x" * 50 + b"\n"), Block(2, b"yy\n"), Block(3, b"z" * 30)]


def test_an_input_that_cannot_be_read_is_bad_input(registry: Registry):
    """A read error is the input's (not the output's), named by its source."""
    class Unreadable(io.RawIOBase):
        def readinto(self, buffer) -> int:
            raise OSError(errno.EIO, "Input/output error")

        def readable(self) -> bool:
            return True

    with pytest.raises(InputError) as raised:
        run(registry, io.BufferedReader(Unreadable()), io.BytesIO(), "lot.jsonl")
    assert [problem.message for problem in raised.value.problems] == ["lecture impossible : erreur d'entrée-sortie"]
    assert raised.value.problems[0].source == "lot.jsonl"


def _lines_before(cut: list[Block]) -> list[int]:
    counts, seen = [], 0
    for block in cut:
        counts.append(seen)
        seen += block.data.count(b"\n")
    return counts


def test_progress_is_reported(registry: Registry, portfolio: bytes, monkeypatch):
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 20_000)
    seen: list[Tally] = []
    run(registry, io.BytesIO(portfolio), io.BytesIO(), "lot.jsonl", workers=2, progress=seen.append)
    assert len(seen) > 3
    assert [t.lines for t in seen] == sorted(t.lines for t in seen)
    assert seen[-1] == Tally(117, 2, 120)


# The command, in a process of its own, stopped midway. Its blocks are small and slowed down (each
# takes 20 ms more in its worker), so that it is still running when it is stopped.

SLOWED = """
import signal, sys, time
import evaluator.service.batch as batch
signal.signal(signal.SIGINT, signal.default_int_handler)  # (an ignored SIGINT would be inherited)
decide = batch.decide_block
def slowed(*arguments):
    time.sleep(0.02)
    return decide(*arguments)
batch.decide_block, batch.BLOCK_BYTES = slowed, 16_384
import cli
sys.argv[0] = "guichet"
cli.main()
"""


@pytest.fixture(scope="module")
def long_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """3,000 applications, a blank line every 97 and a bad one every 101; the numbers of the
    lines that give a record."""
    lines = _applications(3000, seed=11)
    for number in range(97, len(lines), 97):
        lines[number - 1] = ""
    for number in range(101, len(lines), 101):
        lines[number - 1] = '{"submitted_on": "2026-07-01"'
    path = tmp_path_factory.mktemp("lot") / "demandes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [n for n, line in enumerate(lines, start=1) if line]


def _start(path: Path, target: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", SLOWED, "batch", str(path), "-o", target, *options],
                            cwd=path.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, start_new_session=True)


def _french(number: int) -> str:
    return f"{number:,}".replace(",", " ")


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _once_written(process: subprocess.Popen[str], target: Path, workers: int = 2) -> list[int]:
    """Wait until the batch has written something (and still runs); its workers."""
    deadline = time.monotonic() + 30
    while not (target.exists() and target.stat().st_size > 0):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "nothing written in 30 s"
        time.sleep(0.01)
    time.sleep(0.2)
    workers_seen = _children(process.pid)
    assert len(workers_seen) == workers and process.poll() is None
    return workers_seen


def _check_stopped(process: subprocess.Popen[str], workers: list[int], target: Path, expected: list[int]) -> str:
    """The batch ended, its workers with it, its output whole records of the first lines: the
    lines it says it went to. Its standard error."""
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr
    time.sleep(0.1)
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == [], "workers left running"
    data = target.read_bytes()
    assert data.endswith(b"\n")
    numbers = [record["line"] for record in _records(data)]
    last = int(stderr.split("la sortie contient les décisions des lignes 1 à ")[1].split(".")[0].replace(" ", ""))
    assert 0 < len(numbers) < len(expected)
    assert numbers == [n for n in expected if n <= last]
    refused = last // 101
    told = (f"{_french(last)} lignes traitées ({_french(len(numbers) - refused)} décisions, {_french(refused)} "
            f"refusée{'s' if refused > 1 else ''})")
    assert told in stderr, stderr
    return stderr


@pytest.mark.parametrize(("sent", "code", "said"), [(signal.SIGINT, 130, "guichet batch interrompu (Ctrl-C) : "),
                                                    (signal.SIGTERM, 143, "guichet batch interrompu (SIGTERM) : ")])
def test_an_interrupted_batch_leaves_whole_records_of_the_first_lines(long_batch, tmp_path: Path, sent: int,
                                                                      code: int, said: str):
    """Ctrl-C reaches every process of the group, the workers included (they leave it to the
    parent); SIGTERM (from ``kill``, a supervisor) reaches the parent only."""
    path, expected = long_batch
    target = tmp_path / "out.jsonl"
    process = _start(path, str(target), "--workers", "2")
    workers = _once_written(process, target)
    if sent == signal.SIGINT:
        os.killpg(process.pid, sent)
    else:
        process.send_signal(sent)
    stderr = _check_stopped(process, workers, target, expected)
    assert process.returncode == code
    assert said in stderr, stderr


def test_a_worker_killed_stops_the_batch(long_batch, tmp_path: Path):
    path, expected = long_batch
    target = tmp_path / "out.jsonl"
    process = _start(path, str(target), "--workers", "2")
    workers = _once_written(process, target)
    os.kill(workers[0], signal.SIGKILL)
    stderr = _check_stopped(process, workers, target, expected)
    assert process.returncode == 1
    assert f"un processus de calcul a échoué : le processus {workers[0]} s'est arrêté (tué par le signal SIGKILL)" \
        in stderr, stderr
    assert "guichet batch arrêté : " in stderr


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_an_output_that_cannot_be_written_stops_the_batch(long_batch, tmp_path: Path, workers: str):
    path, _ = long_batch
    process = _start(path, "/dev/full", "--workers", workers)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.splitlines() == ["/dev/full: écriture impossible : plus de place sur le disque",
                                   "guichet batch arrêté : aucune ligne traitée ; la sortie est vide."]


def test_an_output_pipe_closed_by_its_reader_stops_the_batch(long_batch):
    """``guichet batch … | head``: the batch stops at the first write that finds the pipe closed,
    in French, without a traceback; code 1, as any command whose standard output cannot be written."""
    path, _ = long_batch
    command = f"{sys.executable} -c '{SLOWED}' batch {path} --workers 2 | head -c 100 > /dev/null"
    finished = subprocess.run(["bash", "-c", f"{command}; exit ${{PIPESTATUS[0]}}"], capture_output=True,
                              text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert finished.returncode == 1
    assert "<sortie standard>: écriture impossible : le lecteur a fermé le tube" in finished.stderr
    assert "guichet batch arrêté : " in finished.stderr and "Traceback" not in finished.stderr


def test_a_line_nested_too_deep_is_refused_and_leaves_no_hole(registry: Registry, monkeypatch):
    """Issue 14: a line nested 300 deep among 2,000 good ones made its worker fail (orjson's
    recursion limit), and the batch stopped with a hole; it is one error record, and every other
    line is decided, in order."""
    monkeypatch.setattr("evaluator.service.batch.BLOCK_BYTES", 50_000)
    lines = _applications(2000, seed=5)
    lines[1000] = "[" * 300 + "]" * 300
    output = io.BytesIO()
    tally = run(registry, io.BytesIO(("\n".join(lines) + "\n").encode()), output, "lot.jsonl", workers=2)
    records = _records(output.getvalue())
    assert tally == Tally(decided=1999, refused=1, lines=2000)
    assert [r["line"] for r in records] == list(range(1, 2001))
    assert records[1000]["problems"][0]["message"] == "imbrication trop profonde (plus de 64 niveaux)"
    assert multiprocessing.active_children() == []


def test_a_line_without_end_is_cut_and_refused_in_bounded_memory(registry: Registry, monkeypatch):
    """``/dev/zero`` as a stream: a line that never ends is read in blocks and dropped once longer
    than an application may be (``MAX_DOCUMENT_BYTES``); the lines after it are decided."""
    monkeypatch.setattr("evaluator.service.batch.MAX_DOCUMENT_BYTES", 100_000)
    monkeypatch.setattr("evaluator.core.application.MAX_DOCUMENT_BYTES", 100_000)
    monkeypatch.setattr("evaluator.reading.parse.MAX_DOCUMENT_BYTES", 100_000)
    good = _applications(1)[0].encode()
    endless = good + b"\n" + b"\0" * 1_000_000 + b"\n" + good + b"\n"
    assert max(len(block.data) for block in blocks(io.BytesIO(endless), "lot.jsonl", size=8192)) <= 100_001 + 8192
    output = io.BytesIO()
    run(registry, io.BytesIO(endless), output, "lot.jsonl", workers=1)
    records = _records(output.getvalue())
    assert [(r["line"], r["status"] == "error") for r in records] == [(1, False), (2, True), (3, False)]
    assert records[1]["problems"][0]["message"] == "ligne trop longue : plus de 100000 octets"


FAILING_READ = """
import sys
import evaluator.service.batch as batch
from evaluator.reading.problems import InputError, Problem
read, calls = batch._read_input, []
def failing(stream, source, size):
    calls.append(size)
    if len(calls) > 3:
        raise InputError([Problem(source, "lecture impossible : erreur d'entrée-sortie")])
    return read(stream, source, size)
batch._read_input, batch.BLOCK_BYTES = failing, 16_384
import cli
cli.main()
"""


def test_an_input_that_fails_midway_says_how_far_the_batch_went(long_batch, tmp_path: Path):
    """Issue 14: « rien n'a été évalué » after a batch that had written records; the batch says
    which lines its output holds."""
    path, expected = long_batch
    target = tmp_path / "out.jsonl"
    finished = subprocess.run([sys.executable, "-c", FAILING_READ, "batch", str(path), "-o", str(target),
                               "--workers", "2"], capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert finished.returncode == 2
    assert "rien n'a été évalué" not in finished.stderr
    assert finished.stderr.startswith(f"{path}: lecture impossible : erreur d'entrée-sortie\n")
    numbers = [record["line"] for record in _records(target.read_bytes())]
    assert numbers and numbers == [n for n in expected if n <= numbers[-1]]
    assert "guichet batch arrêté : " in finished.stderr and "la sortie contient les décisions des lignes 1 à" \
        in finished.stderr


SUMMARY_SCHEMA = json.loads((ROOT / "schemas" / "summary.schema.json").read_text(encoding="utf-8"))


def _reasons(decision: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"rule": finding["rule"], "effect": finding["effect"], "message": finding["message"],
             **({"entity": finding["entity"]} if "entity" in finding else {})}
            for finding in decision["findings"] if finding["effect"] is not None]


def test_summary_records_are_short_and_say_what_the_decision_says(registry: Registry, portfolio: bytes):
    """``--format summary``: one short record a line, in order, with the status, rate, amounts and
    version of the whole decision and the findings that lead to a status; error records unchanged."""
    whole, short = io.BytesIO(), io.BytesIO()
    run(registry, io.BytesIO(portfolio), whole, "lot.jsonl", workers=1)
    tally = run(registry, io.BytesIO(portfolio), short, "lot.jsonl", workers=2, render=summary_bytes)
    assert tally == Tally(117, 2, 120)
    decisions, summaries = _records(whole.getvalue()), _records(short.getvalue())
    assert [record["line"] for record in summaries] == [record["line"] for record in decisions]
    for decision, summary in zip(decisions, summaries, strict=True):
        if decision["status"] == "error":
            assert summary == decision
            continue
        jsonschema.validate(summary, SUMMARY_SCHEMA)
        assert list(summary)[:2] == ["line", "reference"]
        assert (summary["status"], summary["status_label"], summary["rate"], summary["amounts"], summary["version"],
                summary["submitted_on"]) == (decision["status"], decision["status_label"], decision["rate"]["final"],
                                             decision["amounts"], decision["policy"]["version"],
                                             decision["submitted_on"])
        assert summary["reasons"] == _reasons(decision)
    assert len(short.getvalue()) * 10 < len(whole.getvalue())


@settings(max_examples=max(20, settings().max_examples // 4), deadline=None)
@given(applications())
def test_the_summary_has_the_status_and_amounts_of_the_whole_decision(registry: Registry,
                                                                      application: dict[str, Any]):
    decision = registry.evaluate(application)
    whole, short = decision.to_dict(), json.loads(summary_bytes(decision))
    assert (short["status"], short["amounts"], short["rate"], short["reference"]) == (
        whole["status"], whole["amounts"], whole["rate"]["final"], whole["reference"])
    assert short["reasons"] == _reasons(whole)
    assert (short["status"] == "eligible") == (not any(r["effect"] == short["status"] for r in short["reasons"]))


def test_the_summary_format_from_the_command_line(registry: Registry, portfolio: bytes, tmp_path: Path):
    source, target = tmp_path / "lot.jsonl", tmp_path / "resumes.jsonl"
    source.write_bytes(portfolio)
    finished = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "batch", str(source), "--format",
                               "summary", "-o", str(target), "--workers", "2"], capture_output=True, text=True,
                              timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert finished.returncode == 2 and finished.stderr == f"2 ligne(s) invalide(s) sur {source}.\n"
    expected = io.BytesIO()
    run(registry, io.BytesIO(portfolio), expected, str(source), render=summary_bytes)
    assert target.read_bytes() == expected.getvalue()


def test_a_table_of_decisions_stopped_midway_holds_the_first_lines(long_batch, tmp_path: Path):
    """Decisions to a .csv are written whole from the records of the lines decided: a batch that
    stops leaves the table of the first lines, and says so, as for JSON Lines."""
    path, expected = long_batch
    target = tmp_path / "decisions.csv"
    finished = subprocess.run([sys.executable, "-c", FAILING_READ, "batch", str(path), "-o", str(target),
                               "--workers", "2"], capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert finished.returncode == 2 and "la sortie contient les décisions des lignes 1 à" in finished.stderr
    rows = target.read_bytes().decode("utf-8").removeprefix("\ufeff").split("\r\n")
    assert rows[0].startswith("Ligne;Référence;") and rows[-1] == ""
    numbers = [int(row.split(";")[0]) for row in rows[1:-1] if row[:1].isdigit()]
    assert numbers and numbers == [n for n in expected if n <= numbers[-1]]
    assert [p.name for p in tmp_path.iterdir()] == ["decisions.csv"]  # nothing left beside it


def test_a_report_reads_a_workbook_as_a_batch_does(registry: Registry, tmp_path: Path):
    """``summaries`` (what impact and budget run on the batch's workers) takes a workbook read: each
    application by its rank, a refused one with its problems located at their cells."""
    path = tmp_path / "lot.xlsx"
    lines = "\n".join(_applications(5)) + "\n"
    to_workbook(registry, io.BytesIO(lines.encode()), "lot.jsonl", path, layout(registry.versions))
    book = load_workbook(path)
    book["Demandes"]["D3"].value = "peut-être"  # a cell that cannot be read: the application is refused
    book.save(path)
    portfolio = read_workbook(path, "lot.xlsx", layout(registry.versions))
    records = list(summaries(portfolio, "lot.xlsx", _reference, workers=2))
    assert records[0] == Refused(1, records[0].problems)
    assert [problem.cell for problem in records[0].problems] == ["Demandes!D3"]
    assert records[1:] == [(number, f"BENCH-{number - 1:07d}") for number in range(2, 6)]


def _reference(document: Document, number: int) -> tuple[tuple[int, str], str]:
    return (number, document.data["reference"]), "eligible"
