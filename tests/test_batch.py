"""guichet batch: streaming in blocks, several workers, output in input order, bad lines named."""

from __future__ import annotations

import errno
import fcntl
import io
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from evaluator import InputError, Registry, batch
from evaluator.batch import Block, Tally, blocks, run

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def portfolio() -> bytes:
    """120 applications of the benchmarks' generator, three lines spoilt."""
    sys.path.insert(0, str(BENCH))
    from generate import applications

    lines = [json.dumps(item, ensure_ascii=False) for item in applications(120, seed=7)]
    lines[10] = '{"submitted_on": "2026-07-01"'          # not JSON
    lines[20] = "   "                                     # blank: skipped
    lines[30] = '{"applicant": {}}'                       # not an application
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def _records(data: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_every_line_is_answered_in_order(registry: Registry, portfolio: bytes):
    output = io.BytesIO()
    tally = run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=1)
    records = _records(output.getvalue())
    assert tally == Tally(decided=117, refused=2)
    assert len(records) == 119
    assert records[0]["reference"] == "BENCH-0000000"
    errors = [r for r in records if r["status"] == "error"]
    assert [r["line"] for r in errors] == [11, 31]
    assert records[-1]["reference"] == "BENCH-0000119"


def test_several_workers_write_the_same_bytes(registry: Registry, portfolio: bytes, monkeypatch):
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    alone, shared = io.BytesIO(), io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    run(registry, io.BytesIO(portfolio), shared, "lot.jsonl", workers=2)
    assert alone.getvalue() == shared.getvalue()


def test_workers_writing_to_a_file_themselves_write_the_same_bytes(registry: Registry, portfolio: bytes,
                                                                   monkeypatch, tmp_path: Path):
    """To a file (or a pipe), each worker writes its blocks itself, in turn."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    target = tmp_path / "decisions.jsonl"
    with target.open("wb") as output:
        output.write(b"")
        tally = run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=3)
    assert tally == Tally(decided=117, refused=2)
    assert target.read_bytes() == alone.getvalue()


def test_a_file_that_takes_direct_writes_gets_them(registry: Registry, portfolio: bytes, monkeypatch,
                                                   tmp_path: Path):
    """To a file at a page boundary, the workers write whole pages at page boundaries past the page
    cache (when its file system admits it: not every one does), and the descriptor is left as it was
    found."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    target, marks = tmp_path / "decisions.jsonl", tmp_path / "direct-writes"
    with target.open("wb") as output:
        if not batch._direct_writes(output.fileno()):
            pytest.skip("this file system does not admit O_DIRECT")
    real = os.pwritev

    def recording(descriptor: int, pieces, offset: int) -> int:  # in the workers' writing threads
        if fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_DIRECT:
            with marks.open("a") as written:
                written.write(f"{offset} {sum(map(len, pieces))}\n")
        return real(descriptor, pieces, offset)

    monkeypatch.setattr(os, "pwritev", recording)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    with target.open("wb") as output:
        before = fcntl.fcntl(output.fileno(), fcntl.F_GETFL)
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
        assert fcntl.fcntl(output.fileno(), fcntl.F_GETFL) == before
    assert target.read_bytes() == alone.getvalue()
    direct = [tuple(map(int, line.split())) for line in marks.read_text().splitlines()]
    assert len(direct) > 3
    assert all(offset % batch.PAGE == 0 and size % batch.PAGE == 0 for offset, size in direct)


@pytest.mark.parametrize(("already", "mode"), [(b"", "wb"), (b"lot du 2 mars\n", "wb"), (b"x" * batch.PAGE, "wb"),
                                              (b"lot du 2 mars\n", "ab")])
def test_workers_write_after_what_the_file_holds_and_leave_its_offset_at_the_end(
        registry: Registry, portfolio: bytes, monkeypatch, tmp_path: Path, already: bytes, mode: str):
    """Whatever the file holds already, at a page boundary (written directly) or not (through the
    cache), open for appending (``>>``) or not, the decisions follow it in order, and the file's
    offset is left after them."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 7_000)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    target = tmp_path / "decisions.jsonl"
    target.write_bytes(already if mode == "ab" else b"")
    with target.open(mode) as output:
        output.write(b"" if mode == "ab" else already)
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
        output.write(b"fin\n")
    assert target.read_bytes() == already + alone.getvalue() + b"fin\n"


def test_a_file_system_that_refuses_direct_writes_gets_them_through_the_cache(
        registry: Registry, portfolio: bytes, monkeypatch, tmp_path: Path):
    """A file system may take the O_DIRECT flag and refuse the writes (EINVAL): the workers then
    write through the cache, and nothing is lost."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    monkeypatch.setattr("evaluator.batch._direct_writes", _flag_only)
    real = os.pwritev

    def refusing(descriptor: int, pieces, offset: int) -> int:
        if fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(descriptor, pieces, offset)

    monkeypatch.setattr(os, "pwritev", refusing)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    target = tmp_path / "decisions.jsonl"
    with target.open("wb") as output:
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=3)
        assert not fcntl.fcntl(output.fileno(), fcntl.F_GETFL) & os.O_DIRECT
    assert target.read_bytes() == alone.getvalue()


