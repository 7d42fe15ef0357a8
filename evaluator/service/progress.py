"""The progress of a long command (``batch``, ``impact``, ``budget``, ``convert``), shown on a
terminal: one line, redrawn at most five times a second, with a bar, the count, what is read of
the total (bytes of the input, or lines), the percentage, the rate and the time left; then, once
done, the line drawn one last time with the final figures, and a summary line (decided, refused,
by status). Nothing is shown when standard error is not a terminal (``on_terminal``)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from typing import IO, TextIO

from evaluator.core.french import count, number
from evaluator.core.policy import Statuses
from evaluator.service.batch import Tally

EVERY = 0.2
"""Seconds between two drawings of the line."""
WIDTH = 12
"""Cells of the bar."""


def on_terminal(stream: TextIO, total: int | None, *, in_bytes: bool = True) -> Progress | None:
    """A progress line on ``stream`` when it is a terminal, else nothing."""
    progress = follow(stream, total, in_bytes=in_bytes)
    return progress if progress.stream is not None else None


def follow(stream: TextIO, total: int | None, *, in_bytes: bool = True) -> Progress:
    """The progress of a command: shown on ``stream`` when it is a terminal, else only kept (its
    ``tally``, to say how far the command went)."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, say
        terminal = False
    return Progress(stream if terminal else None, total, in_bytes=in_bytes)


def size_of(stream: IO[bytes]) -> int | None:
    """The size of the regular file ``stream`` reads (what a progress counts bytes against), or
    ``None`` for a pipe, a terminal, a stream without a descriptor."""
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


class Progress:
    """A progress line: ``update`` with the running tally (drawn when due), then ``finish`` (or
    ``stop``, when the command stops before the end). The tally's ``size`` is the bytes read, or,
    when ``in_bytes`` is false, its ``lines``; ``total`` is the whole in the same unit, when known.
    Without a ``stream``, nothing is drawn: the last tally is kept."""

    def __init__(self, stream: TextIO | None, total: int | None, *, in_bytes: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.total, self.in_bytes, self.clock = stream, total, in_bytes, clock
        self.start = clock()
        self.drawn: float | None = None  # when the line was last drawn
        self.tally = Tally()

    def update(self, tally: Tally) -> None:
        self.tally = tally
        if self.stream is None:
            return
        now = self.clock()
        if self.drawn is None or now - self.drawn >= EVERY:
            self._draw(now)

    def finish(self, tally: Tally, statuses: Statuses | None = None) -> None:
        """The line with the final figures (whole, for a total that is), and the summary line."""
        self.tally = tally
        if self.stream is None:
            return
        if self.total is not None:
            self.total = max(self.total, self._done())
        now = self.clock()
        self._draw(now)
        self.stream.write("\n" + summary(tally, now - self.start, statuses) + "\n")
        self.stream.flush()

    def stop(self) -> None:
        """End the line where it is (the command stops: its own message follows)."""
        if self.stream is not None and self.drawn is not None:
            self._draw(self.clock())
            self.stream.write("\n")
            self.stream.flush()

    def _done(self) -> int:
        return self.tally.size if self.in_bytes else self.tally.lines

    def _draw(self, now: float) -> None:
        """The line, cut to the terminal's width (a line that wraps could not be drawn again)."""
        assert self.stream is not None
        self.drawn = now
        line, columns = self.line(now - self.start), _columns(self.stream)
        self.stream.write("\r" + (line if columns is None else line[:columns - 1]) + "\x1b[K")
        self.stream.flush()

    def line(self, seconds: float) -> str:
        """The progress line, ``seconds`` after the start."""
        tally, done = self.tally, self._done()
        handled = tally.decided + tally.refused
        parts = [count(handled, "demande", "demandes")]
        if self.total:
            share = min(done / self.total, 1.0)
            parts.insert(0, f"[{'█' * round(share * WIDTH):░<{WIDTH}}] {share * 100:3.0f} %")
            parts.append(_measure(done, self.in_bytes, self.total))
        else:
            parts.append(_measure(done, self.in_bytes) + (" lus" if self.in_bytes else ""))
        if seconds > 0:
            parts.append(f"{number(round(handled / seconds))}/s")
            if self.total and 0 < done < self.total:
                parts.append("reste " + duration(seconds * (self.total - done) / done))
        return " · ".join(parts)


def summary(tally: Tally, seconds: float, statuses: Statuses | None = None) -> str:
    """The summary line: applications decided and refused, lines read, time and rate, and the
    applications by status (in the order of ``statuses``, with their labels)."""
    handled = tally.decided + tally.refused
    rate = f", {number(round(handled / seconds))} demandes/s" if seconds > 0 else ""
    text = (f"Terminé : {count(tally.decided, 'demande décidée', 'demandes décidées')}, "
            f"{count(tally.refused, 'ligne refusée', 'lignes refusées')} "
            f"({count(tally.lines, 'ligne lue', 'lignes lues')} en {duration(seconds)}{rate})")
    if statuses is not None and tally.statuses:
        text += " — " + ", ".join(f"{definition.label.lower()} : {number(tally.statuses[definition.id])}"
                                  for definition in statuses.order if tally.statuses.get(definition.id))
    return text + "."


def _columns(stream: TextIO) -> int | None:
    """The terminal's width, when it says it."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):  # not a terminal after all: a test's stream, say
        return None


def duration(seconds: float) -> str:
    """``75.4`` → ``1 min 15 s``; ``3725`` → ``1 h 02 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _measure(amount: int, in_bytes: bool, total: int | None = None) -> str:
    """An amount of input, of ``total`` when known: bytes (``48,2 sur 100,0 Mo``), or lines."""
    whole = "" if total is None else f" sur {number(total)}"
    if not in_bytes:
        return f"{number(amount)}{whole} lignes"
    for unit, size in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if max(amount, total or 0) >= size:
            whole = "" if total is None else f" sur {total / size:.1f}"
            return f"{amount / size:.1f}{whole} {unit}".replace(".", ",")
    return f"{amount}{whole} o"
