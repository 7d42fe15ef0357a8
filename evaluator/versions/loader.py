"""Loading a policy file: YAML, schema, then every expression and cross-reference checked.

All the problems of a file are reported together, each with its line and a French message; a
policy that loads can evaluate any valid application.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import string
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from evaluator.core.application import application_schema, structure_keys, value_problems
from evaluator.core.expressions import Expression, ExpressionError, Symbol, Type, compile_expression
from evaluator.core.facts import (
    AGGREGATE_DOMAINS,
    APPLICANT_PREFIX,
    ENGINE_FACTS,
    ENTITY_CORE,
    FIELD_TYPES,
    ITEM_CORE,
    OPERATIONS,
    STAGE_WORDS,
    Aggregate,
    FactTable,
    Field,
    Level,
    Stage,
    model_value,
)
from evaluator.core.french import quantity
from evaluator.core.kinds.base import Section, placeholder
from evaluator.core.kinds.registry import SECTIONS
from evaluator.core.policy import NamedList, Parameter, Policy, Rounding, Source
from evaluator.core.wording import Written
from evaluator.reading.files import read_regular
from evaluator.reading.formats import parse_date
from evaluator.reading.parse import Document, load_document
from evaluator.reading.problems import InputError, JsonPath, Problem
from evaluator.reading.validation import Schema, bundled, validate
from evaluator.versions.lock import digest

T = TypeVar("T")
_QUANTA = frozenset({Decimal("0.01"), Decimal("0.1"), Decimal("1")})
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


MODELINE = "# yaml-language-server: $schema="


def load_policy_file(path: Path, *, reference: bool = False) -> Policy:
    """Load a policy file; a file must open with the schema modeline that editors read. A policy
    file is a regular file of at most ``MAX_DOCUMENT_BYTES`` (a FIFO or a link to ``/dev/zero``
    named ``2.0.yaml`` is refused, not waited on or read without end: ``reading.files``)."""
    raw = read_regular(path, str(path))
    modeline = [] if raw.lstrip(b"\xef\xbb\xbf").startswith(MODELINE.encode()) else [Problem(
        str(path), "la première ligne doit désigner le schéma des politiques", 1, 1,
        hint=f"ajoutez en tête : {MODELINE}<chemin vers>/schemas/policy.schema.json",
    )]
    try:
        policy = load_policy(raw, str(path), reference=reference)
    except InputError as error:
        raise InputError([*modeline, *error.problems]) from None
    if modeline:
        raise InputError(modeline)
    return policy


def load_policy(raw: bytes, source: str, *, reference: bool = False,
                sections: tuple[Section, ...] = SECTIONS) -> Policy:
    """Load a policy; ``reference`` has its expressions evaluated by simpleeval rather than by
    their compiled functions (the reference the test suite compares the compiled ones with).
    ``sections`` are those it is applied by: the bundled ones, or these and others, each bringing
    its schema and its load (``kinds.base.Section``)."""
    document = load_document(raw, source)
    problems = validate(document, _policy_schema(sections))
    if problems:
        raise InputError(sorted([*problems, *_expression_problems(document, problems)],
                                key=lambda p: (p.line or 0, p.column or 0)))
    builder = _Builder(document, reference)
    policy = builder.build(digest(raw), sections)
    if builder.problems:
        raise InputError(sorted(builder.problems, key=lambda p: (p.line or 0, p.column or 0)))
    return policy


class _Builder:
    """Turns a schema-valid policy document into the model, collecting semantic problems."""

    def __init__(self, document: Document, reference: bool) -> None:
        self.document = document
        self.reference = reference
        self.data: dict[str, Any] = document.data
        self.problems: list[Problem] = []
        self.parameters = {key: self._parameter(key, value) for key, value in self.data["parameters"].items()}
        self.lists = {
            key: NamedList(key, self.text(("lists", key, "label")), tuple(value["values"]),
                           value["clause"], self.interpretation(("lists", key), value))
            for key, value in self.data["lists"].items()
        }
        self.constants: dict[str, Symbol] = {
            **{key: Symbol(Type.DATE if isinstance(p.value, date) else Type.NUMBER, p.label, constant=True,
                           value=p.value, unit=p.unit)
               for key, p in self.parameters.items()},
            **{key: Symbol(Type.TEXT_LIST, item.label, constant=True) for key, item in self.lists.items()},
        }
        self.facts = self._facts()
        taken = {*self.facts.application, *(name for level in ITEM_CORE for name in self.facts.items(level))}
        for key in self.constants:
            if key in taken:
                section = "parameters" if key in self.parameters else "lists"
                self.problem((section, key), f"« {key} » est déjà le nom d'un fait de la demande",
                             "choisissez un autre nom")

    # -- helpers -------------------------------------------------------------------------------

    def problem(self, path: JsonPath, message: str, hint: str | None = None) -> None:
        self.problems.append(self.document.problem(path, message, hint))

    def _get(self, path: JsonPath) -> Any:
        value: Any = self.data
        for part in path:
            value = value[part]
        return value

    def text(self, path: JsonPath) -> str:
        """A French text of the policy, its ``{parameter}`` placeholders filled in (then a
        ``Written`` that keeps the text as written)."""
        raw = cast(str, self._get(path))
        for name in _PLACEHOLDER.findall(raw):
            if name not in self.parameters:
                self.problem(path, f"paramètre inconnu « {{{name}}} » dans le texte",
                             "un texte ne peut citer que les paramètres de la section parameters")
        try:
            list(string.Formatter().parse(raw))
        except ValueError:
            self.problem(path, "accolade non fermée dans le texte", "écrivez {nom_du_paramètre}")
            return raw
        filled = _PLACEHOLDER.sub(
            lambda m: quantity(self.parameters[m[1]].value, self.parameters[m[1]].unit)
            if m[1] in self.parameters else m[0],
            raw,
        )
        return raw if filled == raw else Written(filled, raw)

    def interpretation(self, path: JsonPath, item: Mapping[str, Any]) -> str | None:
        return self.text((*path, "interpretation")) if "interpretation" in item else None

    def _expression(
        self, path: JsonPath, scope: Mapping[str, Symbol], expected: Type, optional_allowed: bool = False,
        stage: Stage | None = None,
    ) -> Expression | None:
        """The expression at ``path``, checked against ``scope`` (the facts known at ``stage``, when
        it is evaluated over the application)."""
        written = self._get(path)
        text = written if isinstance(written, str) else str(written)  # a limit may be a plain amount: 50000
        try:
            return compile_expression(text, {**scope, **self.constants}, expected,
                                      optional_allowed=optional_allowed, reference=self.reference)
        except ExpressionError as error:
            later = self.facts.stage_of(error.unknown) if error.unknown and stage is not None else None
            if error.unknown and later is not None and stage is not None and later > stage:
                self.problem(path, f"expression refusée : « {error.unknown} » n'est connu qu'à partir de l'étape "
                                    f"« {STAGE_WORDS[later]} » ; cette expression est évaluée à l'étape "
                                    f"« {STAGE_WORDS[stage]} »",
                              "une expression ne lit que les faits établis avant elle (guichet facts donne "
                              "l'étape de chacun)")
            else:
                self.problem(path, f"expression refusée : {error.message}", error.hint)
            return None

    def expression(self, path: JsonPath, stage: Stage, expected: Type,
                   optional_allowed: bool = False) -> Expression | None:
        """An expression over the application's facts known at ``stage``."""
        return self._expression(path, self.facts.known_at(stage), expected, optional_allowed, stage)

    def item_expression(self, path: JsonPath, level: Level, expected: Type) -> Expression | None:
        """An expression over the facts of one entity, expense line or document."""
        return self._expression(path, self.facts.scope(level), expected)

    def known_documents(self, path: JsonPath, kinds: list[str]) -> None:
        known = self.data["documents"]["kinds"]
        for index, kind in enumerate(kinds):
            if kind not in known:
                self.problem((*path, index), f"nature de pièce inconnue : « {kind} »",
                             "déclarez-la dans documents.kinds")

    def items(self, path: JsonPath, build: Callable[[JsonPath, str, dict[str, Any]], T | None]) -> tuple[T, ...]:
        built = (build((*path, key), key, item) for key, item in self._get(path).items())
        return tuple(item for item in built if item is not None)

    # -- facts -------------------------------------------------------------------------------------

    def _facts(self) -> FactTable:
        """The facts the version declares: its input fields, then its aggregates (whose expressions
        read the fields of the items they range over)."""
        section = self.data["facts"]
        fields = self.items(("facts", "inputs"), self._field)
        self._clashes(fields)
        table = FactTable(fields, (), section["clause"], self.interpretation(("facts",), section))
        self.facts = table  # what the aggregates' expressions may read
        aggregates = self.items(("facts", "aggregates"), self._aggregate) if "aggregates" in section else ()
        return FactTable(fields, aggregates, table.clause, table.interpretation)

    def _field(self, path: JsonPath, name: str, item: dict[str, Any]) -> Field | None:
        level, kind = item["at"], item["type"]
        key = item.get("field", name)
        if key in structure_keys(level):
            self.problem((*path, "field"), f"« {key} » est une clé de la structure de toute demande",
                         "choisissez une autre clé (field)")
        if "values" in item and kind != "text":
            self.problem((*path, "values"), "seul un texte (type: text) a une liste de valeurs admises")
        for bound in ("minimum", "maximum"):
            if bound in item and FIELD_TYPES[kind] is not Type.NUMBER:
                self.problem((*path, bound), f"« {bound} » ne borne qu'un nombre")
        if "minimum" in item and "maximum" in item and item["minimum"] > item["maximum"]:
            self.problem((*path, "maximum"), "le maximum est plus petit que le minimum : aucune valeur n'est admise")
        if item.get("optional") and "default" in item:
            self.problem((*path, "default"), "une information facultative n'a pas de valeur par défaut",
                         "retirez « default » ou « optional »")
        optional = bool(item.get("optional", False))
        declared = Field(name, level, key, kind, self.text((*path, "label")), optional, None, not optional,
                         tuple(item["values"]) if "values" in item and kind == "text" else None,
                         item.get("minimum"), item.get("maximum"), item.get("unit"))
        if "default" not in item or optional:
            return declared
        default = self._default(path, declared, item["default"])
        return dataclasses.replace(declared, default=default, required=default is None)

    def _default(self, path: JsonPath, declared: Field, value: Any) -> Any:
        """The model value of a field's default: a value an application could give the field (its
        schema says so), or ``None`` when it is refused."""
        inside = (*path, "default")
        written = {at[len(path):]: text for at, text in self.document.plain_text.items() if at[:len(inside)] == inside}
        default = Document(self.document.source, {"default": copy.deepcopy(value)}, [], plain_text=written)
        refused = value_problems(declared, default)
        for problem in refused:
            self.problem((*path, *(problem.path or ("default",))), f"valeur par défaut refusée : {problem.message}",
                         problem.hint)
        return None if refused else model_value(declared.type, default.data["default"])

    def _clashes(self, fields: tuple[Field, ...]) -> None:
        """Two fields read from one key of one level, or two facts of one name where an expression
        reads them (a field named like a fact of the engine, a core fact of its level, a parameter,
        or, for an entity's, the applicant's ``applicant_<name>``), are refused."""
        taken: dict[str, set[str]] = {
            "application": {*(fact.name for fact in ENGINE_FACTS), *self.constants,
                            *(APPLICANT_PREFIX + fact.name for fact in ENTITY_CORE[2:])},
            **{level: {fact.name for fact in core} for level, core in ITEM_CORE.items()}}
        keys: dict[tuple[Level, str], str] = {}
        for item in fields:
            path: JsonPath = ("facts", "inputs", item.name)
            other = keys.setdefault((item.level, item.key), item.name)
            if other != item.name:
                self.problem((*path, "field") if item.key != item.name else path,
                             f"« {item.key} » est déjà la clé de l'information « {other} » (at: {item.level})",
                             "une clé de la demande n'est lue que par une information")
            names = [("application", item.name)] if item.level in ("application", "solution") else [
                (item.level, item.name), *([("application", APPLICANT_PREFIX + item.name)] if item.level == "entity"
                                           else [])]
            for scope, name in names:
                if name in taken[scope]:
                    whose = " (cette information, pour le demandeur)" if name != item.name else ""
                    self.problem(path, f"« {name} »{whose} est déjà le nom d'un fait", "choisissez un autre nom")
                taken[scope].add(name)

    def _aggregate(self, path: JsonPath, name: str, item: dict[str, Any]) -> Aggregate | None:
        level = AGGREGATE_DOMAINS[item["over"]][0]
        operation = item["operation"]
        wanted = OPERATIONS[operation][0]
        if name in self.facts.application or name in self.constants:
            self.problem(path, f"« {name} » est déjà le nom d'un fait", "choisissez un autre nom")
        scope = self.facts.scope(level)
        of = None
        if wanted is None and "of" in item:
            self.problem((*path, "of"), "un dénombrement (count) ne prend pas « of »", "retirez « of »")
        elif wanted is not None and "of" not in item:
            self.problem(path, f"l'opération « {operation} » demande « of » : ce qu'elle lit de chaque élément")
            return None
        elif wanted is not None:
            of = self._expression((*path, "of"), scope, wanted)
        where = self._expression((*path, "where"), scope, Type.BOOL) if "where" in item else None
        if (wanted is not None and of is None) or ("where" in item and where is None):  # already reported; the
            of, where = placeholder(), None  # name stays declared, so that what reads it is not refused too
        read = {name for expression in (of, where) if expression is not None for name in expression.names}
        return Aggregate(name, self.text((*path, "label")), item["over"], operation, of, where, item.get("unit"),
                         not read.isdisjoint(self.constants))

    # -- sections ------------------------------------------------------------------------------

    def build(self, sha256: str, sections: tuple[Section, ...]) -> Policy:
        d = self.data
        parts = {section.name: section.load(self) for section in sections}
        return Policy(
            id=d["id"],
            version=d["version"],
            status=d["status"],
            effective_from=parse_date(d["effective_from"]),
            title=d["title"],
            source=Source(d["source"]["title"], d["source"]["version"], parse_date(d["source"]["date"])),
            sha256=sha256,
            origin=self.document.source,
            rounding=self._rounding(),
            **{name: part for name, part in parts.items() if name in _PARTS},
            parameters=self.parameters,
            lists=self.lists,
            facts=self.facts,
            application_schema=application_schema(self.facts),
            sections=sections,
            extensions={name: part for name, part in parts.items() if name not in _PARTS},
        )

    def _parameter(self, key: str, item: dict[str, Any]) -> Parameter:
        value = item["value"]
        is_date = isinstance(value, str)
        if is_date != (item["unit"] == "date"):
            self.problem(("parameters", key, "value"), "une date a l'unité « date », et seulement une date")
        parsed: int | Decimal | date = parse_date(value) if is_date else value + 0  # -0 is zero
        return Parameter(key, item["label"], parsed, item["unit"], item["clause"],
                         item.get("interpretation"))

    def _rounding(self) -> Rounding:
        rounding = self.data["rounding"]
        quantum = Decimal(rounding["quantum"]).normalize()  # 0.010 rounds to the cent, 1.0 to the euro
        if quantum not in _QUANTA:
            self.problem(("rounding", "quantum"), f"pas d'arrondi {quantum} non admis : 0.01, 0.1 ou 1",
                         "un arrondi se fait au centime (0.01), à la dizaine de centimes (0.1) ou à l'euro (1)")
        return Rounding(self.text(("rounding", "label")), quantum, rounding["mode"], rounding["clause"],
                        self.interpretation(("rounding",), rounding))


