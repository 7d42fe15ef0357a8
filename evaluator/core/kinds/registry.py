"""The sections of a policy in evaluation order, and every kind of rule (``evaluator.core.kinds``)."""

from __future__ import annotations

from evaluator.core.kinds import (
    amounts,
    beneficiaries,
    budget,
    checks,
    expenses,
    grant,
    mutualisation,
    rate,
    reporting,
    requirements,
    window,
)
from evaluator.core.kinds.base import Kind, Section
from evaluator.core.policy import Policy

SECTIONS: tuple[Section, ...] = (
    window.SECTION, beneficiaries.SECTION, expenses.SECTION, mutualisation.SECTION, rate.SECTION, grant.SECTION,
    checks.SOVEREIGNTY, checks.REGULATIONS, requirements.SECTION, reporting.SECTION, amounts.STATUS_SECTION,
    amounts.SECTION, budget.SECTION,
)
"""The sections in the order in which their facts become known."""


def kinds_of(policy: Policy) -> tuple[Kind, ...]:
    """Every kind of rule of ``policy``, in evaluation order."""
    return tuple(kind for section in policy.sections for kind in section.kinds)
