"""Deciding a file of applications: JSON Lines in (or a workbook, read by ``workbook.reading``),
JSON Lines out (whole decisions, or their short form), in input order, streaming.

The input is read in blocks of whole lines; each block is decided by a worker process (or in this
process, for one worker), and this process alone writes the blocks' records, one block at a time,
in input order. A worker has one block at a time, so memory stays constant whatever the size of the
file. Every record names its input line (``"line": N``); a line that is not a valid application
gives an error record, and the batch goes on.

A batch that stops before the end — interrupted (SIGINT or SIGTERM: ``Interrupted``), a worker that
fails or dies (``Failed``), an output that cannot be written (``OSError``), an input that cannot be
read (``InputError``) — stops its workers and raises; the output then holds the records of the first
lines, whole, and nothing after them: the lines of the blocks ``progress`` was told of.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
import stat
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import IO, TypeVar

import orjson

from evaluator.core.application import accepted_line
from evaluator.core.decision import Decision
from evaluator.reading.files import os_error_text
from evaluator.reading.parse import MAX_DOCUMENT_BYTES, Document, refuse_wide_encoding
from evaluator.reading.problems import InputError, Problem, Refused
from evaluator.versions.registry import Registry
from evaluator.workbook.reading import Entry, Portfolio, Unreadable, document_of

BLOCK_BYTES = 1 << 18  # about 180 applications, 2 MB of records
STOPS = {signal.SIGINT, signal.SIGTERM}


@dataclass(frozen=True)
class Tally:
    """What a block (or a whole batch) gave: applications decided, lines refused, lines read (blank
    ones included); and, for the progress shown (not compared), the bytes of input read and the
    applications decided by status."""

    decided: int = 0
    refused: int = 0
    lines: int = 0
    size: int = field(default=0, compare=False)
    statuses: Mapping[str, int] = field(default_factory=dict, compare=False)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.decided + other.decided, self.refused + other.refused, self.lines + other.lines,
                     self.size + other.size, dict(Counter(self.statuses) + Counter(other.statuses)))


@dataclass(frozen=True)
class Block:
    """Whole lines of the input, as read: their bytes, and the number of the first; or, from a
    workbook, its applications (``entries``), each as its JSON line and the cells of its values."""

    first_line: int
    data: bytes
    entries: tuple[Entry, ...] = ()


Decided = tuple[bytes | bytearray, Tally]
"""A block decided: its records (JSON Lines), and its tally."""
BlockWork = Callable[[Block], tuple[bytes, Tally]]
"""What a worker does with a block: ``decide_block`` for a batch, ``summarise_block`` for a report."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, received while a batch ran."""

    def __init__(self, number: int) -> None:
        super().__init__(signal.Signals(number).name)
        self.signal = number


class Failed(Exception):
    """A block could not be decided: the worker deciding it raised (the error's text), or died."""


def blocks(stream: IO[bytes], source: str, size: int | None = None) -> Iterator[Block]:
    """The stream cut into blocks of about ``size`` bytes, each ending at a line's end, so that a
    worker reads its lines itself; the parent only counts them. A stream that cannot be read, or
    written in UTF-16 or UTF-32, is bad input (``InputError``), named ``source``. A line longer than
    an application may be (``MAX_DOCUMENT_BYTES``) is cut there, as a block of its own that the
    worker refuses, and the rest of it is read and dropped: memory stays bounded, whatever the
    stream (``/dev/zero`` has no end of line)."""
    line = 1
    rest: list[bytes] = []  # a line's beginning, read and not ended yet (kept in pieces: never copied again)
    kept = 0  # the bytes of ``rest``
    dropping = False  # within a line too long, whose end is looked for
    while data := _read_input(stream, source, size or BLOCK_BYTES):
        if line == 1 and not kept and not dropping:
            refuse_wide_encoding(data, source)
        if dropping:
            newline = data.find(b"\n")
            if newline < 0:
                continue
            data, dropping, line = data[newline + 1:], False, line + 1
        end = data.rfind(b"\n") + 1
        if end == 0:
            rest.append(data)
            kept += len(data)
            if kept > MAX_DOCUMENT_BYTES:
                yield Block(line, b"".join(rest)[:MAX_DOCUMENT_BYTES + 1])
                rest, kept, dropping = [], 0, True
            continue
        yield Block(line, b"".join([*rest, data[:end]]))
        line += data.count(b"\n", 0, end)  # (the pieces of ``rest`` hold none)
        rest = [data[end:]]
        kept = len(rest[0])
    if any(rest):
        yield Block(line, b"".join(rest))


