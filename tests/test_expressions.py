"""Policy expressions: what is admitted, how it evaluates, and what is refused at load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import decide_with
from evaluator.core.expressions import ExpressionError, Symbol, Type, compile_expression

SCOPE = {
    "licence_count": Symbol(Type.NUMBER, "licences"),
    "share": Symbol(Type.NUMBER, "part"),
    "mutualised": Symbol(Type.BOOL, "mutualisée"),
    "country": Symbol(Type.TEXT, "pays"),
    "countries": Symbol(Type.TEXT_LIST, "pays"),
    "eu": Symbol(Type.TEXT_LIST, "UE"),
    "day": Symbol(Type.DATE, "date"),
    "opens": Symbol(Type.DATE, "ouverture"),
    "purchase": Symbol(Type.DATE, "achat", optional=True),
}
NAMES = {"licence_count": 500, "share": Decimal("0.40"), "mutualised": False, "country": "FR",
         "countries": ("FR", "DE"), "eu": ("FR", "DE", "GR", "EL"), "day": date(2026, 7, 1),
         "opens": date(2026, 5, 22), "purchase": None}


@pytest.mark.parametrize(
    ("text", "expected", "value"),
    [
        ("mutualised or licence_count >= 500", Type.BOOL, True),
        ("share >= 0.40", Type.BOOL, True),
        ("share >= 0.40000001", Type.BOOL, False),
        ("min(licence_count, 300) + 1", Type.NUMBER, Decimal(301)),
        ("all_in(countries, eu) and country in eu", Type.BOOL, True),
        ("any_in(countries, ['US'])", Type.BOOL, False),
        ("country not in ['US', 'CN']", Type.BOOL, True),
        ("opens <= day", Type.BOOL, True),
        ("licence_count * 0.1 if mutualised else -licence_count", Type.NUMBER, Decimal(-500)),
    ],
)
def test_admitted_expressions_evaluate(text, expected, value):
    compiled = compile_expression(text, SCOPE, expected)
    reference = compile_expression(text, SCOPE, expected, reference=True)
    assert compiled.function(NAMES) == value
    assert reference.function(NAMES) == value


def test_numbers_are_decimals_from_their_text():
    expression = compile_expression("share * 3", SCOPE, Type.NUMBER)
    result = expression.function(NAMES)
    assert result == Decimal("1.20") and isinstance(result, Decimal)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("().__class__.__bases__", "attribut"),
        ("licence_count.__class__", "attribut"),
        ("__import__('os').system('ls')", "appel non admis"),
        ("lambda: 1", "lambda"),
        ("9**9**9 > 1", "puissance"),
        ("licence_count // 2 > 1", "la division entière (« // ») n'est pas admise"),
        ("licence_count % 2 > 1", "le modulo (« % ») n'est pas admis"),
        ("licence_count / 0 > 1", "division par zéro : le diviseur de « licence_count / 0 » vaut 0"),
        ("licence_count / (1 - 100 %) > 1", "division par zéro"),
        ("'a' * 1000000000 == country", "s'applique à des nombres"),
        ("countries * 100000 == countries", "s'applique à des nombres"),
        ("[c for c in countries] == countries", "compréhensions"),
        ("eval('1') == 1", "appel non admis"),
        ("licence_cont >= 500", "nom inconnu"),
        ("licence_count >= '500'", "comparaison d'un nombre et d'un texte"),
        ("licence_count >= 500 et mutualised", "syntaxe"),
        ("licence_count = 500", "syntaxe"),
        ("purchase > day", "facultatif"),
        ("licence_count", "l'expression donne un nombre là où un booléen est attendu"),
        ("country in country", "« in » cherche un texte"),
        ("not " * 60 + "mutualised", "trop imbriquée"),
        ("licence_count > 1e999", "hors limites"),
        ("mutualised == None", "None"),
        ("countries[0] == country", "indexation"),
    ],
)
def test_refused_at_load(text, words):
    with pytest.raises(ExpressionError) as raised:
        compile_expression(text, SCOPE, Type.BOOL)
    assert words in raised.value.message


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ExpressionError) as raised:
        compile_expression("licence_cont >= 500", SCOPE, Type.BOOL)
    assert raised.value.hint == "vouliez-vous dire « licence_count » ?"


def test_syntax_hint_for_french_connectives():
    with pytest.raises(ExpressionError) as raised:
        compile_expression("mutualised ou licence_count >= 500", SCOPE, Type.BOOL)
    assert raised.value.hint is not None and "or" in raised.value.hint


@pytest.mark.parametrize(("source", "hint"), [
    ("30 000", "un nombre s'écrit sans espace, avec un point décimal : 30000.50"),
    ("30000,50", "un nombre s'écrit sans espace, avec un point décimal : 30000.50"),
    ("30000 €", "un montant s'écrit en euros sans symbole ni espace : 30000 ou 30000.50"),
])
def test_an_amount_written_as_in_a_letter_is_refused_with_how_to_write_it(source, hint):
    with pytest.raises(ExpressionError) as raised:
        compile_expression(source, SCOPE, Type.NUMBER)
    assert raised.value.hint == hint


def test_optional_fact_allowed_where_absence_is_handled():
    expression = compile_expression("purchase > day", SCOPE, Type.BOOL, optional_allowed=True)
    assert expression.names == ("day", "purchase")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("licence_count * 40 %", Decimal("200.00")),
        ("licence_count * 40%", Decimal("200.00")),
        ("licence_count * 12.5 %", Decimal("62.500")),
        ("40 %", Decimal("0.40")),
        ("-5 % + share", Decimal("0.35")),
        ("licence_count / 4", Decimal("125")),
        ("licence_count / 3", Decimal("166.6666666666666666666666667")),  # 28 significant digits, half to even
        ("2 / 3", Decimal("0.6666666666666666666666666667")),
        ("1 / 3 * 3", Decimal("0.9999999999999999999999999999")),
        ("share / 40 % * licence_count", Decimal(500)),
        ("min(licence_count * 40 % / 60 %, 1000)", Decimal("333.3333333333333333333333333")),
    ],
)
def test_division_and_percentages_are_exact_decimals(text, value):
    for reference in (False, True):
        result = compile_expression(text, SCOPE, Type.NUMBER, reference=reference).function(NAMES)
        assert result == value and str(result) == str(value) and isinstance(result, Decimal)


@pytest.mark.parametrize(("text", "expected", "value"), [
    ("licence_count / (licence_count - 500)", Type.NUMBER, Decimal(0)),
    ("share / (share - 40 %) * 100 + 1", Type.NUMBER, Decimal(1)),
    ("licence_count / (share - 0.40) >= 1", Type.BOOL, False),
    ("licence_count / (share - 0.40) == 0", Type.BOOL, True),
])
def test_a_divisor_zero_for_an_application_gives_zero(text, expected, value):
    for reference in (False, True):
        assert compile_expression(text, SCOPE, expected, reference=reference).function(NAMES) == value


def test_a_divisor_zero_whatever_the_application_is_refused_with_its_parameters():
    scope = {**SCOPE, "none": Symbol(Type.NUMBER, "Aucun", constant=True, value=Decimal(0)),
             "half": Symbol(Type.NUMBER, "Moitié", constant=True, value=Decimal("0.5"), unit="fraction")}
    for text in ("licence_count / none", "licence_count / (half - 50 %)", "licence_count / min(none, 2)"):
        with pytest.raises(ExpressionError) as raised:
            compile_expression(text, scope, Type.NUMBER)
        assert raised.value.message.startswith("division par zéro : le diviseur de « licence_count / ")
        assert raised.value.hint == "le diviseur ne lit que des nombres et des paramètres : il vaudrait 0 pour " \
                                    "toute demande"
    halved = compile_expression("licence_count / half", scope, Type.NUMBER)
    assert halved.function({**NAMES, "half": Decimal("0.5")}) == 1000


def test_a_french_decimal_comma_in_a_percentage_is_refused_with_the_point():
    with pytest.raises(ExpressionError) as raised:
        compile_expression("share >= 12,5 %", SCOPE, Type.BOOL)
    assert (raised.value.message, raised.value.hint) == (
        "nombre non admis : « 12,5 % »", "les décimales s'écrivent avec un point : « 12.5 % »")


_OPERANDS = st.sampled_from(["licence_count", "share", "3", "0.07", "40 %", "12.5%", "0 %", "-2"])


@st.composite
def _arithmetic(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(_OPERANDS)
    operator = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"({draw(_arithmetic(depth - 1))} {operator} {draw(_arithmetic(depth - 1))})"


@given(text=_arithmetic(), licences=st.integers(0, 3), share=st.sampled_from([Decimal(0), Decimal("0.4"), Decimal(1)]))
def test_both_evaluation_paths_agree_on_divisions_and_percentages(text, licences, share):
    """The compiled function and simpleeval give the same decimals, zero divisors included."""
    try:
        compiled = compile_expression(text, SCOPE, Type.NUMBER)
    except ExpressionError as error:  # a divisor zero whatever the application, only
        assert error.message.startswith("division par zéro"), error.message
        return
    reference = compile_expression(text, SCOPE, Type.NUMBER, reference=True)
    names = {**NAMES, "licence_count": licences, "share": share}
    result = compiled.function(names)
    assert str(result) == str(reference.function(names))


def test_a_divisor_zero_for_an_application_still_decides_it(amended, decide, application):
    """The commune example has 3,000 € of training: a share of a nil total is nil, and the decision
    comes out, as without the formula's division."""
    policy = amended(("formula: min(deployment_requested, eligible_licence)",
                      "formula: min(deployment_requested, eligible_licence / (licence_requested - licence_requested))"))
    decision = decide_with(policy, application)
    assert decision.amounts.eligible_deployment == 0 < decide(application).amounts.eligible_deployment
    assert decision.status == decide(application).status
