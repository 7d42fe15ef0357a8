"""Issue 14: the bounds checked where an input is read — nesting, exponents, sizes, encodings, the
kinds of files, values with no JSON form — before anything recursive or unbounded sees it; and what
is printed of an input on a terminal."""

from __future__ import annotations

import copy
import io
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator import InputError, Registry
from evaluator.core.application import accepted_line, plain_json
from evaluator.core.report import render_text
from evaluator.reading.files import os_error_text, read_regular
from evaluator.reading.parse import (
    MAX_DEPTH,
    canonical_json_line,
    json_line_document,
    json_lines,
    load_document,
    refuse_wide_encoding,
    too_deep,
)
from evaluator.reading.problems import Problem, visible
from evaluator.testing.selection import MAX_NESTING, And, Or, compile_selection

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _refused(read: Any) -> Problem:
    with pytest.raises(InputError) as raised:
        read()
    return raised.value.problems[0]


# -- nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "offset"), [
    (b"[" * 64 + b"]" * 64, None),
    (b"[" * 65 + b"]" * 65, 64),
    (b'{"a": "' + b"[" * 100 + b'"}', None),  # (brackets within a text)
    (b'"' + b"[" * 100 + b'"', None),  # (found by fuzzing: no bracket outside the text)
    (b'["\\"[[[", ' + b"[" * 64 + b"]" * 65, 73),  # (an escaped quote does not end the text)
    (b'{"a":' * 70 + b"1" + b"}" * 70, 320),
])
def test_the_depth_of_json_text_is_found_before_it_is_read(text: bytes, offset: int | None):
    assert too_deep(text) == offset


@pytest.mark.parametrize("depth", [65, 255, 300, 100_000])
def test_a_json_line_nested_too_deep_is_refused_where_it_goes_too_deep(depth: int):
    """255 levels made orjson fail in the batch (« Recursion limit reached »), 240 jsonschema-rs
    in the service; Python's own parser fails at about a thousand."""
    line = '{"é": 1, "a": ' + "[" * depth + "]" * depth + "}"
    assert canonical_json_line(line.encode()) is None
    problem = _refused(lambda: json_line_document(line, "lot.jsonl", 7))
    assert (problem.message, problem.line, problem.column) == (
        f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)", 7, 14 + MAX_DEPTH)
    assert _refused(lambda: accepted_line(line.encode(), "lot.jsonl", 7)) == problem


# -- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["1e-99999999", "1e-999999999", "0e-99999999", "1E+1001", "-2.5e99999999999999999"])
def test_a_number_written_with_an_exponent_beyond_the_bound_is_refused_where_it_is_read(number: str):
    """``1e-99999999`` gave a decision of 100 MB, ``1e-999999999`` a segmentation fault."""
    line = '{"applicant": {"qpv_population_share": ' + number + "}}"
    problem = _refused(lambda: json_line_document(line, "lot.jsonl", 1))
    assert problem.message == f"nombre hors limites : « {number} » (exposant au-delà de ±1000)"
    assert problem.column == line.index(number) + 1
    problem = _refused(lambda: load_document(f"part: {number}\n".encode(), "demande.yaml"))
    assert (problem.line, problem.column) == (1, 7)


@pytest.mark.parametrize(("number", "value"), [("1e-1000", Decimal("1e-1000")), ("1E+1000", Decimal("1e1000")),
                                               ("0.45", Decimal("0.45")), ("1" + "0" * 5000, Decimal("1e5000"))])
def test_numbers_within_the_bound_are_read_as_written(number: str, value: Decimal):
    assert json_line_document('{"a": ' + number + "}", "lot.jsonl", 1).data == {"a": value}
    assert load_document(f"a: {number}\n".encode(), "demande.yaml").data == {"a": value}


# -- sizes, encodings and kinds of files ---------------------------------------------------------


def test_a_json_line_without_end_is_refused_without_reading_it_all(monkeypatch):
    monkeypatch.setattr("evaluator.reading.parse.MAX_DOCUMENT_BYTES", 1000)
    stream = io.BytesIO(b'{"a": 1}\n' + b" " * 5000 + b"\n")
    lines = json_lines(stream, "lot.jsonl")
    assert next(lines) == (1, '{"a": 1}')
    problem = _refused(lambda: next(lines))
    assert (problem.message, problem.line) == ("ligne trop longue : plus de 1000 octets", 2)
    assert stream.tell() < 2100


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32-le", "utf-32-be", "utf-32"])
def test_a_file_in_utf16_or_utf32_is_said_to_be_one(encoding: str):
    """« caractère non autorisé (U+0000) » before issue 14, for a file saved in UTF-16 without BOM."""
    raw = "submitted_on: 2026-07-01\napplicant:\n  name: Élan\n".encode(encoding)
    problem = _refused(lambda: load_document(raw, "demande.yaml"))
    assert problem.message == f"le fichier semble encodé en UTF-{encoding[4:6]} : enregistrez-le en UTF-8"
    assert _refused(lambda: list(json_lines(io.BytesIO(raw), "lot.jsonl"))) == problem.__class__(
        "lot.jsonl", problem.message, hint=problem.hint)


