"""The fast validation (jsonschema-rs) only ever accepts what the detailed one (jsonschema, with the
French messages) accepts: checked on random applications, each with one value changed at random.
And a JSON line read at once (orjson, then the fast check) gives what it gives read in detail."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator import InputError, Registry
from evaluator.core.application import accepted_line, build_application, mapping_document, plain_json
from evaluator.reading.parse import MAX_DEPTH, json_line_document, load_document
from evaluator.reading.validation import Schema, format_plan
from strategies import applications

ODD_VALUES = [-1, 0, 1, Decimal("1.5"), Decimal("100.0"), Decimal("0.001"), Decimal("1E+400"), Decimal("NaN"),
              Decimal("-0.01"), Decimal("1000000000.01"), "", "x", "2026-13-01", "2026-02-29", "123456789",
              "217500016", "NO", "0.10", "-5", "1e3", None, True, False, [], {}, ["FR"], {"kind": "quote"}]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


APPLICATION = Registry.default().version("1.0").application_check
"""The application schema of version 1.0."""


def _detailed_accepts(data: Any) -> bool:
    return not any(True for _ in APPLICATION.validator.iter_errors(data))


def _put(data: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set the value at ``path`` in ``data``."""
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _with_an_odd_value(application: dict[str, Any], data: st.DataObject) -> tuple[Any, tuple[Any, ...]]:
    """The application's data with one value (at the path returned) changed to an odd one."""
    mutated = copy.deepcopy(mapping_document(application).data)
    path = data.draw(st.sampled_from(_paths(mutated)))
    _put(mutated, path, copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES))))
    return mutated, path


@given(applications(), st.data())
def test_the_fast_check_accepts_nothing_the_detailed_one_refuses(application: dict[str, Any], data: st.DataObject):
    mutated, path = _with_an_odd_value(application, data)
    if APPLICATION.accepts(mutated):
        assert _detailed_accepts(mutated), path


@given(applications(), st.data())
def test_an_application_is_decided_only_when_the_detailed_validation_accepts_it(
        registry: Registry, application: dict[str, Any], data: st.DataObject):
    """``build_application``'s fast way (jsonschema-rs for the structure, each format checked as
    the model reads the value) builds no application the detailed validation refuses."""
    mutated, path = _with_an_odd_value(application, data)
    try:
        build_application(mapping_document(mutated), registry.version("1.0"))
    except InputError:
        return
    assert _detailed_accepts(mutated), path


UNFORMATTED = {"date": "2026-02-30", "siren": "123456789", "money": "12.345"}
"""A value of each format that has the type its schema asks for, and not the format."""


@pytest.mark.parametrize(("place", "name"), format_plan(APPLICATION.root))
def test_the_model_checks_the_format_of_every_value_that_has_one(registry: Registry, place: tuple[str, ...],
                                                                  name: str):
    """Each value the schema gives a format to, left unchecked by jsonschema-rs, is checked as the
    model reads it: the application is refused, with the problem at the value's path."""
    data = json.loads(json.dumps(load_document((Path(__file__).resolve().parent.parent / "examples" /
                                                "mutualisee-frugale.yaml").read_bytes(), "exemple").data,
                                 default=str))
    path = _reached(data, place)
    _put(data, path, UNFORMATTED[name])
    policy = registry.version("1.0")
    assert policy.application_check.structure_holds(data)
    with pytest.raises(InputError) as raised:
        build_application(mapping_document(data), policy)
    assert [problem.path for problem in raised.value.problems] == [path]


def _reached(data: Any, place: tuple[str, ...]) -> tuple[str | int, ...]:
    """The path of ``place`` in ``data``, each ``*`` the first item under which the rest is found
    (the last key may be absent: it is then added)."""
    if not place:
        return ()
    head, rest = place[0], place[1:]
    if head != "*":
        return (head, *_reached(data[head], rest)) if rest else (head,)
    for index, item in enumerate(data):
        try:
            return (index, *_reached(item, rest))
        except (KeyError, TypeError):
            continue
    raise KeyError(place)


def test_the_two_agree_on_the_corpus_and_the_examples():
    root = Path(__file__).resolve().parent
    files = [*sorted((root / "bad-inputs" / "applications").glob("*")), *sorted((root.parent / "examples").glob("*"))]
    compared = 0
    for path in files:
        try:
            document = load_document(path.read_bytes(), str(path))
        except InputError:
            continue
        assert APPLICATION.accepts(document.data) == _detailed_accepts(document.data), path
        compared += 1
    assert compared >= 50


def test_the_format_plan_names_every_format_of_the_application():
    assert format_plan(APPLICATION.root) == (
        (("submitted_on",), "date"), (("applicant", "siren"), "siren"), (("co_beneficiaries", "*", "siren"), "siren"),
        (("expenses", "*", "amount"), "money"), (("expenses", "*", "entity"), "siren"),
        (("documents", "*", "signed_by", "*"), "siren"), (("purchase_date",), "date"))


