"""The fast validation (jsonschema-rs) only ever accepts what the detailed one (jsonschema, with the
French messages) accepts: checked on random applications, each with one value changed at random."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from evaluator import InputError
from evaluator.application import mapping_document
from evaluator.documents import load_document
from evaluator.validation import accepts, validator
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
