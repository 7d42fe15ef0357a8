"""Deciding a file of applications: JSON Lines in, JSON Lines out, in input order, streaming.

The input is read in blocks of whole lines; each block is decided by a worker process (or in this
process for one worker) and the blocks' results are written in their order. At most a few blocks
per worker are in flight, so memory stays constant whatever the size of the file. A line that is
not a valid application gives an error record naming it, and the batch goes on.

When the output is a file or a pipe, each worker writes its blocks there itself, in turn: the
decisions (about nine times the size of the applications) never travel back through the parent.
To a regular file, the workers write straight to the disk (``O_DIRECT``), in whole pages, past the
page cache: a million decisions are 12.6 GB, which cost the kernel about 29 s of CPU to write through
its cache on the 2-core machine of the benchmarks, and under a second directly.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import io
import mmap
import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import IO

import orjson

from evaluator.application import accepted_line
from evaluator.problems import InputError, Problem
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


def blocks(stream: IO[bytes], source: str, size: int | None = None) -> Iterator[Block]:
    """The stream cut into blocks of about ``size`` bytes, each ending at a line's end, so that a
    worker reads its lines itself; the parent only counts them. A stream that cannot be read is bad
    input (``InputError``), named ``source``."""
    line = 1
    rest: list[bytes] = []  # a line's beginning, read and not ended yet (kept in pieces: never copied again)
    while True:
        try:
            data = stream.read(size or BLOCK_BYTES)
        except OSError as error:
            raise InputError([Problem(source, f"lecture impossible : {error.strerror}")]) from None
        if not data:
            break
        end = data.rfind(b"\n") + 1
        if end == 0:
            rest.append(data)
            continue
        yield Block(line, b"".join([*rest, data[:end]]))
        line += data.count(b"\n", 0, end)  # (the pieces of ``rest`` hold none)
        rest = [data[end:]]
    if any(rest):
        yield Block(line, b"".join(rest))


Lines = list[bytes]
"""JSON Lines as pieces to write one after the other (a record, its end of line, the next…)."""
Pieces = Sequence[bytes | memoryview]
"""Bytes to write one after the other."""


def decide_block(registry: Registry, block: Block, source: str, version: str | None) -> tuple[Lines, Tally]:
    """The JSON Lines of the decisions (or error records) of a block's applications."""
    lines: Lines = []
    append = lines.append
    decided = refused = 0
    for number, raw in enumerate(io.BytesIO(block.data), start=block.first_line):
        try:
            document = accepted_line(raw, source, number)
            if document is None:  # a blank line
                continue
            append(registry.decide(document, version).to_bytes())
            decided += 1
        except InputError as error:
            refused += 1
            append(orjson.dumps({"line": number, "status": "error",
                                 "problems": [problem.to_dict() for problem in error.problems]}))
        append(b"\n")
    return lines, Tally(decided, refused)