@pytest.mark.parametrize("raw", [b"a: 1\n", "\ufeffa: é\n".encode(), b"\x00", b"a\x00", b"{}"])
def test_utf8_and_short_texts_are_not_taken_for_utf16(raw: bytes):
    refuse_wide_encoding(raw, "demande.yaml")


def test_only_a_regular_file_is_read(tmp_path: Path):
    fifo = tmp_path / "2.0.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "c'est un tube nommé (FIFO)"), (zero, "c'est un périphérique"),
                       (tmp_path, "c'est un répertoire")):
        problem = _refused(lambda path=path: read_regular(path, str(path)))
        assert problem.message == f"lecture impossible : {kind} ; un fichier ordinaire est attendu"
    assert _refused(lambda: read_regular(tmp_path / "absent", "absent")).message == \
        "lecture impossible : fichier ou répertoire introuvable"


def test_system_errors_are_french():
    assert os_error_text(OSError(28, "No space left on device")) == "plus de place sur le disque"
    assert os_error_text(OSError(122, "Disk quota exceeded")) == "quota de disque dépassé"
    assert os_error_text(OSError(131, "State not recoverable")) == "erreur du système ENOTRECOVERABLE"


# -- a mapping from Python ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def from_yaml() -> dict[str, Any]:
    """The commune example as ``yaml.safe_load`` gives it: its dates as ``datetime.date``."""
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / "commune-simple.yaml").read_text(encoding="utf-8"))
    return loaded


def test_a_mapping_with_dates_decides_as_its_text(registry: Registry, from_yaml: dict[str, Any]):
    """``Registry.default().evaluate(yaml.safe_load(...))`` raised ``ValueError: Unsupported type: 'date'``."""
    as_text = {**from_yaml, "submitted_on": from_yaml["submitted_on"].isoformat()}
    assert registry.evaluate(from_yaml).to_bytes() == registry.evaluate(as_text).to_bytes()


@pytest.mark.parametrize(("value", "message"), [
    (b"DEM-1", "valeur Python de type bytes : une valeur JSON est attendue (texte, nombre, booléen, liste, "
               "dictionnaire ou null)"),
    ({1, 2}, "valeur Python de type set : une valeur JSON est attendue"),
    (Decimal("1e-99999999"), "nombre hors limites : « 1E-99999999 » (exposant au-delà de ±1000)"),
])
def test_a_mapping_value_with_no_json_form_is_bad_input_at_its_path(registry: Registry, from_yaml: dict[str, Any],
                                                                     value: object, message: str):
    application = copy.deepcopy(from_yaml)
    application["applicant"]["name"] = value
    problem = _refused(lambda: registry.evaluate(application))
    assert message in problem.message
    assert problem.path == ("applicant", "name")


@pytest.mark.parametrize("depth", [65, 200, 5000])
def test_a_mapping_nested_too_deep_is_refused_without_recursion(registry: Registry, from_yaml: dict[str, Any],
                                                                depth: int):
    nested: Any = "x"
    for _ in range(depth):
        nested = [nested]
    assert not plain_json(nested)
    application = {**from_yaml, "reference": nested}
    problem = _refused(lambda: registry.evaluate(application))
    assert problem.message == f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)"
    assert problem.path == ("reference", *[0] * (MAX_DEPTH - 1))


# -- what is printed ------------------------------------------------------------------------------


def test_control_characters_are_printed_as_their_escapes(registry: Registry, from_yaml: dict[str, Any]):
    """A name holding ``\\e]0;PWNED\\a`` retitled the terminal window of whoever read the report."""
    application = copy.deepcopy(from_yaml)
    application["applicant"]["name"] = "\x1b]0;PWNED\x07Commune\r\u202e"
    report = render_text(registry.evaluate(application))
    assert "\\x1b]0;PWNED\\x07Commune\\x0d\\u202e (" in report
    assert not any(character in report for character in "\x1b\x07\r\u202e")
    assert visible("a\tb\nc") == "a\tb\nc"
    assert Problem("f", "nom « \x1b[2J »").render() == "f: nom « \\x1b[2J »"


# -- selections -----------------------------------------------------------------------------------


def test_a_selection_nests_at_most_so_deep_and_a_chain_is_flat():
    compile_selection("(" * MAX_NESTING + "a" + ")" * MAX_NESTING)
    problem = _refused(lambda: compile_selection("not " * (MAX_NESTING + 1) + "a"))
    assert problem.column == 4 * MAX_NESTING + 1
    chain = compile_selection(" or ".join(["a and b"] * 3000))
    assert isinstance(chain, Or) and len(chain.operands) == 3000 and isinstance(chain.operands[0], And)
    assert chain.matches("b a")
