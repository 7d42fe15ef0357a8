"""The application form of the workbench, built from what a version declares: the structure every
application has (its date, entities, solution, expense lines and documents), then each field of the
version's ``facts.inputs`` at its level. A field added to a version appears in its form, with no code.

A form's fields are named after their place in the application: ``submitted_on``,
``solution.editor``, ``applicant.category``, ``co.0.siren``, ``expense.1.amount``,
``document.0.kind``; the problems of a refused application, located by their JSON path, come back
to the field they are about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from evaluator.core import french
from evaluator.core.facts import Field, Level
from evaluator.core.policy import Policy
from evaluator.reading.problems import JsonPath

Widget = Literal["text", "siren", "number", "integer", "date", "boolean", "choice", "list"]

GROUPS: Mapping[str, tuple[str, Level]] = {
    "applicant": ("applicant", "entity"), "co": ("co_beneficiaries", "entity"), "expense": ("expenses", "expense"),
    "document": ("documents", "document"), "solution": ("solution", "solution")}
"""Each group of fields of the form: its key in the application and its level."""
REPEATED = ("co", "expense", "document")
"""The groups a form has any number of (their rows are added and removed)."""
MAX_ROWS = 200
"""The rows of a group a form shows at most (a bigger application goes through a file: ``guichet
batch``, or a workbook): a request naming row 100,000,000 costs no more than this."""


@dataclass(frozen=True)
class Input:
    """One field of the form."""

    key: str
    """Its key in the application, at its level."""
    label: str
    widget: Widget
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    """(value, label) of a choice."""
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """The fields of the form of one version, by group (``application`` and the ``GROUPS``)."""

    version: str
    groups: Mapping[str, tuple[Input, ...]]


def form_of(policy: Policy) -> Form:
    """The form of ``policy``: the structure of every application, then the version's fields."""
    categories = tuple((key, category.label) for key, category in policy.beneficiaries.categories.items())
    kinds = tuple((key, kind.label) for key, kind in policy.expenses.kinds.items())
    documents = tuple((key, kind.label) for key, kind in policy.documents.kinds.items())
    entity = (Input("name", "Nom de l'entité", "text", True), Input("siren", "SIREN", "siren", True),
              Input("category", "Catégorie", "choice", True, categories),
              Input("licences", "Nombre de licences", "integer", True))
    structure: dict[str, tuple[Input, ...]] = {
        "application": (Input("reference", "Référence du dossier", "text", False),
                        Input("submitted_on", "Date de dépôt", "date", True)),
        "applicant": entity,
        "co": entity,
        "solution": (Input("name", "Nom de la solution", "text", True), Input("editor", "Éditeur", "text", True)),
        "expense": (Input("kind", "Nature de la dépense", "choice", True, kinds),
                    Input("amount", "Montant (€ TTC)", "number", True, hint="par exemple 1500.50"),
                    Input("entity", "SIREN de l'entité servie", "siren", False, hint="vide : le demandeur"),
                    Input("label", "Libellé", "text", False)),
        "document": (Input("kind", "Nature de la pièce", "choice", True, documents),
                     Input("signed_by", "Signée par (SIREN)", "list", False, hint="séparés par des virgules")),
    }
    declared = {group: tuple(_declared(item) for item in policy.facts.fields if item.level == level)
                for group, (_, level) in GROUPS.items()}
    declared["application"] = tuple(_declared(item) for item in policy.facts.fields if item.level == "application")
    return Form(policy.version, {group: (*inputs, *declared[group]) for group, inputs in structure.items()})


