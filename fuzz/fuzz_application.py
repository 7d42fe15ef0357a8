"""Fuzz target: bytes → application → decision, by both roads an application comes in (a YAML or
JSON file, a line of a JSON Lines batch). Any exception other than ``InputError`` is a crash.

    python fuzz/fuzz_application.py -max_total_time=600 -dict=fuzz/application.dict \\
        /tmp/guichet-fuzz examples tests/bad-inputs/applications tests/bad-inputs/batch

(the first directory receives the new inputs; the others are the seeds, read only)."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["evaluator"]):
    from evaluator import InputError
    from evaluator.core.application import build_application
    from evaluator.core.engine import evaluate
    from evaluator.core.report import render_text
    from evaluator.reading.parse import Document, json_line_document, json_lines, load_document
    from evaluator.versions.registry import Registry

POLICY = Registry.default().version("1.0")


def _decide_or_refuse(read: Callable[[], Document]) -> None:
    try:
        decision = evaluate(POLICY, build_application(read(), POLICY))
        decision.to_json()
        render_text(decision)
    except InputError as error:
        for problem in error.problems:  # the messages must render too
            problem.render()
            problem.to_dict()


def _json_line(line: str, number: int) -> Document:
    return json_line_document(line, "fuzz.jsonl", number)


def test_one_input(data: bytes) -> None:
    _decide_or_refuse(lambda: load_document(data, "fuzz.yaml"))
    if len(data) < 100_000:
        try:
            lines = list(json_lines(io.BytesIO(data), "fuzz.jsonl"))
        except InputError:  # (a file in UTF-16, say: refused as a whole)
            return
        for number, line in lines:
            _decide_or_refuse(partial(_json_line, line, number))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
