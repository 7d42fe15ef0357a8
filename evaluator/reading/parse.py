"""Reading YAML and JSON documents safely, keeping where every value came from.

The composer works from the parser's events, without recursion, so that it can bound the size,
the nesting and the alias expansion of a document before building anything large. Plain scalars
follow the YAML 1.2 core schema: only ``true``/``false`` are booleans (``NO``, ``on``, ``y`` stay
strings), integers are decimal (``010`` is ten, never octal), every other number becomes a
``Decimal`` (never a float), and dates stay ISO strings for the schemas to check. The original text
of each plain non-string scalar is kept, so that a value the schema expects as a string (a version
``1.10``, a SIREN written without quotes) gets its text back exactly as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate, islice
from typing import IO, Any, TypeVar

import orjson
import yaml

from evaluator.reading.problems import InputError, JsonPath, Problem, raise_if_any

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_EXPONENT = 1000
"""The largest exponent a number may be written with (``1e-1000``): a number is written out in full
in a decision, and ``1e-99999999`` would take a hundred million characters."""
_INT_DIGITS = 4000  # below Python's limit on int() of a text (4300 digits)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT = re.compile(r"[-+]?[0-9]+")
_DECIMAL = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_DECIMALS = {
    ".inf": "Infinity", ".Inf": "Infinity", ".INF": "Infinity",
    "+.inf": "Infinity", "+.Inf": "Infinity", "+.INF": "Infinity",
    "-.inf": "-Infinity", "-.Inf": "-Infinity", "-.INF": "-Infinity",
    ".nan": "NaN", ".NaN": "NaN", ".NAN": "NaN",
}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_CORE = "tag:yaml.org,2002:"
_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")}

Location = tuple[int, int]
P = TypeVar("P")


@dataclass
class Document:
    """A parsed document: plain data, and where each path of it stands in the source."""

    source: str
    data: Any
    lines: list[str]
    locations: dict[JsonPath, Location] = field(default_factory=dict)
    plain_text: dict[JsonPath, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    detailed: Callable[[], Document] | None = None
    """How to read the source again in detail, when the data was read at once (a canonical JSON
    line, whose floats the detailed validation would not take): only for a document a schema's fast
    check refuses, or the model (a value without its format), to name its problems."""

    def locate(self, path: JsonPath) -> Location | None:
        """The position of ``path``, or of its nearest located ancestor."""
        return nearest(self.locations, path)

    def problem(self, path: JsonPath, message: str, hint: str | None = None, missing: tuple[str, ...] = ()) -> Problem:
        where = self.locate(path)
        if where is None:
            return Problem(self.source, message, path=path, hint=hint, missing=missing)
        line, column = where
        excerpt = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return Problem(self.source, message, line, column, path, hint, excerpt, missing=missing)


def nearest(places: Mapping[JsonPath, P], path: JsonPath) -> P | None:
    """What ``places`` holds for ``path``, or for its nearest ancestor it holds something for."""
    for end in range(len(path), -1, -1):
        found = places.get(path[:end])
        if found is not None:
            return found
    return None


def too_large(source: str, size: int | None) -> InputError:
    """A document over ``MAX_DOCUMENT_BYTES``: of ``size`` bytes, or of more than the limit when the
    rest was not read (a stream)."""
    written = f"{size} octets" if size is not None else f"plus de {MAX_DOCUMENT_BYTES} octets"
    return InputError([Problem(
        source, f"fichier trop volumineux : {written}, la limite est de {MAX_DOCUMENT_BYTES} octets",
        hint="une demande ou une politique tient en quelques kilo-octets ; vérifiez le fichier",
    )])


def refuse_wide_encoding(raw: bytes, source: str) -> None:
    """Refuse a file written in UTF-16 or UTF-32, with a byte-order mark or without one (its first
    bytes, text mostly ASCII, then have NUL bytes in every other place or three places in four),
    which UTF-8 would read as text full of U+0000."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        wide: str | None = "UTF-32"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        wide = "UTF-16"
    else:
        head = raw[:64] if b"\x00" in raw[:64] else b""  # (without a NUL: UTF-8, or refused as it)
        head = head[:len(head) // 4 * 4]
        wide = _NUL_PLACES.get(tuple(not head[place::4].strip(b"\x00") for place in range(4))) if head else None
    if wide is not None:
        raise InputError([Problem(source, f"le fichier semble encodé en {wide} : enregistrez-le en UTF-8",
                                  hint="dans l'éditeur, choisissez « Enregistrer sous » et l'encodage UTF-8")])


_NUL_PLACES: dict[tuple[bool, ...], str] = {
    (False, True, True, True): "UTF-32", (True, True, True, False): "UTF-32",
    (False, True, False, True): "UTF-16", (True, False, True, False): "UTF-16"}
"""Which of the four places (modulo 4) hold nothing but NUL bytes in ASCII text written in UTF-32
or UTF-16, little-endian or big-endian."""


def decode(raw: bytes, source: str) -> str:
    """UTF-8 text of a document, or a located problem; a byte-order mark is dropped."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise too_large(source, len(raw))
    refuse_wide_encoding(raw, source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = byte_position(raw, error.start)
        raise InputError([Problem(
            source, f"le fichier n'est pas un texte UTF-8 valide (octet 0x{raw[error.start]:02x})",
            line, column, hint="enregistrez le fichier en UTF-8",
        )]) from None
    return text.removeprefix("\ufeff")


def byte_position(raw: bytes, offset: int) -> Location:
    """The line and column (from 1, the column in bytes) of the byte at ``offset`` of ``raw``."""
    return raw.count(b"\n", 0, offset) + 1, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\[uU]0{0,4}[dD][89a-fA-F]")


def lone_surrogates(document: Document) -> list[Problem]:
    """Texts holding half of a UTF-16 pair, which an escape such as ``\\ud800`` can write: they are
    not text, and could not be written back."""
    if _writable(document.data):
        return []
    found: list[Problem] = []

    def walk(value: Any, path: JsonPath) -> None:
        if isinstance(value, str):
            bad = _SURROGATE.search(value)
            if bad is not None:
                found.append(document.problem(path, f"texte invalide : « \\u{ord(bad[0]):04x} » est une moitié de "
                                                    "caractère UTF-16, seule", "écrivez le caractère lui-même"))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, path)
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(document.data, ())
    return found


def _writable(data: Any) -> bool:
    """Whether orjson writes ``data`` (any value it cannot write taken as ``null``): then no text in
    it, as a key or a value of a mapping or an item of a list, holds a lone surrogate, which orjson
    refuses (a quick answer, in C, for ``lone_surrogates``; anything else it refuses, a key that is
    not a text say, leaves the question to the walk)."""
    try:
        orjson.dumps(data, default=_unwritten)
    except TypeError:  # orjson.JSONEncodeError included
        return False
    return True


def _unwritten(value: object) -> None:
    return None


def load_document(raw: bytes, source: str) -> Document:
    """Parse YAML (JSON included) into plain data with locations; refuse anything unsafe."""
    text = decode(raw, source)
    lines = text.splitlines()
    if not text.strip():
        raise InputError([Problem(source, "le fichier est vide", hint="il doit contenir un document YAML ou JSON")])
    document = Document(source, None, lines)
    try:
        _compose(yaml.parse(text, Loader=_Loader), document)
    except yaml.MarkedYAMLError as error:
        raise InputError([_syntax_problem(error, document)]) from None
    except yaml.reader.ReaderError as error:
        raise InputError([_character_problem(error, text, document)]) from None
    except yaml.YAMLError:
        raise InputError([Problem(source, "syntaxe YAML invalide")]) from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        document.problems.extend(lone_surrogates(document))
    return document


def _character_problem(error: yaml.reader.ReaderError, text: str, document: Document) -> Problem:
    """A character YAML refuses (a control character, U+FFFE…), located by its first occurrence."""
    character = chr(error.character) if isinstance(error.character, int) else str(error.character)
    message = f"caractère non autorisé dans un fichier YAML (U+{ord(character[:1] or ' '):04X})"
    hint = "retirez ce caractère invisible (copié-collé d'un autre logiciel ?)"
    offset = text.find(character)
    if offset < 0:
        return Problem(document.source, message, hint=hint)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    excerpt = document.lines[line - 1] if 0 < line <= len(document.lines) else None
    return Problem(document.source, message, line, column, hint=hint, excerpt=excerpt)


# What the YAML parser says (English, from libyaml or PyYAML), and what we tell the reader; the first
# entry whose words are all found in the parser's message wins.
_ESCAPE = ("séquence d'échappement « \\ » invalide dans un texte entre guillemets doubles",
           "doublez la barre oblique (« \\\\ ») ou mettez le texte entre guillemets simples")
_UNCLOSED_QUOTES = ("texte entre guillemets non fermé", "fermez les guillemets sur la même valeur")
_FORBIDDEN = ("caractère non autorisé dans un fichier YAML", None)
_DOCUMENTS = ("le fichier contient plusieurs documents YAML (« --- ») ; un seul est attendu", None)
_SYNTAX_MESSAGES: tuple[tuple[tuple[str, ...], str, str | None], ...] = (
    (("escape",), *_ESCAPE),
    (("hexdecimal",), *_ESCAPE),
    (("flow sequence",), "liste entre crochets non fermée", "fermez la liste par « ] »"),
    (("flow mapping",), "dictionnaire entre accolades non fermé", "fermez-le par « } »"),
    (("unacceptable character",), *_FORBIDDEN),
    (("special characters are not allowed",), *_FORBIDDEN),
    (("unexpected end of stream",), *_UNCLOSED_QUOTES),
    (("quoted scalar",), *_UNCLOSED_QUOTES),
    (("mapping values are not allowed",), "« : » inattendu",
     "mettez la valeur entre guillemets si elle contient « : »"),
    (("maximum nesting depth",), f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)", None),
    (("expected a single document",), *_DOCUMENTS),
    (("but found another document",), *_DOCUMENTS),
    (("unexpected document indicator",), "« --- » ou « ... » inattendu au milieu d'une valeur", None),
    (("expected key",), "structure inattendue : une clé (« nom: valeur ») est attendue ici",
     "vérifiez l'indentation (les clés d'un même bloc s'alignent sur la même colonne) et ce qui suit la valeur"),
    (("expected '-' indicator",), "indentation incohérente : un élément de liste (« - ») est attendu à ce niveau",
     "alignez les « - » d'une même liste sur la même colonne"),
    (("block sequence entries are not allowed",), "« - » inattendu à cet endroit",
     "une liste commence à la ligne qui suit sa clé, ou s'écrit entre crochets"),
    (("could not find expected ':'",), "« : » attendu après la clé", "écrivez « clé: valeur » sur une même ligne"),
    (("mapping keys are not allowed",), "clé inattendue à cet endroit", "vérifiez l'indentation de cette ligne"),
    (("cannot start any token",), "caractère inattendu en début de valeur",
     "mettez la valeur entre guillemets : « @ », « ` » et « % » ne peuvent pas commencer une valeur"),
    (("expected node content",), "valeur attendue", "vérifiez la ponctuation de cette ligne"),
    (("alphabetic or numeric character", "anchor"), "nom d'ancre (« & ») invalide",
     "mettez la valeur entre guillemets si elle commence par « & »"),
    (("alphabetic or numeric character", "alias"), "nom d'alias (« * ») invalide",
     "mettez la valeur entre guillemets si elle commence par « * »"),
    (("directive",), "directive YAML (« % ») non reconnue", "retirez la ligne qui commence par « % »"),
    (("incompatible YAML document",), "version de YAML non reconnue", "retirez la ligne « %YAML »"),
    (("tag",), "étiquette YAML (« ! ») non acceptée", "retirez l'étiquette : les types sont déduits des valeurs"),
    (("comment or line break",), "texte inattendu après la valeur", "mettez la valeur entière entre guillemets"),
    (("indentation indicator",), "indicateur d'indentation invalide après « | » ou « > »", None),
)


_UNCLOSED = frozenset({"liste entre crochets non fermée", "dictionnaire entre accolades non fermé",
                       _UNCLOSED_QUOTES[0]})


def _syntax_problem(error: yaml.MarkedYAMLError, document: Document) -> Problem:
    mark = error.problem_mark or error.context_mark
    found = f"{error.problem or ''} {error.context or ''}"
    message: str = "syntaxe YAML invalide"
    hint: str | None = "vérifiez l'indentation, les guillemets et la ponctuation de cette ligne"
    if "'\\t'" in found or "\\t" in found or "tab character" in found or _tab_at(error, document):
        message, hint = "tabulation dans l'indentation", "YAML n'accepte que des espaces pour indenter"
    else:
        for words, known, known_hint in _SYNTAX_MESSAGES:
            if all(word in found for word in words):
                message, hint = known, known_hint
                break
    if message in _UNCLOSED and error.context_mark is not None and error.problem_mark is not None:
        # where the list, the dictionary or the text was opened, rather than where reading gave up
        hint = f"{hint} ; la lecture s'est arrêtée ligne {error.problem_mark.line + 1}"
        mark = error.context_mark
    if mark is None:
        return Problem(document.source, message, hint=hint)
    line, column = mark.line + 1, mark.column + 1
    excerpt = document.lines[line - 1] if 0 < line <= len(document.lines) else None
    return Problem(document.source, message, line, column, hint=hint, excerpt=excerpt)


def _tab_at(error: yaml.MarkedYAMLError, document: Document) -> bool:
    mark = error.problem_mark
    if mark is None or not 0 <= mark.line < len(document.lines):
        return False
    return "\t" in document.lines[mark.line][: mark.column + 1]


def _resolve(event: yaml.ScalarEvent) -> tuple[Any, bool]:
    """The value of a scalar and whether it is a plain non-string scalar (its text kept)."""
    text: str = event.value
    tag = event.tag
    if tag in (None, "!"):
        if not event.implicit[0]:
            return text, False
        if text in _BOOLS:
            return _BOOLS[text], True
        if text in _NULLS:
            return None, True
        if _INT.fullmatch(text):
            return _integer(text), True
        if _DECIMAL.fullmatch(text):
            return read_decimal(text), True
        if text in _SPECIAL_DECIMALS:
            return Decimal(_SPECIAL_DECIMALS[text]), True
        return text, False
    if tag == f"{_CORE}str":
        return text, False
    raise _TagError(tag)


def read_decimal(text: str) -> Decimal:
    """The decimal a numeric text denotes; ``NumberTooLarge`` when it is written with an exponent
    beyond ``MAX_EXPONENT``, such as ``1e-99999999`` (issue 14), refused where it is read."""
    exponent = text.lower().partition("e")[2].lstrip("+-").lstrip("0")
    if len(exponent) > len(str(MAX_EXPONENT)) or int(exponent or 0) > MAX_EXPONENT:
        raise NumberTooLarge(text)
    return Decimal(text)


def _integer(text: str) -> int | Decimal:
    """An integer written in decimal digits; a ``Decimal`` beyond what ``int()`` reads of a text."""
    return int(text) if len(text) <= _INT_DIGITS else Decimal(text)


class NumberTooLarge(Exception):
    """A number written with an exponent beyond ``MAX_EXPONENT``: the text that writes it, and what
    to tell of it."""

    hint = "écrivez le nombre en quelques chiffres, sans exposant démesuré"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
        shown = text if len(text) <= 40 else text[:37] + "…"
        self.message = f"nombre hors limites : « {shown} » (exposant au-delà de ±{MAX_EXPONENT})"


def _position(event: yaml.Event) -> Location:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _TagError(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


class _Frame:
    __slots__ = ("container", "discard", "key", "nodes", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: JsonPath) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None
        self.discard = False
        self.nodes = 1


def _compose(events: Iterator[yaml.Event], document: Document) -> None:
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    pending_anchor: list[tuple[str, _Frame]] = []
    budget = MAX_NODES
    documents = 0

    def problem(event: yaml.Event, message: str, hint: str | None = None) -> Problem:
        line, column = _position(event)
        excerpt = document.lines[line - 1] if 0 < line <= len(document.lines) else None
        return Problem(document.source, message, line, column, hint=hint, excerpt=excerpt)

    def fail(event: yaml.Event, message: str, hint: str | None = None) -> InputError:
        return InputError([*document.problems, problem(event, message, hint)])

    def place(event: yaml.Event, value: Any, nodes: int, plain: str | None) -> JsonPath | None:
        """Attach a value to the current container; returns its path (None for a key)."""
        if not stack:
            document.data = value
            document.locations[()] = _position(event)
            return ()
        frame = stack[-1]
        frame.nodes += nodes
        if isinstance(frame.container, list):
            path = (*frame.path, len(frame.container))
            frame.container.append(value)
            document.locations[path] = _position(event)
        else:
            if frame.key is None:
                raise fail(event, "une clé de dictionnaire doit être un texte simple")
            path = (*frame.path, frame.key)
            if not frame.discard:
                frame.container[frame.key] = value
            frame.key, frame.discard = None, False
        if plain is not None:
            document.plain_text[path] = plain
        return path

    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise fail(event, "le fichier contient plusieurs documents YAML (« --- ») ; un seul est attendu")
        elif isinstance(event, yaml.ScalarEvent):
            budget -= 1
            try:
                value, plain = _resolve(event)
            except _TagError as error:
                raise fail(event, f"étiquette YAML non acceptée : {error.tag}",
                           "retirez l'étiquette (« !! ») : les types sont déduits des valeurs") from None
            except NumberTooLarge as error:
                raise fail(event, error.message, error.hint) from None
            frame = stack[-1] if stack else None
            if frame is not None and isinstance(frame.container, dict) and frame.key is None:
                key = event.value
                frame.key = key
                if key in frame.container:
                    document.problems.append(problem(event, f"clé en double : « {key} »",
                                                     "chaque clé ne doit apparaître qu'une fois dans un même bloc"))
                    frame.discard = True
                else:
                    document.locations[(*frame.path, key)] = _position(event)
                continue
            place(event, value, 1, event.value if plain else None)
            if event.anchor:
                anchors[event.anchor] = (value, 1)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if event.tag not in (None, "!") and event.tag not in _TAGS:
                raise fail(event, f"étiquette YAML non acceptée : {event.tag}")
            if len(stack) >= MAX_DEPTH:
                raise fail(event, f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)")
            budget -= 1
            container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            path = place(event, container, 0, None)
            assert path is not None
            new = _Frame(container, path)
            stack.append(new)
            if event.anchor:
                pending_anchor.append((event.anchor, new))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = stack.pop()
            if stack:
                stack[-1].nodes += done.nodes
            while pending_anchor and pending_anchor[-1][1] is done:
                anchors[pending_anchor.pop()[0]] = (done.container, done.nodes)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise fail(event, f"alias « *{event.anchor} » vers une ancre inconnue ou pas encore fermée")
            value, nodes = anchors[event.anchor]
            budget -= nodes
            if budget < 0:
                raise fail(event, f"le document déplie plus de {MAX_NODES} valeurs par ses alias",
                           "les alias YAML (*) ne doivent pas se multiplier les uns les autres")
            place(event, value, nodes, None)
        if budget < 0:
            raise InputError([Problem(document.source, f"le document compte plus de {MAX_NODES} valeurs")])


def json_lines(stream: IO[bytes], source: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a JSON Lines stream (a binary file named ``source``), numbered. Lines
    end at "\\n" only (a U+2028 inside a text does not end a line); a byte-order mark opening the
    file is dropped, and bytes that are not UTF-8 are kept (as lone surrogates) for
    ``json_line_document`` to refuse with their line. A file in UTF-16 or UTF-32, and a line longer
    than ``MAX_DOCUMENT_BYTES`` (read no further: ``/dev/zero`` has no end of line), are refused
    (``InputError``)."""
    number = 0
    while raw := stream.readline(MAX_DOCUMENT_BYTES + 1):
        number += 1
        if number == 1:
            refuse_wide_encoding(raw, source)
        if len(raw) > MAX_DOCUMENT_BYTES and not raw.endswith(b"\n"):
            raise line_too_long(source, number)
        line = text_line(raw, number)
        if line is not None:
            yield number, line


def line_too_long(source: str, number: int) -> InputError:
    """A line of JSON Lines longer than ``MAX_DOCUMENT_BYTES``, the most an application may take."""
    return InputError([Problem(source, f"ligne trop longue : plus de {MAX_DOCUMENT_BYTES} octets", number,
                               hint="une demande par ligne, qui tient en quelques kilo-octets")])


def text_line(raw: bytes, number: int) -> str | None:
    """A line of JSON Lines as ``json_lines`` reads it (``None`` when blank)."""
    line = raw.decode("utf-8", errors="surrogateescape")
    if number == 1:
        line = line.removeprefix("\ufeff")
    line = line.removesuffix("\n").removesuffix("\r")
    return line if line.strip() else None


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_JSON_MESSAGES = {
    "Expecting value": "valeur attendue",
    "Expecting property name enclosed in double quotes": "nom de clé entre guillemets doubles attendu",
    "Expecting ',' delimiter": "« , » attendue entre deux éléments",
    "Expecting ':' delimiter": "« : » attendu après la clé",
    "Extra data": "texte en trop après le document",
    "Unterminated string starting at": "texte entre guillemets non fermé",
    "Invalid control character at": "caractère de contrôle dans un texte",
    "Invalid \\escape": "séquence d'échappement « \\ » invalide",
    "Invalid \\uXXXX escape": "séquence « \\u » invalide",
    "Unexpected UTF-8 BOM (decode using utf-8-sig)": "marque d'ordre des octets (BOM) en début de ligne",
}


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it repeats a key."""
    data = dict(pairs)
    if len(data) != len(pairs):
        keys = [key for key, _ in pairs]
        raise _DuplicateKey(next(key for key in keys if keys.count(key) > 1))
    return data


_JSON = json.JSONDecoder(parse_float=read_decimal, parse_int=_integer, parse_constant=Decimal,
                         object_pairs_hook=_object)

_JSON_TEXT = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_TEXT_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEPS = tuple(1 if byte in b"[{" else -1 if byte in b"]}" else 0 for byte in range(256))


def too_deep(raw: bytes) -> int | None:
    """Where JSON text (its bytes) opens a level of nesting beyond ``MAX_DEPTH``: the offset of
    that bracket; ``None`` within the bound. Asked before anything recursive — orjson, jsonschema-rs,
    Python — reads the text (issue 14: 255 levels made orjson fail); brackets within texts do not
    count. The answer is found in C; only a text too deep is walked, to say where."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return None
    brackets = _JSON_TEXT.sub(b"", raw).translate(None, _NOT_BRACKETS)
    levels = list(accumulate(map(_STEPS.__getitem__, brackets)))
    if max(levels, default=0) <= MAX_DEPTH:
        return None
    deepest = next(index for index, level in enumerate(levels) if level > MAX_DEPTH)
    offsets = (match.start() for match in _JSON_TEXT_OR_BRACKET.finditer(raw) if not match[0].startswith(b'"'))
    return next(islice(offsets, deepest, None))


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a surrogate (a byte that was not UTF-8, kept by ``json_lines``): a
    quicker question than where, asked first."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def canonical_json_line(raw: bytes) -> Any | None:
    """What a line of JSON Lines holds (its bytes, without its end of line), read at once by orjson,
    when the line is written exactly as orjson writes what it read: compact, each key once, each
    text and number in its shortest form (``None`` otherwise, and for anything orjson cannot read).
    What it holds is then what ``json_line_document`` reads, but that a number with a fraction or an
    exponent is a float, whose shortest form is the line's text: the decimal it prints as
    (``formats.decimal_of``)."""
    if too_deep(raw) is not None:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data if orjson.dumps(data) == raw else None


def json_line_document(line: str, source: str, number: int) -> Document:
    """One line of a JSON Lines file as a document: numbers as ``Decimal``, duplicate keys refused,
    every problem located at the line."""
    bad = _NOT_UTF8.search(line) if has_surrogates(line) else None
    if bad is not None:
        message = f"la ligne n'est pas un texte UTF-8 valide (octet 0x{ord(bad[0]) - 0xDC00:02x})"
        raise InputError([Problem(source, message, number, bad.start() + 1, hint="enregistrez le fichier en UTF-8")])

    encoded = line.encode("utf-8", "surrogatepass")
    deep = too_deep(encoded)
    if deep is not None:
        column = len(encoded[:deep].decode("utf-8", "surrogatepass")) + 1
        raise InputError([Problem(source, f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)", number, column)])
    try:
        data = _JSON.decode(line)
    except _DuplicateKey as duplicate:
        raise InputError([Problem(source, f"clé en double : « {duplicate.key} »", number)]) from None
    except NumberTooLarge as extreme:
        column = line.find(extreme.text) + 1
        raise InputError([Problem(source, extreme.message, number, column or None, hint=extreme.hint)]) from None
    except json.JSONDecodeError as error:
        message = _JSON_MESSAGES.get(error.msg, "syntaxe invalide")
        raise InputError([Problem(source, f"JSON invalide : {message}", number, error.colno)]) from None
    document = Document(source, data, [], {(): (number, 1)})
    if _SURROGATE_ESCAPE.search(line) is not None:
        raise_if_any(lone_surrogates(document))
    return document
