"""What the evaluator records for each rule it applies: a named record, whose French message is
written when it is read (most findings of a decision are never read one by one).

The records are named tuples: immutable and read by name like a frozen dataclass, and built several
times faster (a decision records about forty findings; a frozen dataclass sets each field through
``object.__setattr__``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

Outcome = Literal["pass", "fail", "review", "missing", "info"]
Status = Literal["ineligible", "incomplete", "review", "eligible"]

FAILED_OUTCOMES: dict[str, Literal["fail", "missing", "review"]] = {
    "ineligible": "fail", "incomplete": "missing", "review": "review"}
"""The outcome of a finding whose rule leads to a status: not eligible is a failure, incomplete a
missing piece, review a review."""


class Applied(NamedTuple):
    """A rule applied: its id (its path in the policy file), its outcome, its clause, the status it
    leads the application to (``effect``), the names of the facts it read, the SIREN of the entity
    it is about, which of the rule's possible outcomes it took (``branch``, one of the keys its kind
    declares: what coverage counts), and its message: a text, or the function that writes it and
    its parameters."""

    rule: str
    outcome: Outcome
    clause: str
    effect: Status | None
    inputs: tuple[str, ...]
    entity: str | None
    branch: str
    message: str | Callable[..., str]
    parameters: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        return self.message if isinstance(self.message, str) else self.message(*self.parameters)