def _read_input(stream: IO[bytes], source: str, size: int) -> bytes:
    try:
        return stream.read(size)
    except OSError as error:
        raise InputError([Problem(source, f"lecture impossible : {os_error_text(error)}")]) from None


def portfolio_blocks(portfolio: IO[bytes] | Portfolio, source: str) -> Iterator[Block]:
    """The blocks of a portfolio: a stream of JSON Lines (``blocks``), or a workbook read, whose
    applications are numbered by their rank (their line in the JSON Lines it converts to)."""
    if not isinstance(portfolio, Portfolio):
        yield from blocks(portfolio, source)
        return
    entries: list[Entry] = []
    size = 0
    for entry in portfolio.entries():
        entries.append(entry)
        size += len(entry.line) if not isinstance(entry, Unreadable) else 1
        if size >= BLOCK_BYTES:
            yield Block(entries[0].number, b"", tuple(entries))
            entries, size = [], 0
    if entries:
        yield Block(entries[0].number, b"", tuple(entries))


def block_documents(block: Block, source: str) -> Iterator[tuple[int, Document | InputError | None]]:
    """Each line of a block read: its number and its document, or the problems that refuse it
    (an application of a workbook located at its cells), or ``None`` for a blank line."""
    for entry in block.entries:
        yield entry.number, _entry_document(entry, source)
    for number, raw in enumerate(io.BytesIO(block.data), start=block.first_line):
        try:
            document: Document | InputError | None = accepted_line(raw, source, number)
        except InputError as error:
            document = error
        yield number, document


def _entry_document(entry: Entry, source: str) -> Document | InputError:
    if isinstance(entry, Unreadable):
        return InputError(entry.problems)
    try:
        return document_of(entry, source)
    except InputError as error:
        return error


Render = Callable[[Decision], bytes]
"""How a batch writes a decision: whole (``Decision.to_bytes``) or short (``core.summary.summary_bytes``)."""


R = TypeVar("R")


def decide_block(registry: Registry, block: Block, source: str, version: str | None,
                 render: Render = Decision.to_bytes) -> tuple[bytes, Tally]:
    """The JSON Lines of the decisions (or error records) of a block's applications, each record
    beginning with the number of its line (spliced in: a decision's JSON begins with ``{``), each
    decision written by ``render``."""
    def decided(document: Document, number: int) -> tuple[tuple[bytes | memoryview, ...], str]:
        decision = registry.decide(document, version)
        return (b'{"line":%d,' % number, memoryview(render(decision))[1:], b"\n"), decision.status

    def refused(number: int, error: InputError) -> tuple[bytes | memoryview, ...]:
        return orjson.dumps({"line": number, "status": "error",
                             "problems": [problem.to_dict() for problem in error.problems]}), b"\n"

    records, tally = _each(block, source, decided, refused)
    return b"".join(piece for record in records for piece in record), tally


def _each(block: Block, source: str, work: Callable[[Document, int], tuple[R, str]],
          refuse: Callable[[int, InputError], R]) -> tuple[list[R], Tally]:
    """What ``work`` makes of each application of a block (and its status), or ``refuse`` of each
    line that is not one, in order, blank lines left out; and the block's tally."""
    found: list[R] = []
    statuses: Counter[str] = Counter()
    refused = lines = 0
    for number, document in block_documents(block, source):
        lines += 1
        if document is None:  # a blank line
            continue
        try:
            if isinstance(document, InputError):
                raise document
            item, status = work(document, number)
            statuses[status] += 1
        except InputError as error:
            refused += 1
            item = refuse(number, error)
        found.append(item)
    return found, Tally(sum(statuses.values()), refused, lines, len(block.data), statuses)


