"""The decision's status and amounts: the status is the worst effect of the findings (in the order of
``statuses``); the grant is the eligible amounts at the final rate, rounded as the policy says, nil
when the application is not eligible; it is paid in the tranches of ``payments.tranches``, the last
one taking the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from evaluator.core import french
from evaluator.core.findings import Applied
from evaluator.core.kinds.base import (
    SETTING,
    ZERO,
    Branch,
    Description,
    Kind,
    Loader,
    Noun,
    Section,
    Work,
    number,
    rule_id,
)
from evaluator.core.policy import Payments, Policy, Rounding, StatusDefinition, Statuses, Tranche
from evaluator.reading.problems import JsonPath

NO_GRANT = "Aucune subvention : la demande n'est pas éligible."


def load(loader: Loader) -> Payments:
    section = loader.data["payments"]
    clause = section["clause"]
    keys = list(section["tranches"])

    def tranche(path: JsonPath, key: str, item: dict[str, Any]) -> Tranche:
        rest = item["share"] == "rest"
        if rest != (key == keys[-1]):
            loader.problem((*path, "share"), "seul le dernier versement reçoit le reste (« share: rest »)")
        return Tranche(key, rule_id(path), loader.text((*path, "label")), None if rest else number(item["share"]),
                       loader.text((*path, "condition")), item.get("clause", clause),
                       loader.interpretation(path, item))

    tranches = loader.items(("payments", "tranches"), tranche)
    if sum(t.share or 0 for t in tranches) > 1:
        loader.problem(("payments", "tranches"), "les parts des versements dépassent 100 % de la subvention")
    return Payments(tranches, clause, loader.interpretation(("payments",), section))


def load_statuses(loader: Loader) -> Statuses:
    order = loader.data["statuses"]["order"]
    if list(order)[-1] != "eligible":
        loader.problem(("statuses", "order"), "« eligible » doit venir en dernier (le statut sans réserve)")
    return Statuses(
        tuple(StatusDefinition(key, loader.text(("statuses", "order", key, "label"))) for key in order),
        loader.data["statuses"]["clause"],
        loader.interpretation(("statuses",), loader.data["statuses"]),
    )


def decide_status(work: Work) -> None:
    work.status = work.policy.statuses.worst({entry.effect for entry in work.trace if entry.effect is not None})


def evaluate(work: Work) -> None:
    policy, facts = work.policy, work.facts
    ineligible = work.status == "ineligible"
    licence: Decimal = facts["eligible_licence"]
    deployment: Decimal = facts["eligible_deployment"]
    grant_licence: Decimal = ZERO if ineligible else facts["grant_licence"]
    grant_deployment: Decimal = ZERO if ineligible else facts["grant_deployment"]
    total = grant_licence + grant_deployment
    clause = policy.rate.clause
    if ineligible:
        work.find(Applied("amounts.grant", "info", clause, None, (), None, "none", NO_GRANT))
    else:
        uncapped = work.uncapped_grant
        told = (grant_message, (policy.rounding, licence, deployment, work.final_rate, *uncapped)) if (
            uncapped == (grant_licence, grant_deployment)) else (capped_grant_message, (
                policy.rounding, licence, deployment, work.final_rate, *uncapped, grant_licence, grant_deployment))
        work.find(Applied("amounts.grant", "info", clause, None, (), None, "granted", *told))
        _payments(work, total)
    work.figures = (facts["requested_total"], licence, deployment, facts["eligible_total"], facts["excluded_total"],
                    grant_licence, grant_deployment, total)


def grant_message(rounding: Rounding, licence: Decimal, deployment: Decimal, rate: Decimal, grant_licence: Decimal,
                  grant_deployment: Decimal) -> str:
    return (f"Subvention : {french.euros(licence)} de licences et {french.euros(deployment)} de déploiement éligibles "
            f"à {french.percent(rate)}, soit {french.euros(grant_licence)} + {french.euros(grant_deployment)} = "
            f"{french.euros(grant_licence + grant_deployment)} ({rounding.label.lower()} : "
            f"{french.ROUNDING_WORDS[rounding.mode]}).")


def capped_grant_message(rounding: Rounding, licence: Decimal, deployment: Decimal, rate: Decimal,
                         grant_licence: Decimal, grant_deployment: Decimal, capped_licence: Decimal,
                         capped_deployment: Decimal) -> str:
    return (f"{grant_message(rounding, licence, deployment, rate, grant_licence, grant_deployment)[:-1]}, ramenée par "
            f"les plafonds à {french.euros(capped_licence)} + {french.euros(capped_deployment)} = "
            f"{french.euros(capped_licence + capped_deployment)}.")


def _payments(work: Work, total: Decimal) -> None:
    paid = ZERO
    for tranche in work.policy.payments.tranches:
        amount = total - paid if tranche.share is None else work.round(total * tranche.share)
        paid += amount
        work.paid.append((tranche, amount))
        work.find(Applied(tranche.rule, "info", tranche.clause, None, (), None, "computed", tranche_message,
                          (tranche, amount)))


def tranche_message(tranche: Tranche, amount: Decimal) -> str:
    return f"{tranche.label} : {french.euros(amount)}, {tranche.condition[0].lower()}{tranche.condition[1:]}."


def _status_branches(statuses: Statuses, _policy: Policy) -> tuple[Branch, ...]:
    return tuple(Branch(status.id, status.label) for status in statuses.order)


def _tranche_branches(_tranche: Tranche, _policy: Policy) -> tuple[Branch, ...]:
    return (Branch("computed", "montant calculé"),)


STATUS = Kind("status", SETTING, lambda policy: (policy.statuses,), _status_branches,
              lambda statuses, _policy: (("ordre", ", ".join(s.label.lower() for s in statuses.order)),))
"""The status a decision takes: an outcome of the whole application, not a finding."""


def _describe_tranche(tranche: Tranche, _policy: Policy) -> Description:
    return (("part", "le reste" if tranche.share is None else french.percent(tranche.share)),
            ("condition", tranche.condition))


TRANCHE = Kind("tranche", Noun("versement", False), lambda policy: policy.payments.tranches, _tranche_branches,
               _describe_tranche)
STATUS_SECTION: Section = Section("statuses", "Statut d'un dossier", (STATUS,), decide_status,
                                   lambda policy: policy.statuses, load_statuses)
SECTION: Section = Section("payments", "Versements", (TRANCHE,), evaluate, lambda policy: policy.payments, load)
