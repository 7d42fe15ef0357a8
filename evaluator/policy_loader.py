"""Loading a policy file: YAML, schema, then every expression and cross-reference checked.

All the problems of a file are reported together, each with its line and a French message; a
policy that loads can evaluate any valid application.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, cast

from evaluator.application import application_schema
from evaluator.documents import Document, load_document
from evaluator.expressions import Expression, ExpressionError, Symbol, Type, compile_expression
from evaluator.facts import (
    AGGREGATE_DOMAINS,
    APPLICANT_PREFIX,
    ENGINE_FACTS,
    FIELD_TYPES,
    ITEM_CORE,
    OPERATIONS,
    STAGE_WORDS,
    Aggregate,
    FactTable,
    Field,
    Stage,
)
from evaluator.french import quantity
from evaluator.lock import digest
from evaluator.policy import (
    Beneficiaries,
    Bonus,
    Category,
    CategoryCase,
    Ceiling,
    Check,
    CheckGroup,
    DocumentKind,
    Documents,
    Evidence,
    ExpenseKind,
    Expenses,
    Formula,
    FundedPeriod,
    Indicator,
    Mutualisation,
    NamedList,
    Parameter,
    Payments,
    Policy,
    Rate,
    Reporting,
    Requirement,
    Rounding,
    Source,
    StatusDefinition,
    Statuses,
    Tier,
    Tranche,
    UnknownCategory,
    Window,
)
from evaluator.problems import InputError, JsonPath, Problem
from evaluator.validation import bundled, decimal_of, parse_date, validate

T = TypeVar("T")
_QUANTA = frozenset({Decimal("0.01"), Decimal("0.1"), Decimal("1")})
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


MODELINE = "# yaml-language-server: $schema="


def load_policy_file(path: Path, *, reference: bool = False) -> Policy:
    """Load a policy file; a file must open with the schema modeline that editors read."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError([Problem(str(path), f"lecture impossible : {error.strerror}")]) from None
    modeline = [] if raw.lstrip(b"\xef\xbb\xbf").startswith(MODELINE.encode()) else [Problem(
        str(path), "la première ligne doit désigner le schéma des politiques", 1, 1,
        hint=f"ajoutez en tête : {MODELINE}<chemin vers>/schemas/policy.schema.json",
    )]
    try:
        policy = load_policy(raw, str(path), reference=reference)
    except InputError as error:
        raise InputError([*modeline, *error.problems]) from None
    if modeline:
        raise InputError(modeline)
    return policy


def load_policy(raw: bytes, source: str, *, reference: bool = False) -> Policy:
    """Load a policy; ``reference`` has its expressions evaluated by simpleeval rather than by
    their compiled functions (the reference the test suite compares the compiled ones with)."""
    document = load_document(raw, source)
    problems = validate(document, bundled("policy"))
    if problems:
        raise InputError(sorted([*problems, *_expression_problems(document, problems)],
                                key=lambda p: (p.line or 0, p.column or 0)))
    builder = _Builder(document, reference)
    policy = builder.build(digest(raw))
    if builder.problems:
        raise InputError(sorted(builder.problems, key=lambda p: (p.line or 0, p.column or 0)))
    return policy