@pytest.mark.parametrize("schema_with_format", [
    {"not": {"format": "date"}},
    {"type": "object", "propertyNames": {"format": "siren"}},
    {"properties": {"when": {"format": "email"}}},
])
def test_a_format_the_fast_check_cannot_place_is_refused(schema_with_format: dict[str, Any]):
    with pytest.raises(ValueError, match="format"):
        format_plan(schema_with_format)


def test_a_format_behind_references_and_mappings_is_placed():
    root = {"$defs": {"day": {"type": "string", "format": "date"}},
            "properties": {"dates": {"additionalProperties": {"$ref": "#/$defs/day"}},
                           "either": {"anyOf": [{"$ref": "#/$defs/day"}, {"type": "null"}]}}}
    assert format_plan(root) == ((("dates", "**"), "date"), (("either",), "date"))


def test_a_schema_without_any_format_has_a_fast_check_too():
    """A schema of one value (a declared field's default, say) may give no format at all: its fast
    check still answers, as the detailed validation does."""
    check = Schema("un booléen", {"type": "boolean"})
    assert format_plan(check.root) == ()
    assert check.accepts(True) and not check.accepts("oui")
    assert check.validator.is_valid(True) and not check.validator.is_valid("oui")


NUMBER_TEXTS = ["0", "-0", "0.4", "0.40", "4e-1", "0.3999", "1", "1.0", "20", "20.0", "1e2", "-0.0", "0.07", "1234.5",
                "1234.50", "1E+400", "1e-7", "12345678901234567890123", "0.30000000000000004", "0.1000000000000000001"]
"""Numbers written in every way: shortest or not, with an exponent, beyond a float, beyond a decimal."""


@given(applications(), st.data())
def test_a_json_line_reads_the_same_at_once_or_in_detail(registry: Registry, application: dict[str, Any],
                                                         data: st.DataObject):
    """``accepted_line`` (orjson, then the fast check) gives the decision, or the problems, that
    ``json_line_document`` and the detailed validation give: on lines compact or not, with values
    changed, numbers written in every way, a key repeated, a character escaped."""
    document = _mutated(application, data)
    line = _json_text(document, compact=data.draw(st.booleans()))
    if data.draw(st.booleans()):
        line = line.replace('"siren":', '"siren":"000000000","siren":', 1)
    if data.draw(st.booleans()):
        line = line.replace("É", "\\u00c9", 1)  # the editor is always "Éditeur"
    raw = (line + data.draw(st.sampled_from(["", "\n", "\r\n"]))).encode()
    assert _read(registry, lambda: accepted_line(raw, "lot.jsonl", 7)) == \
        _read(registry, lambda: json_line_document(line, "lot.jsonl", 7)), line


