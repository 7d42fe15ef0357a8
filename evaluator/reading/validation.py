"""JSON Schema validation of documents: a fast check (jsonschema-rs for the structure, a compiled
walk for the formats), and, for a document it refuses, the detailed validation (``detailed``),
every problem in French with its location and a hint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs

from evaluator.reading.formats import MAX_AMOUNT, parse_date, parse_money, read_siren
from evaluator.reading.parse import Document
from evaluator.reading.problems import Problem
from evaluator.reading.resources import pointed, schema


class Schema:
    """A JSON Schema documents are checked against: a bundled one, or the application schema of a
    policy version (``application.application_schema``), with its detailed validator and its fast
    check, each made once, when first used. (Kept in attributes, not ``functools.cached_property``,
    which mypyc, compiling this module in a wheel, makes a plain property, computed at every read.)"""

    __slots__ = ("_is_valid", "_places", "_validator", "name", "root")

    def __init__(self, name: str, root: dict[str, Any]) -> None:
        self.name = name
        self.root = root
        self._validator: Any = None
        self._is_valid: Callable[[Any], bool] | None = None
        self._places: _Places | None = None

    @property
    def validator(self) -> Any:
        """The detailed validator (``detailed.validator``, a jsonschema ``Draft202012Validator``)."""
        if self._validator is None:
            from evaluator.reading.detailed import validator  # (its import waits for a refused document)

            self._validator = validator(self.root)
        return self._validator

    def accepts(self, data: Any) -> bool:
        """A fast yes-or-no check of a document: its structure (``structure_holds``), then its
        formats by a walk over the places the schema gives a format to (``_places``, made here
        once; cheaper than having jsonschema-rs call back into Python for each). It only ever says
        yes for a document the detailed validation accepts."""
        places = self._places
        if places is None:
            places = self._places = _places(format_plan(self.root))
        return self.structure_holds(data) and _formats_hold(data, places)

    def structure_holds(self, data: Any) -> bool:
        """Whether jsonschema-rs accepts ``data``, its formats unchecked (an amount given as a
        number excepted: its bounds are keywords there). What reads every value with a format
        checks it as it reads it (``core.application.build_application``)."""
        is_valid = self._is_valid
        if is_valid is None:
            is_valid = self._is_valid = jsonschema_rs.validator_for(_with_money_bounds(self.root),
                                                                    validate_formats=False).is_valid
        return is_valid(data)


@cache
def bundled(name: str) -> Schema:
    """A schema of ``schemas/``, by name (``policy``, ``case``, ``decision``)."""
    return Schema(name, schema(name))


_FORMAT_CHECKS: dict[str, Callable[[str], object]] = {
    "date": parse_date, "siren": read_siren, "money": parse_money}
"""A format's check on a text: it raises ``ValueError`` when the text does not have the format."""
FormatPath = tuple[str, ...]
"""Where a format applies in a document: keys, ``*`` for every item of a list, ``**`` for every
value of a mapping."""
_SCHEMA_LISTS = ("oneOf", "anyOf", "allOf", "prefixItems")
_UNSUPPORTED = ("not", "contains", "propertyNames", "dependentSchemas", "additionalItems", "unevaluatedItems")


def format_plan(root: dict[str, Any]) -> tuple[tuple[FormatPath, str], ...]:
    """Every place where the schema ``root`` gives a format to a value, and the format. It may name
    more places than the formats apply to (a document checked there for nothing only goes to the
    detailed validation), never fewer: a format under a keyword it cannot place is refused."""
    found: dict[tuple[FormatPath, str], None] = {}

    def visit(node: Any, path: FormatPath, refs: frozenset[str]) -> None:
        if not isinstance(node, dict):
            return
        reference = node.get("$ref")
        if isinstance(reference, str) and reference not in refs:
            visit(pointed(reference, root), path, refs | {reference})
        if "format" in node:
            if node["format"] not in _FORMAT_CHECKS:
                raise ValueError(f"format {node['format']!r} sans vérification rapide")
            found[(path, node["format"])] = None
        for key, item in node.get("properties", {}).items():
            visit(item, (*path, key), refs)
        for item in [node.get("additionalProperties"), node.get("unevaluatedProperties"),
                     *node.get("patternProperties", {}).values()]:
            visit(item, (*path, "**"), refs)
        visit(node.get("items"), (*path, "*"), refs)
        for keyword in ("if", "then", "else"):
            visit(node.get(keyword), path, refs)
        for keyword in _SCHEMA_LISTS:
            for item in node.get(keyword, []):
                visit(item, (*path, "*") if keyword == "prefixItems" else path, refs)
        if any('"format"' in json.dumps(node[keyword]) for keyword in _UNSUPPORTED if keyword in node):
            raise ValueError(f"format sous un mot-clé non pris en charge ({', '.join(_UNSUPPORTED)})")

    visit(root, (), frozenset())
    return tuple(found)