def run(registry: Registry, stream: IO[bytes] | Portfolio, output: IO[bytes], source: str, *,
        version: str | None = None, workers: int = 1, progress: Callable[[Tally], None] | None = None,
        render: Render = Decision.to_bytes) -> Tally:
    """Decide every application of ``stream`` (JSON Lines, or a workbook read) and write the results
    to ``output``, in order, each decision written by ``render``; ``progress`` is told the running
    tally after each block written."""
    signals = _Signals()
    with signals.installed(), ExitStack() as stack:
        writer = _Writer(output, signals)

        def decide(block: Block) -> tuple[bytes, Tally]:
            return decide_block(registry, block, source, version, render)

        total = Tally()
        for result in _results(stack, decide, portfolio_blocks(stream, source), workers):
            total = writer.write(result, total, progress)
        return total


Summarise = Callable[[Document, int], tuple[R, str]]
"""What a report keeps of an application (its document, its line): a small record, and a status."""


def summarise_block(summarise: Summarise[R], source: str, block: Block) -> tuple[bytes, Tally]:
    """The records ``summarise`` keeps of a block's applications (``Refused`` for a line that is
    not one), pickled: what a report (``summaries``) gets back from a worker instead of decisions."""
    records, tally = _each(block, source, summarise, lambda number, error: Refused(number, tuple(error.problems)))
    return pickle.dumps(records, pickle.HIGHEST_PROTOCOL), tally


def summaries(stream: IO[bytes] | Portfolio, source: str, summarise: Summarise[R], *, workers: int = 1,
              progress: Callable[[Tally], None] | None = None) -> Generator[R | Refused, None, None]:
    """The record of each application of ``stream`` (``Refused`` for a bad line), in order, worked
    out as a batch's decisions are, on ``workers`` processes, and stopped as a batch is (``Interrupted``,
    ``Failed``, ``InputError``); ``progress`` is told the running tally after each block. Closed
    (``contextlib.closing``), it stops its workers."""
    signals = _Signals()
    with signals.installed(), ExitStack() as stack:
        total = Tally()
        for data, tally in _results(stack, partial(summarise_block, summarise, source),
                                    portfolio_blocks(stream, source), workers):
            records: list[R | Refused] = pickle.loads(data)
            yield from records
            total += tally
            if progress:
                progress(total)


def _results(stack: ExitStack, work: BlockWork, items: Iterable[Block], workers: int) -> Iterator[Decided]:
    """Each block's result, in order: worked out in this process for one worker, else by
    ``workers`` processes, which ``stack`` stops."""
    if workers <= 1:
        return _decided_here(work, items)
    return stack.enter_context(_Workers(work, workers)).decided(items)


def _decided_here(work: BlockWork, items: Iterable[Block]) -> Iterator[Decided]:
    """Each block worked out in this process; an error stops the batch as a worker's would."""
    for block in items:
        try:
            result = work(block)
        except Exception as error:
            raise Failed(f"{type(error).__name__}: {error}") from error
        yield result


class _Signals:
    """While a batch runs (from the main thread): SIGINT and SIGTERM raise ``Interrupted``, at once,
    or, while a block is being written, once it is written, so that no record is cut. A second
    signal during a write that does not end (a pipe that nobody reads) raises at once."""

    def __init__(self) -> None:
        self.writing = False
        self.pending: int | None = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {number: signal.getsignal(number) for number in STOPS}
        for number, handler in previous.items():
            if handler is not signal.SIG_IGN:  # (ignored, as in a background job: left so)
                signal.signal(number, self._received)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler if handler is not None else signal.SIG_DFL)

    def _received(self, number: int, frame: FrameType | None) -> None:
        if self.writing and self.pending is None:
            self.pending = number
            return
        raise Interrupted(number)

    def raise_pending(self) -> None:
        if self.pending is not None:
            raise Interrupted(self.pending)


class _Writer:
    """The output, written a block at a time, each block whole: a write that fails is undone in a
    regular file (truncated back to the block's start), so that the file never ends with part of a
    record. Written straight to its descriptor when it has one: nothing stays in a buffer."""

    def __init__(self, output: IO[bytes], signals: _Signals) -> None:
        self.output, self.signals = output, signals
        self.regular = False
        try:
            self.descriptor: int | None = output.fileno()
        except (AttributeError, OSError):  # io.BytesIO, say
            self.descriptor = None
        if self.descriptor is not None:
            output.flush()
            self.regular = stat.S_ISREG(os.fstat(self.descriptor).st_mode)

    def write(self, result: Decided, total: Tally, progress: Callable[[Tally], None] | None) -> Tally:
        data, tally = result
        self.signals.writing = True
        try:
            if self.descriptor is None:
                self.output.write(data)
            else:
                self._write(self.descriptor, memoryview(data))
            total += tally
            if progress:
                progress(total)
        finally:
            self.signals.writing = False
        self.signals.raise_pending()
        return total

    def _write(self, descriptor: int, data: memoryview) -> None:
        written = 0
        try:
            while written < len(data):
                written += os.write(descriptor, data[written:])
        except BaseException:
            if self.regular and written:
                end = os.lseek(descriptor, 0, os.SEEK_CUR) - written
                os.ftruncate(descriptor, end)
                os.lseek(descriptor, end, os.SEEK_SET)
            raise


