"""Reading YAML and JSON: YAML 1.1 traps keep their meaning, unsafe documents are refused with
their location."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evaluator.reading.parse import MAX_DEPTH, MAX_DOCUMENT_BYTES, load_document
from evaluator.reading.problems import InputError


def _load(text: str | bytes):
    return load_document(text.encode() if isinstance(text, str) else text, "doc.yaml")


def _problem(text: str | bytes):
    with pytest.raises(InputError) as raised:
        _load(text)
    assert len(raised.value.problems) == 1
    return raised.value.problems[0]


def test_norway_yes_and_on_stay_strings():
    data = _load("countries: [NO, no, on, off, y, n, yes]\n").data
    assert data == {"countries": ["NO", "no", "on", "off", "y", "n", "yes"]}


def test_only_true_and_false_are_booleans_and_numbers_are_decimals():
    data = _load("a: true\nb: False\nc: 010\nd: 1.10\ne: 2026-07-01\nf: ~\ng: 1e3\n").data
    assert data == {"a": True, "b": False, "c": 10, "d": Decimal("1.10"), "e": "2026-07-01", "f": None,
                    "g": Decimal("1E+3")}
    assert not isinstance(data["d"], float)


def test_the_text_of_plain_numbers_is_kept_for_strings():
    document = _load("version: 1.10\nsiren: 012345678\n")
    assert document.plain_text == {("version",): "1.10", ("siren",): "012345678"}


def test_locations_point_at_keys_and_items():
    document = _load("a:\n  b: [1, 2]\n  c:\n    - x\n")
    assert document.locations[("a", "b")] == (2, 3)
    assert document.locations[("a", "b", 1)] == (2, 10)
    assert document.locations[("a", "c", 0)] == (4, 7)
    assert document.locate(("a", "c", 0, "missing")) == (4, 7)


def test_json_reads_as_yaml_with_locations():
    document = _load('{\n  "amount": 12.50,\n  "kind": "licence"\n}\n')
    assert document.data == {"amount": Decimal("12.50"), "kind": "licence"}
    assert document.locations[("kind",)] == (3, 3)


def test_duplicate_key_is_reported_at_its_line_and_reading_goes_on():
    document = _load("a: 1\nb: 2\na: {c: 3}\nd: [1, 2]\n")
    assert document.data == {"a": 1, "b": 2, "d": [1, 2]}
    [problem] = document.problems
    assert (problem.line, problem.column) == (3, 1)
    assert "clé en double" in problem.message and "« a »" in problem.message


def test_alias_bomb_is_refused():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for index in range(1, 9):
        lines.append(f"{chr(97 + index)}: &{chr(97 + index)} [" + ",".join([f"*{chr(96 + index)}"] * 10) + "]")
    problem = _problem("\n".join(lines) + "\n")
    assert "alias" in problem.message


def test_small_aliases_are_allowed():
    assert _load("a: &x [1, 2]\nb: *x\n").data == {"a": [1, 2], "b": [1, 2]}


def test_deep_nesting_is_refused_before_composing():
    problem = _problem("[" * 10_000 + "]" * 10_000)
    assert "imbrication trop profonde" in problem.message
    assert str(MAX_DEPTH) in problem.message


def test_oversized_file_is_refused():
    problem = _problem(b"a: " + b"x" * (MAX_DOCUMENT_BYTES + 1))
    assert "trop volumineux" in problem.message


def test_non_utf8_is_refused_with_its_line():
    problem = _problem(b"a: 1\nb: caf\xe9\n")
    assert (problem.line, problem.column) == (2, 7)
    assert "UTF-8" in problem.message


def test_byte_order_mark_is_dropped():
    assert _load("\ufeffa: 1\n").data == {"a": 1}


def test_empty_file():
    assert "vide" in _problem("  \n\n").message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a:\n\tb: 1\n", "tabulation"),
        ("a: [1, 2\nb: 3\n", "liste entre crochets non fermée"),
        ("a: {b: 1\n", "accolades non fermé"),
        ("a: 1\n---\nb: 2\n", "plusieurs documents"),
        ("a: !!python/object:os.system x\n", "étiquette YAML non acceptée"),
        ('a: "abc\n', "guillemets non fermé"),
    ],
)
def test_syntax_errors_are_french_and_located(text, words):
    problem = _problem(text)
    assert words in problem.message
    assert problem.line is not None
