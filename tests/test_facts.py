"""The facts an expression may read are exactly the facts the evaluator establishes: a fact declared
and never set would fail the first policy that reads it. Facts are declared in the policy data:
a field added to a version is read by it, and refused by the versions that do not declare it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from conftest import POLICY_FILE, decide_with, policy_directory, refused
from evaluator import InputError, Registry, load_policy
from evaluator.core.facts import Stage
from evaluator.core.kinds.beneficiaries import entity_facts
from evaluator.versions.diff import compare


def test_an_application_gives_exactly_the_input_facts(registry: Registry, application, policy):
    decision = registry.evaluate(application)
    inputs = {name for name, fact in policy.facts.application.items() if fact.stage is Stage.INPUT}
    assert set(decision.application.facts) == inputs


def test_every_declared_fact_is_established_by_an_evaluation(registry: Registry, application, policy):
    decision = registry.evaluate(application)
    assert set(decision.facts) == set(policy.facts.application) | set(policy.constants)


def test_an_entity_gives_exactly_the_entity_facts(registry: Registry, application, policy):
    entity = registry.evaluate(application).application.applicant
    assert set(entity_facts(policy, entity)) == set(policy.facts.items("entity")) | set(policy.constants)


LABEL_FIELD = """  inputs:
    labelled_territory:
      at: entity
      type: boolean
      label: territoire labellisé « Territoire d'IA »
      default: false
"""
LABEL_BONUS = """  bonuses:
    territoire_labellise:
      label: Bonification « territoire labellisé »
      when: applicant_labelled_territory
      value: 0.05
"""


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    """The published 1.0 and a draft 1.1 that declares one new field of each entity and grants a
    bonus on the applicant's: made by editing the YAML alone, as staff would."""
    text = POLICY_FILE.read_text(encoding="utf-8")
    for old, new in (('version: "1.0"\nstatus: published\neffective_from: 2026-05-22',
                      'version: "1.1"\nstatus: draft\neffective_from: 2027-01-01'),
                     ("  inputs:\n", LABEL_FIELD), ("  bonuses:\n", LABEL_BONUS)):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return policy_directory(tmp_path, {"1.1.yaml": text})


def test_a_field_added_to_a_version_is_read_by_it(versions: Path, application):
    registry = Registry.from_directory(versions)
    application["applicant"]["labelled_territory"] = True
    decision = registry.evaluate(application, version="1.1")
    assert dict(decision.to_dict()["rate"]["bonuses"]) == {"territoire_labellise": "0.05"}
    assert decision.rate.final == Decimal("0.35")
    assert decision.facts["applicant_labelled_territory"] is True
    del application["applicant"]["labelled_territory"]  # absent: its default
    assert registry.evaluate(application, version="1.1").rate.final == Decimal("0.30")


def test_the_same_field_is_refused_by_a_version_that_does_not_declare_it(versions: Path, application):
    registry = Registry.from_directory(versions)
    application["applicant"]["labelled_territory"] = True
    with pytest.raises(InputError) as raised:
        registry.evaluate(application)  # submitted on 2026-07-01: version 1.0 decides
    [problem] = raised.value.problems
    assert (problem.path, problem.message) == (("applicant", "labelled_territory"),
                                               "clé inconnue : « labelled_territory »")
    assert problem.hint is not None
    assert problem.hint.startswith("information de la version 1.1, inconnue de la version 1.0 qui régit cette demande")


def test_diff_says_where_a_new_field_sits_and_what_its_absence_means(versions: Path):
    registry = Registry.from_directory(versions)
    texts = [change.text for change in compare(registry.version("1.0"), registry.version("1.1"))]
    assert "Nouvelle information de la demande « territoire labellisé « Territoire d'IA » » " \
           "(chaque entité ; oui ou non ; par défaut non)" in texts


