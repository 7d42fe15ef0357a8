"""JSON Schema validation of documents, every error in French with its location and a hint."""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match

from evaluator.reading.parse import Document
from evaluator.reading.problems import JsonPath, Problem
from evaluator.reading.resources import schema

MAX_AMOUNT = Decimal("1000000000")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TYPE_NAMES = {
    "string": "un texte",
    "integer": "un nombre entier",
    "number": "un nombre",
    "boolean": "un booléen (true ou false)",
    "object": "un dictionnaire (clé: valeur)",
    "array": "une liste",
    "null": "une valeur vide (null)",
}



def check_date(value: object) -> bool:
    if isinstance(value, str):
        parse_date(value)
    return True


@lru_cache(maxsize=4096)
def parse_date(text: str) -> date:
    """A strict ISO calendar date ``AAAA-MM-JJ``."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"« {_show(text)} » n'est pas une date au format AAAA-MM-JJ")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"« {_show(text)} » n'est pas une date du calendrier") from None


def check_siren(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if len(value) != 9 or not value.isascii() or not value.isdigit():  # (ASCII digits are 0 to 9)
        raise ValueError(f"« {_show(value)} » n'est pas un SIREN : 9 chiffres attendus")
    if not luhn_valid(value):
        raise ValueError(f"« {_show(value)} » n'est pas un SIREN valide : la clé de contrôle (Luhn) est fausse")
    return True


def luhn_valid(digits: str) -> bool:
    """The Luhn check of a SIREN (ASCII digits): every second digit from the right doubled, its
    digits added, then the sum of all a multiple of ten."""
    number, total, doubled = int(digits), 0, False  # (leading zeros add nothing, doubled or not)
    while number:
        digit = number % 10
        number //= 10
        if doubled:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
        doubled = not doubled
    return total % 10 == 0


def check_money(value: object) -> bool:
    if isinstance(value, (int, Decimal, str)) and not isinstance(value, bool):
        parse_money(value)
    return True


def parse_money(value: int | Decimal | float | str) -> Decimal:
    """An amount in euros: finite, not negative, at most two decimals, below the sanity limit. A
    float is the decimal it prints as (``decimal_of``)."""
    if isinstance(value, str):
        return _money_text(value)
    return _amount(decimal_of(value), value)


def decimal_of(value: int | Decimal | float) -> Decimal:
    """A number as a ``Decimal``; a float as the decimal it prints as (``0.1`` is ``Decimal("0.1")``)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


@lru_cache(maxsize=16384)
def _money_text(value: str) -> Decimal:
    """An amount written as a text. (Cached: each amount is read twice, by the schema's format check
    and by the model. Numbers are not: ``1234.5`` and ``1234.50`` are one key for a cache, and two
    amounts as written.)"""
    text = _YAML_SPECIALS.get(value.strip(), value.strip())
    if not (_MONEY_TEXT.fullmatch(text) or text in _YAML_SPECIALS.values()):
        raise ValueError(f"« {_show(value)} » n'est pas un montant")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"« {_show(value)} » n'est pas un montant") from None
    return _amount(amount, value)


def _amount(amount: Decimal, value: int | Decimal | float | str) -> Decimal:
    if not amount.is_finite():
        raise ValueError(f"« {_show(value)} » n'est pas un montant fini")
    if amount < 0:
        raise ValueError(f"montant négatif : {_show(value)}")
    if amount > MAX_AMOUNT:
        raise ValueError(f"montant {_show(value)} supérieur à la limite de {MAX_AMOUNT} €")
    if amount != amount.quantize(_CENT):
        raise ValueError(f"le montant {_show(value)} a plus de deux décimales")
    return amount + 0  # -0 is zero


_CENT = Decimal("0.01")
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
"""A decimal written with ASCII digits (an exponent admitted, as in JSON): not ``14_400``, not
full-width digits."""
_YAML_SPECIALS = {".nan": "NaN", ".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity"}

FORMATS = FormatChecker(formats=())
FORMATS.checks("date", raises=ValueError)(check_date)
FORMATS.checks("siren", raises=ValueError)(check_siren)
FORMATS.checks("money", raises=ValueError)(check_money)