class _Builder:
    """Turns a schema-valid policy document into the model, collecting semantic problems."""

    def __init__(self, document: Document, reference: bool) -> None:
        self.document = document
        self.reference = reference
        self.data: dict[str, Any] = document.data
        self.problems: list[Problem] = []
        self.parameters = {key: self._parameter(key, value) for key, value in self.data["parameters"].items()}
        self.lists = {
            key: NamedList(key, self._text(("lists", key, "label")), tuple(value["values"]),
                           value["clause"], self._interpretation(("lists", key), value))
            for key, value in self.data["lists"].items()
        }
        self.constants: dict[str, Symbol] = {
            **{key: Symbol(Type.DATE if isinstance(p.value, date) else Type.NUMBER, p.label, constant=True)
               for key, p in self.parameters.items()},
            **{key: Symbol(Type.TEXT_LIST, item.label, constant=True) for key, item in self.lists.items()},
        }
        self.facts = self._facts()
        taken = {*self.facts.application, *(name for level in ITEM_CORE for name in self.facts.items(level))}
        for key in self.constants:
            if key in taken:
                section = "parameters" if key in self.parameters else "lists"
                self._problem((section, key), f"« {key} » est déjà le nom d'un fait de la demande",
                              "choisissez un autre nom")

    # -- helpers -------------------------------------------------------------------------------

    def _problem(self, path: JsonPath, message: str, hint: str | None = None) -> None:
        self.problems.append(self.document.problem(path, message, hint))

    def _get(self, path: JsonPath) -> Any:
        value: Any = self.data
        for part in path:
            value = value[part]
        return value

    def _text(self, path: JsonPath) -> str:
        """A French text of the policy, its ``{parameter}`` placeholders filled in."""
        raw = cast(str, self._get(path))
        for name in _PLACEHOLDER.findall(raw):
            if name not in self.parameters:
                self._problem(path, f"paramètre inconnu « {{{name}}} » dans le texte",
                              "un texte ne peut citer que les paramètres de la section parameters")
        try:
            list(string.Formatter().parse(raw))
        except ValueError:
            self._problem(path, "accolade non fermée dans le texte", "écrivez {nom_du_paramètre}")
            return raw
        return _PLACEHOLDER.sub(
            lambda m: quantity(self.parameters[m[1]].value, self.parameters[m[1]].unit)
            if m[1] in self.parameters else m[0],
            raw,
        )

    def _interpretation(self, path: JsonPath, item: Mapping[str, Any]) -> str | None:
        return self._text((*path, "interpretation")) if "interpretation" in item else None

    def _expression(
        self, path: JsonPath, scope: Mapping[str, Symbol], expected: Type, optional_allowed: bool = False,
        stage: Stage | None = None,
    ) -> Expression | None:
        """The expression at ``path``, checked against ``scope`` (the facts known at ``stage``, when
        it is evaluated over the application)."""
        text = cast(str, self._get(path))
        try:
            return compile_expression(text, {**scope, **self.constants}, expected,
                                      optional_allowed=optional_allowed, reference=self.reference)
        except ExpressionError as error:
            later = self.facts.stage_of(error.unknown) if error.unknown and stage is not None else None
            if error.unknown and later is not None and stage is not None and later > stage:
                self._problem(path, f"expression refusée : « {error.unknown} » n'est connu qu'à partir de l'étape "
                                    f"« {STAGE_WORDS[later]} » ; cette expression est évaluée à l'étape "
                                    f"« {STAGE_WORDS[stage]} »",
                              "une expression ne lit que les faits établis avant elle (guichet facts donne "
                              "l'étape de chacun)")
            else:
                self._problem(path, f"expression refusée : {error.message}", error.hint)
            return None

    def _at(self, stage: Stage) -> dict[str, Symbol]:
        return self.facts.known_at(stage)

    def _stage_expression(self, path: JsonPath, stage: Stage, expected: Type,
                          optional_allowed: bool = False) -> Expression | None:
        """An expression over the application's facts known at ``stage``."""
        return self._expression(path, self._at(stage), expected, optional_allowed, stage)

    def _items(self, path: JsonPath, build: Callable[[JsonPath, str, dict[str, Any]], T | None]) -> tuple[T, ...]:
        built = (build((*path, key), key, item) for key, item in self._get(path).items())
        return tuple(item for item in built if item is not None)

    # -- facts -------------------------------------------------------------------------------------

    def _facts(self) -> FactTable:
        """The facts the version declares: its input fields, then its aggregates (whose expressions
        read the fields of the items they range over)."""
        section = self.data["facts"]
        fields = self._items(("facts", "inputs"), self._field)
        table = FactTable(fields, (), section["clause"], self._interpretation(("facts",), section))
        self.facts = table  # what the aggregates' expressions may read
        aggregates = self._items(("facts", "aggregates"), self._aggregate) if "aggregates" in section else ()
        return FactTable(fields, aggregates, table.clause, table.interpretation)

    def _field(self, path: JsonPath, name: str, item: dict[str, Any]) -> Field | None:
        level, kind = item["at"], item["type"]
        key = item.get("field", name)
        core = {fact.name for fact in ITEM_CORE.get(level, ())} | _STRUCTURE[level]
        engine = {fact.name for fact in ENGINE_FACTS}
        shown = APPLICANT_PREFIX + name if level == "entity" else name
        if key in core:
            self._problem((*path, "field"), f"« {key} » est une clé de la structure de toute demande",
                          "choisissez une autre clé (field)")
        if (shown in engine or shown in self.constants) and level not in ("expense", "document"):
            self._problem(path, f"« {shown} » est déjà le nom d'un fait", "choisissez un autre nom")
        if "values" in item and kind != "text":
            self._problem((*path, "values"), "seul un texte (type: text) a une liste de valeurs admises")
        for bound in ("minimum", "maximum"):
            if bound in item and FIELD_TYPES[kind] is not Type.NUMBER:
                self._problem((*path, bound), f"« {bound} » ne borne qu'un nombre")
        if item.get("optional") and "default" in item:
            self._problem((*path, "default"), "une information facultative n'a pas de valeur par défaut",
                          "retirez « default » ou « optional »")
        default = self._default((*path, "default"), kind, item) if "default" in item else None
        optional = bool(item.get("optional", False))
        return Field(name, level, key, kind, self._text((*path, "label")), optional, default,
                     not optional and default is None, tuple(item["values"]) if "values" in item else None,
                     item.get("minimum"), item.get("maximum"), item.get("unit"))

    def _default(self, path: JsonPath, kind: str, item: dict[str, Any]) -> Any:
        """The model value of a field's default, checked against its type."""
        value = item["default"]
        expected = FIELD_TYPES[cast(Any, kind)]
        try:
            if expected is Type.BOOL and isinstance(value, bool):
                return value
            if expected is Type.NUMBER and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                return int(value) if kind == "integer" else decimal_of(value) + 0
            if kind == "date" and isinstance(value, str):
                return parse_date(value)
            if expected is Type.TEXT and isinstance(value, str) and value in item.get("values", [value]):
                return value
            if expected is Type.TEXT_LIST and isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
        except ValueError:
            pass
        self._problem(path, f"valeur par défaut « {value} » qui n'est pas du type {kind}")
        return None

    def _aggregate(self, path: JsonPath, name: str, item: dict[str, Any]) -> Aggregate | None:
        level = AGGREGATE_DOMAINS[item["over"]][0]
        operation = item["operation"]
        wanted = OPERATIONS[operation][0]
        if name in self.facts.application or name in self.constants:
            self._problem(path, f"« {name} » est déjà le nom d'un fait", "choisissez un autre nom")
        scope = self.facts.scope(level)
        of = None
        if wanted is None and "of" in item:
            self._problem((*path, "of"), "un dénombrement (count) ne prend pas « of »", "retirez « of »")
        elif wanted is not None and "of" not in item:
            self._problem(path, f"l'opération « {operation} » demande « of » : ce qu'elle lit de chaque élément")
            return None
        elif wanted is not None:
            of = self._expression((*path, "of"), scope, wanted)
        where = self._expression((*path, "where"), scope, Type.BOOL) if "where" in item else None
        if (wanted is not None and of is None) or ("where" in item and where is None):  # already reported; the
            of, where = _placeholder(), None  # name stays declared, so that what reads it is not refused too
        return Aggregate(name, self._text((*path, "label")), item["over"], operation, of, where, item.get("unit"))

    # -- sections ------------------------------------------------------------------------------

    def build(self, sha256: str) -> Policy:
        d = self.data
        return Policy(
            id=d["id"],
            version=d["version"],
            status=d["status"],
            effective_from=parse_date(d["effective_from"]),
            title=d["title"],
            source=Source(d["source"]["title"], d["source"]["version"], parse_date(d["source"]["date"])),
            sha256=sha256,
            origin=self.document.source,
            rounding=self._rounding(),
            statuses=self._statuses(),
            window=self._window(),
            parameters=self.parameters,
            lists=self.lists,
            facts=self.facts,
            application_schema=application_schema(self.facts),
            beneficiaries=self._beneficiaries(),
            expenses=self._expenses(),
            mutualisation=self._mutualisation(),
            rate=self._rate(),
            sovereignty=self._check_group("sovereignty", "criteria"),
            conditions=self._check_group("conditions", "checks"),
            documents=self._documents(),
            payments=self._payments(),
            reporting=self._reporting(),
        )

    def _parameter(self, key: str, item: dict[str, Any]) -> Parameter:
        value = item["value"]
        is_date = isinstance(value, str)
        if is_date != (item["unit"] == "date"):
            self._problem(("parameters", key, "value"), "une date a l'unité « date », et seulement une date")
        parsed: int | Decimal | date = parse_date(value) if is_date else value + 0  # -0 is zero
        return Parameter(key, item["label"], parsed, item["unit"], item["clause"],
                         item.get("interpretation"))

    def _rounding(self) -> Rounding:
        rounding = self.data["rounding"]
        quantum = Decimal(rounding["quantum"]).normalize()  # 0.010 rounds to the cent, 1.0 to the euro
        if quantum not in _QUANTA:
            self._problem(("rounding", "quantum"), f"pas d'arrondi {quantum} non admis : 0.01, 0.1 ou 1",
                          "un arrondi se fait au centime (0.01), à la dizaine de centimes (0.1) ou à l'euro (1)")
        return Rounding(self._text(("rounding", "label")), quantum, rounding["mode"], rounding["clause"],
                        self._interpretation(("rounding",), rounding))

    def _statuses(self) -> Statuses:
        order = self.data["statuses"]["order"]
        if list(order)[-1] != "eligible":
            self._problem(("statuses", "order"), "« eligible » doit venir en dernier (le statut sans réserve)")
        return Statuses(
            tuple(StatusDefinition(key, self._text(("statuses", "order", key, "label"))) for key in order),
            self.data["statuses"]["clause"],
            self._interpretation(("statuses",), self.data["statuses"]),
        )

    def _window(self) -> Window:
        w = self.data["window"]
        opens, closes = parse_date(w["opens_on"]), parse_date(w["closes_on"])
        if closes < opens:
            self._problem(("window", "closes_on"), "la fermeture du guichet précède son ouverture")
        return Window(self._text(("window", "label")), opens, closes, w["on_outside"], w["clause"],
                      self._interpretation(("window",), w))

    def _beneficiaries(self) -> Beneficiaries:
        section = self.data["beneficiaries"]
        clause = section["clause"]
        scope = self.facts.scope("entity")

        def category(path: JsonPath, key: str, item: dict[str, Any]) -> Category:
            cases = []
            for index, case in enumerate(item.get("cases", [])):
                when = self._expression((*path, "cases", index, "when"), scope, Type.BOOL)
                if when is not None:
                    cases.append(CategoryCase(when, case["outcome"], self._text((*path, "cases", index, "label"))))
            if item["outcome"] != "eligible" and "reason" not in item and not cases:
                self._problem(path, f"la catégorie « {key} » n'est pas éligible sans dire pourquoi",
                              "ajoutez « reason: » avec le motif")
            return Category(key, _rule(path), self._text((*path, "label")), item["outcome"],
                            self._text((*path, "reason")) if "reason" in item else None, tuple(cases),
                            item.get("clause", clause), self._interpretation(path, item))

        unknown = section["unknown_category"]
        return Beneficiaries(
            {c.id: c for c in self._items(("beneficiaries", "categories"), category)},
            UnknownCategory(unknown["outcome"], unknown.get("clause", clause),
                            self._interpretation(("beneficiaries", "unknown_category"), unknown)),
            clause,
            self._interpretation(("beneficiaries",), section),
        )

    def _expenses(self) -> Expenses:
        section = self.data["expenses"]
        clause = section["clause"]

        def kind(path: JsonPath, key: str, item: dict[str, Any]) -> ExpenseKind:
            return ExpenseKind(key, _rule(path), self._text((*path, "label")), item["group"],
                               self._text((*path, "reason")) if "reason" in item else None,
                               item.get("clause", clause), self._interpretation(path, item))

        kinds = {k.id: k for k in self._items(("expenses", "kinds"), kind)}
        if not any(k.group == "licence" for k in kinds.values()):
            self._problem(("expenses", "kinds"), "aucune nature de dépense n'est dans le groupe licence",
                          "une demande ne peut être cofinancée sans licence éligible")
        period = section["funded_period"]
        formula_item = section["eligible_deployment"]
        formula = self._stage_expression(("expenses", "eligible_deployment", "formula"), Stage.REQUESTED, Type.NUMBER)
        return Expenses(
            kinds,
            FundedPeriod(self._text(("expenses", "funded_period", "label")), int(period["months"]),  # 12.0 is 12
                         period["applies_to"], self._duration(period["duration"]), period.get("clause", clause),
                         self._interpretation(("expenses", "funded_period"), period)),
            Formula(self._text(("expenses", "eligible_deployment", "label")), formula or _placeholder(),
                    formula_item.get("clause", clause),
                    self._interpretation(("expenses", "eligible_deployment"), formula_item)),
            self._checks(("expenses", "checks"), clause, Stage.ELIGIBLE),
            clause,
            self._interpretation(("expenses",), section),
        )

    def _duration(self, name: str) -> str:
        fact = self.facts.items("expense").get(name)
        if fact is None or fact.type is not Type.NUMBER:
            self._problem(("expenses", "funded_period", "duration"),
                          f"« {name} » n'est pas un nombre déclaré pour chaque ligne de dépenses",
                          "déclarez-le dans facts.inputs avec « at: expense » et « type: integer »")
        return name

    def _checks(self, path: JsonPath, clause: str, stage: Stage) -> tuple[Check, ...]:
        optional = self.facts.optional

        def check(item_path: JsonPath, key: str, item: dict[str, Any]) -> Check | None:
            test = self._stage_expression((*item_path, "test"), stage, Type.BOOL, optional_allowed="on_absent" in item)
            if test is None:
                return None
            absent = tuple(name for name in test.names if name in optional)
            if "on_absent" in item and not absent:
                self._problem((*item_path, "on_absent"), "« on_absent » sans fait facultatif dans le test",
                              "retirez « on_absent » : les faits lus par ce test sont toujours renseignés")
            return Check(key, _rule(item_path), self._text((*item_path, "label")), test, item["on_fail"],
                         item.get("on_absent"), item.get("clause", clause), self._interpretation(item_path, item),
                         absent)

        return self._items(path, check)

    def _mutualisation(self) -> Mutualisation:
        section = self.data["mutualisation"]
        when = self._stage_expression(("mutualisation", "mutualised_when"), Stage.ELIGIBLE, Type.BOOL)
        return Mutualisation(
            self._text(("mutualisation", "label")),
            when or _placeholder(),
            self._checks(("mutualisation", "checks"), section["clause"], Stage.MUTUALISATION),
            section["clause"],
            self._interpretation(("mutualisation",), section),
        )

    def _rate(self) -> Rate:
        section = self.data["rate"]
        clause = section["clause"]
        keys = list(section["base"])

        def tier(path: JsonPath, key: str, item: dict[str, Any]) -> Tier:
            last = key == keys[-1]
            if last and "when" in item:
                self._problem((*path, "when"), "le dernier palier du taux de base s'applique sans condition",
                              "retirez « when » du dernier palier, ou ajoutez un palier par défaut")
            if not last and "when" not in item:
                self._problem(path, "seul le dernier palier du taux de base peut être sans condition")
            when = self._stage_expression((*path, "when"), Stage.MUTUALISATION, Type.BOOL) if "when" in item else None
            return Tier(key, _rule(path), self._text((*path, "label")), when, _number(item["rate"]),
                        item.get("clause", clause),
                        self._interpretation(path, item))

        def bonus(path: JsonPath, key: str, item: dict[str, Any]) -> Bonus | None:
            when = self._stage_expression((*path, "when"), Stage.MUTUALISATION, Type.BOOL)
            evidence = None
            if "evidence" in item:
                proof = item["evidence"]
                self._known_documents((*path, "evidence", "one_of"), proof["one_of"])
                evidence = Evidence(self._text((*path, "evidence", "label")), tuple(proof["one_of"]),
                                    proof.get("clause", item.get("clause", clause)),
                                    self._interpretation((*path, "evidence"), proof))
            if when is None:
                return None
            return Bonus(key, _rule(path), self._text((*path, "label")), when, _number(item["value"]), evidence,
                         item.get("clause", clause), self._interpretation(path, item))

        ceiling = section["ceiling"]
        return Rate(
            self._items(("rate", "base"), tier),
            self._items(("rate", "bonuses"), bonus),
            Ceiling(self._text(("rate", "ceiling", "label")), _number(ceiling["value"]), ceiling.get("clause", clause),
                    self._interpretation(("rate", "ceiling"), ceiling)),
            clause,
            self._interpretation(("rate",), section),
        )

    def _check_group(self, section_key: str, checks_key: str) -> CheckGroup:
        section = self.data[section_key]
        return CheckGroup(
            self._checks((section_key, checks_key), section["clause"], Stage.MUTUALISATION),
            section["clause"],
            self._interpretation((section_key,), section),
        )

    def _known_documents(self, path: JsonPath, kinds: list[str]) -> None:
        known = self.data["documents"]["kinds"]
        for index, kind in enumerate(kinds):
            if kind not in known:
                self._problem((*path, index), f"nature de pièce inconnue : « {kind} »",
                              "déclarez-la dans documents.kinds")

    def _documents(self) -> Documents:
        section = self.data["documents"]
        clause = section["clause"]

        def requirement(path: JsonPath, key: str, item: dict[str, Any]) -> Requirement:
            self._known_documents((*path, "one_of"), item["one_of"])
            when = self._stage_expression((*path, "when"), Stage.MUTUALISATION, Type.BOOL) if "when" in item else None
            return Requirement(key, _rule(path), self._text((*path, "label")), tuple(item["one_of"]), when,
                               item.get("signed_by_all_covered", False), item["on_missing"],
                               item.get("clause", clause), self._interpretation(path, item))

        return Documents(
            {key: DocumentKind(key, self._text(("documents", "kinds", key, "label"))) for key in section["kinds"]},
            self._items(("documents", "requirements"), requirement),
            clause,
            self._interpretation(("documents",), section),
        )

    def _payments(self) -> Payments:
        section = self.data["payments"]
        clause = section["clause"]
        keys = list(section["tranches"])

        def tranche(path: JsonPath, key: str, item: dict[str, Any]) -> Tranche:
            rest = item["share"] == "rest"
            if rest != (key == keys[-1]):
                self._problem((*path, "share"), "seul le dernier versement reçoit le reste (« share: rest »)")
            return Tranche(key, _rule(path), self._text((*path, "label")), None if rest else _number(item["share"]),
                           self._text((*path, "condition")), item.get("clause", clause),
                           self._interpretation(path, item))

        tranches = self._items(("payments", "tranches"), tranche)
        if sum(t.share or 0 for t in tranches) > 1:
            self._problem(("payments", "tranches"), "les parts des versements dépassent 100 % de la subvention")
        return Payments(tranches, clause, self._interpretation(("payments",), section))

    def _reporting(self) -> Reporting:
        section = self.data["reporting"]
        clause = section["clause"]

        frequency = self._text(("reporting", "frequency"))

        def indicator(path: JsonPath, key: str, item: dict[str, Any]) -> Indicator:
            when = self._stage_expression((*path, "when"), Stage.MUTUALISATION, Type.BOOL) if "when" in item else None
            return Indicator(key, _rule(path), self._text((*path, "label")), when, frequency,
                             item.get("clause", clause), self._interpretation(path, item))

        return Reporting(frequency, self._items(("reporting", "indicators"), indicator),
                         clause, self._interpretation(("reporting",), section))