def _flag_only(descriptor: int) -> bool:
    flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
    try:
        batch._set_direct(descriptor, True)
    except OSError:  # this file system refuses the flag itself: the same case, from the other end
        fcntl.fcntl(descriptor, fcntl.F_SETFL, flags)
        pytest.skip("this file system refuses O_DIRECT")
    return True


@pytest.mark.parametrize(("failure", "reported"), [(OSError(errno.ENOSPC, "No space left on device"), errno.ENOSPC),
                                                  (MemoryError(), errno.EIO)])
def test_a_write_that_fails_stops_the_batch_with_its_error(registry: Registry, portfolio: bytes, monkeypatch,
                                                           tmp_path: Path, failure: BaseException, reported: int):
    """A block is written by its worker's writing thread while the worker decides the next: a write
    that fails (a full disk, or anything else) stops the batch with its error, and no worker waits
    for ever."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    real = os.pwritev
    calls = []

    def failing(descriptor: int, pieces, offset: int) -> int:
        calls.append(offset)
        if len(calls) > 2:
            raise failure
        return real(descriptor, pieces, offset)

    monkeypatch.setattr(os, "pwritev", failing)
    error = _raised_by_two_workers(registry, portfolio, tmp_path / "decisions.jsonl")
    assert isinstance(error, OSError) and error.errno == reported


def test_workers_writing_to_a_pipe_write_every_byte(registry: Registry, portfolio: bytes, monkeypatch,
                                                    tmp_path: Path):
    """A pipe may take a part of a write only (here, a third of its first piece): the rest is
    written after it, nothing is lost."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 60_000)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    shorts = tmp_path / "short-writes"

    def short(descriptor: int, pieces) -> int:  # in the workers
        with shorts.open("a") as noted:
            noted.write("short\n")
        first = bytes(pieces[0])
        return os.write(descriptor, first[:max(1, len(first) // 3)])

    monkeypatch.setattr(os, "writev", short)
    read, write = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_read_all(read)), daemon=True)
    reader.start()
    with os.fdopen(write, "wb") as output:
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
    reader.join(timeout=60)
    assert received == [alone.getvalue()]
    assert len(shorts.read_text().splitlines()) > 1


def test_workers_writing_to_a_file_write_every_byte_of_a_short_write(registry: Registry, portfolio: bytes,
                                                                      monkeypatch, tmp_path: Path):
    """A file written at places (through the cache: it does not start at a page boundary) may take
    part of a write only: the rest is written at its place after it."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    alone = io.BytesIO()
    run(registry, io.BytesIO(portfolio), alone, "lot.jsonl", workers=1)
    shorts = tmp_path / "short-writes"

    def short(descriptor: int, pieces, offset: int) -> int:  # in the workers' writing threads
        with shorts.open("a") as noted:
            noted.write("short\n")
        first = bytes(pieces[0])
        return os.pwrite(descriptor, first[:max(1, len(first) // 3)], offset)

    monkeypatch.setattr(os, "pwritev", short)
    target = tmp_path / "decisions.jsonl"
    with target.open("wb") as output:
        output.write(b"#")
        run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
    assert target.read_bytes() == b"#" + alone.getvalue()
    assert len(shorts.read_text().splitlines()) > 1


def _read_all(descriptor: int) -> bytes:
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read()


def test_a_worker_that_fails_does_not_leave_the_others_waiting(registry: Registry, portfolio: bytes,
                                                               monkeypatch, tmp_path: Path):
    """A block that fails still takes its turn to write: the batch stops with the error, no worker
    waits for ever for it."""
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    decide = batch.decide_block

    def failing(registry: Registry, block: Block, source: str, version: str | None) -> tuple[batch.Lines, Tally]:
        if block.first_line > 1:
            raise RuntimeError("panne simulée")
        return decide(registry, block, source, version)

    monkeypatch.setattr("evaluator.batch.decide_block", failing)
    error = _raised_by_two_workers(registry, portfolio, tmp_path / "decisions.jsonl")
    assert isinstance(error, RuntimeError) and str(error) == "panne simulée"


def _raised_by_two_workers(registry: Registry, portfolio: bytes, target: Path) -> BaseException | None:
    """What a batch of two workers writing to ``target`` raised; it must end within a minute."""
    outcome: list[BaseException] = []

    def attempt() -> None:
        with target.open("wb") as output:
            try:
                run(registry, io.BytesIO(portfolio), output, "lot.jsonl", workers=2)
            except Exception as error:  # what it raised is what the test looks at
                outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
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
    assert after.getvalue().splitlines()[1] == alone.getvalue().splitlines()[0]
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
    assert [problem.message for problem in raised.value.problems] == ["lecture impossible : Input/output error"]
    assert raised.value.problems[0].source == "lot.jsonl"


def _lines_before(cut: list[Block]) -> list[int]:
    counts, seen = [], 0
    for block in cut:
        counts.append(seen)
        seen += block.data.count(b"\n")
    return counts


def test_progress_is_reported(registry: Registry, portfolio: bytes, monkeypatch):
    monkeypatch.setattr("evaluator.batch.BLOCK_BYTES", 20_000)
    seen: list[Tally] = []
    run(registry, io.BytesIO(portfolio), io.BytesIO(), "lot.jsonl", workers=1, progress=seen.append)
    assert len(seen) > 3
    assert [t.decided + t.refused for t in seen] == sorted(t.decided + t.refused for t in seen)
    assert seen[-1] == Tally(117, 2)
