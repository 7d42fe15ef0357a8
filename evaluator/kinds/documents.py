"""Document requirements (``documents.requirements``): when required, one of the kinds listed must be
supplied (and, if it says so, signed by every entity covered); otherwise the status it says."""

from __future__ import annotations

from evaluator.application import Entity, SuppliedDocument
from evaluator.decision import MissingDocument
from evaluator.findings import FAILED_OUTCOMES, Applied
from evaluator.kinds.base import Branch, Kind, Section, Work, status_words
from evaluator.policy import Policy, Requirement


def evaluate(work: Work) -> None:
    supplied = work.application.documents
    kinds = set(work.facts["document_kinds"])
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
                          requirement.on_missing, (), None, f"{requirement.label} : {problem}.", "missing"))
        work.missing.append(MissingDocument(requirement.rule, requirement.label, requirement.one_of,
                                            requirement.clause, requirement.on_missing))


def document_problem(requirement: Requirement, supplied: tuple[SuppliedDocument, ...], covered: list[Entity],
                     sirens: set[str]) -> str | None:
    """What is wrong with the documents supplied for ``requirement``, if anything."""
    candidates = [d for d in supplied if d.kind in requirement.one_of]
    if not candidates:
        return "pièce manquante"
    if requirement.signed_by_all_covered and not any(sirens <= set(d.signed_by) for d in candidates):
        best = max(candidates, key=lambda d: len(sirens & set(d.signed_by)))
        unsigned = [e.siren for e in covered if e.siren not in best.signed_by]
        return f"signature manquante de {', '.join(unsigned)}"
    return None


def _branches(requirement: Requirement, policy: Policy) -> tuple[Branch, ...]:
    found = [Branch("supplied", "fournie"),
             Branch("missing", f"manquante → {status_words(policy, requirement.on_missing)}")]
    if requirement.when is not None:
        found.append(Branch("not_required", "non requise"))
    return tuple(found)


REQUIREMENT = Kind("requirement", "Pièce exigée", lambda policy: policy.documents.requirements, _branches)
SECTION = Section("documents", (REQUIREMENT,), evaluate)
