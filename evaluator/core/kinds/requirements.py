"""Document requirements (``documents.requirements``): when required, one of the kinds listed must be
supplied (and, if it says so, signed by every entity covered); otherwise the status it says."""

from __future__ import annotations

from typing import Any

from evaluator.core.application import Entity, SuppliedDocument
from evaluator.core.decision import MissingDocument
from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.findings import FAILED_OUTCOMES, Applied
from evaluator.core.kinds.base import (
    Branch,
    Description,
    Kind,
    Loader,
    Noun,
    Section,
    Work,
    code,
    rule_id,
    status_words,
)
from evaluator.core.policy import DocumentKind, Documents, Policy, Requirement
from evaluator.reading.problems import JsonPath


def load(loader: Loader) -> Documents:
    section = loader.data["documents"]
    clause = section["clause"]

    def requirement(path: JsonPath, key: str, item: dict[str, Any]) -> Requirement:
        loader.known_documents((*path, "one_of"), item["one_of"])
        when = loader.expression((*path, "when"), Stage.GRANT, Type.BOOL) if "when" in item else None
        return Requirement(key, rule_id(path), loader.text((*path, "label")), tuple(item["one_of"]), when,
                           item.get("signed_by_all_covered", False), item["on_missing"],
                           item.get("clause", clause), loader.interpretation(path, item))

    return Documents(
        {key: DocumentKind(key, loader.text(("documents", "kinds", key, "label"))) for key in section["kinds"]},
        loader.items(("documents", "requirements"), requirement),
        clause,
        loader.interpretation(("documents",), section),
    )


def evaluate(work: Work) -> None:
    supplied = work.application.documents
    kinds = work.supplied
    facts = work.facts
    covered = {e.siren for e in work.covered}
    for requirement in work.policy.documents.requirements:
        if requirement.when is not None and not requirement.when.function(facts):
            work.find(requirement.when_not_required)
            continue
        if not requirement.signed_by_all_covered and not kinds.isdisjoint(requirement.one_of):
            work.find(requirement.when_supplied)
            continue
        problem = document_problem(requirement, supplied, work.covered, covered)
        if problem is None:
            work.find(requirement.when_supplied)
            continue
        work.find(Applied(requirement.rule, FAILED_OUTCOMES[requirement.on_missing], requirement.clause,
                          requirement.on_missing, (), None, "missing", f"{requirement.label} : {problem}."))
        work.missing.append(MissingDocument(requirement.rule, requirement.label, requirement.one_of,
                                            requirement.clause, requirement.on_missing))


def document_problem(requirement: Requirement, supplied: tuple[SuppliedDocument, ...], covered: list[Entity],
                     sirens: set[str]) -> str | None:
    """What is wrong with the documents supplied for ``requirement``, if anything."""
    candidates = [d for d in supplied if d.kind in requirement.one_of]
    if not candidates:
        return "pièce manquante"
    if requirement.signed_by_all_covered and not any(sirens.issubset(d.signed_by) for d in candidates):
        best = max(candidates, key=lambda d: len(sirens.intersection(d.signed_by)))
        signed = set(best.signed_by)
        unsigned = [e.siren for e in covered if e.siren not in signed]
        return f"signature manquante de {', '.join(unsigned)}"
    return None


def _branches(requirement: Requirement, policy: Policy) -> tuple[Branch, ...]:
    found = [Branch("supplied", "fournie"),
             Branch("missing", f"manquante → {status_words(policy, requirement.on_missing)}")]
    if requirement.when is not None:
        found.append(Branch("not_required", "non requise"))
    return tuple(found)


def _describe(requirement: Requirement, policy: Policy) -> Description:
    return (("si elle manque", status_words(policy, requirement.on_missing)),
            ("pièces acceptées", ", ".join(requirement.one_of)),
            ("quand", code(requirement.when, "toujours")),
            ("signatures", "toutes les entités couvertes" if requirement.signed_by_all_covered else "non vérifiées"))


REQUIREMENT = Kind("requirement", Noun("pièce exigée", True), lambda policy: policy.documents.requirements,
                   _branches, _describe)
SECTION: Section = Section("documents", "Pièces du dossier", (REQUIREMENT,), evaluate,
                           lambda policy: policy.documents, load)
