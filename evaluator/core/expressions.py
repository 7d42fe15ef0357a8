"""Policy expressions: parsed, whitelisted and type-checked when the policy loads.

An expression is a Python-like formula over declared names (facts of the application, parameters
and lists of the policy). Only a small, explicit set of constructions is admitted, and every name
and operand is typed, so that an expression accepted at load cannot fail on a valid application:
no attribute access, no indexing, no lambda or comprehension, no power, no modulo, no call but to
the functions of ``FUNCTIONS``. Numbers are read as ``Decimal`` from their source text; a number
followed by ``%`` is a percentage (``40 %`` is 0.40). Division is exact to ``PRECISION`` significant
digits (``divide``): a divisor that is zero whatever the application (a literal, parameters) is
refused at load, and a divisor that is zero for an application gives 0.
Each checked tree is compiled to a Python function of the facts (``python_source``); simpleeval on
the same tree is the reference the tests compare it with (``compile_expression(..., reference=True)``).
Each expression is also told in French words (``evaluator.core.wording``).
"""

from __future__ import annotations

import ast
import copy
import difflib
import io
import keyword
import re
import tokenize
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from enum import Enum
from typing import Any

from simpleeval import DEFAULT_OPERATORS, EvalWithCompoundTypes

from evaluator.core.wording import Percent, words

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_LITERAL = Decimal("1e15")
PRECISION = 28
"""Significant digits of a quotient, rounded half to even (the default of Python's decimals)."""
_DIVISION = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN,
                    traps=[InvalidOperation, DivisionByZero, Overflow])


class Type(Enum):
    BOOL = "booléen"
    NUMBER = "nombre"
    DATE = "date"
    TEXT = "texte"
    TEXT_LIST = "liste de textes"


@dataclass(frozen=True)
class Symbol:
    """A name an expression may read: a fact of the application, or a value of the policy
    (``constant``: a parameter, with its ``value`` and ``unit``, or a named list)."""

    type: Type
    label: str
    optional: bool = False
    constant: bool = False
    value: Any = None
    unit: str | None = None


@dataclass(frozen=True)
class Function:
    arguments: tuple[Type, ...]
    result: Type
    variadic: bool
    implementation: Callable[..., Any]
    label: str


