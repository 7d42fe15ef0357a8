"""The fast validation (jsonschema-rs) only ever accepts what the detailed one (jsonschema, with the
French messages) accepts: checked on random applications, each with one value changed at random."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator import InputError
from evaluator.application import mapping_document
from evaluator.documents import load_document
from evaluator.resources import schema
from evaluator.validation import accepts, format_plan, validator
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


def _detailed_accepts(data: Any) -> bool:
    return not any(True for _ in validator("application").iter_errors(data))


@given(applications(), st.data())
def test_the_fast_check_accepts_nothing_the_detailed_one_refuses(application: dict[str, Any], data: st.DataObject):
    mutated = copy.deepcopy(mapping_document(application).data)
    path = data.draw(st.sampled_from(_paths(mutated)))
    target = mutated
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
    if accepts("application")(mutated):
        assert _detailed_accepts(mutated), path


def test_the_two_agree_on_the_corpus_and_the_examples():
    root = Path(__file__).resolve().parent
    files = [*sorted((root / "bad-inputs" / "applications").glob("*.json")),
             *sorted((root.parent / "examples").glob("*"))]
    for path in files:
        try:
            document = load_document(path.read_bytes(), str(path))
        except InputError:
            continue
        assert accepts("application")(document.data) == _detailed_accepts(document.data), path


def test_the_format_plan_names_every_format_of_the_application():
    assert format_plan(schema("application")) == (
        (("submitted_on",), "date"), (("applicant", "siren"), "siren"), (("co_beneficiaries", "*", "siren"), "siren"),
        (("expenses", "*", "amount"), "money"), (("expenses", "*", "entity"), "siren"), (("purchase_date",), "date"),
        (("documents", "*", "signed_by", "*"), "siren"))


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
