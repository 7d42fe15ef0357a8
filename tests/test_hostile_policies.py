"""Hostile or broken policies: every expression that could escape the sandbox, exhaust the machine or
fail at run time is refused when the policy file loads, with the file, the line and a French
message; and a policy that loads can never fail on a valid application.

Why evaluation cannot fail: the checker (``evaluator/expressions.py``) admits only typed, total
operations — no attribute, indexing, call outside ``min``/``max``/``all_in``/``any_in``, power,
modulo, lambda or comprehension; a divisor that is zero whatever the application (numbers and
parameters) is refused, and a quotient by a zero fact is 0; numbers only with numbers, texts only
compared, ``in`` only of a text in a list; at most 40 levels and 2,000 characters, literals and
parameters within ±10^15 (a non-zero literal at least 10^-15), so no product can overflow a
``Decimal``; an optional fact only where ``on_absent`` handles its absence.
The engine bounds the deployment formula before rounding it, and the rounding step lies between
0.01 and 1. The property test below checks it on random well-typed policies and applications."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator import InputError, load_policy
from evaluator.core.application import build_application, mapping_document
from evaluator.core.engine import evaluate
from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.reading.resources import schema
from strategies import POLICY_FILE, applications, expressions

POLICY_TEXT = POLICY_FILE.read_text(encoding="utf-8")
TEST = "test: editor_country in eu_member_states"  # sovereignty.criteria.editor_in_eu.test, a condition
FORMULA = "formula: min(deployment_requested, eligible_licence)"  # expenses.eligible_deployment.formula
SPL_CASE = ("      label: Société publique locale (SPL) dédiée aux services numériques\n"
            "      clause: \"§2 Bénéficiaires éligibles, note 5\"\n"
            "      cases:\n        - when: non_economic_activity\n")
MUTUALISED = "mutualised_when: co_beneficiaries_with_licences >= min_mutualised_co_beneficiaries"
DECISION_SCHEMA = jsonschema.Draft202012Validator(schema("decision"), format_checker=jsonschema.FormatChecker())


def _edited(old: str, new: str) -> str:
    assert POLICY_TEXT.count(old) == 1, f"edit target not unique in the policy: {old!r}"
    return POLICY_TEXT.replace(old, new)


def _refusal(text: str, marker: str) -> tuple[Any, int]:
    """The one problem of a policy refused at load, and the line where ``marker`` was written."""
    with pytest.raises(InputError) as raised:
        load_policy(text.encode(), "hostile.yaml")
    problems = raised.value.problems
    assert len(problems) == 1, [p.render() for p in problems]
    line = next(n for n, content in enumerate(text.splitlines(), start=1) if marker in content)
    return problems[0], line


HOSTILE = [
    # attribute and dunder access: the classic ways out of a sandbox
    ("().__class__.__bases__", "l'accès à un attribut (« . ») n'est pas admis"),
    ("().__class__.__bases__[0].__subclasses__() == []", "appel non admis"),
    ("editor_country.__class__ == editor_country", "l'accès à un attribut (« . ») n'est pas admis"),
    ("'{0.__class__}'.format(1) == editor_country", "appel non admis"),
    ("__builtins__", "nom inconnu : « __builtins__ »"),
    ("__import__('os').system('true') == 0", "appel non admis"),
    # imports and statements: not expressions at all
    ("import os", "syntaxe d'expression invalide"),
    ("reversibility; import os", "syntaxe d'expression invalide"),
    ("exec('import os') == None", "appel non admis : « exec »"),
    # lambdas, comprehensions, assignments
    ("(lambda: True)()", "appel non admis"),
    ("lambda: True", "les fonctions anonymes (lambda) ne sont pas admises"),
    ("[c for c in hosting_countries] == hosting_countries", "les compréhensions de liste ne sont pas admises"),
    ("any(c == 'US' for c in hosting_countries)", "appel non admis : « any »"),
    ("(x := reversibility)", "l'affectation (« := ») n'est pas admise"),
    # resource bombs
    ("9**9**9 > 1", "la puissance (« ** ») n'est pas admise"),
    ("pow(9, 999999) > 1", "appel non admis : « pow »"),
    ("'a' * 1000000000 == editor_country", "« * » s'applique à des nombres"),
    ("hosting_countries * 1000000000 == hosting_countries", "« * » s'applique à des nombres"),
    ("['FR'] * 1000000000 == hosting_countries", "« * » s'applique à des nombres"),
    ("licence_count > 1e999999", "nombre hors limites"),
    ("licence_count > 0x7fffffff", "nombre non admis : 0x7fffffff"),
    ("editor_country == '" + "a" * 300 + "'", "texte trop long dans l'expression"),
    # deep recursion
    ("not " * 60 + "reversibility", "expression trop imbriquée (plus de 40 niveaux)"),
    ("-" * 500 + "1 > 0", "expression trop imbriquée (plus de 40 niveaux)"),
    ("min(" * 45 + "1" + ", 2)" * 45 + " > 0", "expression trop imbriquée (plus de 40 niveaux)"),
    ("(" * 300 + "reversibility" + ")" * 300, "syntaxe d'expression invalide"),
    # calls outside the allow-list
    ("open('/etc/passwd') == editor_country", "appel non admis : « open »"),
    ("len(hosting_countries) > 0", "appel non admis : « len »"),
    ("getattr(reversibility, 'real') == 1", "appel non admis : « getattr »"),
    ("min(*[1, 2]) > 0", "« min » attend 2 ou plus arguments, pas 1"),
    # names not declared as facts, and facts an expression may not read here
    ("editor_contry in eu_member_states", "nom inconnu : « editor_contry »"),
    ("eligible_total > 0 and os", "nom inconnu : « os »"),
    ("purchase_date > submitted_on", "« purchase_date » est facultatif"),
    # ill-typed: would raise at run time if admitted
    ("licence_count > editor_country", "comparaison d'un nombre et d'un texte"),
    ("editor_country < 'FR'", "seuls des nombres ou des dates s'ordonnent"),
    ("licence_count / (licence_threshold - 500) > 1", "division par zéro : le diviseur de « licence_count / "
                                                      "(licence_threshold - 500) » vaut 0"),
    ("licence_count % 2 > 1", "le modulo (« % ») n'est pas admis"),
    ("licence_count / 1e-999999 * 1e15 > 1", "nombre hors limites"),
    ("hosting_countries[0] == 'FR'", "l'indexation (« [ ] ») n'est pas admise"),
    ("licence_count == None", "« None » n'est pas admis"),
]


@pytest.mark.parametrize(("expression", "words"), HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_expression_refused_at_load(expression: str, words: str) -> None:
    text = _edited(TEST, f"test: {json.dumps(expression)}")
    problem, line = _refusal(text, f"test: {json.dumps(expression)}"[:60])
    assert problem.message.startswith("expression refusée : "), problem.message
    assert words in problem.message, problem.message
    assert (problem.line, problem.path) == (line, ("sovereignty", "criteria", "editor_in_eu", "test"))
    assert problem.render().startswith(f"hostile.yaml:{line}:")


@pytest.mark.parametrize(("old", "new", "path", "words"), [
    (FORMULA, "formula: __import__('os').getpid()", ("expenses", "eligible_deployment", "formula"),
     "appel non admis"),
    (FORMULA, "formula: 10**100", ("expenses", "eligible_deployment", "formula"), "la puissance"),
    (FORMULA, "formula: eligible_licence if mutualised else 0", ("expenses", "eligible_deployment", "formula"),
     "« mutualised » n'est connu qu'à partir de l'étape « la mutualisation »"),
    (MUTUALISED, "mutualised_when: ().__class__", ("mutualisation", "mutualised_when"), "attribut"),
    ("when: frugal_ai\n", 'when: "frugal_ai or (lambda: 1)"\n', ("rate", "bonuses", "ia_frugale", "when"), "lambda"),
    (SPL_CASE, SPL_CASE.replace("when: non_economic_activity", "when: non_economic_activity and licence_count > 0"),
     ("beneficiaries", "categories", "spl", "cases", 0, "when"), "nom inconnu : « licence_count »"),
])
def test_every_kind_of_expression_is_checked_at_load(old: str, new: str, path: tuple[Any, ...], words: str) -> None:
    text = _edited(old, new)
    problem, line = _refusal(text, new.strip().splitlines()[-1].strip())
    assert words in problem.message and problem.path == path and problem.line == line, problem.render()


def test_an_expression_longer_than_the_limit_is_refused_by_the_schema() -> None:
    expression = " or ".join(["reversibility"] * 200)
    problem, line = _refusal(_edited(TEST, f"test: {expression}"), "test: reversibility or")
    assert problem.message == "texte trop long : au plus 2000 caractères" and problem.line == line


@settings(max_examples=max(10, settings().max_examples // 4))
@given(
    formula=expressions(Type.NUMBER, Stage.REQUESTED),
    bonus=expressions(Type.BOOL, Stage.MUTUALISATION),
    check=expressions(Type.BOOL, Stage.ELIGIBLE),
    mutualised=expressions(Type.BOOL, Stage.ELIGIBLE),
    category=expressions(Type.BOOL, None),
    batch=st.lists(applications(max_co_beneficiaries=4, max_expenses=8), min_size=1, max_size=4),
)
def test_a_policy_that_loads_never_fails_on_a_valid_application(formula: str, bonus: str, check: str,
                                                                  mutualised: str, category: str,
                                                                  batch: list[dict[str, Any]]) -> None:
    text = POLICY_TEXT
    for old, new in [(FORMULA, f"formula: {json.dumps(formula)}"),
                     ("when: frugal_ai\n", f"when: {json.dumps(bonus)}\n"),
                     ("test: eligible_licence > 0", f"test: {json.dumps(check)}"),
                     (MUTUALISED, f"mutualised_when: {json.dumps(mutualised)}"),
                     (SPL_CASE, SPL_CASE.replace("non_economic_activity", json.dumps(category)))]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    policy = load_policy(text.encode(), "random.yaml")  # well-typed expressions are all admitted
    reference = load_policy(text.encode(), "random.yaml", reference=True)  # expressions run by simpleeval
    for application in batch:
        document = mapping_document(copy.deepcopy(application))
        built = build_application(document, policy)
        decision = evaluate(policy, built)
        DECISION_SCHEMA.validate(decision.to_dict())
        assert decision.to_bytes() == evaluate(reference, built).to_bytes()


@pytest.mark.parametrize(("formula", "deployment"), [
    ("deployment_requested * 1000000000000000 * 1000000000000000", 3000),
    ("0 - deployment_requested * 1000000000000000 * 1000000000000000", 0),
])
def test_an_extreme_formula_is_bounded_before_rounding(formula: str, deployment: int,
                                                       application: dict[str, Any]) -> None:
    """Regression: a formula result far beyond 28 digits made the rounding step raise (issue 5); it
    is now bounded by 0 and the deployment requested (3,000 € of training in the example)."""
    policy = load_policy(_edited(FORMULA, f"formula: {formula}").encode(), "extreme.yaml")
    document = mapping_document(application)
    assert evaluate(policy, build_application(document, policy)).amounts.eligible_deployment == deployment