def test_each_version_has_its_own_application_schema(versions: Path):
    registry = Registry.from_directory(versions)
    old, new = (registry.version(v).application_schema for v in ("1.0", "1.1"))
    assert "labelled_territory" in new["$defs"]["entity"]["properties"]
    assert "labelled_territory" not in old["$defs"]["entity"]["properties"]
    assert new["$defs"]["entity"]["properties"]["labelled_territory"] == {
        "type": "boolean", "description": "territoire labellisé « Territoire d'IA »", "default": False}


def test_an_aggregate_is_declared_in_data(amended, application):
    """Facts over the entities covered are written in the policy: the highest share in QPV of v1.0
    is one; an amendment may count, add or test anything the entities declare."""
    policy = amended(("      unit: fraction\n\nbeneficiaries:", """      unit: fraction
    overseas_entities:
      label: entités couvertes situées en outre-mer
      over: covered_entities
      operation: count
      where: overseas
    all_with_licences:
      label: toutes les entités couvertes ont des licences
      over: covered_entities
      operation: all
      of: licences > 0

beneficiaries:"""), ("when: mutualised or licence_count >= licence_threshold",
                         "when: mutualised or overseas_entities >= 1 and all_with_licences"))
    assert decide_with(policy, application).tier.id == "standard"
    application["applicant"]["overseas"] = True
    decision = decide_with(policy, application)
    assert (decision.facts["overseas_entities"], decision.facts["all_with_licences"]) == (1, True)
    assert decision.tier.id == "majore"


def test_an_aggregate_that_reads_an_unknown_field_is_refused_at_load(policy_text):
    text = policy_text.replace("      of: qpv_population_share\n", "      of: qpv_population_shares\n")
    with pytest.raises(InputError) as raised:
        load_policy(text.encode(), "broken.yaml")
    [problem] = raised.value.problems
    assert problem.path == ("facts", "aggregates", "max_qpv_population_share", "of")
    assert "nom inconnu : « qpv_population_shares »" in problem.message
    assert problem.hint == "vouliez-vous dire « qpv_population_share » ?"


def test_a_field_on_a_structural_key_isrefused(policy_text):
    declared = "    months:\n      at: expense\n"
    text = policy_text.replace(declared, declared + "      field: amount\n")
    with pytest.raises(InputError) as raised:
        load_policy(text.encode(), "broken.yaml")
    assert [p.path for p in raised.value.problems] == [("facts", "inputs", "months", "field")]


SHARE = "      label: part de la population de l'entité en QPV\n      default: 0\n"
MONTHS = "      unit: months\n      optional: true\n"
EDITOR = "    editor_country: {at: solution, type: country, label: pays du siège de l'éditeur}\n"
HOSTING = "    hosting_countries: {at: solution, type: countries, label: pays d'hébergement des données}\n"
FRUGAL = "      label: démarche d'IA frugale déclarée\n      default: false\n"
BUDGET = ("    budget:\n      at: application\n      type: money\n      label: budget de la démarche\n"
          "      default: {}\n")


@pytest.mark.parametrize(("edit", "name", "words"), [
    ((SHARE, SHARE.replace("0\n", "2\n")), "qpv_population_share", "ressemble à un pourcentage"),
    ((SHARE, SHARE.replace("0\n", "-1\n")), "qpv_population_share", "trop petit"),
    ((MONTHS, MONTHS.replace("optional: true", "default: 2.5")), "months", "n'est pas un nombre entier"),
    ((MONTHS, MONTHS.replace("optional: true", "default: 500")), "months", "trop grand : au plus 120"),
    ((EDITOR, EDITOR.replace("}", ", default: france}")), "editor_country", "n'a pas la forme attendue"),
    ((HOSTING, HOSTING.replace("}", ", default: []}")), "hosting_countries", "au moins 1 élément"),
    ((FRUGAL, FRUGAL.replace("false", "[1]")), "frugal_ai", "liste là où un booléen"),
    ((FRUGAL, FRUGAL + BUDGET.format("12.345")), "budget", "plus de deux décimales"),
    ((FRUGAL, FRUGAL + BUDGET.format("-5")), "budget", "montant négatif"),
])
def test_a_default_an_application_could_not_give_is_refused_at_load(policy_text, edit, name, words):
    """A default is a value of the field: the field's schema in the version's application schema
    says which (a share between 0 and 1, an integer within its bounds, a country code…)."""
    [problem] = refused(policy_text, edit)
    assert problem.path is not None and problem.path[:4] == ("facts", "inputs", name, "default")
    assert problem.message.startswith("valeur par défaut refusée : ") and words in problem.message
    assert problem.line is not None


