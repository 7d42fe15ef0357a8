"""What every kind of rule shares: its outcomes, its section, and the state of an evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

from evaluator.core.application import Application, Entity
from evaluator.core.decision import EntityRow, MissingDocument
from evaluator.core.expressions import Expression, Type, compile_expression
from evaluator.core.facts import FactTable, Level, Stage
from evaluator.core.findings import Applied, Status
from evaluator.core.policy import Bonus, Indicator, Policy, Tranche
from evaluator.core.wording import Written
from evaluator.reading.problems import JsonPath

T = TypeVar("T")


class Loader(Protocol):
    """What a kind's ``load`` may use of the policy being loaded: its data, its facts, and the
    located checks every rule goes through (texts with their ``{parameter}`` placeholders filled in,
    expressions checked against the facts known where they are evaluated), each problem reported
    with its line."""

    data: dict[str, Any]
    facts: FactTable

    def problem(self, path: JsonPath, message: str, hint: str | None = None) -> None: ...

    def text(self, path: JsonPath) -> str: ...

    def interpretation(self, path: JsonPath, item: Mapping[str, Any]) -> str | None: ...

    def expression(self, path: JsonPath, stage: Stage, expected: Type,
                   optional_allowed: bool = False) -> Expression | None:
        """An expression over the application's facts known at ``stage``."""

    def item_expression(self, path: JsonPath, level: Level, expected: Type) -> Expression | None:
        """An expression over the facts of one entity, expense line or document."""

    def items(self, path: JsonPath, build: Callable[[JsonPath, str, dict[str, Any]], T | None]) -> tuple[T, ...]:
        """The rules of the mapping at ``path``, each built from its path, key and data."""

    def known_documents(self, path: JsonPath, kinds: list[str]) -> None:
        """Report the document kinds of the list at ``path`` that the policy does not declare."""


def code(expression: Expression | None, otherwise: str) -> str:
    """An expression as a rule tells it: in French words, then as written (marked as code: `...`), or
    ``otherwise`` when there is none. Versions compare on what is written (``wording.Written``)."""
    if expression is None:
        return otherwise
    source = f"`{expression.text}`"
    return source if expression.words == expression.text else Written(f"{expression.words} ({source})", source)


def rule_id(path: JsonPath) -> str:
    """A rule's id in findings: its path in the policy file, ``rate.bonuses.ia_frugale``."""
    return ".".join(str(part) for part in path)


def number(value: int | Decimal) -> Decimal:
    """A rate or a share of the policy as a decimal; ``-0`` is zero."""
    return Decimal(value) + 0


def placeholder() -> Expression:
    """Stands for an expression already reported as refused; the policy is never returned."""
    return compile_expression("True", {}, Type.BOOL)


@dataclass(frozen=True)
class Branch:
    """One possible outcome of a rule: a short key (``granted``) and a French label."""

    key: str
    label: str


@dataclass(frozen=True)
class Noun:
    """What a kind of rule is called in French, to say that one was added, removed or changed."""

    noun: str
    feminine: bool
    gist: Literal["", "first", "value", "all"] = ""
    """How a new rule of the kind is summed up after its name: not at all, by its first field
    (« (+5 %) »), by its first field as its value (« : 300 »), or by all its fields."""

    def added(self, label: str, fields: Description = ()) -> str:
        """« Nouvelle bonification « … » (+5 %) »: the rule added, summed up by its ``fields``."""
        named = f"{'Nouvelle' if self.feminine else 'Nouveau'} {self.named(label)}"
        if not fields or not self.gist:
            return named
        if self.gist == "value":
            return f"{named} : {fields[0][1]}"
        values = (fields[0][1],) if self.gist == "first" else tuple(value for _, value in fields)
        return f"{named} ({' ; '.join(values)})"

    def removed(self, label: str) -> str:
        named = self.named(label)
        return f"{named[0].upper()}{named[1:]} supprimé{'e' if self.feminine else ''}"

    def named(self, label: str) -> str:
        """« bonification « IA frugale » », or the label alone when it already says what it is."""
        if label.lower().startswith(self.noun):
            return label[0].lower() + label[1:]
        return f"{self.noun} « {label} »"


SETTING = Noun("règle", True)
"""A rule of which a policy has one (the window, the ceiling…), or a setting of the policy."""

Description = tuple[tuple[str, str], ...]
"""A rule told in French: (what, value) pairs, the first one the rule's gist."""


@dataclass(frozen=True, eq=False)
class Kind:
    """A kind of rule: its name, what it is called, its rules in a policy, their outcomes, and how
    each is told in French (what docs and diff show)."""

    name: str
    noun: Noun
    rules: Callable[[Policy], Iterable[Any]]
    branches: Callable[[Any, Policy], tuple[Branch, ...]]
    describe: Callable[[Any, Policy], Description]


@dataclass(frozen=True, eq=False)
class Section:
    """A section of the policy, applied at its turn: its kinds and how they are evaluated.

    A section the policy schema does not know (a kind added to a policy without touching the
    bundled ones) brings its ``schema`` (the JSON Schema of its key at the top of a policy file);
    what it loads is the policy's ``extensions[name]``."""

    name: str
    """Its key at the top of a policy file."""
    title: str
    """Its title in French, in the document of a version."""
    kinds: tuple[Kind, ...]
    evaluate: Callable[[Work], None]
    about: Callable[[Policy], Any]
    """The section in a policy: what has its clause and interpretation."""
    load: Callable[[Loader], Any]
    """How the section's data is read into the model, its problems reported located."""
    schema: Mapping[str, Any] | None = None


def status_words(policy: Policy, status: Status) -> str:
    """A status in words, for an outcome's label."""
    return policy.statuses.named(status).lower()


ZERO = Decimal(0)


class Work:
    """The state of one evaluation: the facts known so far, the trace of the rules applied, and the
    figures of the decision."""

    __slots__ = ("application", "bonuses", "covered", "entity_deployment", "entity_licence", "entity_rows", "facts",
                 "figures", "final_rate", "find", "indicators", "missing", "paid", "policy", "round", "status",
                 "supplied", "tier", "trace", "uncapped_grant")

    def __init__(self, policy: Policy, application: Application) -> None:
        self.policy = policy
        self.application = application
        self.facts: dict[str, Any] = {**policy.constants, **application.facts}
        self.trace: list[Applied] = []
        self.find = self.trace.append
        """Record a rule applied."""
        self.missing: list[MissingDocument] = []
        self.entity_rows: list[EntityRow] = []
        self.covered: list[Entity] = []
        self.entity_licence: dict[str, Decimal] = {}
        self.entity_deployment: dict[str, Decimal] = {}
        self.tier = policy.rate.tiers[-1]
        self.bonuses: list[Bonus] = []
        self.final_rate = ZERO
        self.uncapped_grant = (ZERO, ZERO)
        """The licence and deployment grants before the caps."""
        self.indicators: list[Indicator] = []
        self.paid: list[tuple[Tranche, Decimal]] = []
        self.status: Status = "eligible"
        self.round = policy.rounding.apply
        self.figures: tuple[Decimal, ...] = ()
        self.supplied = frozenset(document.kind for document in application.documents)
        """The kinds of the documents supplied."""
