"""The code written for a policy (``evaluator.compiled``: its loops unrolled, its expressions inlined)
gives the same decisions, byte for byte, as the reference: the engine walking the policy's data
(``engine.interpret``) with simpleeval evaluating the expressions. On every golden case, and on
random applications; random policies are compared in ``test_hostile_policies.py``. The policy is
loaded twice, once with compiled expression functions and once with simpleeval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from simpleeval import EvalWithCompoundTypes

from conftest import POLICY_FILE
from evaluator import InputError
from evaluator.application import build_application, checked_document, mapping_document
from evaluator.cases import Case, discover, load_cases
from evaluator.documents import Document
from evaluator.engine import evaluate, interpret
from evaluator.policy_loader import load_policy_file
from strategies import applications

COMPILED = load_policy_file(POLICY_FILE)
REFERENCE = load_policy_file(POLICY_FILE, reference=True)
CASES: list[Case] = [case for path in discover([Path(__file__).parent / "cases"]) for case in load_cases(path)]


def _both(document: Document) -> tuple[str, str] | None:
    try:
        checked = checked_document(document)
        compiled = evaluate(COMPILED, build_application(checked, COMPILED))
    except InputError:
        return None
    reference = interpret(REFERENCE, build_application(checked, REFERENCE))
    return compiled.to_json(), reference.to_json()


def test_the_two_loads_differ_only_in_how_expressions_run(monkeypatch):
    """The reference's walk runs its expressions through simpleeval; the compiled load never does."""
    assert COMPILED.sha256 == REFERENCE.sha256
    runs: list[str] = []
    real = EvalWithCompoundTypes.eval

    def counted(self: EvalWithCompoundTypes, expr: str, previously_parsed: Any = None) -> Any:
        runs.append(expr)
        return real(self, expr, previously_parsed=previously_parsed)

    monkeypatch.setattr(EvalWithCompoundTypes, "eval", counted)
    application = build_application(checked_document(CASES[0].application), COMPILED)
    interpret(COMPILED, application)
    evaluate(COMPILED, application)
    assert runs == []
    interpret(REFERENCE, build_application(checked_document(CASES[0].application), REFERENCE))
    assert len(runs) > 10


def test_every_golden_case_decides_the_same():
    compared = 0
    for case in CASES:
        pair = _both(case.application)
        if pair is not None:
            assert pair[0] == pair[1], case.name
            compared += 1
    assert compared >= 200


@given(applications())
def test_random_applications_decide_the_same(application: dict[str, Any]):
    pair = _both(mapping_document(application))
    assert pair is not None
    assert pair[0] == pair[1]


def test_the_walk_with_compiled_expressions_decides_the_same_too():
    """The third way: the engine's walk with the compiled expression functions (what a policy's
    expressions run as outside the written code, e.g. in a category's cases)."""
    compared = 0
    for case in CASES[::5]:
        try:
            application = build_application(checked_document(case.application), COMPILED)
        except InputError:
            continue
        assert interpret(COMPILED, application).to_json() == evaluate(COMPILED, application).to_json(), case.name
        compared += 1
    assert compared >= 40
