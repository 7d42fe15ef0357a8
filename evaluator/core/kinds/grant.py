"""The grant (``grant``): the eligible amounts at the final rate, each rounded as the policy says,
bounded by the caps in euros, per entity covered then per application (``grant.caps``); a capped
grant is split between licences and deployment as ``grant.split`` says; then the criteria that
read it (``grant.checks``: a minimum grant, say). This is the grant of an eligible application:
the payments section makes it nil when the application is not eligible.

A policy without a ``grant`` section has no cap and no criterion on the grant."""

from __future__ import annotations

from decimal import Decimal

from evaluator.core.application import Entity
from evaluator.core.facts import Stage
from evaluator.core.kinds import caps, checks
from evaluator.core.kinds.base import SETTING, ZERO, Branch, Kind, Loader, Section, Work
from evaluator.core.policy import Cap, Grant, Policy, Split

NO_SECTION = ("Cette version ne plafonne pas la subvention : elle est le montant éligible de chaque groupe "
              "(licences, déploiement) au taux final, arrondi comme la politique le dit.")
"""What the document of a version without a ``grant`` section says of it."""

SPLIT_WORDS: dict[Split, str] = {
    "pro_rata": "au prorata : la part des licences arrondie, le reste au déploiement",
    "licence_first": "le plafond réduit d'abord la subvention du déploiement",
    "deployment_first": "le plafond réduit d'abord la subvention des licences",
}


def load(loader: Loader) -> Grant:
    section = loader.data.get("grant")
    if section is None:
        return Grant((), "pro_rata", (), loader.data["rate"]["clause"], NO_SECTION)
    clause = section["clause"]
    bounds = caps.load(loader, ("grant", "caps"), clause, Stage.RATE,
                       lambda _path, _item: caps.GRANT) if "caps" in section else ()
    return Grant(tuple(sorted(bounds, key=lambda cap: caps.PER_ORDER.index(cap.per))),
                 section.get("split", "pro_rata"),
                 checks.load(loader, ("grant", "checks"), clause, Stage.GRANT) if "checks" in section else (),
                 clause, loader.interpretation(("grant",), section))


def evaluate(work: Work) -> None:
    policy, facts = work.policy, work.facts
    rate = work.final_rate
    licence = work.round(facts["eligible_licence"] * rate)
    deployment = work.round(facts["eligible_deployment"] * rate)
    work.uncapped_grant = (licence, deployment)
    total = licence + deployment
    capped = total
    for cap in policy.grant.caps:
        if cap.per == "entity":
            capped = max(ZERO, capped - sum((_entity_excess(work, cap, entity) for entity in work.covered), ZERO))
        else:
            capped = caps.bound(work, cap, capped, caps.limit(cap, facts), None, "")
    if capped < total:
        licence, deployment = _split(work, policy.grant.split, capped, licence, deployment)
    facts["grant_licence"] = licence
    facts["grant_deployment"] = deployment
    facts["grant_total"] = licence + deployment
    checks.run(work, policy.grant.checks)


def _entity_excess(work: Work, cap: Cap, entity: Entity) -> Decimal:
    """What the grant of one entity (its eligible amounts at the rate, rounded) exceeds its limit by."""
    siren = entity.siren
    amount = work.round((work.entity_licence.get(siren, ZERO) + work.entity_deployment.get(siren, ZERO))
                        * work.final_rate)
    return amount - caps.bound(work, cap, amount, caps.item_limit(cap, work.policy, entity.facts), siren,
                               f"{entity.name} ({siren}), ")


def _split(work: Work, split: Split, capped: Decimal, licence: Decimal, deployment: Decimal) -> tuple[Decimal, Decimal]:
    """A capped grant shared between licences and deployment."""
    if split == "licence_first":
        kept = min(licence, capped)
        return kept, capped - kept
    if split == "deployment_first":
        kept = min(deployment, capped)
        return capped - kept, kept
    share = work.round(capped * licence / (licence + deployment))
    return share, capped - share


def _split_branches(_grant: Grant, _policy: Policy) -> tuple[Branch, ...]:
    return ()


SPLIT = Kind("grant_split", SETTING, lambda policy: (policy.grant,) if policy.grant.caps else (), _split_branches,
             lambda grant, _policy: (("partage d'une subvention plafonnée", SPLIT_WORDS[grant.split]),))
CAPS = caps.kind("grant_cap", lambda policy: policy.grant.caps)
CHECKS = checks.kind("grant_check", lambda policy: policy.grant.checks)
SECTION: Section = Section("grant", "Subvention", (CAPS, SPLIT, CHECKS), evaluate, lambda policy: policy.grant, load)
