"""The facts an expression may read, declared once: name, type, French label, unit and the stage
of the evaluation from which they are known.

Input facts come straight from the application; the others are computed by the evaluator as it
goes (entities covered, then amounts requested, then eligible amounts, then mutualisation). A policy
expression may only read the facts known at the point where it is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from evaluator.expressions import Symbol, Type


class Stage(IntEnum):
    """When a fact becomes known, in evaluation order."""

    INPUT = 0
    ENTITIES = 1
    REQUESTED = 2
    ELIGIBLE = 3
    MUTUALISATION = 4


@dataclass(frozen=True)
class Fact:
    name: str
    type: Type
    label: str
    unit: str | None = None
    optional: bool = False
    stage: Stage = Stage.INPUT

    def symbol(self) -> Symbol:
        return Symbol(self.type, self.label, self.optional)


def _facts(*facts: Fact) -> dict[str, Fact]:
    return {fact.name: fact for fact in facts}


B, N, D, T, L = Type.BOOL, Type.NUMBER, Type.DATE, Type.TEXT, Type.TEXT_LIST

APPLICATION_FACTS = _facts(
    Fact("submitted_on", D, "date de dépôt de la demande", "date"),
    Fact("purchase_date", D, "date d'achat", "date", optional=True),
    Fact("frugal_ai", B, "démarche d'IA frugale déclarée"),
    Fact("public_procurement_compliant", B, "achat conforme au Code de la commande publique", optional=True),
    Fact("solution_kind", T, "nature de la solution (general_purpose ou business_solution)"),
    Fact("editor_country", T, "pays du siège de l'éditeur"),
    Fact("hosting_countries", L, "pays d'hébergement des données"),
    Fact("processing_countries", L, "pays de traitement des données"),
    Fact("model_provider_country", T, "pays du fournisseur du modèle", optional=True),
    Fact("auditability_commitment", B, "engagement contractuel d'auditabilité"),
    Fact("extra_eu_transfer", T, "transfert de données hors UE (none, with_explicit_consent, without_consent)"),
    Fact("eu_law_applicable", B, "droit européen applicable à la solution"),
    Fact("extra_eu_jurisdiction", B, "éditeur soumis à une juridiction extra-UE"),
    Fact("reversibility", B, "réversibilité garantie"),
    Fact("ai_act_compliant", B, "conformité au règlement européen sur l'IA"),
    Fact("applicant_category", T, "catégorie du demandeur"),
    Fact("applicant_licences", N, "licences du demandeur", "licences"),
    Fact("applicant_overseas", B, "demandeur situé en outre-mer"),
    Fact("applicant_action_coeur_de_ville", B, "demandeur bénéficiaire d'Action Cœur de Ville"),
    Fact("applicant_qpv_population_share", N, "part de la population du demandeur en QPV", "fraction"),
    Fact("applicant_non_economic_activity", B, "activité du demandeur qualifiée de non économique"),
    Fact("document_kinds", L, "natures des pièces fournies"),
    Fact("co_beneficiary_count", N, "co-bénéficiaires déclarés", "entities"),
    Fact("covered_co_beneficiary_count", N, "co-bénéficiaires couverts", "entities", stage=Stage.ENTITIES),
    Fact("co_beneficiaries_with_licences", N, "co-bénéficiaires couverts ayant au moins une licence",
         "entities", stage=Stage.ENTITIES),
    Fact("licence_count", N, "licences des entités couvertes", "licences", stage=Stage.ENTITIES),
    Fact("max_qpv_population_share", N, "plus forte part de population en QPV parmi les entités couvertes",
         "fraction", stage=Stage.ENTITIES),
    Fact("requested_total", N, "montant total demandé", "euros", stage=Stage.REQUESTED),
    Fact("licence_requested", N, "licences demandées (avant prorata)", "euros", stage=Stage.REQUESTED),
    Fact("deployment_requested", N, "déploiement demandé par les entités couvertes", "euros",
         stage=Stage.REQUESTED),
    Fact("eligible_licence", N, "licences éligibles", "euros", stage=Stage.REQUESTED),
    Fact("eligible_deployment", N, "déploiement éligible", "euros", stage=Stage.ELIGIBLE),
    Fact("eligible_total", N, "total des dépenses éligibles", "euros", stage=Stage.ELIGIBLE),
    Fact("excluded_total", N, "dépenses non retenues", "euros", stage=Stage.ELIGIBLE),
    Fact("applicant_eligible_total", N, "dépenses éligibles du demandeur", "euros", stage=Stage.ELIGIBLE),
    Fact("mutualised", B, "demande mutualisée", stage=Stage.MUTUALISATION),
)

ENTITY_FACTS = _facts(
    Fact("category", T, "catégorie de l'entité"),
    Fact("licences", N, "licences de l'entité", "licences"),
    Fact("overseas", B, "entité située en outre-mer"),
    Fact("action_coeur_de_ville", B, "entité bénéficiaire d'Action Cœur de Ville"),
    Fact("qpv_population_share", N, "part de la population de l'entité en QPV", "fraction"),
    Fact("non_economic_activity", B, "activité qualifiée de non économique"),
)


ESTABLISHED = tuple(name for name, fact in APPLICATION_FACTS.items() if fact.stage is not Stage.INPUT)
"""The facts the evaluation establishes, in the order a decision holds their values."""
OPTIONAL_FACTS = frozenset(name for name, fact in APPLICATION_FACTS.items() if fact.optional)


def known_at(stage: Stage) -> dict[str, Symbol]:
    """The application facts an expression evaluated at ``stage`` may read."""
    return {name: fact.symbol() for name, fact in APPLICATION_FACTS.items() if fact.stage <= stage}


def entity_scope() -> dict[str, Symbol]:
    return {name: fact.symbol() for name, fact in ENTITY_FACTS.items()}
