"""Choosing cases by name: the ``-k`` expressions of ``guichet test``, read like pytest's.

An expression is made of words joined by ``and``, ``or``, ``not`` and parentheses:
``fenetre and not veille``, ``(spl or gip) and "au cas par cas"``. A word selects the cases whose
text contains it, ignoring case and accents (``fenetre`` finds « fenêtre », ``coeur`` finds
« Cœur »); a phrase with spaces, or a word that is also an operator, is written between quotes.
``not`` binds tighter than ``and``, which binds tighter than ``or``. An empty expression selects
every case. Parentheses and ``not`` nest at most ``MAX_NESTING`` deep (issue 14: 500 parentheses,
5,000 ``not``), and a run of ``and`` or ``or`` is one node, however long: nothing recurses without
bound, neither reading an expression nor matching it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from evaluator.reading.problems import InputError, Problem

MAX_NESTING = 32
_OPERATORS = frozenset({"and", "or", "not"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "’": "'", "ʼ": "'", "\u00a0": " ", "\u202f": " "})


def fold(text: str) -> str:
    """``text`` as a selection compares it: lower case, without accents, ligatures spelt out."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class Word:
    text: str

    def matches(self, folded: str) -> bool:
        return self.text in folded


@dataclass(frozen=True)
class Not:
    operand: Selection

    def matches(self, folded: str) -> bool:
        return not self.operand.matches(folded)


@dataclass(frozen=True)
class And:
    operands: tuple[Selection, ...]

    def matches(self, folded: str) -> bool:
        return all(operand.matches(folded) for operand in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[Selection, ...]

    def matches(self, folded: str) -> bool:
        return any(operand.matches(folded) for operand in self.operands)


@dataclass(frozen=True)
class Everything:
    def matches(self, folded: str) -> bool:
        return True


Selection = Word | Not | And | Or | Everything


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "and", "or", "not", "(", ")", "end"
    text: str
    column: int


_TOKEN = re.compile(r"""\s*(?:(?P<paren>[()])|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<word>[^\s()"']+)|(?P<open>["']))""")


def compile_selection(expression: str, source: str = "option -k") -> Selection:
    """The selection an expression describes; raises ``InputError`` pointing at the faulty place."""
    tokens = _tokens(expression, source)
    if tokens[0].kind == "end":
        return Everything()
    parser = _Parser(tokens, expression, source)
    selection = parser.disjunction()
    parser.expect_end()
    return selection


def _tokens(expression: str, source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, end = 0, len(expression.rstrip())
    while position < end:
        match = _TOKEN.match(expression, position)
        if match is None:  # pragma: no cover - the pattern accepts any non-blank text
            break
        column = position + len(match[0]) - len(match[0].lstrip()) + 1
        if match["open"]:
            raise _problem(expression, source, column, "guillemet non fermé", "fermez le texte par le même guillemet")
        if match["paren"]:
            tokens.append(_Token(match["paren"], match["paren"], column))
        elif match["word"] is not None and match["word"].lower() in _OPERATORS:
            tokens.append(_Token(match["word"].lower(), match["word"], column))
        else:
            text = next(group for group in (match["dq"], match["sq"], match["word"]) if group is not None)
            tokens.append(_Token("word", text, column))
        position = match.end()
    tokens.append(_Token("end", "", len(expression.rstrip()) + 1))
    return tokens


class _Parser:
    """Recursive descent: disjunction := conjunction (or conjunction)*, and so on."""

    def __init__(self, tokens: list[_Token], expression: str, source: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0  # parentheses and ``not`` open
        self.expression = expression
        self.source = source

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def disjunction(self) -> Selection:
        operands = [self.conjunction()]
        while self.current.kind == "or":
            self.index += 1
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Selection:
        operands = [self.negation()]
        while self.current.kind == "and":
            self.index += 1
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self) -> Selection:
        token = self.current
        if token.kind == "not":
            with self.nested():
                return Not(self.negation())
        if token.kind == "(":
            with self.nested():
                selection = self.disjunction()
                if self.current.kind != ")":
                    raise self.error("parenthèse non fermée", "ajoutez « ) »")
                self.index += 1
                return selection
        if token.kind == "word":
            self.index += 1
            return Word(fold(token.text))
        previous = self.tokens[self.index - 1].text if self.index else None
        where = f" après « {previous} »" if previous else ""
        found = "la fin de l'expression" if token.kind == "end" else f"« {token.text} »"
        hint = None
        if token.kind in _OPERATORS:
            hint = "mettez entre guillemets un mot qui est aussi un opérateur : \"and\""
        raise self.error(f"mot attendu{where}, trouvé {found}", hint)

    @contextmanager
    def nested(self) -> Iterator[None]:
        """Past a ``not`` or a ``(``, one level deeper, refused beyond ``MAX_NESTING``."""
        if self.depth >= MAX_NESTING:
            raise self.error(f"imbrication trop profonde (plus de {MAX_NESTING} parenthèses ou « not » imbriqués)",
                             "simplifiez l'expression")
        self.depth += 1
        self.index += 1
        yield
        self.depth -= 1

    def expect_end(self) -> None:
        token = self.current
        if token.kind == "end":
            return
        if token.kind == ")":
            raise self.error("« ) » sans parenthèse ouvrante")
        raise self.error(f"« {token.text} » inattendu : and, or ou la fin de l'expression attendus",
                         "reliez les mots par and / or, ou mettez la phrase entre guillemets : \"hors période\"")

    def error(self, message: str, hint: str | None = None) -> InputError:
        return _problem(self.expression, self.source, self.current.column, message, hint)


def _problem(expression: str, source: str, column: int, message: str, hint: str | None = None) -> InputError:
    return InputError([Problem(source, f"expression de sélection invalide : {message}", column=column,
                               excerpt=expression, hint=hint)])
