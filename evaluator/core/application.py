"""The application model, the application schema of a policy version, and reading an application
from a document (YAML, JSON or a decoded mapping).

Every application has the same structure (``schemas/application.schema.json``): a submission date,
an applicant and co-beneficiaries (each with a SIREN, a name, a category and licences), a solution
(its name and editor), expense lines (a kind, an amount, the entity served) and documents (a kind,
signatories). Everything else it carries is declared by the version that decides it, in its
``facts`` section: the version's application schema is the structure with those fields added where
they sit, and a field the version does not declare is refused.

Reading is in two steps: ``load_document`` (or ``accepted_line``, ``mapping_document``) parses;
``build_application`` checks the document against the version's schema and what the schema cannot
tell (kinds the policy knows, distinct SIRENs, expense lines for a known entity), and returns the
model (its fields ``Final``: mypy refuses any assignment, and compiled, they are read-only).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from evaluator.core.facts import APPLICANT_PREFIX, Aggregate, FactTable, Field, FieldType, Level, Reader
from evaluator.reading.formats import decimal_of, parse_date, parse_money, read_siren
from evaluator.reading.parse import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    Document,
    NumberTooLarge,
    canonical_json_line,
    has_surrogates,
    json_line_document,
    line_too_long,
    lone_surrogates,
    read_decimal,
    text_line,
)
from evaluator.reading.problems import InputError, JsonPath, Problem, raise_if_any
from evaluator.reading.resources import ELSEWHERE, schema
from evaluator.reading.validation import Schema, validate

if TYPE_CHECKING:
    from evaluator.core.policy import Policy


@dataclass(init=False, slots=True)
class Entity:
    """The applicant or a co-beneficiary; ``facts`` holds what an expression about the entity reads
    (its SIREN, name, category, licences and the entity fields the version declares).

    The model's classes are dataclasses whose fields are ``Final``, each with its ``__init__``: mypy
    refuses any other assignment, and compiled by mypyc they are read-only and built in a tenth of
    the time of a frozen dataclass (whose ``__init__``, written by ``dataclasses`` in Python, sets
    each field through ``object.__setattr__``)."""

    name: Final[str]
    siren: Final[str]
    category: Final[str]
    licences: Final[int]
    facts: Final[Mapping[str, Any]]

    def __init__(self, name: str, siren: str, category: str, licences: int, facts: Mapping[str, Any]) -> None:
        self.name = name
        self.siren = siren
        self.category = category
        self.licences = licences
        self.facts = facts


@dataclass(init=False, slots=True)
class ExpenseLine:
    index: Final[int]
    kind: Final[str]
    amount: Final[Decimal]
    entity: Final[str]
    label: Final[str | None]
    facts: Final[Mapping[str, Any]]

    def __init__(self, index: int, kind: str, amount: Decimal, entity: str, label: str | None,
                 facts: Mapping[str, Any]) -> None:
        self.index = index
        self.kind = kind
        self.amount = amount
        self.entity = entity
        self.label = label
        self.facts = facts


@dataclass(init=False, slots=True)
class SuppliedDocument:
    kind: Final[str]
    signed_by: Final[tuple[str, ...]]
    facts: Final[Mapping[str, Any]]

    def __init__(self, kind: str, signed_by: tuple[str, ...], facts: Mapping[str, Any]) -> None:
        self.kind = kind
        self.signed_by = signed_by
        self.facts = facts


@dataclass(init=False, slots=True)
class Application:
    reference: Final[str | None]
    submitted_on: Final[date]
    applicant: Final[Entity]
    co_beneficiaries: Final[tuple[Entity, ...]]
    expenses: Final[tuple[ExpenseLine, ...]]
    documents: Final[tuple[SuppliedDocument, ...]]
    facts: Final[Mapping[str, Any]]
    """The facts of the application known as it is read (stage INPUT), by name."""

    def __init__(self, reference: str | None, submitted_on: date, applicant: Entity,
                 co_beneficiaries: tuple[Entity, ...], expenses: tuple[ExpenseLine, ...],
                 documents: tuple[SuppliedDocument, ...], facts: Mapping[str, Any]) -> None:
        self.reference = reference
        self.submitted_on = submitted_on
        self.applicant = applicant
        self.co_beneficiaries = co_beneficiaries
        self.expenses = expenses
        self.documents = documents
        self.facts = facts


# -- the schema of a version --------------------------------------------------------------------

_PLACES: Mapping[Level, JsonPath] = {
    "application": (), "solution": ("properties", "solution"), "entity": ("$defs", "entity"),
    "expense": ("properties", "expenses", "items"), "document": ("properties", "documents", "items")}
"""Where each level's object stands in the application schema."""