class _Workers:
    """Worker processes forked from this one (the registry loaded), each with its own pipe: block
    ``i`` goes to worker ``i mod n`` and its records come back the same way, so they come back in
    order. No lock or queue is shared: a worker that dies (killed, say) closes its pipe, and the batch
    stops with ``Failed`` instead of waiting for ever (as ``multiprocessing.Pool`` would)."""

    def __init__(self, work: BlockWork, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.processes: list[BaseProcess] = []
        self.connections: list[Connection] = []
        try:
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)  # until a worker has its own handlers
            try:
                for _ in range(count):
                    mine, theirs = context.Pipe()
                    process = context.Process(target=_work, args=(theirs, list(self.connections), work),
                                              name="guichet-batch", daemon=True)
                    process.start()
                    theirs.close()
                    self.processes.append(process)
                    self.connections.append(mine)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # (a signal received meanwhile: raised here)
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exception: object) -> None:
        self.stop()

    def decided(self, items: Iterable[Block]) -> Iterator[Decided]:
        """Each block's records and tally, in order. A worker gets its next block as soon as it gives
        its last one back, before that is written."""
        count, sent = len(self.connections), 0
        for block in items:
            worker = sent % count
            result = self._receive(worker) if sent >= count else None
            self._send(worker, block)
            sent += 1
            if result is not None:
                yield result
        for index in range(max(sent - count, 0), sent):
            yield self._receive(index % count)

    def _send(self, worker: int, block: Block) -> None:
        try:
            self.connections[worker].send(block)
        except OSError:
            raise self._lost(worker) from None

    def _receive(self, worker: int) -> Decided:
        connection = self.connections[worker]
        try:
            error, tally, size = connection.recv()
            if error is not None:
                raise Failed(error)
            return _read(connection.fileno(), size), tally
        except (EOFError, OSError):
            raise self._lost(worker) from None

    def _lost(self, worker: int) -> Failed:
        process = self.processes[worker]
        process.join(5)
        code = process.exitcode
        how = (f"tué par le signal {signal.Signals(-code).name}" if code is not None and code < 0
               else f"code de sortie {code}")
        return Failed(f"le processus {process.pid} s'est arrêté ({how})")

    def stop(self) -> None:
        """End every worker (at once: a worker has nothing to finish) and wait for it; a signal
        received meanwhile is raised after."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
        try:
            for process in self.processes:
                if process.exitcode is None:
                    process.terminate()
            for process in self.processes:
                process.join(5)
                if process.exitcode is None:
                    process.kill()
                    process.join()
            for connection in self.connections:
                connection.close()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _work(connection: Connection, inherited: list[Connection], work: BlockWork) -> None:
    """A worker: work out each block received (``work``), send back its records (or the text of its
    error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches every process: the parent stops them
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    for other in inherited:  # the parent's ends of the workers forked before: theirs to close
        other.close()
    while True:
        try:
            block = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        try:
            data, tally = work(block)
            told: tuple[str | None, Tally | None, int] = (None, tally, len(data))
        except Exception as error:  # the text only: an error may not be picklable
            data, told = b"", (f"{type(error).__name__}: {error}", None, 0)
        try:
            connection.send(told)
            records = memoryview(data)
            while records:  # (as they are: never pickled)
                records = records[os.write(connection.fileno(), records):]
        except OSError:
            return


def _read(descriptor: int, size: int) -> bytearray:
    """``size`` bytes from a worker's pipe, read into one buffer (``Connection.recv_bytes`` reads
    in pieces, which leaves the parent's memory growing over a long batch)."""
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        read = os.readv(descriptor, [view[done:]])
        if read == 0:
            raise EOFError
        done += read
    return data
