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

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from evaluator.problems import InputError, JsonPath, Problem

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000

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


@dataclass
class Document:
    """A parsed document: plain data, and where each path of it stands in the source."""

    source: str
    data: Any
    lines: list[str]
    locations: dict[JsonPath, Location] = field(default_factory=dict)
    plain_text: dict[JsonPath, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, path: JsonPath) -> Location | None:
        """The position of ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(path[:end])
            if found is not None:
                return found
        return None

    def problem(self, path: JsonPath, message: str, hint: str | None = None) -> Problem:
        where = self.locate(path)
        if where is None:
            return Problem(self.source, message, path=path, hint=hint)
        line, column = where
        excerpt = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return Problem(self.source, message, line, column, path, hint, excerpt)


def decode(raw: bytes, source: str) -> str:
    """UTF-8 text of a document, or a located problem; a byte-order mark is dropped."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InputError([Problem(
            source,
            f"fichier trop volumineux : {len(raw)} octets, la limite est de {MAX_DOCUMENT_BYTES} octets",
            hint="une demande ou une politique tient en quelques kilo-octets ; vérifiez le fichier",
        )])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise InputError([Problem(
            source, f"le fichier n'est pas un texte UTF-8 valide (octet 0x{raw[error.start]:02x})",
            line, column, hint="enregistrez le fichier en UTF-8",
        )]) from None
    return text.removeprefix("\ufeff")


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
    except yaml.YAMLError as error:
        raise InputError([Problem(source, f"YAML invalide : {error}")]) from None
    return document


def _syntax_problem(error: yaml.MarkedYAMLError, document: Document) -> Problem:
    mark = error.problem_mark or error.context_mark
    found = f"{error.problem or ''} {error.context or ''}"
    message, hint = "syntaxe YAML invalide", None
    if "'\\t'" in found or "\\t" in found or _tab_at(error, document):
        message, hint = "tabulation dans l'indentation", "YAML n'accepte que des espaces pour indenter"
    elif "flow sequence" in found:
        message, hint = "liste entre crochets non fermée", "fermez la liste par « ] »"
    elif "flow mapping" in found:
        message, hint = "dictionnaire entre accolades non fermé", "fermez-le par « } »"
    elif "unacceptable character" in found or "special characters are not allowed" in found:
        message = "caractère non autorisé dans un fichier YAML"
    elif "found unexpected end of stream" in found or "quoted scalar" in found:
        message, hint = "texte entre guillemets non fermé", "fermez les guillemets sur la même valeur"
    elif "mapping values are not allowed" in found:
        message, hint = "« : » inattendu", "mettez la valeur entre guillemets si elle contient « : »"
    elif "maximum nesting depth" in found:
        message = f"imbrication trop profonde (plus de {MAX_DEPTH} niveaux)"
    elif "expected a single document" in found or "but found another document" in found:
        message = "le fichier contient plusieurs documents YAML (« --- ») ; un seul est attendu"
    if message == "syntaxe YAML invalide":
        message += f" ({(error.problem or error.context or '').strip()})"
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
            return (int(text) if len(text) <= 30 else Decimal(text)), True
        if _DECIMAL.fullmatch(text):
            return Decimal(text), True
        if text in _SPECIAL_DECIMALS:
            return Decimal(_SPECIAL_DECIMALS[text]), True
        return text, False
    if tag == f"{_CORE}str":
        return text, False
    raise _TagError(tag)


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