_CHECKED_TYPES: dict[str, tuple[type, ...]] = {"money": (str, float)}
"""What a format is checked on, besides texts: an amount written as a float (from ``orjson``, see
``parse.canonical_json_line``) is checked as the decimal it prints as, which the model reads."""


@dataclass(frozen=True)
class _Places:
    """Where formats apply under a node of a document (``format_plan`` as a tree): the checks of
    the node itself (each with the types it applies to), then the places under each key, under each
    item of a list and under each value of a mapping."""

    checks: tuple[tuple[Callable[[Any], object], tuple[type, ...]], ...]
    keys: tuple[tuple[str, _Places], ...]
    items: _Places | None
    values: _Places | None


def _places(plan: tuple[tuple[FormatPath, str], ...]) -> _Places:
    """The tree of ``plan``'s places: each key and each list of a document visited once."""
    tree: dict[str | None, Any] = {}
    for path, name in plan:
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node.setdefault(None, []).append(name)  # None, no key of a path: the formats of the place
    return _place(tree)


def _place(tree: dict[str | None, Any]) -> _Places:
    return _Places(tuple((_FORMAT_CHECKS[name], _CHECKED_TYPES.get(name, (str,))) for name in tree.get(None, [])),
                   tuple((key, _place(inner)) for key, inner in tree.items() if key not in (None, "*", "**")),
                   _place(tree["*"]) if "*" in tree else None, _place(tree["**"]) if "**" in tree else None)


def _formats_hold(document: Any, places: _Places) -> bool:
    """Whether every value at ``places`` that a format applies to has its format."""
    try:
        _check_formats(document, places)
    except ValueError:
        return False
    return True


def _check_formats(node: object, places: _Places) -> None:
    """Check the formats at ``places`` under ``node``: ``ValueError`` for the first that fails."""
    for check, types in places.checks:
        if isinstance(node, types):
            check(node)
    if places.keys and isinstance(node, dict):
        for key, inner in places.keys:  # a missing key reads None, which is neither a text nor a container
            _check_formats(node.get(key), inner)
    if places.items is not None and isinstance(node, list):
        for item in node:
            _check_formats(item, places.items)
    if places.values is not None and isinstance(node, dict):
        for item in node.values():
            _check_formats(item, places.values)


def _with_money_bounds(node: Any) -> Any:
    """The schema with the rules of ``parse_money`` written as keywords where an amount may be a
    number: the ``money`` format, like any JSON Schema format, is not checked on numbers by
    jsonschema-rs (the detailed validation checks it, with its own messages)."""
    if isinstance(node, list):
        return [_with_money_bounds(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _with_money_bounds(value) for key, value in node.items()}
    if copied.get("format") == "money":
        copied.update(minimum=0, maximum=int(MAX_AMOUNT), multipleOf=0.01)
    return copied


def validate(document: Document, against: Schema) -> list[Problem]:
    """Check a document against a schema; restores the text of plain scalars where a
    string is expected, then returns every remaining problem, in document order. A document the
    fast check accepts has no problem; any other goes through the detailed validation, whose
    French messages name every problem."""
    if not document.problems and against.accepts(document.data):
        return []
    from evaluator.reading.detailed import problems  # (its import waits for a refused document)

    return problems(document, against.root, against.validator)
