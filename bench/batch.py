"""``guichet batch`` on many applications:
``python bench/batch.py [--count 1000000] [--workers N] [--format decision|summary]``.

Writes ``count`` seeded random applications as JSON Lines in a temporary directory, runs
``guichet batch`` on them in a subprocess (validation included, decisions — whole, or their short
form with ``--format summary`` — written to a file), then prints the time, the throughput, the
largest resident memory of any of its processes, and checks that there is one output line per
input line, in order, each naming its line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import installed, write_lines  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--format", choices=["decision", "summary"], default="decision")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guichet-batch-") as directory:
        source, target = Path(directory) / "demandes.jsonl", Path(directory) / "decisions.jsonl"
        start = time.perf_counter()
        with source.open("w", encoding="utf-8") as stream:
            write_lines(stream, arguments.count, arguments.seed)
            stream.flush()
            os.fsync(stream.fileno())  # on disk before the clock starts: its flushing is not the batch's work
        print(f"{arguments.count:,} applications written in {time.perf_counter() - start:.1f} s "
              f"({source.stat().st_size / 1e6:,.0f} MB)")
        print(installed())
        command = [sys.executable, "-m", "evaluator.cli", "batch", str(source), "-o", str(target),
                   "--workers", str(arguments.workers), "--format", arguments.format]
        start = time.perf_counter()
        finished = subprocess.run(command, cwd=HERE, capture_output=True, text=True)  # the installed guichet
        elapsed = time.perf_counter() - start
        if finished.returncode != 0:  # the generator's applications are all valid: a refused line is a failure
            sys.exit(f"guichet batch failed ({finished.returncode}): {finished.stderr[-2000:]}")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # (its workers included)
        lines = 0
        with target.open("rb") as decisions:
            for number, line in enumerate(decisions):
                lines += 1
                if number % 100_000 == 0:
                    record = json.loads(line)
                    assert record["reference"] == f"BENCH-{number:07d}", "output out of order"
                    assert record["line"] == number + 1, "line numbers out of step"
        assert lines == arguments.count, (lines, arguments.count)
        print(f"guichet batch --workers {arguments.workers} --format {arguments.format}: {elapsed:.1f} s, "
              f"{arguments.count / elapsed:,.0f} applications/s, {cpu:.1f} s of CPU "
              f"({cpu / arguments.count * 1e6:.0f} µs a line), peak memory {peak:,.0f} MB per process, "
              f"{target.stat().st_size / 1e9:.1f} GB written, {lines:,} decisions in input order")


if __name__ == "__main__":
    main()
