"""Expressions in French words, for a person who reviews a policy.

A checked expression is told from the labels of the facts it reads, the labels and values of the
parameters and the labels of the lists: ``mutualised or licence_count >= licence_threshold`` reads
« demande mutualisée ou licences des entités couvertes est au moins seuil de licences du taux majoré
(500) ». Mixed ``and`` / ``or`` are parenthesised; a shape the renderer does not know is shown as
written, never an error. A text told in words keeps what the policy writes (``Written``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from evaluator.core import french


class Written(str):
    """A text as a person reads it (a label with its ``{parameter}`` placeholders filled in, an
    expression in words) that keeps what the policy file writes (``source``): two versions are
    compared on what they write, so that a text quoting a parameter is not changed by its value alone."""

    source: str

    def __new__(cls, shown: str, source: str | None = None) -> Written:
        text = super().__new__(cls, shown)
        text.source = shown if source is None else source  # unpickled: the state restores it
        return text


def written(text: str) -> str:
    """What the policy file writes of ``text``."""
    return text.source if isinstance(text, Written) else text


class Symbol(Protocol):
    """What the words of an expression read of each name (``expressions.Symbol``)."""

    @property
    def type(self) -> Enum: ...

    @property
    def label(self) -> str: ...

    @property
    def constant(self) -> bool: ...

    @property
    def value(self) -> Any: ...

    @property
    def unit(self) -> str | None: ...


class Percent(Decimal):
    """A number the policy writes as a percentage (``40 %``): its value is the fraction (0.40); it
    reads back as written."""


# How tightly each construction binds, loosest first: an operand looser than its place is parenthesised.
_CONDITIONAL, _OR, _AND, _NOT, _COMPARISON, _EXTREMUM, _SUM, _PRODUCT, _SIGN, _ATOM = range(10)

_ORDER = {ast.Eq: "vaut", ast.NotEq: "ne vaut pas", ast.Lt: "est inférieur à", ast.LtE: "est au plus",
          ast.Gt: "dépasse", ast.GtE: "est au moins", ast.In: "figure parmi", ast.NotIn: "ne figure pas parmi"}
_DATES = {ast.Lt: "est antérieure à", ast.LtE: "est au plus tard", ast.Gt: "est postérieure à",
          ast.GtE: "est au plus tôt"}
_ARITHMETIC = {ast.Add: (" + ", _SUM), ast.Sub: (" − ", _SUM), ast.Mult: (" × ", _PRODUCT),
               ast.Div: (" ÷ ", _PRODUCT)}
_EXTREMA = {"min": "le plus petit de", "max": "le plus grand de"}
_MEMBERSHIP = {"all_in": "chacun", "any_in": "au moins un"}
_CAPITALISED = ("État", "États", "Union", "Europe", "France")
"""First words a label keeps capitalised inside a sentence."""
_DETERMINERS = ("le ", "la ", "les ", "l'", "l’", "un ", "une ", "des ")

Told = tuple[str, int]
"""Words, and how tightly they bind."""


def words(tree: ast.expr, source: str, scope: Mapping[str, Symbol]) -> str:
    """The checked expression ``tree`` (written ``source``) in French, from the labels of ``scope``."""
    return _Wording(source, scope).tell(tree)[0]


def lowered(label: str) -> str:
    """A label inside a sentence: ``Seuil de licences`` → ``seuil de licences``; ``UE``, ``États
    membres`` and the like keep their capitals."""
    first = label.split(" ", 1)[0]
    if len(label) > 1 and label[0].isupper() and label[1].islower() and first not in _CAPITALISED:
        return label[0].lower() + label[1:]
    return label


def plural(label: str) -> str:
    """``États membres de l'UE`` → ``les États membres de l'UE``, a label that names several things."""
    return label if label.lower().startswith(_DETERMINERS) else f"les {label}"


class _Wording:
    def __init__(self, source: str, scope: Mapping[str, Symbol]) -> None:
        self.source = source
        self.scope = scope

    def tell(self, node: ast.expr) -> Told:
        method: Callable[[ast.expr], Told] | None = getattr(self, f"_{type(node).__name__}", None)
        return self._written(node) if method is None else method(node)

    def _written(self, node: ast.AST) -> Told:
        """A shape without words: as the policy writes it."""
        return ast.get_source_segment(self.source, node) or self.source, _ATOM

    def _at_least(self, node: ast.expr, level: int) -> str:
        """``node`` in words, parenthesised when it binds more loosely than ``level``."""
        text, binds = self.tell(node)
        return text if binds >= level else f"({text})"

    def _label(self, name: str) -> str:
        symbol = self.scope.get(name)
        return name if symbol is None else lowered(symbol.label)

    def _Name(self, node: ast.Name) -> Told:
        symbol = self.scope.get(node.id)
        label = self._label(node.id)
        if symbol is not None and symbol.constant and symbol.value is not None:
            value = french.quantity(symbol.value, symbol.unit)
            return (f"{label}, soit {value}" if label.endswith(")") else f"{label} ({value})"), _ATOM
        return label, _ATOM

    def _Constant(self, node: ast.Constant) -> Told:
        value = node.value
        if isinstance(value, bool):
            return ("vrai" if value else "faux"), _ATOM
        if isinstance(value, Percent):
            return french.percent(value), _ATOM
        if isinstance(value, Decimal):
            return french.number(value), _ATOM
        if isinstance(value, str):
            return f"« {value} »", _ATOM
        return self._written(node)

    def _List(self, node: ast.List | ast.Tuple) -> Told:
        items = [self.tell(item)[0] for item in node.elts]
        return (", ".join(items) if items else "une liste vide"), _ATOM

    _Tuple = _List

    def _several(self, node: ast.expr) -> str:
        """A list as the thing it names: ``les États membres de l'UE``, or its items."""
        if isinstance(node, ast.Name) and self.scope.get(node.id) is not None:
            return plural(self._label(node.id))
        return self.tell(node)[0]

    def _BoolOp(self, node: ast.BoolOp) -> Told:
        joined, level = (" et ", _AND) if isinstance(node.op, ast.And) else (" ou ", _OR)
        parts = []
        for value in node.values:
            text, binds = self.tell(value)
            mixed = binds in (_CONDITIONAL, _OR, _AND) and binds != level
            parts.append(f"({text})" if mixed else text)
        return joined.join(parts), level

    def _UnaryOp(self, node: ast.UnaryOp) -> Told:
        if isinstance(node.op, ast.Not):
            if isinstance(node.operand, ast.Name):
                return f"{self.tell(node.operand)[0]} : non", _NOT
            return f"non ({self.tell(node.operand)[0]})", _NOT
        sign = "−" if isinstance(node.op, ast.USub) else "+"
        return f"{sign}{self._at_least(node.operand, _SIGN + 1)}", _SIGN

    def _BinOp(self, node: ast.BinOp) -> Told:
        operator = _ARITHMETIC.get(type(node.op))
        if operator is None:
            return self._written(node)
        symbol, level = operator
        return f"{self._at_least(node.left, level)}{symbol}{self._at_least(node.right, level + 1)}", level

    def _Compare(self, node: ast.Compare) -> Told:
        parts = []
        left = node.left
        for operator, right in zip(node.ops, node.comparators, strict=True):
            verb = self._verb(operator, left)
            if verb is None:
                return self._written(node)
            told = self._several(right) if isinstance(operator, (ast.In, ast.NotIn)) else \
                self._at_least(right, _COMPARISON + 1)
            parts.append(f"{self._at_least(left, _COMPARISON + 1)} {verb} {told}")
            left = right
        return " et ".join(parts), _COMPARISON

    def _verb(self, operator: ast.cmpop, left: ast.expr) -> str | None:
        symbol = self.scope.get(left.id) if isinstance(left, ast.Name) else None
        if symbol is not None and symbol.type.name == "DATE" and type(operator) in _DATES:
            return _DATES[type(operator)]
        return _ORDER.get(type(operator))

    def _IfExp(self, node: ast.IfExp) -> Told:
        body = self._at_least(node.body, _CONDITIONAL + 1)
        test = self._at_least(node.test, _CONDITIONAL + 1)
        return f"{body} si {test}, sinon {self._at_least(node.orelse, _CONDITIONAL + 1)}", _CONDITIONAL

    def _Call(self, node: ast.Call) -> Told:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name in _EXTREMA and len(node.args) >= 2:
            items = [self._at_least(argument, _EXTREMUM + 1) for argument in node.args]
            return f"{_EXTREMA[name]} {', '.join(items[:-1])} et {items[-1]}", _EXTREMUM
        if name in _MEMBERSHIP and len(node.args) == 2:
            many = self._several(node.args[0])
            among = f"des {many[4:]}" if many.startswith("les ") else f"de {many}"
            return f"{_MEMBERSHIP[name]} {among} figure parmi {self._several(node.args[1])}", _COMPARISON
        return self._written(node)
