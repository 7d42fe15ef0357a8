"""Deciding a file of applications: JSON Lines in, JSON Lines out, in input order, streaming.

The input is read in blocks of whole lines; each block is decided by a worker process (or in this
process for one worker) and the blocks' results are written in their order. At most a few blocks
per worker are in flight, so memory stays constant whatever the size of the file. A line that is
not a valid application gives an error record naming it, and the batch goes on.

When the output is a file or a pipe, each worker writes its blocks there itself, in turn: the
decisions (about nine times the size of the applications) never travel back through the parent.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import IO

import orjson

from evaluator.application import checked_document
from evaluator.documents import json_line_document, json_lines
from evaluator.problems import InputError
from evaluator.registry import Registry

BLOCK_BYTES = 1 << 18  # about 180 applications, 2 MB of decisions
GC_THRESHOLD = 100_000
BLOCKS_IN_FLIGHT_PER_WORKER = 3


@dataclass(frozen=True)
class Tally:
    """What a block (or a whole batch) gave: applications decided, and lines refused."""

    decided: int = 0
    refused: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.decided + other.decided, self.refused + other.refused)


@dataclass(frozen=True)
class Block:
    """Whole lines of the input, as read: their bytes, and the number of the first."""

    first_line: int
    data: bytes


def blocks(stream: IO[bytes], size: int | None = None) -> Iterator[Block]:
    """The stream cut into blocks of about ``size`` bytes, each ending at a line's end, so that a
    worker reads its lines itself; the parent only counts them."""
    line = 1
    rest = b""
    while True:
        data = stream.read(size or BLOCK_BYTES)
        if not data:
            break
        data = rest + data
        end = data.rfind(b"\n") + 1
        if end == 0:
            rest = data
            continue
        yield Block(line, data[:end])
        line += data.count(b"\n", 0, end)
        rest = data[end:]
    if rest:
        yield Block(line, rest)


Lines = list[bytes]
"""JSON Lines as pieces to write one after the other (a record, its end of line, the next…)."""


def decide_block(registry: Registry, block: Block, source: str, version: str | None) -> tuple[Lines, Tally]:
    """The JSON Lines of the decisions (or error records) of a block's applications."""
    lines: Lines = []
    append = lines.append
    refused = 0
    for number, line in json_lines(io.BytesIO(block.data), block.first_line):
        try:
            append(registry.decide(checked_document(json_line_document(line, source, number)), version).to_bytes())
        except InputError as error:
            refused += 1
            append(orjson.dumps({"line": number, "status": "error",
                                 "problems": [problem.to_dict() for problem in error.problems]}))
        append(b"\n")
    return lines, Tally(len(lines) // 2 - refused, refused)


class _Turns:
    """Workers writing their blocks to the output themselves, each block once the one before it is
    written (the workers are forked: they share the output's file offset)."""

    def __init__(self, context: BaseContext, descriptor: int) -> None:
        self.descriptor = descriptor
        self.next = context.Value("q", 0, lock=False)
        self.condition = context.Condition()

    def write(self, index: int, lines: Lines) -> None:
        with self.condition:
            self.condition.wait_for(lambda: self.next.value == index)
        try:
            _write_all(self.descriptor, lines)
        finally:  # even when the write fails, so that no other worker waits for ever
            with self.condition:
                self.next.value += 1
                self.condition.notify_all()


_registry: Registry | None = None
_turns: _Turns | None = None


def _write_all(descriptor: int, lines: Lines) -> None:
    """Write ``lines`` with as few system calls as the system admits, none of them joined first."""
    for start in range(0, len(lines), _IOV_MAX):
        pieces = lines[start:start + _IOV_MAX]
        written = os.writev(descriptor, pieces)
        rest = memoryview(b"".join(pieces))[written:] if written < sum(map(len, pieces)) else None
        while rest:  # a pipe may take part of it only
            rest = rest[os.write(descriptor, rest):]


_IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 16

def _decide_in_worker(index: int, block: Block, source: str, version: str | None) -> tuple[Lines, Tally]:
    """A block decided in a worker: its lines, or none when the worker wrote them itself."""
    assert _registry is not None, "the worker is forked after the registry is loaded"
    if _turns is None:
        return decide_block(_registry, block, source, version)
    lines: Lines = []
    try:
        lines, tally = decide_block(_registry, block, source, version)
    finally:  # a block that failed still takes its turn, with nothing to write
        _turns.write(index, lines)
    return [], tally


def run(registry: Registry, stream: IO[bytes], output: IO[bytes], source: str, *, version: str | None = None,
        workers: int = 1, progress: Callable[[Tally], None] | None = None) -> Tally:
    """Decide every application of ``stream`` and write the results to ``output``, in order."""
    with _few_collections():
        return _run(registry, stream, output, source, version, workers, progress)


@contextmanager
def _few_collections() -> Iterator[None]:
    """A batch allocates millions of short-lived objects and makes no reference cycle: the cyclic
    garbage collector runs seldom meanwhile, and never over what was loaded before (the policies)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run(registry: Registry, stream: IO[bytes], output: IO[bytes], source: str, version: str | None,
         workers: int, progress: Callable[[Tally], None] | None) -> Tally:
    total = Tally()
    if workers <= 1:
        for block in blocks(stream):
            total = _write(decide_block(registry, block, source, version), output, total, progress)
        return total
    global _registry, _turns
    context = multiprocessing.get_context("fork")
    _registry, _turns = registry, _direct(context, output)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending: deque[Future[tuple[Lines, Tally]]] = deque()
            for index, block in enumerate(blocks(stream)):
                pending.append(pool.submit(_decide_in_worker, index, block, source, version))
                if len(pending) >= workers * BLOCKS_IN_FLIGHT_PER_WORKER:
                    total = _write(pending.popleft().result(), output, total, progress)
            while pending:
                total = _write(pending.popleft().result(), output, total, progress)
    finally:
        _registry = _turns = None
    return total


def _direct(context: BaseContext, output: IO[bytes]) -> _Turns | None:
    """Turns for the workers to write to ``output`` themselves, when it has a file descriptor."""
    try:
        descriptor = output.fileno()
    except (AttributeError, OSError):  # io.BytesIO, say: the parent writes what the workers return
        return None
    output.flush()
    return _Turns(context, descriptor)


def _write(result: tuple[Lines, Tally], output: IO[bytes], total: Tally,
           progress: Callable[[Tally], None] | None) -> Tally:
    lines, tally = result
    output.writelines(lines)
    total += tally
    if progress:
        progress(total)
    return total