class _Turns:
    """Workers writing their blocks to the output themselves, in input order: each waits for its
    block's turn, does there what the next block depends on, and hands the turn on.

    - To a pipe, a worker writes its block during its turn (the workers are forked: they share it).
    - To a regular file, the turn gives the block its place (``end``, where the one before ends); the
      worker hands the turn on, and its writing thread writes the block there while it decides its
      next one. A write that fails is the batch's (``failed``): raised at the next turn, and at the
      end. Written directly to the disk (``O_DIRECT``), a block covers whole pages: its last, part
      page (``carry``) goes first in the next block, and the very last is written by ``finish``.
    """

    def __init__(self, context: BaseContext, descriptor: int) -> None:
        self.descriptor = descriptor
        self.next = context.Value("q", 0, lock=False)
        self.condition = context.Condition()
        # (not when appending: Linux's pwrite then appends, wherever it was told to write)
        self.placed = stat.S_ISREG(os.fstat(descriptor).st_mode) and not _appending(descriptor)
        self.end = context.Value("q", os.lseek(descriptor, 0, os.SEEK_CUR) if self.placed else 0, lock=False)
        self.direct = context.Value("b", self.placed and _direct_writes(descriptor), lock=False)
        self.carry = context.RawArray("c", PAGE)
        self.carried = context.Value("q", 0, lock=False)
        self.failed = context.Value("i", 0, lock=False)
        self.writer: ThreadPoolExecutor | None = None  # each worker's own, once forked
        self.writing: Future[None] | None = None

    def write(self, index: int, lines: Lines) -> None:
        if self.writing is not None:
            self.writing.result()  # this worker's last block is written: its memory is free again
        with self.condition:
            self.condition.wait_for(lambda: self.next.value == index)
        place: tuple[int, Pieces] | None = None
        try:
            self._raise_failure()
            if self.placed:
                place = self._place(lines)
            else:
                _write_all(self.descriptor, lines)
        finally:  # even when the write fails, so that no other worker waits for ever
            with self.condition:
                self.next.value += 1
                self.condition.notify_all()
        if place is not None:
            if self.writer is None:
                self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guichet-writer")
            self.writing = self.writer.submit(self._write_at, *place)

    def _raise_failure(self) -> None:
        if self.failed.value:
            raise OSError(self.failed.value, os.strerror(self.failed.value))

    def _place(self, lines: Lines) -> tuple[int, Pieces]:
        """Where the block goes, and what to write there: the carry before it, and, written
        directly, whole pages from page-aligned memory."""
        offset, carried = self.end.value, self.carried.value
        if not self.direct.value:
            pieces = [self.carry.raw[:carried], *lines] if carried else lines
            self.carried.value = 0
            self.end.value = offset + sum(map(len, pieces))
            return offset, pieces
        data = _page_aligned(carried + sum(map(len, lines)))
        data[:carried] = self.carry.raw[:carried]
        end = carried
        for piece in lines:
            start, end = end, end + len(piece)
            data[start:end] = piece
        whole = end - end % PAGE
        self.carry[:end - whole] = data[whole:end].tobytes()
        self.carried.value = end - whole
        self.end.value = offset + whole
        return offset, [data[:whole]]

    def _write_at(self, offset: int, pieces: Pieces) -> None:
        """Write a placed block (in the worker's writing thread)."""
        try:
            try:
                _write_all(self.descriptor, pieces, offset)
            except OSError as error:  # a file system that takes the flag, not the writes: through the cache
                if error.errno != errno.EINVAL:  # (another worker may have found it out first)
                    raise
                self.direct.value = False
                _set_direct(self.descriptor, False)
                _write_all(self.descriptor, pieces, offset)
        except Exception as error:  # any: raised at the next turn and at the end (never a worker left waiting)
            self.failed.value = getattr(error, "errno", None) or errno.EIO

    def finish(self) -> None:
        """Once the workers are gone (their last blocks written): write the last part page, through
        the cache, and leave the file's offset at its end; or raise the failure of a write."""
        if not self.placed:
            return
        if self.direct.value:
            _set_direct(self.descriptor, False)
        self._raise_failure()
        carried = self.carried.value
        _write_all(self.descriptor, [self.carry.raw[:carried]], self.end.value)
        os.lseek(self.descriptor, self.end.value + carried, os.SEEK_SET)


PAGE = mmap.PAGESIZE
"""Direct writes are whole pages long, from memory aligned on a page (a disk's block is at most as
large as a page)."""
_memory = mmap.mmap(-1, PAGE)


def _page_aligned(size: int) -> memoryview:
    """``size`` bytes of page-aligned memory, this process's own (grown when needed)."""
    global _memory
    if size > len(_memory):
        _memory = mmap.mmap(-1, size + size // 2)
    return memoryview(_memory)[:size]


def _direct_writes(descriptor: int) -> bool:
    """Whether the file takes direct writes: open at a page boundary, on a file system that admits
    ``O_DIRECT``; if so, they are on."""
    if not hasattr(os, "O_DIRECT") or os.lseek(descriptor, 0, os.SEEK_CUR) % PAGE:
        return False
    try:
        _set_direct(descriptor, True)
    except OSError:
        return False
    return True


def _appending(descriptor: int) -> bool:
    return bool(fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_APPEND)


def _set_direct(descriptor: int, on: bool) -> None:
    flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
    fcntl.fcntl(descriptor, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)


_registry: Registry | None = None
_turns: _Turns | None = None


def _write_all(descriptor: int, pieces: Pieces, offset: int | None = None) -> None:
    """Write ``pieces`` with as few system calls as the system admits, none of them joined first: at
    the descriptor's offset (a pipe), or at ``offset`` (a file)."""
    for start in range(0, len(pieces), _IOV_MAX):
        group = pieces[start:start + _IOV_MAX]
        size = sum(map(len, group))
        written = os.writev(descriptor, group) if offset is None else os.pwritev(descriptor, group, offset)
        rest = memoryview(b"".join(group))[written:] if written < size else None
        while rest:  # a pipe may take part of it only
            if offset is None:
                rest = rest[os.write(descriptor, rest):]
            else:
                rest = rest[os.pwrite(descriptor, rest, offset + size - len(rest)):]
        if offset is not None:
            offset += size


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
        for block in blocks(stream, source):
            total = _write(decide_block(registry, block, source, version), output, total, progress)
        return total
    global _registry, _turns
    context = multiprocessing.get_context("fork")
    _registry, _turns = registry, _turns_for(context, output)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending: deque[Future[tuple[Lines, Tally]]] = deque()
            for index, block in enumerate(blocks(stream, source)):
                pending.append(pool.submit(_decide_in_worker, index, block, source, version))
                if len(pending) >= workers * BLOCKS_IN_FLIGHT_PER_WORKER:
                    total = _write(pending.popleft().result(), output, total, progress)
            while pending:
                total = _write(pending.popleft().result(), output, total, progress)
    finally:
        if _turns is not None:
            _turns.finish()
        _registry = _turns = None
    return total


def _turns_for(context: BaseContext, output: IO[bytes]) -> _Turns | None:
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
