"""A new kind of rule is one module: defined here, registered by giving the loader its section, then
loaded from a policy, evaluated, covered and described — without a line of the evaluator changed.

The kind: a ceiling on the licences of one application (« au plus N licences par demande »), beyond
which the application goes to review."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conftest import POLICY_FILE, decide_with
from evaluator import InputError, Policy, load_policy
from evaluator.core import french
from evaluator.core.findings import Applied, Status
from evaluator.core.kinds.base import Branch, Description, Kind, Loader, Noun, Section, Work, status_words
from evaluator.core.kinds.registry import SECTIONS
from evaluator.testing.coverage import policy_coverage, rules
from evaluator.versions.diff import compare
from evaluator.versions.diff import rules as described
from evaluator.versions.handbook import build, to_markdown

# -- the kind, in one place ----------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceCeiling:
    rule: str
    label: str
    most: int
    on_exceed: Status
    clause: str


def load(loader: Loader) -> LicenceCeiling:
    item = loader.data["licence_ceiling"]
    if item["on_exceed"] == "eligible":
        loader.problem(("licence_ceiling", "on_exceed"), "un dépassement ne peut pas laisser la demande éligible")
    return LicenceCeiling("licence_ceiling", loader.text(("licence_ceiling", "label")), item["most"],
                          item["on_exceed"], item["clause"])


def evaluate(work: Work) -> None:
    ceiling: LicenceCeiling = work.policy.extensions["licence_ceiling"]
    count = work.facts["licence_count"]
    exceeded = count > ceiling.most
    work.find(Applied(ceiling.rule, "review" if exceeded else "pass", ceiling.clause,
                      ceiling.on_exceed if exceeded else None, ("licence_count",), None,
                      "exceeded" if exceeded else "within",
                      f"{ceiling.label} : {french.number(count)} licences demandées."))


def branches(ceiling: LicenceCeiling, policy: Policy) -> tuple[Branch, ...]:
    return (Branch("within", f"au plus {french.number(ceiling.most)} licences"),
            Branch("exceeded", f"au-delà → {status_words(policy, ceiling.on_exceed)}"))


def describe(ceiling: LicenceCeiling, policy: Policy) -> Description:
    return (("plafond", f"{french.number(ceiling.most)} licences"),
            ("au-delà", status_words(policy, ceiling.on_exceed)))


KIND = Kind("licence_ceiling", Noun("plafond de licences", False),
            lambda policy: (policy.extensions["licence_ceiling"],), branches, describe)
SECTION = Section("licence_ceiling", "Plafond de licences", (KIND,), evaluate,
                  lambda policy: policy.extensions["licence_ceiling"], load, schema={
    "type": "object", "additionalProperties": False, "required": ["label", "most", "on_exceed", "clause"],
    "properties": {"label": {"type": "string"}, "most": {"type": "integer", "minimum": 1},
                   "on_exceed": {"enum": ["ineligible", "incomplete", "review", "eligible"]},
                   "clause": {"type": "string"}}})

# -- registered: the sections of the bundled policy, this one before the status is decided -------

WITH_CEILING = tuple(section for existing in SECTIONS
                     for section in ((SECTION, existing) if existing.name == "statuses" else (existing,)))
BLOCK = """
licence_ceiling:
  label: Nombre maximal de licences par demande
  most: {most}
  on_exceed: review
  clause: "Avenant fictif de test"
"""


def _policy(most: int = 1000, sections: tuple[Section, ...] = WITH_CEILING) -> Policy:
    text = POLICY_FILE.read_text(encoding="utf-8") + BLOCK.format(most=most)
    return load_policy(text.encode(), "plafond.yaml", sections=sections)


def test_the_new_kind_loads_evaluates_and_decides(application: dict[str, Any]):
    policy = _policy()
    within = decide_with(policy, application)  # the commune asks for 120 licences
    assert within.status == "eligible"
    assert [f.message for f in within.findings if f.rule == "licence_ceiling"] == [
        "Nombre maximal de licences par demande : 120 licences demandées."]
    application["applicant"]["licences"] = 1200
    beyond = decide_with(policy, application)
    assert beyond.status == "review"
    finding = next(f for f in beyond.findings if f.rule == "licence_ceiling")
    assert (finding.outcome, finding.effect, finding.inputs) == ("review", "review", (("licence_count", 1200),))


def test_the_new_kind_is_covered(application: dict[str, Any]):
    policy = _policy()
    decisions = [decide_with(policy, application)]
    table = {rule.id: rule for rule in rules(policy)}
    assert [b.key for b in table["licence_ceiling"].branches] == ["within", "exceeded"]
    application["applicant"]["licences"] = 1200
    decisions.append(decide_with(policy, application))
    coverage = next(r for r in policy_coverage(policy, decisions).rules if r.rule.id == "licence_ceiling")
    assert (coverage.covered, coverage.total) == (2, 2)


def test_the_new_kind_is_described_in_docs_and_diff():
    policy = _policy()
    assert described(policy)["licence_ceiling"].fields == (("plafond", "1 000 licences"),
                                                          ("au-delà", "examen au cas par cas"))
    assert "| Nombre maximal de licences par demande | 1 000 licences | examen au cas par cas |" in \
        to_markdown(build(policy))
    texts = [change.text for change in compare(policy, _policy(most=800))]
    assert "Plafond de licences « Nombre maximal de licences par demande », plafond : 1 000 licences → " \
           "800 licences" in texts


def test_the_new_kind_reports_its_problems_located():
    with pytest.raises(InputError) as raised:
        load_policy((POLICY_FILE.read_text(encoding="utf-8") + BLOCK.format(most=0)).encode(), "plafond.yaml",
                    sections=WITH_CEILING)
    [problem] = raised.value.problems
    assert problem.path == ("licence_ceiling", "most") and "trop petit" in problem.message


def test_without_its_section_the_key_is_unknown_to_the_bundled_schema():
    with pytest.raises(InputError) as raised:
        _policy(sections=SECTIONS)
    assert [p.message for p in raised.value.problems] == ["clé inconnue : « licence_ceiling »"]


def test_a_policy_without_the_key_of_a_section_it_is_applied_by_is_refused():
    """The section would have nothing to load, nor to evaluate."""
    with pytest.raises(InputError) as raised:
        load_policy(POLICY_FILE.read_bytes(), "sans-plafond.yaml", sections=WITH_CEILING)
    assert [p.message for p in raised.value.problems] == ["clé obligatoire manquante : « licence_ceiling »"]