_TYPES: Mapping[FieldType, dict[str, Any]] = {
    "boolean": {"type": "boolean"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "share": {"$ref": "#/$defs/share"}, "money": {"$ref": "#/$defs/money"}, "date": {"$ref": "#/$defs/date"},
    "text": {"type": "string", "minLength": 1, "maxLength": 300}, "country": {"$ref": "#/$defs/country"},
    "countries": {"$ref": "#/$defs/countries"}}


@cache
def _structure() -> dict[str, Any]:
    """The schema of the structure every application has (``schemas/application.schema.json``),
    read once: never changed, copied by what adds to it."""
    return schema("application")


def structure_keys(level: Level) -> frozenset[str]:
    """The keys the structure of every application has at ``level``: no declared field takes one."""
    return frozenset(_pointed(_structure(), _PLACES[level])["properties"])


def application_schema(table: FactTable, elsewhere: Mapping[tuple[Level, str], str] | None = None) -> dict[str, Any]:
    """The application schema of a version whose facts are ``table``: the structure every
    application has, with the fields the version declares. ``elsewhere`` says, for a key the version
    does not declare at a level, which other versions do (said with the key when it is refused)."""
    root = copy.deepcopy(_structure())
    for item in table.fields:
        place = _pointed(root, _PLACES[item.level])
        place["properties"][item.key] = _field_schema(item)
        if item.required:
            place["required"] = [*place.get("required", []), item.key]
    for (level, key), versions in (elsewhere or {}).items():
        _pointed(root, _PLACES[level]).setdefault(ELSEWHERE, {})[key] = versions
    return root


def _field_schema(item: Field) -> dict[str, Any]:
    described: dict[str, Any] = {**_TYPES[item.type], "description": item.label}
    if item.values is not None:
        described = {"enum": list(item.values), "description": item.label}
    for bound in ("minimum", "maximum"):
        if getattr(item, bound) is not None:
            described[bound] = getattr(item, bound)
    if item.optional:
        return {"oneOf": [{key: value for key, value in described.items() if key != "description"},
                          {"type": "null"}], "description": item.label}
    if item.default is not None:
        described["default"] = _json(item.default)
    return described


def value_problems(item: Field, document: Document) -> list[Problem]:
    """What the schema of ``item`` finds wrong with the value of ``document``'s key ``default`` (a
    field's default, which must be a value an application could give), each at its path there."""
    field_schema = _field_schema(dataclasses.replace(item, optional=False, default=None))
    root = {"$defs": _structure()["$defs"], "type": "object", "properties": {"default": field_schema}}
    return validate(document, Schema(f"default {item.name}", root))


def _json(value: Any) -> Any:
    """A default as JSON writes it (the schema is a JSON document)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return list(value) if isinstance(value, tuple) else value


def _pointed(root: dict[str, Any], path: JsonPath) -> dict[str, Any]:
    node: Any = root
    for part in path:
        node = node[part]
    assert isinstance(node, dict), "the levels of the application schema are objects"
    return node


# -- reading ------------------------------------------------------------------------------------


_ITEMS: Mapping[Level, tuple[str, ...]] = {"entity": ("applicant", "co_beneficiaries"), "solution": ("solution",),
                                           "expense": ("expenses",), "document": ("documents",)}
"""Where the objects of each level (but the application's) sit in an application."""


def without_fields(document: Document, fields: Iterable[tuple[Level, str]]) -> Document:
    """``document`` without the keys ``fields`` (level, key): what a version that does not declare
    them reads of an application written for one that does (``guichet impact``: the decision before
    an amendment that adds a field)."""
    dropped = frozenset(fields)
    if not dropped or not isinstance(document.data, dict):
        return document

    def bare(item: Any, level: Level) -> Any:
        keys = {key for place, key in dropped if place == level}
        return {k: v for k, v in item.items() if k not in keys} if isinstance(item, dict) and keys else item

    data = dict(bare(document.data, "application"))  # a copy: the document is left as it is
    for level, places in _ITEMS.items():
        for place in (place for place in places if place in data):
            value = data[place]
            data[place] = [bare(item, level) for item in value] if isinstance(value, list) else bare(value, level)
    detailed = document.detailed
    again = (lambda: without_fields(detailed(), dropped)) if detailed is not None else None
    return dataclasses.replace(document, data=data, detailed=again)


def mapping_document(application: Mapping[str, Any], source: str = "<demande>") -> Document:
    """An application given as a mapping (decoded JSON, say) as a document; a float is read as the
    decimal it prints as (``0.1`` is ``Decimal("0.1")``).

    Decoded JSON (``plain_json``) is taken as it is, floats included, unread and uncopied (the
    model keeps no container of it), with a way to read it in detail: a float then reaches the model
    only through a field the schema says is a number, which ``build_application`` reads as a
    ``Decimal`` (``decimal_of``), as ``accepted_line`` does for a JSON line read at once. Anything
    else is copied (``_json_copy``): floats as decimals, a date as its ISO text (``yaml.safe_load``
    gives dates), its texts checked; a value with no JSON form (bytes, a set…), a number written
    beyond ``MAX_EXPONENT`` and nesting beyond ``MAX_DEPTH`` are refused (``InputError``, each at
    its JSON path)."""
    if not plain_json(application):
        return _decimal_document(application, source)
    return Document(source, application, [], detailed=lambda: _decimal_document(application, source))


def plain_json(value: object, depth: int = 0) -> bool:
    """Whether ``value`` is plain JSON data, as ``json`` or ``orjson`` decode it: mappings
    (``dict``) with text keys, lists, texts without a lone surrogate, integers of at most 64 bits,
    finite floats, booleans and ``None``, nested at most ``MAX_DEPTH`` levels deep; and nothing
    else (a ``Decimal``, a tuple, a NaN, a date, a key that is not a text…), which must be read in
    detail. A walk that stops at the first value that is not, and never deeper than the bound; a
    container's texts and ``None`` are looked at in its loop (most values are), not by a call."""
    if type(value) is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, item in value.items():
            if type(key) is not str or not _plain_text(key):
                return False
            if type(item) is str:
                if not _plain_text(item):
                    return False
            elif item is not None and not plain_json(item, depth + 1):
                return False
        return True
    if type(value) is list:
        if depth >= MAX_DEPTH:
            return False
        for item in value:
            if type(item) is str:
                if not _plain_text(item):
                    return False
            elif item is not None and not plain_json(item, depth + 1):
                return False
        return True
    if type(value) is str:  # (exact types asked first: compiled, a value known as an int or a float is unboxed)
        return _plain_text(value)
    if type(value) is int:
        return _INT64_LOW <= value <= _UINT64_HIGH
    if type(value) is float:
        return math.isfinite(value)
    return value is None or type(value) is bool


def _plain_text(text: str) -> bool:
    """Whether ``text`` holds no lone surrogate (an ASCII text, most often, is known at once)."""
    return text.isascii() or not has_surrogates(text)


_INT64_LOW: Final = -(2 ** 63)
_UINT64_HIGH: Final = 2 ** 64 - 1
"""The integers JSON data holds (what orjson writes)."""


def _decimal_document(application: Mapping[str, Any], source: str) -> Document:
    """The mapping copied as JSON data, its floats as decimals (what the detailed validation
    takes), its texts checked."""
    problems: list[Problem] = []
    document = Document(source, _json_copy(application, source, problems), [])
    raise_if_any(problems)
    document.problems.extend(lone_surrogates(document))
    return document


def _json_copy(root: Any, source: str, problems: list[Problem]) -> Any:
    """``root`` copied as JSON data, without recursion (its depth is not known yet): mappings as
    ``dict`` with text keys, tuples as lists, floats as the decimals they print as, dates as their
    ISO text; what cannot be copied is told in ``problems``, at its path, and left out."""
    copied: list[Any] = [None]
    pending: list[tuple[Any, JsonPath, dict[str, Any] | list[Any], str | int]] = [(root, (), copied, 0)]
    while pending:
        value, path, parent, key = pending.pop()
        children: Iterable[tuple[str | int, Any]]
        if isinstance(value, Mapping):
            keys = [str(name) for name in value]
            container: dict[str, Any] | list[Any] = dict.fromkeys(keys)
            children = zip(keys, value.values(), strict=True)
        elif isinstance(value, (list, tuple)):
            container, children = [None] * len(value), enumerate(value)
        else:
            parent[key] = _json_scalar(value, path, source, problems)  # type: ignore[index]
            continue
        if len(path) >= MAX_DEPTH:
            problems.append(Problem(source, f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)", path=path))
            continue
        parent[key] = container  # type: ignore[index]
        pending.extend((item, (*path, name), container, name) for name, item in children)
    return copied[0]


def _json_scalar(value: Any, path: JsonPath, source: str, problems: list[Problem]) -> Any:
    """A value as JSON data; a subclass of a text or a number (an enumeration's member, say) as the
    plain text or number it holds, whatever its ``str`` or ``repr`` says."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return decimal_of(value)
    if isinstance(value, Decimal):
        try:
            return read_decimal(str(value))
        except NumberTooLarge as extreme:
            problems.append(Problem(source, extreme.message, path=path, hint=extreme.hint))
            return None
    if isinstance(value, date):
        return value.isoformat()
    problems.append(Problem(source, f"valeur Python de type {type(value).__name__} : une valeur JSON est attendue "
                                    "(texte, nombre, booléen, liste, dictionnaire ou null)", path=path))
    return None


def accepted_line(raw: bytes, source: str, number: int) -> Document | None:
    """A line of a JSON Lines file (its bytes), parsed: at once when it is canonical JSON
    (``canonical_json_line``); otherwise as ``json_lines`` reads it, by ``json_line_document``,
    whose problems name the line (``None`` for a blank line). The documents read either way give the
    same application (``tests/test_validation_paths.py``). A line longer than ``MAX_DOCUMENT_BYTES``
    is refused unread."""
    content = raw.removesuffix(b"\n")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise line_too_long(source, number)
    data = canonical_json_line(content)
    if data is not None:
        return Document(source, data, [], {(): (number, 1)},
                        detailed=lambda: json_line_document(text_line(raw, number) or "", source, number))
    line = text_line(raw, number)
    return None if line is None else json_line_document(line, source, number)


def submission_date(document: Document) -> date | None:
    """The application's submission date, or ``None`` when it does not give a valid one (its
    version's schema then says what is wrong)."""
    data = document.data
    submitted = data.get("submitted_on") if isinstance(data, dict) else None
    try:
        return parse_date(submitted) if isinstance(submitted, str) else None
    except ValueError:
        return None


def build_application(document: Document, policy: Policy) -> Application:
    """The application model under ``policy``, after its checks: ``InputError`` with every problem.

    The fast way: jsonschema-rs checks the structure, then the model is read, every value the
    schema gives a format to (a date, a SIREN, an amount) checked as it is read; a value without its
    format, like any document jsonschema-rs refuses, goes to the detailed validation, which names
    every problem (``tests/test_validation_paths.py`` checks that the model reads each such value)."""
    if document.problems or not policy.application_check.structure_holds(document.data):
        document = _validated(document, policy)
    try:
        application, facts = _model(document.data, policy.reader)
    except ValueError as unformatted:
        _validated(document, policy)
        raise AssertionError("the model refuses a value the detailed validation accepts") from unformatted
    for aggregate in policy.reader.input_aggregates:
        facts[aggregate.name] = aggregate_value(aggregate, _domain(application, aggregate.over), policy.constants)
    problems = [document.problem(path, message, hint) for path, message, hint in _policy_problems(application, policy)]
    if problems:
        raise InputError(problems)
    return application


def _validated(document: Document, policy: Policy) -> Document:
    """``document`` read in detail (floats as decimals, say), once the detailed validation finds
    no problem in it: ``InputError`` with every problem it finds."""
    document = document.detailed() if document.detailed is not None else document
    raise_if_any(validate(document, policy.application_check))
    return document


def _model(data: dict[str, Any], reader: Reader) -> tuple[Application, dict[str, Any]]:
    """The model of ``data``, which the version's schema accepts but for formats, and its facts,
    to which its aggregates are added: ``ValueError`` for a value without its format."""
    applicant = _entity(reader, data["applicant"])
    co_beneficiaries = tuple([_entity(reader, item) for item in data.get("co_beneficiaries", ())])
    documents = tuple([_document(reader, item) for item in data.get("documents", ())])
    siren = applicant.siren
    expenses = tuple([_expense(reader, index, item, siren) for index, item in enumerate(data["expenses"])])
    submitted_on = parse_date(data["submitted_on"])
    facts: dict[str, Any] = {"submitted_on": submitted_on}
    for name, value in applicant.facts.items():
        if name != "siren" and name != "name":
            facts[APPLICANT_PREFIX + name] = value
    reader.read("application", data, facts)
    reader.read("solution", data["solution"], facts)
    return Application(data.get("reference"), submitted_on, applicant, co_beneficiaries, expenses, documents,
                       facts), facts


def _domain(application: Application, over: str) -> tuple[Mapping[str, Any], ...]:
    """The facts of each item an aggregate known as the application is read ranges over."""
    if over == "expenses":
        return tuple(line.facts for line in application.expenses)
    if over == "documents":
        return tuple(supplied.facts for supplied in application.documents)
    co_beneficiaries = tuple(entity.facts for entity in application.co_beneficiaries)
    return co_beneficiaries if over == "co_beneficiaries" else (application.applicant.facts, *co_beneficiaries)


def aggregate_value(aggregate: Aggregate, items: tuple[Mapping[str, Any], ...], constants: Mapping[str, Any]) -> Any:
    """An aggregate over ``items`` (the facts of each entity, line or document)."""
    if aggregate.reads_constants:
        items = tuple({**constants, **item} for item in items)
    if aggregate.where is not None:
        items = tuple(filter(aggregate.where.function, items))
    operation = aggregate.operation
    if operation == "count":
        return len(items)
    assert aggregate.of is not None, "only a count has no « of »"
    values = list(map(aggregate.of.function, items))
    if operation == "sum":
        return sum(values)  # an int for a sum of counts or licences, a Decimal for amounts or shares
    if operation in ("min", "max"):
        return (min if operation == "min" else max)(values, default=_ZERO)
    if operation == "any":
        return any(values)
    if operation == "all":
        return all(values)
    return tuple(sorted(set(values)))


_ZERO = Decimal(0)


def _entity(reader: Reader, item: dict[str, Any]) -> Entity:
    name, siren, category, licences = item["name"], read_siren(item["siren"]), item["category"], int(item["licences"])
    facts = reader.read("entity", item, {"siren": siren, "name": name, "category": category, "licences": licences})
    return Entity(name, siren, category, licences, facts)


def _expense(reader: Reader, index: int, item: dict[str, Any], applicant_siren: str) -> ExpenseLine:
    kind, amount, entity = item["kind"], parse_money(item["amount"]), item.get("entity")
    entity = applicant_siren if entity is None else read_siren(entity)
    facts = reader.read("expense", item, {"kind": kind, "amount": amount, "entity": entity})
    return ExpenseLine(index, kind, amount, entity, item.get("label"), facts)


def _document(reader: Reader, item: dict[str, Any]) -> SuppliedDocument:
    kind, signed_by = item["kind"], tuple([read_siren(siren) for siren in item.get("signed_by", ())])
    return SuppliedDocument(kind, signed_by, reader.read("document", item, {"kind": kind, "signed_by": signed_by}))


Issue = tuple[JsonPath, str, str | None]


def _policy_problems(application: Application, policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    sirens: dict[str, JsonPath] = {application.applicant.siren: ("applicant", "siren")}
    for index, entity in enumerate(application.co_beneficiaries):
        path: JsonPath = ("co_beneficiaries", index, "siren")
        if entity.siren in sirens:
            issues.append((path, f"SIREN {entity.siren} en double dans la demande",
                           "chaque entité n'apparaît qu'une fois : le demandeur, puis chaque co-bénéficiaire"))
        sirens.setdefault(entity.siren, path)
    kinds = policy.expenses.kinds
    for line in application.expenses:
        if line.kind not in kinds:
            issues.append(_unknown(("expenses", line.index, "kind"), "nature de dépense", line.kind, kinds))
        if line.entity not in sirens:
            issues.append((("expenses", line.index, "entity"),
                           f"la ligne vise le SIREN {line.entity}, qui n'est ni le demandeur ni un co-bénéficiaire",
                           "ajoutez l'entité aux co-bénéficiaires ou corrigez le SIREN"))
    for index, supplied in enumerate(application.documents):
        if supplied.kind not in policy.documents.kinds:
            issues.append(_unknown(("documents", index, "kind"), "nature de pièce", supplied.kind,
                                   policy.documents.kinds))
    return issues


def _unknown(path: JsonPath, what: str, value: str, allowed: Mapping[str, object]) -> Issue:
    close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
    hint = f"vouliez-vous dire « {close[0]} » ?" if close else None
    return path, f"{what} inconnue : « {value} » ; valeurs admises : {', '.join(allowed)}", hint