def _declared(item: Field) -> Input:
    hint = french.FIELD_TYPES[item.type]
    if item.default is not None:
        hint += f" ; vide : {french.quantity(item.default, item.unit)}"
    if item.type == "boolean":
        return Input(item.key, _capitalised(item.label), "boolean", item.required, (("oui", "oui"), ("non", "non")),
                     hint)
    if item.values is not None:
        return Input(item.key, _capitalised(item.label), "choice", item.required,
                     tuple((value, value) for value in item.values), hint)
    widget: Widget = {"integer": "integer", "number": "number", "share": "number", "money": "number", "date": "date",
                      "countries": "list"}.get(item.type, "text")  # type: ignore[assignment]
    return Input(item.key, _capitalised(item.label), widget, item.required, (), hint)


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def counts(values: Mapping[str, str]) -> dict[str, int]:
    """How many rows of each repeated group the submitted ``values`` hold (at most ``MAX_ROWS``),
    or say they hold (``co_rows``…: the rows shown, left empty)."""
    found = {group: row_count(values.get(f"{group}_rows", "")) for group in REPEATED}
    for name in values:
        group, _, rest = name.partition(".")
        index = rest.partition(".")[0]
        if group in found and index.isdigit() and len(index) < 10:
            found[group] = max(found[group], min(int(index) + 1, MAX_ROWS))
    return found


def row_count(text: str) -> int:
    """A number of rows written in a form, bounded by ``MAX_ROWS`` (0 when it is not a number)."""
    return min(int(text), MAX_ROWS) if text.isdigit() and len(text) < 10 else 0


def application_of(form: Form, values: Mapping[str, str]) -> dict[str, Any]:
    """The application the submitted ``values`` describe: an empty field is left out (the version
    then says whether it may be), a number that does not read as one is passed as written, so that
    the application is refused with the same message as on the command line."""
    application: dict[str, Any] = _fields(form.groups["application"], values, "")
    application["applicant"] = _fields(form.groups["applicant"], values, "applicant.")
    application["solution"] = _fields(form.groups["solution"], values, "solution.")
    rows = counts(values)
    for group in REPEATED:
        key = GROUPS[group][0]
        items = [_fields(form.groups[group], values, f"{group}.{index}.") for index in range(rows[group])]
        if items or group != "co":
            application[key] = items
    return application


def _fields(inputs: tuple[Input, ...], values: Mapping[str, str], prefix: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in inputs:
        text = values.get(prefix + item.key, "").strip()
        if text:
            found[item.key] = _value(item.widget, text)
    return found


def _value(widget: Widget, text: str) -> Any:
    if widget == "boolean":
        return {"oui": True, "non": False}.get(text, text)
    if widget == "list":
        return [part.strip().upper() if len(part.strip()) == 2 else part.strip()
                for part in text.split(",") if part.strip()]
    if widget == "integer" and text.isdigit():
        return int(text)
    if widget == "number":
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    return text


def values_of(application: Mapping[str, Any]) -> dict[str, str]:
    """The form values of an application (to prefill the form with an uploaded one)."""
    values: dict[str, str] = {}
    for key, value in application.items():
        if key in ("applicant", "solution") and isinstance(value, Mapping):
            values.update(_flat(value, f"{key}."))
        elif key in ("co_beneficiaries", "expenses", "documents") and isinstance(value, list):
            group = next(name for name, (place, _) in GROUPS.items() if place == key)
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    values.update(_flat(item, f"{group}.{index}."))
        elif not isinstance(value, (Mapping, list)):
            values[key] = _text(value)
    return values


def _flat(item: Mapping[str, Any], prefix: str) -> dict[str, str]:
    return {prefix + str(key): ", ".join(map(_text, value)) if isinstance(value, list) else _text(value)
            for key, value in item.items() if not isinstance(value, Mapping)}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    return "" if value is None else str(value)


def field_name(path: JsonPath) -> str:
    """The form field a problem at ``path`` (of the application) is about, or its group's place."""
    if not path:
        return ""
    head, rest = str(path[0]), path[1:]
    group = next((name for name, (place, _) in GROUPS.items() if place == head), None)
    if group is None:
        return head
    if group in REPEATED:
        return ".".join((group, *map(str, rest)))
    return ".".join((group, *map(str, rest[:1])))
