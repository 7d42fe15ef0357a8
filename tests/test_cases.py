"""The golden cases of tests/cases, one pytest test per case, shown by name (file: case name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator import Registry
from evaluator.testing.cases import Case, collect, run_case

CASES, PROBLEMS = collect([Path(__file__).parent / "cases"])


def test_every_case_file_is_well_formed() -> None:
    assert not PROBLEMS, "\n".join(problem.render() for problem in PROBLEMS)


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{Path(c.source).stem}: {c.name}" for c in CASES])
def test_case(case: Case, registry: Registry) -> None:
    result = run_case(case, registry)
    assert result.passed, f"{case.location} — {case.name}\n" + "\n".join(result.explanation())