@lru_cache(maxsize=16)
def _policy_schema(sections: tuple[Section, ...]) -> Schema:
    """The policy schema, with the key of each section it does not know (a section's ``schema``),
    required as the bundled sections' are: a section loads and evaluates what its key holds."""
    added = {section.name: section.schema for section in sections if section.schema is not None}
    if not added:
        return bundled("policy")
    root = copy.deepcopy(bundled("policy").root)
    root["properties"].update(added)
    root["required"] = [*root["required"], *(name for name in added if name not in root["required"])]
    return Schema("policy+" + "+".join(added), root)


_PARTS = frozenset(field.name for field in dataclasses.fields(Policy) if field.init)
"""The sections the policy model holds by name; any other section loaded is one of its ``extensions``."""

_EXPRESSION_KEYS = frozenset({"when", "test", "formula", "limit", "mutualised_when", "of", "where"})


def _expression_problems(document: Document, known: list[Problem]) -> list[Problem]:
    """When the schema already refuses a policy, its expressions are still checked, against every
    fact, parameter and list that can be read, so that one run reports all the file's mistakes."""
    data = document.data if isinstance(document.data, dict) else {}
    scope: dict[str, Symbol] = {fact.name: fact.symbol() for fact in ENGINE_FACTS}
    scope.update((fact.name, fact.symbol()) for core in ITEM_CORE.values() for fact in core)
    declared = data.get("facts")
    declared = declared if isinstance(declared, dict) else {}
    types: dict[str, Type] = {str(name): kind for name, kind in FIELD_TYPES.items()}
    results: dict[str, Type] = {str(operation): result for operation, (_, result) in OPERATIONS.items()}
    untyped: set[str] = set()  # declared with a type or operation the schema refuses: reading them is no fault
    for part, by_name, selector in (("inputs", types, "type"), ("aggregates", results, "operation")):
        entries = declared.get(part)
        for name, item in entries.items() if isinstance(entries, dict) else ():
            kind = by_name.get(str(item.get(selector))) if isinstance(item, dict) else None
            if kind is not None:
                symbol = Symbol(kind, str(name), optional=part == "inputs")
                scope.update({str(name): symbol, f"{APPLICANT_PREFIX}{name}": symbol})
            else:
                untyped.update({str(name), f"{APPLICANT_PREFIX}{name}"})
    for section, kind in (("parameters", Type.NUMBER), ("lists", Type.TEXT_LIST)):
        entries = data.get(section)
        if isinstance(entries, dict):
            scope.update({str(key): Symbol(kind, str(key)) for key in entries})
    located = {(p.line, p.column) for p in known}
    found: list[Problem] = []

    def walk(value: Any, path: JsonPath) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                expected = _expected(key, value)
                if expected is not None and isinstance(item, str):
                    try:
                        compile_expression(item, scope, expected, optional_allowed=True)
                    except ExpressionError as error:
                        problem = document.problem((*path, key), f"expression refusée : {error.message}", error.hint)
                        if (problem.line, problem.column) not in located and error.unknown not in untyped:
                            found.append(problem)
                else:
                    walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(data, ())
    return found


def _expected(key: str, item: Mapping[str, Any]) -> Type | None:
    """The type of the expression at ``key`` of ``item``, if it holds one."""
    if key == "of":
        operation = item.get("operation")
        found = OPERATIONS.get(cast(Any, operation)) if isinstance(operation, str) else None
        return found[0] if found else None
    return Type.NUMBER if key in ("formula", "limit") else Type.BOOL if key in _EXPRESSION_KEYS else None
