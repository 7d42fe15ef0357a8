"""The short form of a decision (``guichet batch --format summary``, ``schemas/summary.schema.json``):
what a study over a portfolio reads — the status, the rate, the amounts, the version, and the
reasons for the status — in about 300 bytes instead of the 12.6 KB of the whole decision. It is
written from the decision's own data: its status and amounts are those of the decision."""

from __future__ import annotations

from typing import Any

import orjson

from evaluator.core.decision import AMOUNTS, Decision, money_text, rate_text
from evaluator.core.findings import Applied


def summary(decision: Decision) -> dict[str, Any]:
    """The short form: reference, submission date, status (and its label), final rate, amounts,
    version, and the findings that lead to a status (``reasons``: their rule, the status each
    leads to, their French message, and the SIREN they are about, if any)."""
    application = decision.application
    return {
        "reference": application.reference,
        "submitted_on": application.submitted_on.isoformat(),
        "status": decision.status,
        "status_label": decision.status_label,
        "rate": rate_text(decision.final_rate),
        "amounts": dict(zip(AMOUNTS, map(money_text, decision.figures), strict=True)),
        "version": decision.applied.version,
        "reasons": [_reason(entry) for entry in decision.trace if entry.effect is not None],
    }


def summary_bytes(decision: Decision) -> bytes:
    """The short form as compact UTF-8 JSON, as a batch writes it (a line of its own)."""
    return orjson.dumps(summary(decision))


def _reason(entry: Applied) -> dict[str, Any]:
    reason = {"rule": entry.rule, "effect": entry.effect, "message": entry.text}
    if entry.entity is not None:
        reason["entity"] = entry.entity
    return reason