_EXPRESSION_KEYS = frozenset({"when", "test", "formula", "mutualised_when", "of", "where"})
_STRUCTURE: Mapping[str, frozenset[str]] = {
    "application": frozenset({"reference", "submitted_on", "applicant", "co_beneficiaries", "solution", "expenses",
                              "documents"}),
    "solution": frozenset({"name", "editor"}), "entity": frozenset(), "expense": frozenset({"label"}),
    "document": frozenset({"label"})}
"""The keys of the structure every application has, besides the core facts of each level."""


def _expression_problems(document: Document, known: list[Problem]) -> list[Problem]:
    """When the schema already refuses a policy, its expressions are still checked, against every
    fact, parameter and list that can be read, so that one run reports all the file's mistakes."""
    data = document.data if isinstance(document.data, dict) else {}
    scope: dict[str, Symbol] = {fact.name: fact.symbol() for fact in (*ENGINE_FACTS, *ITEM_CORE["entity"])}
    declared = data.get("facts")
    declared = declared if isinstance(declared, dict) else {}
    types: dict[str, Type] = {str(name): kind for name, kind in FIELD_TYPES.items()}
    results: dict[str, Type] = {str(operation): result for operation, (_, result) in OPERATIONS.items()}
    for part, by_name, selector in (("inputs", types, "type"), ("aggregates", results, "operation")):
        entries = declared.get(part)
        for name, item in entries.items() if isinstance(entries, dict) else ():
            kind = by_name.get(str(item.get(selector))) if isinstance(item, dict) else None
            if kind is not None:
                symbol = Symbol(kind, str(name), optional=part == "inputs")
                scope.update({str(name): symbol, f"{APPLICANT_PREFIX}{name}": symbol})
    for section, kind in (("parameters", Type.NUMBER), ("lists", Type.TEXT_LIST)):
        entries = data.get(section)
        if isinstance(entries, dict):
            scope.update({str(key): Symbol(kind, str(key)) for key in entries})
    located = {(p.line, p.column) for p in known}
    found: list[Problem] = []

    def walk(value: Any, path: JsonPath) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                expected = _expected(key, value)
                if expected is not None and isinstance(item, str):
                    try:
                        compile_expression(item, scope, expected, optional_allowed=True)
                    except ExpressionError as error:
                        problem = document.problem((*path, key), f"expression refusée : {error.message}", error.hint)
                        if (problem.line, problem.column) not in located:
                            found.append(problem)
                else:
                    walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(data, ())
    return found


def _expected(key: str, item: Mapping[str, Any]) -> Type | None:
    """The type of the expression at ``key`` of ``item``, if it holds one."""
    if key == "of":
        operation = OPERATIONS.get(cast(Any, item.get("operation")))
        return operation[0] if operation else None
    return Type.NUMBER if key == "formula" else Type.BOOL if key in _EXPRESSION_KEYS else None


def _number(value: int | Decimal) -> Decimal:
    """A rate or a share of the policy as a decimal; ``-0`` is zero."""
    return Decimal(value) + 0


def _rule(path: JsonPath) -> str:
    """A rule's id in findings: its path in the policy file, ``rate.bonuses.ia_frugale``."""
    return ".".join(str(part) for part in path)


def _placeholder() -> Expression:
    """Stands for an expression already reported as refused; the policy is never returned."""
    return compile_expression("True", {}, Type.BOOL)