def _finite_number(checker: object, instance: object) -> bool:
    """A number, and a finite one: NaN and the infinities (YAML ``.nan``, JSON ``NaN``) are not
    numbers for the schemas, so that no bound is ever compared with them."""
    if isinstance(instance, bool) or not isinstance(instance, (int, Decimal)):
        return False
    return not isinstance(instance, Decimal) or instance.is_finite()


def _integer(checker: object, instance: object) -> bool:
    """An integer, written ``100`` or ``100.0`` (JSON Schema counts a number with no fractional part
    as an integer): the model reads it as the ``int`` it is."""
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (isinstance(instance, Decimal) and instance.is_finite()
                                         and instance == instance.to_integral_value())


def _unique_items(validator: Any, unique: bool, instance: object, schema: dict[str, Any]) -> Iterable[ValidationError]:
    """``uniqueItems``, except over a list holding a NaN, which cannot be ordered (its type is
    reported on the item itself)."""
    if isinstance(instance, list) and any(isinstance(item, Decimal) and not item.is_finite() for item in instance):
        return
    yield from Draft202012Validator.VALIDATORS["uniqueItems"](validator, unique, instance, schema)


def _exact_bound(keyword: str) -> Any:
    """A numeric bound compared as the decimal it is written as: the schemas' ``0.01`` is read by
    ``json`` as a float a little above 0.01, which the ``Decimal`` 0.01 of a document would fail."""
    original = Draft202012Validator.VALIDATORS[keyword]

    def check(validator: Any, bound: object, instance: object, schema: dict[str, Any]) -> Iterable[ValidationError]:
        yield from original(validator, Decimal(repr(bound)) if isinstance(bound, float) else bound, instance, schema)

    return check


