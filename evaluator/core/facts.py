"""The facts an expression may read: name, type, French label, unit and the stage of the evaluation
from which each is known.

Two kinds of facts:
- **declared facts**, written in each policy version (its ``facts`` section): the fields an
  application carries for that version (at the top level, in its solution, in each entity, expense
  line or document) and the aggregates over entities, expense lines or documents. Nothing of the
  cahier des charges is named here: a new field is a data edit of a version.
- **engine facts**, which the evaluation establishes as it goes from the application's structure
  (entities covered, amounts requested, eligible amounts, mutualisation); each is declared below,
  with the stage from which it is known.

A policy expression may only read the facts known at the point where it is evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum
from typing import Any, Literal

from evaluator.core.expressions import Expression, Symbol, Type
from evaluator.reading.formats import decimal_of, parse_date, parse_money


class Stage(IntEnum):
    """When a fact becomes known, in evaluation order."""

    INPUT = 0
    ENTITIES = 1
    REQUESTED = 2
    ELIGIBLE = 3
    MUTUALISATION = 4
    RATE = 5
    GRANT = 6


STAGE_WORDS = {Stage.INPUT: "la lecture de la demande", Stage.ENTITIES: "l'examen des bénéficiaires",
               Stage.REQUESTED: "le relevé des dépenses", Stage.ELIGIBLE: "le plafond du déploiement",
               Stage.MUTUALISATION: "la mutualisation", Stage.RATE: "le calcul du taux",
               Stage.GRANT: "le calcul de la subvention"}
"""Each stage, named for a person."""

Level = Literal["application", "solution", "entity", "expense", "document"]
"""Where a declared field sits in an application: at its top level, in its solution, in each entity
(the applicant and each co-beneficiary), in each expense line, in each document."""
LEVELS: tuple[Level, ...] = ("application", "solution", "entity", "expense", "document")

FieldType = Literal["boolean", "integer", "number", "share", "money", "date", "text", "country", "countries"]
FIELD_TYPES: Mapping[FieldType, Type] = {
    "boolean": Type.BOOL, "integer": Type.NUMBER, "number": Type.NUMBER, "share": Type.NUMBER,
    "money": Type.NUMBER, "date": Type.DATE, "text": Type.TEXT, "country": Type.TEXT, "countries": Type.TEXT_LIST}
"""Each type a declared field may have, and the type expressions see."""

Over = Literal["co_beneficiaries", "entities", "covered_entities", "covered_co_beneficiaries", "expenses",
               "documents"]
AGGREGATE_DOMAINS: Mapping[Over, tuple[Level, Stage, str]] = {
    "co_beneficiaries": ("entity", Stage.INPUT, "co-bénéficiaires déclarés"),
    "entities": ("entity", Stage.INPUT, "entités de la demande"),
    "covered_entities": ("entity", Stage.ENTITIES, "entités couvertes"),
    "covered_co_beneficiaries": ("entity", Stage.ENTITIES, "co-bénéficiaires couverts"),
    "expenses": ("expense", Stage.INPUT, "lignes de dépenses"),
    "documents": ("document", Stage.INPUT, "pièces fournies"),
}
"""What an aggregate may range over: the level of its items, the stage from which it is known, and
its name in French."""

Operation = Literal["count", "sum", "min", "max", "any", "all", "distinct"]
OPERATIONS: Mapping[Operation, tuple[Type | None, Type]] = {
    "count": (None, Type.NUMBER), "sum": (Type.NUMBER, Type.NUMBER), "min": (Type.NUMBER, Type.NUMBER),
    "max": (Type.NUMBER, Type.NUMBER), "any": (Type.BOOL, Type.BOOL), "all": (Type.BOOL, Type.BOOL),
    "distinct": (Type.TEXT, Type.TEXT_LIST)}
"""Each aggregate operation: the type of its ``of`` expression (none for a count) and of its result."""


@dataclass(frozen=True)
class Fact:
    """A name an expression may read."""

    name: str
    type: Type
    label: str
    unit: str | None = None
    optional: bool = False
    stage: Stage = Stage.INPUT

    def symbol(self) -> Symbol:
        return Symbol(self.type, self.label, self.optional)


@dataclass(frozen=True)
class Field:
    """A field an application carries for a policy version, declared in its ``facts.inputs``."""

    name: str
    """The name expressions read (for an entity field, ``applicant_<name>`` is the applicant's)."""
    level: Level
    key: str
    """The key of the field in the application, at its level."""
    type: FieldType
    label: str
    optional: bool
    default: Any
    """The value when the field is absent (``None`` for an optional field without default)."""
    required: bool
    values: tuple[str, ...] | None
    minimum: Any
    maximum: Any
    unit: str | None

    def fact(self) -> Fact:
        return Fact(self.name, FIELD_TYPES[self.type], self.label, self.unit, self.optional)


@dataclass(frozen=True)
class Aggregate:
    """A fact computed over the entities, expense lines or documents of an application, declared in
    a version's ``facts.aggregates``."""

    name: str
    label: str
    over: Over
    operation: Operation
    of: Expression | None
    where: Expression | None
    unit: str | None
    reads_constants: bool
    """Whether its expressions read a parameter or a list of the policy: each item's facts are then
    read with them; otherwise, as they are."""

    def fact(self) -> Fact:
        return Fact(self.name, OPERATIONS[self.operation][1], self.label, self.unit,
                    stage=AGGREGATE_DOMAINS[self.over][1])


ENTITY_CORE = (
    Fact("siren", Type.TEXT, "SIREN de l'entité"),
    Fact("name", Type.TEXT, "nom de l'entité"),
    Fact("category", Type.TEXT, "catégorie de l'entité"),
    Fact("licences", Type.NUMBER, "licences de l'entité", "licences"),
)
"""What every entity has, whatever the version: its identity, category and licences."""
EXPENSE_CORE = (
    Fact("kind", Type.TEXT, "nature de la dépense"),
    Fact("amount", Type.NUMBER, "montant de la ligne", "euros"),
    Fact("entity", Type.TEXT, "SIREN de l'entité servie par la ligne"),
)
DOCUMENT_CORE = (
    Fact("kind", Type.TEXT, "nature de la pièce"),
    Fact("signed_by", Type.TEXT_LIST, "SIREN des signataires de la pièce"),
)
ITEM_CORE: Mapping[Level, tuple[Fact, ...]] = {"entity": ENTITY_CORE, "expense": EXPENSE_CORE,
                                               "document": DOCUMENT_CORE}

APPLICANT_PREFIX = "applicant_"
"""An entity fact ``x`` is the applicant's as ``applicant_x``, at the level of the application."""

ENGINE_FACTS = (
    Fact("submitted_on", Type.DATE, "date de dépôt de la demande", "date"),
    Fact("requested_total", Type.NUMBER, "montant total demandé", "euros", stage=Stage.REQUESTED),
    Fact("licence_requested", Type.NUMBER, "licences demandées (avant prorata)", "euros", stage=Stage.REQUESTED),
    Fact("deployment_requested", Type.NUMBER, "déploiement demandé par les entités couvertes", "euros",
         stage=Stage.REQUESTED),
    Fact("eligible_licence", Type.NUMBER, "licences éligibles", "euros", stage=Stage.REQUESTED),
    Fact("eligible_deployment", Type.NUMBER, "déploiement éligible", "euros", stage=Stage.ELIGIBLE),
    Fact("eligible_total", Type.NUMBER, "total des dépenses éligibles", "euros", stage=Stage.ELIGIBLE),
    Fact("excluded_total", Type.NUMBER, "dépenses non retenues", "euros", stage=Stage.ELIGIBLE),
    Fact("applicant_eligible_total", Type.NUMBER, "dépenses éligibles du demandeur", "euros", stage=Stage.ELIGIBLE),
    Fact("mutualised", Type.BOOL, "demande mutualisée", stage=Stage.MUTUALISATION),
    Fact("rate", Type.NUMBER, "taux de cofinancement final", "fraction", stage=Stage.RATE),
    Fact("grant_licence", Type.NUMBER, "subvention des licences, plafonds appliqués", "euros", stage=Stage.GRANT),
    Fact("grant_deployment", Type.NUMBER, "subvention du déploiement, plafonds appliqués", "euros",
         stage=Stage.GRANT),
    Fact("grant_total", Type.NUMBER, "subvention, plafonds appliqués", "euros", stage=Stage.GRANT),
)
"""The facts the engine reads from an application's structure or establishes as it evaluates it,
whatever the version (they name no field of the cahier des charges: the entities, their licences,
the expense lines and documents are the structure every application has)."""


@dataclass(frozen=True)
class FactTable:
    """Every fact of a policy version: the engine's, its declared fields and aggregates."""

    fields: tuple[Field, ...]
    aggregates: tuple[Aggregate, ...]
    clause: str
    interpretation: str | None
    application: dict[str, Fact] = field(init=False, repr=False, compare=False)
    """The facts of the application level, in order: the engine's, then the declared fields
    (an entity's as the applicant's), then the aggregates."""
    optional: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = {fact.name: fact for fact in ENGINE_FACTS}
        for core in ENTITY_CORE[2:]:
            name = APPLICANT_PREFIX + core.name
            found[name] = Fact(name, core.type, f"{core.label} (demandeur)", core.unit)
        for item in self.fields:
            fact = item.fact()
            if item.level == "entity":
                name = APPLICANT_PREFIX + item.name
                found[name] = Fact(name, fact.type, f"{fact.label} (demandeur)", fact.unit, fact.optional)
            elif item.level in ("application", "solution"):
                found[item.name] = fact
        found.update((aggregate.name, aggregate.fact()) for aggregate in self.aggregates)
        object.__setattr__(self, "application", found)
        object.__setattr__(self, "optional", frozenset(name for name, fact in found.items() if fact.optional))

    def items(self, level: Level) -> dict[str, Fact]:
        """The facts of each entity, expense line or document: the core ones and the declared."""
        return {**{fact.name: fact for fact in ITEM_CORE[level]},
                **{item.name: item.fact() for item in self.fields if item.level == level}}

    def known_at(self, stage: Stage) -> dict[str, Symbol]:
        """The application facts an expression evaluated at ``stage`` may read."""
        return {name: fact.symbol() for name, fact in self.application.items() if fact.stage <= stage}

    def stage_of(self, name: str) -> Stage | None:
        fact = self.application.get(name)
        return None if fact is None else fact.stage

    def scope(self, level: Level) -> dict[str, Symbol]:
        """What an expression about one entity, expense line or document may read."""
        return {name: fact.symbol() for name, fact in self.items(level).items()}

    def at(self, level: Level) -> tuple[Field, ...]:
        return tuple(item for item in self.fields if item.level == level)


_CONVERT: Mapping[FieldType, Callable[[Any], Any]] = {
    "integer": int, "number": decimal_of, "share": decimal_of, "money": parse_money, "date": parse_date,
    "countries": tuple}
"""How the value of a field in a document (its schema already checked) becomes its value in the model."""


def model_value(kind: FieldType, value: Any) -> Any:
    """The model value of a field of type ``kind`` written ``value`` (a default, say), once its
    schema accepts it; ``-0`` is zero."""
    convert = _CONVERT.get(kind)
    found = value if convert is None else convert(value)
    return found + 0 if isinstance(found, Decimal) else found


@dataclass(frozen=True)
class Reader:
    """How a version reads the fields it declares at each level: for each, its name, its key, how
    its value is converted and its value when absent."""

    fields: dict[Level, tuple[tuple[str, str, Callable[[Any], Any] | None, Any], ...]]
    input_aggregates: tuple[Aggregate, ...]

    @classmethod
    def of(cls, table: FactTable) -> Reader:
        return cls({level: tuple((item.name, item.key, _CONVERT.get(item.type), item.default)
                                 for item in table.at(level)) for level in LEVELS},
                   tuple(a for a in table.aggregates if a.fact().stage is Stage.INPUT))

    def read(self, level: Level, item: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
        """``into`` with the fields of ``level`` read from ``item`` (converted, or their default)."""
        for name, key, convert, default in self.fields[level]:
            value = item.get(key)
            into[name] = default if value is None else value if convert is None else convert(value)
        return into
