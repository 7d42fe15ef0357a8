"""What the evaluator records for each rule it applies: a named record, whose French message is
written when it is read (most findings of a decision are never read one by one).

A record is a small class whose attributes are ``Final``: mypy refuses any assignment after it is
built, and equal records (the same rule, outcome, inputs, message…) are equal and hash alike. It is
neither a frozen dataclass (which sets each field through ``object.__setattr__``, several times
slower, compiled or not) nor a named tuple (whose constructor stays Python when mypyc compiles the
core: 27 µs a decision against 24 µs); a decision records about forty findings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

Outcome = Literal["pass", "fail", "review", "missing", "info"]
Status = Literal["ineligible", "incomplete", "review", "eligible"]

FAILED_OUTCOMES: dict[str, Literal["fail", "missing", "review"]] = {
    "ineligible": "fail", "incomplete": "missing", "review": "review"}
"""The outcome of a finding whose rule leads to a status: not eligible is a failure, incomplete a
missing piece, review a review."""


class Applied:
    """A rule applied: its id (its path in the policy file), its outcome, its clause, the status it
    leads the application to (``effect``), the names of the facts it read, the SIREN of the entity
    it is about, which of the rule's possible outcomes it took (``branch``, one of the keys its kind
    declares: what coverage counts), and its message: a text, or the function that writes it and
    its parameters."""

    __slots__ = ("branch", "clause", "effect", "entity", "inputs", "message", "outcome", "parameters", "rule")

    def __init__(self, rule: str, outcome: Outcome, clause: str, effect: Status | None, inputs: tuple[str, ...],
                 entity: str | None, branch: str, message: str | Callable[..., str],
                 parameters: tuple[Any, ...] = ()) -> None:
        self.rule: Final = rule
        self.outcome: Final = outcome
        self.clause: Final = clause
        self.effect: Final = effect
        self.inputs: Final = inputs
        self.entity: Final = entity
        self.branch: Final = branch
        self.message: Final = message
        self.parameters: Final = parameters

    def _values(self) -> tuple[Any, ...]:
        return (self.rule, self.outcome, self.clause, self.effect, self.inputs, self.entity, self.branch,
                self.message, self.parameters)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Applied):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        named = zip(("rule", "outcome", "clause", "effect", "inputs", "entity", "branch", "message", "parameters"),
                    self._values(), strict=True)
        return f"Applied({', '.join(f'{name}={value!r}' for name, value in named)})"

    @property
    def text(self) -> str:
        return self.message if isinstance(self.message, str) else self.message(*self.parameters)
