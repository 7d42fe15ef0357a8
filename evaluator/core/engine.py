"""The evaluator: applies a policy to an application and returns a decision. No I/O.

The evaluation is a loop over the policy's sections (``kinds.registry.SECTIONS``, and any section a
policy was loaded with), in the order in
which their facts become known; each section's module reads the policy's data for it, adds the facts
it establishes and records one finding (``findings.Applied``) per rule it applies. Nothing of the
cahier des charges — no threshold, rate, list, field or outcome — is written in the engine or the
kinds: it all comes from the policy. The kinds' modules are the only statement of the rules'
semantics.

Everything that depends on the policy alone is done once: expressions are compiled when it loads,
and a finding that depends on the rule alone is made at its first use and shared by every decision
after it; per application, only the application's work. The findings' French messages are
written when the decision is read, not while it is established.
"""

from __future__ import annotations

from datetime import date

from evaluator.core.application import Application
from evaluator.core.decision import Decision
from evaluator.core.kinds.base import Work
from evaluator.core.policy import Policy


def evaluate(policy: Policy, application: Application, selected_for: date | None = None) -> Decision:
    """Decide ``application`` under ``policy``."""
    work = Work(policy, application)
    for section in policy.sections:
        section.evaluate(work)
    return Decision(work.status, selected_for, work.tier, tuple(work.bonuses), work.final_rate, work.figures,
                    tuple(work.entity_rows), (work.entity_licence, work.entity_deployment), tuple(work.paid),
                    tuple(work.missing), tuple(work.indicators), tuple(work.trace), work.facts, policy, application)