def test_a_default_is_read_as_an_application_gives_it(amended):
    policy = amended((MONTHS, MONTHS.replace("optional: true", "default: 12.0")),
                     (EDITOR, EDITOR.replace("}", ", default: NO}")),
                     ("    extra_eu_transfer:\n      at: solution\n      type: text\n",
                      "    extra_eu_transfer:\n      at: solution\n      type: text\n      default: none\n"))
    defaults = {item.name: item.default for item in policy.facts.fields}
    assert (defaults["months"], defaults["editor_country"], defaults["extra_eu_transfer"]) == (12, "NO", "none")
    assert type(defaults["months"]) is int


def test_bounds_that_admit_no_value_arerefused(policy_text):
    bounds = "      minimum: 1\n      maximum: 120\n"
    [problem] = refused(policy_text, (bounds, bounds.replace("minimum: 1\n", "minimum: 121\n")))
    assert problem.path == ("facts", "inputs", "months", "maximum")


def test_two_fields_read_from_one_key_of_one_level_arerefused(policy_text):
    twice = "    coastal:\n      at: entity\n      field: overseas\n      type: boolean\n      label: littoral\n"
    problems = refused(policy_text, (FRUGAL, FRUGAL + twice + "      default: false\n"))
    assert [(p.path, p.message) for p in problems] == [
        (("facts", "inputs", "overseas"), "« overseas » est déjà la clé de l'information « coastal » (at: entity)")]


@pytest.mark.parametrize(("level", "name", "key", "clash"), [
    ("entity", "category", "declared_category", "category"),  # the entity's own category, and the applicant's
    ("application", "applicant_category", None, "applicant_category"),
    ("solution", "applicant_licences", None, "applicant_licences"),
    ("application", "applicant_overseas", None, "applicant_overseas"),  # the applicant's « overseas »
    ("expense", "amount", "amount_excluding_tax", "amount"),
    ("document", "signed_by", "signatories", "signed_by"),
])
def test_a_field_named_like_a_fact_read_where_it_is_read_isrefused(policy_text, level, name, key, clash):
    """A field would silently replace the fact of that name (the entity's category, the line's
    amount, the applicant's overseas flag…) in what expressions read."""
    field = f"    {name}:\n      at: {level}\n" + (f"      field: {key}\n" if key else "") + (
        "      type: text\n      label: information en double\n      optional: true\n")
    problems = refused(policy_text, (FRUGAL, FRUGAL + field))
    assert problems, "refused"
    assert {p.message.split(" est déjà")[0].split(" (")[0] for p in problems} >= {f"« {clash} »"}
    assert all(p.message.endswith("est déjà le nom d'un fait") for p in problems)


def test_the_funded_period_reads_a_declared_field_not_the_amount(policy_text):
    [problem] = refused(policy_text, ("    duration: months\n", "    duration: amount\n"))
    assert problem.path == ("expenses", "funded_period", "duration")


def test_an_application_without_a_date_is_checked_against_the_published_version(versions: Path, application):
    """With no submission date to choose a version by, the newest published one says what is wrong,
    never a draft staff are still writing."""
    registry = Registry.from_directory(versions)
    application["applicant"]["labelled_territory"] = True  # only the 1.1 draft declares it
    del application["submitted_on"]
    with pytest.raises(InputError) as raised:
        registry.evaluate(application)
    assert {(p.path, p.message) for p in raised.value.problems} == {
        ((), "clé obligatoire manquante : « submitted_on »"),
        (("applicant", "labelled_territory"), "clé inconnue : « labelled_territory »")}
