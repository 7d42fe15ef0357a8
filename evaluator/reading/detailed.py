"""The detailed validation of a document against a JSON Schema (jsonschema): every problem in
French, with its location and a hint. It runs only on what the fast check refuses
(``validation.Schema.accepts``), and is imported then: jsonschema takes some 40 ms to import, a
fifth of the start of a command that has no problem to tell."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match

from evaluator.reading.formats import check_date, check_money, check_siren, show
from evaluator.reading.parse import Document
from evaluator.reading.problems import JsonPath, Problem
from evaluator.reading.resources import ELSEWHERE, pointed

_TYPE_NAMES = {
    "string": "un texte",
    "integer": "un nombre entier",
    "number": "un nombre",
    "boolean": "un booléen (true ou false)",
    "object": "un dictionnaire (clé: valeur)",
    "array": "une liste",
    "null": "une valeur vide (null)",
}

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


def validator(root: dict[str, Any]) -> Draft202012Validator:
    """The detailed validator of the schema ``root``."""
    validating: Draft202012Validator = _Validator(root, format_checker=FORMATS)
    return validating


def problems(document: Document, root: dict[str, Any], check: Draft202012Validator) -> list[Problem]:
    """Every problem ``check`` (the validator of ``root``) finds in ``document``, in document order,
    once the text of plain scalars is restored where a string is expected."""
    while True:
        errors = list(itertools.islice(check.iter_errors(document.data), MAX_PROBLEMS + 1))
        if not any(_restore_text(document, error) for error in errors):
            break
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
        message = f"clé « {show(key)} » non admise ici"
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
        return document.problem((*path, key), f"clé inconnue : « {show(key)} »", hint)
    if keyword == "type" and isinstance(value, Decimal) and not value.is_finite():
        what = "montant" if subschema.get("format") == "money" else "nombre"
        return document.problem(path, f"« {value} » n'est pas un {what} fini", hint)
    if keyword == "type":
        message = f"{_describe(value)} là où {_expected_type(error.validator_value)} est attendu"
        if error.validator_value == "integer" and isinstance(value, Decimal):  # (12.0 is an integer)
            message = f"{show(value)} n'est pas un nombre entier"
        return document.problem(path, message, hint)
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        message = f"valeur « {show(value)} » non reconnue ; valeurs admises : " + ", ".join(map(show, allowed))
        nearest = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
        return document.problem(path, message, f"vouliez-vous dire « {nearest[0]} » ?" if nearest else hint)
    if keyword == "format":
        cause = str(error.cause) if error.cause else f"« {show(value)} » n'a pas le format {error.validator_value}"
        return document.problem(path, cause, hint)
    if keyword == "pattern":
        return document.problem(path, f"« {show(value)} » n'a pas la forme attendue", hint)
    if keyword in ("minimum", "exclusiveMinimum"):
        word = "au moins" if keyword == "minimum" else "plus de"
        return document.problem(path, f"{show(value)} est trop petit : {word} {error.validator_value} attendu", hint)
    if keyword in ("maximum", "exclusiveMaximum"):
        message = f"{show(value)} est trop grand : au plus {error.validator_value} attendu"
        if error.validator_value == 1 and isinstance(value, (int, Decimal)) and value <= 100:
            message = f"{show(value)} ressemble à un pourcentage ; une fraction entre 0 et 1 est attendue"
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
    target = pointed(ref, root)
    return _resolve_ref(target, root) if isinstance(target, dict) else subschema


def _describe(value: object) -> str:
    if value is None:
        return "valeur vide"
    if isinstance(value, bool):
        return f"booléen {'true' if value else 'false'}"
    if isinstance(value, (int, Decimal)):
        return f"nombre {show(value)}"
    if isinstance(value, str):
        return f"texte « {show(value)} »"
    if isinstance(value, dict):
        return "dictionnaire"
    return "liste"


def _expected_type(expected: object) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " ou ".join(_TYPE_NAMES.get(str(name), str(name)) for name in names)
