"""Policy expressions: what is admitted, how it evaluates, and what is refused at load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

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
        ("licence_count / 2 > 1", "division"),
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


def test_optional_fact_allowed_where_absence_is_handled():
    expression = compile_expression("purchase > day", SCOPE, Type.BOOL, optional_allowed=True)
    assert expression.names == ("day", "purchase")