def _all_in(items: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    return all(map(allowed.__contains__, items))


def _any_in(items: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    return any(map(allowed.__contains__, items))


FUNCTIONS: Mapping[str, Function] = {
    "min": Function((Type.NUMBER, Type.NUMBER), Type.NUMBER, True, min, "le plus petit de plusieurs nombres"),
    "max": Function((Type.NUMBER, Type.NUMBER), Type.NUMBER, True, max, "le plus grand de plusieurs nombres"),
    "all_in": Function((Type.TEXT_LIST, Type.TEXT_LIST), Type.BOOL, False, _all_in,
                       "vrai si chaque élément de la première liste est dans la seconde"),
    "any_in": Function((Type.TEXT_LIST, Type.TEXT_LIST), Type.BOOL, False, _any_in,
                       "vrai si au moins un élément de la première liste est dans la seconde"),
}

_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_ORDERED = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_FORBIDDEN = {
    ast.Attribute: "l'accès à un attribut (« . ») n'est pas admis",
    ast.Subscript: "l'indexation (« [ ] ») n'est pas admise",
    ast.Lambda: "les fonctions anonymes (lambda) ne sont pas admises",
    ast.ListComp: "les compréhensions de liste ne sont pas admises",
    ast.SetComp: "les compréhensions ne sont pas admises",
    ast.DictComp: "les compréhensions ne sont pas admises",
    ast.GeneratorExp: "les générateurs ne sont pas admis",
    ast.Dict: "les dictionnaires ne sont pas admis",
    ast.JoinedStr: "les f-strings ne sont pas admises",
    ast.NamedExpr: "l'affectation (« := ») n'est pas admise",
    ast.Starred: "le dépliage (« * ») n'est pas admis",
    ast.Await: "« await » n'est pas admis",
    ast.Yield: "« yield » n'est pas admis",
    ast.YieldFrom: "« yield » n'est pas admis",
}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_BINARY_REFUSED = {
    ast.FloorDiv: "la division entière (« // ») n'est pas admise : écrivez « / »",
    ast.Mod: "le modulo (« % ») n'est pas admis ; un pourcentage s'écrit après un nombre, « 40 % »",
    ast.Pow: "la puissance (« ** ») n'est pas admise",
    ast.LShift: "les opérations binaires ne sont pas admises",
    ast.RShift: "les opérations binaires ne sont pas admises",
    ast.BitOr: "« | » n'est pas admis : écrivez « or »",
    ast.BitAnd: "« & » n'est pas admis : écrivez « and »",
    ast.BitXor: "« ^ » n'est pas admis",
    ast.MatMult: "« @ » n'est pas admis",
}
_DECIMAL_POINT = "un nombre s'écrit sans espace, avec un point décimal : 30000.50"
_SYNTAX_HINTS = (
    (" et ", "écrivez « and » plutôt que « et »"),
    (" ou ", "écrivez « or » plutôt que « ou »"),
    (" AND ", "écrivez « and » en minuscules"),
    (" OR ", "écrivez « or » en minuscules"),
    ("≥", "écrivez « >= » plutôt que « ≥ »"),
    ("≤", "écrivez « <= » plutôt que « ≤ »"),
    ("≠", "écrivez « != » plutôt que « ≠ »"),
    ("€", "un montant s'écrit en euros sans symbole ni espace : 30000 ou 30000.50"),
)


class ExpressionError(Exception):
    """An expression refused at load; the message is French, the hint optional."""

    def __init__(self, message: str, hint: str | None = None, unknown: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.unknown = unknown
        """The name read that is not in scope, if that is the fault."""


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its tree, the names it reads (sorted) and its type, and the
    Python function compiled from the checked tree, which reads the names from a mapping."""

    text: str
    tree: ast.expr
    names: tuple[str, ...]
    type: Type
    function: Callable[[Mapping[str, Any]], Any] = field(compare=False, repr=False)
    inputs: tuple[str, ...] = ()
    """The names whose values a finding records: the facts and parameters read, not the named
    lists of the policy (the decision names the policy version they belong to)."""
    words: str = field(default="", compare=False)
    """The expression in French, from the labels of the facts, parameters and lists it reads."""


def divide(dividend: int | Decimal, divisor: int | Decimal) -> Decimal:
    """``dividend / divisor`` to ``PRECISION`` significant digits, rounded half to even; 0 when the
    divisor is zero (the policy's rules then decide as for a nil quotient)."""
    return _DIVISION.divide(dividend, divisor) if divisor else Decimal(0)


_IMPLEMENTATIONS = {name: function.implementation for name, function in FUNCTIONS.items()}
_OPERATORS = {**DEFAULT_OPERATORS, ast.Div: divide}


def _reference(text: str, tree: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
    """The checked expression evaluated by simpleeval over the facts."""

    def evaluate(facts: Mapping[str, Any]) -> Any:
        return EvalWithCompoundTypes(operators=_OPERATORS, names=facts, functions=_IMPLEMENTATIONS).eval(
            text, previously_parsed=tree)

    return evaluate


def compile_expression(
    text: str,
    scope: Mapping[str, Symbol],
    expected: Type,
    *,
    optional_allowed: bool = False,
    reference: bool = False,
) -> Expression:
    """Parse and check ``text``; raises ``ExpressionError`` with a French message. The expression's
    function is compiled from the checked tree, or, for ``reference``, evaluates it with simpleeval
    (slower, same results: the test suite checks that the two agree)."""
    source = " ".join(text.split())
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression trop longue ({len(source)} caractères, au plus {MAX_LENGTH})")
    if not source:
        raise ExpressionError("expression vide")
    python, percents = _percentages(source)
    try:
        module = ast.parse(python, mode="eval")
    except SyntaxError as error:
        raise _syntax_error(source, error) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression trop imbriquée ou illisible") from None
    checker = _Checker(source, scope, optional_allowed, percents)
    actual = checker.check(module.body, 0)
    if actual is not expected:
        raise ExpressionError(f"l'expression donne un {actual.value} là où un {expected.value} est attendu")
    function = _reference(source, module.body) if reference else _function(module.body)
    names = tuple(sorted(checker.names))
    inputs = tuple(name for name in names if not (scope[name].constant and scope[name].type is Type.TEXT_LIST))
    return Expression(source, module.body, names, actual, function, inputs, words(module.body, source, scope))


def _percentages(source: str) -> tuple[str, frozenset[int]]:
    """``source`` as Python reads it: the ``%`` of each percentage (a number followed by ``%`` and by
    no operand: ``40 %``, ``12.5%``) blanked out; and where those numbers start (their offsets in
    UTF-8, as the tree gives them). ``12,5 %`` is refused: the comma separates arguments."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source, frozenset()  # the parser says what is wrong
    python = list(source)
    found = set()
    for index in range(len(tokens) - 2):
        number, sign, after = tokens[index:index + 3]
        if number.type != tokenize.NUMBER or sign.string != "%" or _operand(after):
            continue
        if index >= 2 and _decimal_comma(*tokens[index - 2:index + 1]):
            written = source[tokens[index - 2].start[1]:sign.end[1]]
            raise ExpressionError(f"nombre non admis : « {written} »",
                                  f"les décimales s'écrivent avec un point : « {written.replace(',', '.')} »")
        python[sign.start[1]] = " "
        found.add(len(source[:number.start[1]].encode()))
    return "".join(python), frozenset(found)


def _decimal_comma(units: tokenize.TokenInfo, comma: tokenize.TokenInfo, decimals: tokenize.TokenInfo) -> bool:
    """Whether the three tokens are a number written with a French decimal comma: ``12,5``."""
    return (units.type == decimals.type == tokenize.NUMBER and comma.string == ","
            and units.end == comma.start and comma.end == decimals.start)


def _operand(token: tokenize.TokenInfo) -> bool:
    """Whether ``token`` starts an operand: then a ``%`` before it is a modulo, not a percentage."""
    if token.type == tokenize.NAME:
        return token.string in ("True", "False", "None") or not keyword.iskeyword(token.string)
    return token.type in (tokenize.NUMBER, tokenize.STRING) or token.string in ("(", "[", "{")


_FACTS = "_facts"


class _Compiler(ast.NodeTransformer):
    """Rewrites a checked tree for Python to compile: a name becomes a read of the facts mapping, a
    decimal constant a global, a function its implementation. Nothing else can be in the tree: the
    checker admitted only names, constants, operators, comparisons, conditionals, lists of texts
    and calls to ``FUNCTIONS``."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.globals = namespace

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return ast.Subscript(ast.Name(_FACTS, ast.Load()), ast.Constant(node.id), ast.Load())

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        if isinstance(node.value, Decimal):
            name = f"_constant_{len(self.globals)}"
            self.globals[name] = node.value
            return ast.Name(name, ast.Load())
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        assert isinstance(node.func, ast.Name)
        name = f"_function_{node.func.id}"
        self.globals[name] = FUNCTIONS[node.func.id].implementation
        return ast.Call(ast.Name(name, ast.Load()), [self.visit(arg) for arg in node.args], [])

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        if not isinstance(node.op, ast.Div):
            return self.generic_visit(node)  # type: ignore[return-value]  # a BinOp stays an expression
        self.globals["_divide"] = divide
        return ast.Call(ast.Name("_divide", ast.Load()), [self.visit(node.left), self.visit(node.right)], [])


def _function(tree: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
    """The checked expression as a Python function of the facts."""
    namespace: dict[str, Any] = {"__builtins__": {}}
    function: Callable[[Mapping[str, Any]], Any] = eval(f"lambda {_FACTS}: {python_source(tree, namespace)}", namespace)
    return function


def python_source(tree: ast.expr, namespace: dict[str, Any]) -> str:
    """The checked expression as Python source; the decimal constants and functions it uses are added
    to ``namespace``, the globals it will run in. A name it reads is a read of the mapping of the
    facts named ``_facts``."""
    return ast.unparse(ast.fix_missing_locations(_Compiler(namespace).visit(copy.deepcopy(tree))))


def _syntax_error(source: str, error: SyntaxError) -> ExpressionError:
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in f" {source} "), None)
    if hint is None and re.search(r"\d[ \u00a0\u202f]\d{3}\b|\d,\d", source):
        hint = _DECIMAL_POINT
    if hint is None and "=" in source.replace("==", "").replace("<=", "").replace(">=", "").replace("!=", ""):
        hint = "pour comparer, écrivez « == » (deux signes égal)"
    where = f", vers le caractère {error.offset}" if error.offset else ""
    return ExpressionError(f"syntaxe d'expression invalide{where} : « {source} »", hint)


class _Checker:
    def __init__(self, source: str, scope: Mapping[str, Symbol], optional_allowed: bool,
                 percents: frozenset[int]) -> None:
        self.source = source
        self.scope = scope
        self.optional_allowed = optional_allowed
        self.percents = percents
        """Where the numbers written as percentages start."""
        self.names: set[str] = set()

    def check(self, node: ast.expr, depth: int) -> Type:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression trop imbriquée (plus de {MAX_DEPTH} niveaux)")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            refused = _FORBIDDEN.get(type(node), f"construction non admise : {type(node).__name__}")
            raise ExpressionError(f"{refused} dans « {self.source} »")
        result: Type = method(node, depth + 1)
        return result

    def _fragment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or self.source

    def _Constant(self, node: ast.Constant, depth: int) -> Type:
        value = node.value
        if isinstance(value, bool):
            return Type.BOOL
        if isinstance(value, (int, float)):
            try:
                number = Decimal(self._fragment(node).replace("_", ""))
            except InvalidOperation:
                raise ExpressionError(f"nombre non admis : {self._fragment(node)}",
                                      "écrivez les nombres en décimal, par exemple 16 ou 0.40") from None
            if not number.is_finite() or abs(number) > MAX_LITERAL or 0 < abs(number) < 1 / MAX_LITERAL:
                raise ExpressionError(f"nombre hors limites : {self._fragment(node)}")
            if node.col_offset in self.percents:
                number = Percent(number.scaleb(-2))
            node.value = number  # type: ignore[assignment]  # a Decimal constant, read by simpleeval as is
            return Type.NUMBER
        if isinstance(value, str):
            if len(value) > 200:
                raise ExpressionError("texte trop long dans l'expression")
            return Type.TEXT
        if value is None:
            raise ExpressionError(
                "« None » n'est pas admis",
                "pour un fait facultatif, indiquez l'issue quand il manque avec « on_absent »",
            )
        raise ExpressionError(f"valeur non admise : {self._fragment(node)}")

    def _Name(self, node: ast.Name, depth: int) -> Type:
        symbol = self.scope.get(node.id)
        if symbol is None:
            if node.id in FUNCTIONS:
                raise ExpressionError(f"la fonction « {node.id} » s'appelle avec des parenthèses")
            close = difflib.get_close_matches(node.id, list(self.scope), n=1, cutoff=0.7)
            hint = (f"vouliez-vous dire « {close[0]} » ?" if close
                    else "la commande « guichet facts » liste les noms admis")
            raise ExpressionError(f"nom inconnu : « {node.id} »", hint, node.id)
        if symbol.optional and not self.optional_allowed:
            raise ExpressionError(
                f"« {node.id} » est facultatif dans une demande : cette expression ne peut pas le lire",
                "lisez-le dans un critère (test) qui précise « on_absent »",
            )
        self.names.add(node.id)
        return symbol.type

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> Type:
        for value in node.values:
            self._expect(value, Type.BOOL, depth, "« and » et « or » relient des conditions")
        return Type.BOOL

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Type:
        if isinstance(node.op, ast.Not):
            self._expect(node.operand, Type.BOOL, depth, "« not » s'applique à une condition")
            return Type.BOOL
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            self._expect(node.operand, Type.NUMBER, depth, "le signe s'applique à un nombre")
            return Type.NUMBER
        raise ExpressionError(f"opérateur non admis dans « {self._fragment(node)} »")

    def _BinOp(self, node: ast.BinOp, depth: int) -> Type:
        refused = _BINARY_REFUSED.get(type(node.op))
        if refused is not None:
            raise ExpressionError(f"{refused} (« {self._fragment(node)} »)")
        symbol = _BINARY[type(node.op)]
        self._expect(node.left, Type.NUMBER, depth, f"« {symbol} » s'applique à des nombres")
        self._expect(node.right, Type.NUMBER, depth, f"« {symbol} » s'applique à des nombres")
        if isinstance(node.op, ast.Div) and self._constant_zero(node.right):
            raise ExpressionError(f"division par zéro : le diviseur de « {self._fragment(node)} » vaut 0",
                                  "le diviseur ne lit que des nombres et des paramètres : il vaudrait 0 pour "
                                  "toute demande")
        return Type.NUMBER

    def _constant_zero(self, node: ast.expr) -> bool:
        """Whether the checked ``node`` is zero whatever the application: it reads only numbers and
        parameters, and its value is 0."""
        functions = {id(child.func) for child in ast.walk(node) if isinstance(child, ast.Call)}
        read = [child.id for child in ast.walk(node) if isinstance(child, ast.Name) and id(child) not in functions]
        values = {name: self.scope[name].value for name in read}
        if any(value is None or not self.scope[name].constant for name, value in values.items()):
            return False
        return bool(_function(node)(values) == 0)

    def _Compare(self, node: ast.Compare, depth: int) -> Type:
        left = self.check(node.left, depth)
        for operator, comparator in zip(node.ops, node.comparators, strict=True):
            if not isinstance(operator, _COMPARISONS):
                raise ExpressionError(
                    f"comparaison non admise dans « {self._fragment(node)} »",
                    "comparez avec ==, !=, <, <=, >, >=, in ou not in",
                )
            right = self.check(comparator, depth)
            if isinstance(operator, (ast.In, ast.NotIn)):
                if left is not Type.TEXT or right is not Type.TEXT_LIST:
                    raise ExpressionError(
                        f"« in » cherche un texte dans une liste de textes (« {self._fragment(node)} »)")
            elif isinstance(operator, _ORDERED) and left not in (Type.NUMBER, Type.DATE):
                raise ExpressionError(f"seuls des nombres ou des dates s'ordonnent (« {self._fragment(node)} »)")
            elif left is not right:
                raise ExpressionError(
                    f"comparaison d'un {left.value} et d'un {right.value} dans « {self._fragment(node)} »")
            left = right
        return Type.BOOL

    def _IfExp(self, node: ast.IfExp, depth: int) -> Type:
        self._expect(node.test, Type.BOOL, depth, "la condition d'un « if » doit être vraie ou fausse")
        body = self.check(node.body, depth)
        self._expect(node.orelse, body, depth, "les deux branches d'un « if … else » doivent être du même type")
        return body

    def _Call(self, node: ast.Call, depth: int) -> Type:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        function = FUNCTIONS.get(name or "")
        if name is None or function is None:
            raise ExpressionError(
                f"appel non admis : « {self._fragment(node.func)} »",
                "fonctions admises : " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            raise ExpressionError(f"« {name} » ne prend pas d'argument nommé")
        count = len(node.args)
        if count < len(function.arguments) or (count > len(function.arguments) and not function.variadic):
            expected = f"{len(function.arguments)}{' ou plus' if function.variadic else ''}"
            raise ExpressionError(f"« {name} » attend {expected} arguments, pas {count}")
        for index, argument in enumerate(node.args):
            wanted = function.arguments[min(index, len(function.arguments) - 1)]
            self._expect(argument, wanted, depth, f"l'argument {index + 1} de « {name} » doit être un {wanted.value}")
        return function.result

    def _List(self, node: ast.List, depth: int) -> Type:
        for element in node.elts:
            if not (isinstance(element, ast.Constant) and isinstance(element.value, str)):
                numbers = isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts)
                raise ExpressionError("une liste écrite dans une expression ne contient que des textes entre "
                                      f"guillemets (« {self._fragment(node)} »)",
                                      _DECIMAL_POINT if numbers else None)
        return Type.TEXT_LIST

    _Tuple = _List

    def _expect(self, node: ast.expr, wanted: Type, depth: int, why: str) -> None:
        actual = self.check(node, depth)
        if actual is not wanted:
            raise ExpressionError(f"{why} : « {self._fragment(node)} » est un {actual.value}")
