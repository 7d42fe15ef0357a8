"""Reading an application: every problem named with its JSON path and line, in French."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from evaluator import InputError
from evaluator.core.application import build_application
from evaluator.reading.parse import load_document

EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "commune-simple.yaml").read_text(encoding="utf-8")


def _problems(policy, *edits: tuple[str, str]):
    text = EXAMPLE
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    with pytest.raises(InputError) as raised:
        build_application(load_document(text.encode(), "demande.yaml"), policy)
    return raised.value.problems


def _line(needle: str) -> int:
    return next(n for n, line in enumerate(EXAMPLE.splitlines(), start=1) if needle in line)


def test_the_examples_are_valid(policy):
    for path in (Path(__file__).resolve().parent.parent / "examples").iterdir():
        build_application(load_document(path.read_bytes(), str(path)), policy)


def test_unquoted_siren_and_norway_keep_their_text(policy):
    text = EXAMPLE.replace('siren: "217500016"', "siren: 217500016").replace("hosting_countries: [FR]",
                                                                             "hosting_countries: [NO]")
    application = build_application(load_document(text.encode(), "demande.yaml"), policy)
    assert application.applicant.siren == "217500016"
    assert application.facts["hosting_countries"] == ("NO",)


@pytest.mark.parametrize(
    ("edit", "path", "words", "hint"),
    [
        (('siren: "217500016"', 'siren: "217500017"'), ("applicant", "siren"), "clé de contrôle (Luhn)", None),
        (("  licences: 120", "  licences: 100.5"), ("applicant", "licences"), "100.5 n'est pas un nombre entier",
         None),
        (("  licences: 120", "  licences: 120\n  qpv_population_share: 45"), ("applicant", "qpv_population_share"),
         "ressemble à un pourcentage", "une part s'écrit comme une fraction : 45 % s'écrit 0.45"),
        (("amount: 14400,", "amount: -14400,"), ("expenses", 0, "amount"), "montant négatif", None),
        (("amount: 14400,", "amount: 14400.123,"), ("expenses", 0, "amount"), "plus de deux décimales", None),
        (("amount: 14400,", "amount: .nan,"), ("expenses", 0, "amount"), "n'est pas un montant fini", None),
        (("amount: 14400,", "amount: 1e400,"), ("expenses", 0, "amount"), "supérieur à la limite", None),
        (("amount: 14400,", "amount: beaucoup,"), ("expenses", 0, "amount"), "n'est pas un montant", None),
        (("submitted_on: 2026-07-01", "submitted_on: 2026-02-30"), ("submitted_on",), "pas une date du calendrier",
         None),
        (("submitted_on: 2026-07-01", "submitted_on: 01/07/2026"), ("submitted_on",), "format AAAA-MM-JJ", None),
        (("  reversibility: true", "  reversibilty: true"), ("solution", "reversibilty"), "clé inconnue",
         "vouliez-vous dire « reversibility » ?"),
        (("extra_eu_transfer: none", "extra_eu_transfer: aucun"), ("solution", "extra_eu_transfer"),
         "valeurs admises : none, with_explicit_consent, without_consent", None),
        (("kind: general_purpose", "kind: generaliste"), ("solution", "kind"), "valeurs admises", None),
        (("editor_country: FR", "editor_country: France"), ("solution", "editor_country"), "forme attendue",
         "un pays s'écrit en code ISO 3166-1 à deux lettres majuscules, par exemple FR"),
    ],
)
def test_schema_problems(policy, edit, path, words, hint):
    problems = _problems(policy, edit)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.path == path
    assert words in problem.message
    assert problem.line == _line(edit[0]) + edit[1].count("\n")
    if hint is not None:
        assert problem.hint == hint


def test_missing_required_key(policy):
    problems = _problems(policy, ("  category: commune\n", ""))
    assert problems[0].message == "clé obligatoire manquante : « category »"
    assert problems[0].path == ("applicant",)
    assert problems[0].missing == ("category",)  # what a form reads to show it beside the field
    assert "missing" not in problems[0].to_dict()  # the refusal formats are unchanged


def test_keys_missing_together_are_each_named(policy):
    problems = _problems(policy, ("  category: commune\n", ""), ("  licences: 120\n", ""))
    assert problems[0].message == "clés obligatoires manquantes : « category », « licences »"
    assert problems[0].missing == ("category", "licences")


def test_two_solutions_are_refused(policy):
    problems = _problems(policy, ("solution:\n", "solution:\n  - name: A\nsolutions:\n"))
    assert {p.message.split(" :")[0] for p in problems} >= {"clé inconnue"}


def test_unknown_expense_kind_lists_the_kinds_and_suggests(policy):
    problems = _problems(policy, ("kind: training", "kind: trainning"))
    assert problems[0].path == ("expenses", 1, "kind")
    assert "nature de dépense inconnue : « trainning »" in problems[0].message
    assert problems[0].hint == "vouliez-vous dire « training » ?"


def test_expense_for_an_entity_not_in_the_application(policy):
    problems = _problems(policy, ("amount: 3000,", 'amount: 3000, entity: "200054781",'))
    assert problems[0].path == ("expenses", 1, "entity")
    assert "ni le demandeur ni un co-bénéficiaire" in problems[0].message


def test_duplicate_co_beneficiary_siren(policy):
    problems = _problems(policy, ("solution:\n", "co_beneficiaries:\n"
                                  "  - {name: A, siren: \"217500016\", category: commune, licences: 1}\n"
                                  "solution:\n"))
    assert problems[0].path == ("co_beneficiaries", 0, "siren")
    assert "en double" in problems[0].message


def test_every_problem_in_one_run(policy):
    problems = _problems(policy, ("  licences: 120", "  licences: -1"),
                         ("  reversibility: true", "  reversibility: oui"),
                         ("submitted_on: 2026-07-01", "submitted_on: hier"))
    assert len(problems) == 3


def test_half_a_utf16_pair_given_by_a_service_is_refused_with_its_path(registry, application):
    application["solution"]["name"] = "Assistant \ud800"
    with pytest.raises(InputError) as raised:
        registry.evaluate(application)
    [problem] = raised.value.problems
    assert problem.path == ("solution", "name")
    assert "moitié de caractère UTF-16" in problem.message


@pytest.mark.parametrize("written", ["14_400", "１４４００", "14 400", "0x3840"])
def test_an_amount_is_written_with_ascii_digits(policy, written):
    problems = _problems(policy, ("amount: 14400,", f'amount: "{written}",'))
    assert problems[0].path == ("expenses", 0, "amount")
    assert f"« {written} » n'est pas un montant" in problems[0].message


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -0.5, 1.5])
def test_a_float_out_of_place_in_a_decoded_mapping_is_refused_as_its_decimal(registry, application, number):
    """Decoded JSON is read as it is when the fast check takes it; a NaN, an infinity or a share out
    of bounds is refused with the problem the detailed validation names on its decimal."""
    application["applicant"]["qpv_population_share"] = number
    with pytest.raises(InputError) as raised:
        registry.evaluate(application)
    [problem] = raised.value.problems
    assert problem.path == ("applicant", "qpv_population_share")
    written = {"nan": "NaN", "inf": "Infinity"}.get(repr(number), repr(number))
    assert written in problem.message


def test_a_decoded_mapping_with_floats_decides_as_with_decimals(registry, application):
    application["applicant"]["qpv_population_share"] = 0.45
    application["expenses"][0]["amount"] = 14400.5
    as_decimals = copy.deepcopy(application)
    as_decimals["applicant"]["qpv_population_share"] = Decimal("0.45")
    as_decimals["expenses"][0]["amount"] = Decimal("14400.5")
    assert registry.evaluate(application).to_bytes() == registry.evaluate(as_decimals).to_bytes()