_Validator = validators.extend(
    Draft202012Validator,
    validators={"uniqueItems": _unique_items,
                **{keyword: _exact_bound(keyword)
                   for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")}},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many({"number": _finite_number, "integer": _integer}),
)


class Schema:
    """A JSON Schema documents are checked against: a bundled one, or the application schema of a
    policy version (``application.application_schema``), with its detailed validator and its fast
    check, each made once, when first used. (Kept in attributes, not ``functools.cached_property``,
    which mypyc, compiling this module in a wheel, makes a plain property, computed at every read.)"""

    __slots__ = ("_accepts", "_validator", "name", "root")

    def __init__(self, name: str, root: dict[str, Any]) -> None:
        self.name = name
        self.root = root
        self._validator: Draft202012Validator | None = None
        self._accepts: Callable[[Any], bool] | None = None

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:
            self._validator = _Validator(self.root, format_checker=FORMATS)
        return self._validator

    def accepts(self, data: Any) -> bool:
        """A fast yes-or-no check of a document: its structure by jsonschema-rs, then its formats
        in Python, on the texts the schema gives a format to (cheaper than having jsonschema-rs call
        back into Python for each). It only ever says yes for a document the detailed validation
        accepts."""
        check = self._accepts
        if check is None:
            is_valid: Callable[[Any], bool] = jsonschema_rs.validator_for(_with_money_bounds(self.root),
                                                                          validate_formats=False).is_valid
            places = _places(format_plan(self.root))
            check = self._accepts = lambda document: is_valid(document) and _formats_hold(document, places)
        return check(data)


@cache
def bundled(name: str) -> Schema:
    """A schema of ``schemas/``, by name (``policy``, ``case``, ``decision``)."""
    return Schema(name, schema(name))


_FORMAT_CHECKS: dict[str, Callable[[str], object]] = {
    "date": parse_date, "siren": check_siren, "money": parse_money}
"""A format's check on a text: it raises ``ValueError`` when the text does not have the format (a
date and an amount are read again by the model, from their caches; a SIREN is checked each time:
its check costs less than a cache)."""
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
            visit(_pointed(reference, root), path, refs | {reference})
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
    check = against.validator
    while True:
        errors = list(itertools.islice(check.iter_errors(document.data), MAX_PROBLEMS + 1))
        if not any(_restore_text(document, error) for error in errors):
            break
    root = against.root
    stopped, errors = len(errors) > MAX_PROBLEMS, errors[:MAX_PROBLEMS]
    intended = {(tuple(e.absolute_path), key) for e in errors for _, key in _unknown_keys(e, root) if key}
    problems = [_problem(document, error, root, intended) for error in errors if not _misspelt(error, intended)]
    unique = sorted(dict.fromkeys([*document.problems, *problems]),
                    key=lambda p: (p.line or 0, p.column or 0, p.message))
    if stopped:
        unique.append(Problem(document.source, f"validation arrêtée après {MAX_PROBLEMS} problèmes : il y en a "
                                               "d'autres", hint="corrigez ceux-ci et validez à nouveau"))
    return unique


MAX_PROBLEMS = 200
"""The detailed validation stops after this many problems: a huge bad input costs no more than that."""


ELSEWHERE = "x-elsewhere"
"""In an object of a schema, what an unknown key is elsewhere (the other versions of a policy that
declare it), to say so with the key."""


def _unknown_keys(error: ValidationError, root: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The unknown keys an additional-properties error is about, each with the known key it is
    most likely a misspelling of."""
    if error.validator not in ("additionalProperties", "unevaluatedProperties") or not isinstance(error.instance, dict):
        return []
    known = sorted(_known_properties(error.schema if isinstance(error.schema, dict) else {}, root))
    return [(key, next(iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None))
            for key in error.instance if key not in known]


def _misspelt(error: ValidationError, intended: set[tuple[JsonPath, str]]) -> bool:
    """A required key reported missing because it was misspelt: the unknown key says it already."""
    if error.validator != "required" or not isinstance(error.instance, dict):
        return False
    missing = [key for key in error.validator_value if key not in error.instance]
    return all((tuple(error.absolute_path), key) in intended for key in missing)


def _restore_text(document: Document, error: ValidationError) -> bool:
    """Put back the original text of a plain scalar that YAML read as a number or a boolean."""
    if error.validator in ("oneOf", "anyOf") and any(
            leaf.validator != "type" and leaf.absolute_path == error.absolute_path for leaf in error.context or ()):
        return False  # an alternative takes the value as it was read (a number out of bounds, say)
    for leaf in _leaves(error):
        path = tuple(leaf.absolute_path)
        expected = leaf.validator_value
        if leaf.validator == "type" and "string" in (expected if isinstance(expected, list) else [expected]):
            text = document.plain_text.pop(path, None)
            if text is not None and path and leaf.instance is not None:  # null stays empty, not "null"
                _set(document.data, path, text)
                return True
    return False


def _leaves(error: ValidationError) -> Iterable[ValidationError]:
    yield error
    for child in error.context or ():
        yield from _leaves(child)


def _set(data: Any, path: JsonPath, value: object) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _problem(document: Document, error: ValidationError, root: dict[str, Any],
             misspelt: set[tuple[JsonPath, str]]) -> Problem:
    if error.validator in ("oneOf", "anyOf") and error.context:
        error = _best(error)
    path: JsonPath = tuple(error.absolute_path)
    subschema = error.schema if isinstance(error.schema, dict) else {}
    hint = subschema.get("x-hint")
    keyword = error.validator
    value = error.instance
    if "propertyNames" in error.absolute_schema_path:
        key = str(value)
        allowed = subschema.get("enum")
        message = f"clé « {_show(key)} » non admise ici"
        if allowed:
            message += " ; clés admises : " + ", ".join(map(str, allowed))
        return document.problem((*path, key), message, hint=hint)
    if keyword == "required":
        missing = [key for key in error.validator_value
                   if isinstance(value, dict) and key not in value and (path, key) not in misspelt]
        if len(missing) > 1:
            return document.problem(path, "clés obligatoires manquantes : " + ", ".join(f"« {k} »" for k in missing),
                                    hint, tuple(missing))
        return document.problem(path, f"clé obligatoire manquante : « {missing[0] if missing else '?'} »", hint,
                                tuple(missing))
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        key, intended = (_unknown_keys(error, root) or [("?", None)])[0]
        known = sorted(_known_properties(subschema, root))
        hint = f"vouliez-vous dire « {intended} » ?" if intended else "clés admises : " + ", ".join(known)
        elsewhere = subschema.get(ELSEWHERE, {}).get(key)
        if elsewhere:
            hint = f"{elsewhere} ; {hint}"
        return document.problem((*path, key), f"clé inconnue : « {_show(key)} »", hint)
    if keyword == "type" and isinstance(value, Decimal) and not value.is_finite():
        what = "montant" if subschema.get("format") == "money" else "nombre"
        return document.problem(path, f"« {value} » n'est pas un {what} fini", hint)
    if keyword == "type":
        message = f"{_describe(value)} là où {_expected_type(error.validator_value)} est attendu"
        if error.validator_value == "integer" and isinstance(value, Decimal):  # (12.0 is an integer)
            message = f"{_show(value)} n'est pas un nombre entier"
        return document.problem(path, message, hint)
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        message = f"valeur « {_show(value)} » non reconnue ; valeurs admises : " + ", ".join(map(_show, allowed))
        nearest = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
        return document.problem(path, message, f"vouliez-vous dire « {nearest[0]} » ?" if nearest else hint)
    if keyword == "format":
        cause = str(error.cause) if error.cause else f"« {_show(value)} » n'a pas le format {error.validator_value}"
        return document.problem(path, cause, hint)
    if keyword == "pattern":
        return document.problem(path, f"« {_show(value)} » n'a pas la forme attendue", hint)
    if keyword in ("minimum", "exclusiveMinimum"):
        word = "au moins" if keyword == "minimum" else "plus de"
        return document.problem(path, f"{_show(value)} est trop petit : {word} {error.validator_value} attendu", hint)
    if keyword in ("maximum", "exclusiveMaximum"):
        message = f"{_show(value)} est trop grand : au plus {error.validator_value} attendu"
        if error.validator_value == 1 and isinstance(value, (int, Decimal)) and value <= 100:
            message = f"{_show(value)} ressemble à un pourcentage ; une fraction entre 0 et 1 est attendue"
        return document.problem(path, message, hint)
    if keyword in ("minItems", "minProperties"):
        return document.problem(path, f"au moins {error.validator_value} élément(s) attendu(s)", hint)
    if keyword in ("maxItems", "maxProperties"):
        return document.problem(path, f"au plus {error.validator_value} élément(s) admis", hint)
    if keyword == "minLength":
        return document.problem(path, "texte vide là où une valeur est attendue", hint)
    if keyword == "maxLength":
        return document.problem(path, f"texte trop long : au plus {error.validator_value} caractères", hint)
    if keyword == "uniqueItems":
        return document.problem(path, "la liste contient des doublons", hint)
    return document.problem(path, f"valeur refusée ({keyword})", hint)


def _best(error: ValidationError) -> ValidationError:
    """The most telling error among the alternatives of a oneOf/anyOf."""
    instance_type_matches = [e for e in error.context or () if e.validator != "type"]
    chosen = best_match(instance_type_matches or error.context or [error])
    return chosen if chosen is not None else error


def _known_properties(subschema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    known = set(subschema.get("properties", {}))
    for part in subschema.get("allOf", []):
        known |= _known_properties(_resolve_ref(part, root), root)
    return known


def _resolve_ref(subschema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = subschema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return subschema
    target = _pointed(ref, root)
    return _resolve_ref(target, root) if isinstance(target, dict) else subschema


def _pointed(reference: str, root: dict[str, Any]) -> Any:
    """What a local ``$ref`` (``#/$defs/date``) points to in ``root``."""
    target: Any = root
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _describe(value: object) -> str:
    if value is None:
        return "valeur vide"
    if isinstance(value, bool):
        return f"booléen {'true' if value else 'false'}"
    if isinstance(value, (int, Decimal)):
        return f"nombre {_show(value)}"
    if isinstance(value, str):
        return f"texte « {_show(value)} »"
    if isinstance(value, dict):
        return "dictionnaire"
    return "liste"


def _expected_type(expected: object) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " ou ".join(_TYPE_NAMES.get(str(name), str(name)) for name in names)


def _show(value: object) -> str:
    text = "null" if value is None else ("true" if value is True else "false" if value is False else str(value))
    return text if len(text) <= 60 else text[:57] + "…"