def _mutated(application: dict[str, Any], data: st.DataObject) -> Any:
    """The application's data with up to three values changed: odd values, numbers written in every
    way."""
    document = copy.deepcopy(mapping_document(application).data)
    for _ in range(data.draw(st.integers(0, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        value = data.draw(st.one_of(st.sampled_from(ODD_VALUES), st.sampled_from(NUMBER_TEXTS).map(_Number)))
        _put(document, path, copy.deepcopy(value))
    return document


@dataclass(frozen=True)
class _Number:
    """A number, to be written as this text."""

    text: str

    def __str__(self) -> str:
        return self.text


def _json_text(document: Any, compact: bool) -> str:
    def written(value: Any) -> Any:
        if isinstance(value, (Decimal, _Number)):
            return f"@number:{value}@"
        raise TypeError(value)

    text = json.dumps(document, default=written, ensure_ascii=False,
                      separators=(",", ":") if compact else (", ", ": "))
    return re.sub(r'"@number:([^@]*)@"', r"\1", text)


def _read(registry: Registry, read: Any) -> object:
    try:
        return registry.decide(read()).to_bytes()
    except InputError as error:
        return [problem.to_dict() for problem in error.problems]


@given(applications(), st.data())
def test_a_decoded_json_mapping_reads_as_its_decimals(registry: Registry, application: dict[str, Any],
                                                      data: st.DataObject):
    """``mapping_document`` takes decoded JSON as it is, floats included (``plain_json``), and reads
    it as the mapping with each float written as the decimal it prints as, which it copies: the same
    decision byte for byte, or the same problems; and no float reaches the model. On values changed,
    numbers written in every way (an infinity, a NaN, an integer beyond 64 bits), a lone surrogate."""
    document = _mutated(application, data)
    line = _json_text(document, compact=True)
    if data.draw(st.booleans()):
        line = line.replace("É", data.draw(st.sampled_from(["\\u00c9", "\\ud800", "\\udc00"])), 1)
    decoded = json.loads(line)
    assert _read(registry, lambda: mapping_document(decoded)) == \
        _read(registry, lambda: mapping_document(_as_decimals(decoded))), line
    try:
        built = build_application(mapping_document(decoded), registry.checked(registry.governing(
            mapping_document(decoded))))
    except InputError:
        return
    assert not _floats(built), line


def _as_decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _as_decimals(item) for key, item in value.items()}
    return [_as_decimals(item) for item in value] if isinstance(value, list) else value


def _floats(value: Any) -> list[Any]:
    """The floats anywhere in the model (its dataclasses, mappings and tuples)."""
    if isinstance(value, float):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [found for item in dataclasses.fields(value) for found in _floats(getattr(value, item.name))]
    if isinstance(value, Mapping):
        return [found for item in value.values() for found in _floats(item)]
    if isinstance(value, (tuple, list)):
        return [found for item in value for found in _floats(item)]
    return []


class _Dict(dict[str, Any]):
    pass


class _Text(str):
    __slots__ = ()


class _Integer(int):
    pass


def _nested(depth: int) -> Any:
    """``depth`` levels of mappings and lists, one in the other."""
    nested: Any = "x"
    for level in range(depth):
        nested = {"a": nested} if level % 2 else [nested]
    return nested


@pytest.mark.parametrize(("value", "plain"), [
    ({"a": [1, 2.5, "x", "é", True, None, {}, -(2 ** 63), 2 ** 64 - 1, -0.0]}, True),
    ({"a": (1, 2)}, False), ({"a": float("nan")}, False), ({"a": float("inf")}, False), ({"a": Decimal("1.5")}, False),
    ({"a": date(2026, 7, 1)}, False), ({"a": 2 ** 64}, False), ({"a": -(2 ** 63) - 1}, False), ({1: "a"}, False),
    ({"a": "\ud800"}, False), ({"\udc80": 1}, False), ({"a": {1, 2}}, False), ({"a": b"x"}, False),
    (_Dict({"a": 1}), False), ({_Text("a"): 1}, False), ({"a": _Text("x")}, False), ({"a": _Integer(1)}, False),
    ({"a": [_Dict()]}, False),
    (_nested(MAX_DEPTH), True), (_nested(MAX_DEPTH + 1), False),
])
def test_plain_json_is_what_json_decodes_and_nothing_else(value: Any, plain: bool):
    assert plain_json(value) is plain


def test_a_decoded_mapping_is_taken_as_it_is_and_the_model_shares_nothing_with_it(registry: Registry):
    """Decoded JSON is read without a copy: the decision, once made, does not change when the
    mapping it was read from does."""
    application = json.loads(json.dumps(_example()))
    document = mapping_document(application)
    assert document.data is application
    assert document.detailed is not None and document.detailed().data["applicant"]["qpv_population_share"] == \
        Decimal("0.45")
    decision = registry.evaluate(application)
    _scramble(application)  # before anything of the decision is read
    assert decision.to_bytes() == registry.evaluate(json.loads(json.dumps(_example()))).to_bytes()


class _Kind(str, Enum):  # noqa: UP042 (not StrEnum: its str() is not its value, which is the point)
    COMMUNE = "commune"


class _Licences(IntEnum):
    HUNDRED_AND_TWENTY = 120


class _Share(float):
    def __repr__(self) -> str:
        return "_Share(...)"


@pytest.mark.parametrize(("path", "value"), [
    (("applicant", "name"), _Text("Commune de Saint-Exemple")), (("applicant", "category"), _Kind.COMMUNE),
    (("applicant", "licences"), _Licences.HUNDRED_AND_TWENTY), (("applicant", "licences"), _Integer(120)),
    (("applicant", "qpv_population_share"), _Share(0.45)),
])
def test_a_subclass_of_a_text_or_a_number_is_read_as_the_value_it_holds(registry: Registry, path: tuple[str, str],
                                                                          value: Any):
    """A mapping that is not plain JSON is copied; a text or a number of a subclass (an enumeration's
    member, say) is copied as the plain text or number it holds, whatever its ``str`` or ``repr``
    says: the same decision as from the plain value."""
    application = json.loads(json.dumps(_example()))
    plain = registry.evaluate(application).to_bytes()
    assert application[path[0]][path[1]] == value
    application[path[0]][path[1]] = value
    assert not plain_json(application)
    assert registry.evaluate(application).to_bytes() == plain


def _scramble(value: Any) -> None:
    """Every container of ``value`` emptied, after its items are scrambled in turn."""
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        _scramble(item)
    if isinstance(value, (dict, list)):
        value.clear()


def _example() -> dict[str, Any]:
    path = Path(__file__).resolve().parent.parent / "examples" / "commune-simple.yaml"
    data = load_document(path.read_bytes(), str(path)).data
    data["applicant"]["qpv_population_share"] = 0.45
    return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return [_plain(item) for item in value] if isinstance(value, list) else value


def test_the_detailed_validation_stops_after_a_bounded_number_of_problems(registry: Registry, application):
    from evaluator.reading.detailed import MAX_PROBLEMS

    application["expenses"] = [{"kind": 5, "amount": "x", "entity": 7}] * 900  # 2,700 problems
    with pytest.raises(InputError) as refused:
        registry.evaluate(application)
    problems = refused.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].message == f"validation arrêtée après {MAX_PROBLEMS} problèmes : il y en a d'autres"
