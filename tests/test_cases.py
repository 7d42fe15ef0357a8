"""The golden cases of tests/cases, one pytest test per case, shown by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator import Registry
from evaluator.cases import Case, discover, load_cases, run_case

CASES = [case for path in discover([Path(__file__).parent / "cases"]) for case in load_cases(path)]


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{Path(c.source).stem}: {c.name}" for c in CASES])
def test_case(case: Case, registry: Registry) -> None:
    result = run_case(case, registry)
    assert result.passed, f"{case.location} — {case.name}\n" + "\n".join(result.differences)
