"""The decision as a French report a case officer reads: status and why, rate build-up, amounts,
payments, missing pieces, obligations, then every rule applied with its clause."""

from __future__ import annotations

from decimal import Decimal

from evaluator.core import french
from evaluator.core.decision import Decision, Finding
from evaluator.reading.problems import visible

_MARKS = {"pass": "conforme", "fail": "non conforme", "review": "à examiner", "missing": "manquant", "info": "info"}
_ROLES = {"applicant": "Demandeur", "co_beneficiary": "Co-bénéficiaire"}


def render_text(decision: Decision) -> str:
    """The report; the application's texts in it (names, references) with their control characters
    made visible (``reading.problems.visible``)."""
    lines: list[str] = []
    add = lines.append
    applicant = decision.entities[0]
    title = f"Demande {decision.reference}" if decision.reference else "Demande"
    add(f"{title} — {applicant.name} ({applicant.siren}), déposée le {french.day(decision.submitted_on)}")
    add(f"Politique {decision.policy.id} {decision.policy.version} (empreinte {decision.policy.sha256[:12]})")
    add("")
    add(f"STATUT : {decision.status_label.upper()}")
    reasons = [f for f in decision.findings if f.effect is not None]
    add("Motifs :" if reasons else "Motifs : aucune réserve.")
    for finding in reasons:
        add(f"  - {finding.message} [{finding.clause}]")
    add("")
    add("Bénéficiaires :")
    for entity in decision.entities:
        dropped = "" if entity.covered else ", écarté de la demande"
        add(f"  - {_ROLES[entity.role]} {entity.name} ({entity.siren}) : {entity.category}, "
            f"{french.OUTCOMES[entity.outcome]}{dropped}, {french.number(entity.licences)} licence(s)")
    add(f"  Licences des entités couvertes : {french.number(decision.licence_count)} ; "
        f"demande mutualisée : {'oui' if decision.mutualised else 'non'}")
    add("")
    amounts = decision.amounts
    add("Dépenses (€ TTC) :")
    add(_row("Montant demandé", amounts.requested_total))
    add(_row("Licences éligibles", amounts.eligible_licence))
    add(_row("Déploiement éligible", amounts.eligible_deployment))
    add(_row("Total éligible", amounts.eligible_total))
    add(_row("Non retenu", amounts.excluded_total))
    add("")
    rate = decision.rate
    add("Taux de cofinancement :")
    add(f"  Taux de base : {french.percent(rate.base.value)} ({rate.base.label})")
    for bonus in rate.bonuses:
        add(f"  + {bonus.label} : {french.percent(bonus.value)}")
    add(f"  Plafond : {french.percent(rate.ceiling)}")
    add(f"  Taux retenu : {french.percent(rate.final)}")
    add("")
    add("Subvention :")
    add(_row("Sur les licences", amounts.grant_licence))
    add(_row("Sur le déploiement", amounts.grant_deployment))
    add(_row("Total", amounts.grant_total))
    if decision.payments:
        add("Versements :")
        for payment in decision.payments:
            add(f"  - {payment.label} : {french.euros(payment.amount)} — {payment.condition}")
    if decision.missing_documents:
        add("")
        add("Pièces manquantes :")
        for missing in decision.missing_documents:
            consequence = "" if missing.effect is None else f" ({decision_word(missing.effect)})"
            add(f"  - {missing.label} [{missing.clause}]{consequence}")
    if decision.obligations:
        add("")
        add(f"Indicateurs à transmettre {decision.obligations[0].frequency} :")
        for obligation in decision.obligations:
            add(f"  - {obligation.label}")
    add("")
    add("Règles appliquées :")
    for finding in decision.findings:
        add(_finding(finding))
    return visible("\n".join(lines)) + "\n"


def decision_word(status: str) -> str:
    return {"ineligible": "rend la demande non éligible", "incomplete": "dossier incomplet",
            "review": "examen au cas par cas"}.get(status, status)


def _row(label: str, amount: Decimal) -> str:
    return f"  {label:<24}{french.euros(amount):>18}"


def _finding(finding: Finding) -> str:
    return f"  [{_MARKS[finding.outcome]}] {finding.message} — {finding.clause} ({finding.rule})"
