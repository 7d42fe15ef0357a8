"""The sections of a policy in evaluation order, and every kind of rule (``evaluator.kinds``)."""

from __future__ import annotations

from evaluator.kinds import amounts, beneficiaries, checks, documents, expenses, mutualisation, rate, reporting, window
from evaluator.kinds.base import Kind, Section

SECTIONS: tuple[Section, ...] = (
    window.SECTION, beneficiaries.SECTION, expenses.SECTION, mutualisation.SECTION, rate.SECTION,
    checks.SOVEREIGNTY, checks.REGULATIONS, documents.SECTION, reporting.SECTION, amounts.STATUS_SECTION,
    amounts.SECTION,
)
"""The sections in the order in which their facts become known."""

KINDS: tuple[Kind, ...] = tuple(kind for section in SECTIONS for kind in section.kinds)
"""Every kind of rule, in evaluation order."""
