"""The application model, and reading one from a document (YAML, JSON or a decoded mapping).

Reading is in two steps: ``read_application`` checks the document against the application schema
(policy-independent); ``build_application`` then checks what only the policy can tell (expense and
document kinds it knows) and what the schema cannot (distinct SIRENs, expense lines for a known
entity), and returns the frozen model.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from evaluator.documents import (
    Document,
    canonical_json_line,
    json_line_document,
    load_document,
    lone_surrogates,
    text_line,
)
from evaluator.policy import Policy
from evaluator.problems import InputError, JsonPath
from evaluator.validation import accepts, decimal_of, parse_date, parse_money, validate


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    siren: str
    category: str
    licences: int
    overseas: bool
    action_coeur_de_ville: bool
    qpv_population_share: Decimal
    non_economic_activity: bool


@dataclass(frozen=True, slots=True)
class Solution:
    name: str
    editor: str
    kind: str
    editor_country: str
    hosting_countries: tuple[str, ...]
    processing_countries: tuple[str, ...]
    model_provider_country: str | None
    auditability_commitment: bool
    extra_eu_transfer: str
    eu_law_applicable: bool
    extra_eu_jurisdiction: bool
    reversibility: bool
    ai_act_compliant: bool


@dataclass(frozen=True, slots=True)
class ExpenseLine:
    index: int
    kind: str
    amount: Decimal
    months: int | None
    entity: str
    label: str | None


@dataclass(frozen=True, slots=True)
class SuppliedDocument:
    kind: str
    signed_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Application:
    reference: str | None
    submitted_on: date
    applicant: Entity
    co_beneficiaries: tuple[Entity, ...]
    solution: Solution
    expenses: tuple[ExpenseLine, ...]
    frugal_ai: bool
    public_procurement_compliant: bool | None
    purchase_date: date | None
    documents: tuple[SuppliedDocument, ...]
    facts: Mapping[str, Any] = field(repr=False, compare=False)
    """The input facts of the application (``evaluator.facts``, stage INPUT), by name."""


Model = TypeVar("Model")


def constructor(cls: type[Model]) -> Callable[..., Model]:
    """``cls(*values)`` made faster, for a frozen dataclass with slots: each field set by its slot's
    own setter, where the dataclass ``__init__`` goes through ``object.__setattr__`` (twice as long;
    an application's 15 objects or so are built for each one decided). The object is the same."""
    names = [item.name for item in dataclasses.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls,
                                 **{f"set_{name}": getattr(cls, name).__set__ for name in names}}
    exec("\n".join([f"def make({', '.join(names)}):", "    self = new(cls)",
                    *(f"    set_{name}(self, {name})" for name in names), "    return self"]), namespace)
    make: Callable[..., Model] = namespace["make"]
    return make


_new_entity = constructor(Entity)
_new_solution = constructor(Solution)
_new_expense_line = constructor(ExpenseLine)
_new_document = constructor(SuppliedDocument)
_new_application = constructor(Application)


def read_application(raw: bytes, source: str) -> Document:
    """Parse and schema-check an application file; raises ``InputError`` with every problem."""
    return checked_document(load_document(raw, source))


def mapping_document(application: Mapping[str, Any], source: str = "<demande>") -> Document:
    """An application given as a mapping (decoded JSON, say) as a document; a float is read as the
    decimal it prints as (``0.1`` is ``Decimal("0.1")``)."""
    document = Document(source, _decimals(application), [])
    document.problems.extend(lone_surrogates(document))
    return document


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return decimal_of(value)
    if isinstance(value, Mapping):
        return {str(key): _decimals(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(item) for item in value]
    return value


def accepted_line(raw: bytes, source: str, number: int) -> Document | None:
    """A line of a JSON Lines file (its bytes), read and checked against the application schema: at
    once when it is canonical JSON (``canonical_json_line``) that the fast check accepts; otherwise
    as ``json_lines`` reads it, by ``json_line_document`` and the detailed validation, whose problems
    name the line (``None`` for a blank line). The documents read either way give the same
    application (``tests/test_validation_paths.py``)."""
    data = canonical_json_line(raw.removesuffix(b"\n"))
    if data is not None and accepts("application")(data):
        return Document(source, data, [], {(): (number, 1)})
    line = text_line(raw, number)
    return None if line is None else checked_document(json_line_document(line, source, number))


def checked_document(document: Document) -> Document:
    problems = validate(document, "application")
    if problems:
        raise InputError(problems)
    return document


def submission_date(document: Document) -> date:
    return parse_date(document.data["submitted_on"])


def build_application(document: Document, policy: Policy) -> Application:
    """The application model, after the checks that depend on ``policy``."""
    data = document.data
    applicant = _entity(data["applicant"])
    co_beneficiaries = tuple(_entity(item) for item in data.get("co_beneficiaries", []))
    solution = _solution(data["solution"])
    documents = tuple(_new_document(item["kind"], tuple(item.get("signed_by", [])))
                      for item in data.get("documents", []))
    submitted_on = parse_date(data["submitted_on"])
    purchase_date = parse_date(data["purchase_date"]) if data.get("purchase_date") else None
    frugal_ai = data.get("frugal_ai", False)
    procurement = data.get("public_procurement_compliant")
    application = _new_application(
        reference=data.get("reference"),
        submitted_on=submitted_on,
        applicant=applicant,
        co_beneficiaries=co_beneficiaries,
        solution=solution,
        expenses=tuple(_expense(index, item, applicant.siren) for index, item in enumerate(data["expenses"])),
        frugal_ai=frugal_ai,
        public_procurement_compliant=procurement,
        purchase_date=purchase_date,
        documents=documents,
        facts={
            "submitted_on": submitted_on,
            "purchase_date": purchase_date,
            "frugal_ai": frugal_ai,
            "public_procurement_compliant": procurement,
            "solution_kind": solution.kind,
            "editor_country": solution.editor_country,
            "hosting_countries": solution.hosting_countries,
            "processing_countries": solution.processing_countries,
            "model_provider_country": solution.model_provider_country,
            "auditability_commitment": solution.auditability_commitment,
            "extra_eu_transfer": solution.extra_eu_transfer,
            "eu_law_applicable": solution.eu_law_applicable,
            "extra_eu_jurisdiction": solution.extra_eu_jurisdiction,
            "reversibility": solution.reversibility,
            "ai_act_compliant": solution.ai_act_compliant,
            "applicant_category": applicant.category,
            "applicant_licences": applicant.licences,
            "applicant_overseas": applicant.overseas,
            "applicant_action_coeur_de_ville": applicant.action_coeur_de_ville,
            "applicant_qpv_population_share": applicant.qpv_population_share,
            "applicant_non_economic_activity": applicant.non_economic_activity,
            "document_kinds": tuple(sorted({supplied.kind for supplied in documents})),
            "co_beneficiary_count": len(co_beneficiaries),
        },
    )
    problems = [document.problem(path, message, hint) for path, message, hint in _policy_problems(application, policy)]
    if problems:
        raise InputError(problems)
    return application


def _entity(item: Mapping[str, Any]) -> Entity:
    return _new_entity(
        name=item["name"],
        siren=item["siren"],
        category=item["category"],
        licences=int(item["licences"]),
        overseas=item.get("overseas", False),
        action_coeur_de_ville=item.get("action_coeur_de_ville", False),
        qpv_population_share=decimal_of(item.get("qpv_population_share", 0)),
        non_economic_activity=item.get("non_economic_activity", False),
    )


def _solution(item: Mapping[str, Any]) -> Solution:
    return _new_solution(
        name=item["name"],
        editor=item["editor"],
        kind=item["kind"],
        editor_country=item["editor_country"],
        hosting_countries=tuple(item["hosting_countries"]),
        processing_countries=tuple(item["processing_countries"]),
        model_provider_country=item.get("model_provider_country"),
        auditability_commitment=item["auditability_commitment"],
        extra_eu_transfer=item["extra_eu_transfer"],
        eu_law_applicable=item["eu_law_applicable"],
        extra_eu_jurisdiction=item["extra_eu_jurisdiction"],
        reversibility=item["reversibility"],
        ai_act_compliant=item["ai_act_compliant"],
    )


def _expense(index: int, item: Mapping[str, Any], applicant_siren: str) -> ExpenseLine:
    months = item.get("months")
    return _new_expense_line(index, item["kind"], parse_money(item["amount"]), None if months is None else int(months),
                             item.get("entity", applicant_siren), item.get("label"))


Issue = tuple[JsonPath, str, str | None]


def _policy_problems(application: Application, policy: Policy) -> list[Issue]:
    issues: list[Issue] = []
    sirens: dict[str, JsonPath] = {application.applicant.siren: ("applicant", "siren")}
    for index, entity in enumerate(application.co_beneficiaries):
        path: JsonPath = ("co_beneficiaries", index, "siren")
        if entity.siren in sirens:
            issues.append((path, f"SIREN {entity.siren} en double dans la demande",
                           "chaque entité n'apparaît qu'une fois : le demandeur, puis chaque co-bénéficiaire"))
        sirens.setdefault(entity.siren, path)
    kinds = policy.expenses.kinds
    for line in application.expenses:
        if line.kind not in kinds:
            issues.append(_unknown(("expenses", line.index, "kind"), "nature de dépense", line.kind, kinds))
        if line.entity not in sirens:
            issues.append((("expenses", line.index, "entity"),
                           f"la ligne vise le SIREN {line.entity}, qui n'est ni le demandeur ni un co-bénéficiaire",
                           "ajoutez l'entité aux co-bénéficiaires ou corrigez le SIREN"))
    for index, supplied in enumerate(application.documents):
        if supplied.kind not in policy.documents.kinds:
            issues.append(_unknown(("documents", index, "kind"), "nature de pièce", supplied.kind,
                                   policy.documents.kinds))
    return issues


def _unknown(path: JsonPath, what: str, value: str, allowed: Mapping[str, object]) -> Issue:
    close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
    hint = f"vouliez-vous dire « {close[0]} » ?" if close else None
    return path, f"{what} inconnue : « {value} » ; valeurs admises : {', '.join(allowed)}", hint
