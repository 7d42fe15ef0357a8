"""Fuzz target: bytes → policy; a policy that loads then decides the example applications. Any
exception other than ``InputError`` is a crash: a policy is refused at load, or it never fails.

    python fuzz/fuzz_policy.py -max_total_time=600 -dict=fuzz/policy.dict \\
        /tmp/guichet-fuzz-policy policies/guichet-cofinancement

(the first directory receives the new inputs; the others are the seeds, read only)."""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["evaluator"]):
    from evaluator import InputError, load_policy
    from evaluator.core.application import build_application
    from evaluator.core.engine import evaluate
    from evaluator.core.report import render_text
    from evaluator.reading.parse import load_document

APPLICATIONS = [load_document(path.read_bytes(), str(path))
                for path in sorted((ROOT / "examples").iterdir())]


def test_one_input(data: bytes) -> None:
    try:
        policy = load_policy(data, "fuzz.yaml")
    except InputError as error:
        for problem in error.problems:
            problem.render()
        return
    for document in APPLICATIONS:
        try:
            application = build_application(document, policy)
        except InputError:  # an example may name a kind this policy does not know
            continue
        decision = evaluate(policy, application)
        decision.to_json()
        render_text(decision)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
