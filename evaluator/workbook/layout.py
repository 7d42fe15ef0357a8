"""The sheets and columns of a portfolio workbook, made from the versions of a policy.

Four sheets, one per level of an application: « Demandes » (the application and its solution, one
row each), « Bénéficiaires » (the applicant and each co-beneficiary, with their role), « Dépenses »
(the expense lines) and « Pièces » (the documents). A row of the last three names its application in
the column « Demande »: the application's reference, or its rank in « Demandes » (1 for the first)
when it has none. Each sheet has two header rows: the French label of each column, then its key —
the key of the value in its object (``solution.kind`` for a field of the solution), or ``#…`` for
the two columns that are no field (the application a row belongs to, an entity's role). Only the
keys are read: columns may come in any order, and a column without a key is ignored.

The columns are the structure every application has, then the fields the versions declare
(``policy.facts.fields``), at their level: nothing of the cahier des charges is named here. A field
declared by several versions takes its label and type from the newest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from evaluator.core.facts import Field, FieldType, Level
from evaluator.core.french import FIELD_TYPES, number, quantity
from evaluator.core.policy import Policy

APPLICATIONS, ENTITIES, EXPENSES, DOCUMENTS = "Demandes", "Bénéficiaires", "Dépenses", "Pièces"
README, LISTS = "Lisez-moi", "Listes"
LINK, ROLE = "#application", "#role"
"""The keys of the columns that are no field: the application a row belongs to, an entity's role."""
APPLICANT, CO_BENEFICIARY = "demandeur", "co-bénéficiaire"
"""An entity's role, as a cell says it."""
YES, NO = "oui", "non"

ColumnKind = Literal["text", "siren", "sirens", "boolean", "integer", "number", "share", "money", "date", "country",
                     "countries", "link", "role"]
"""How a column's cells are read and written: a field type, a SIREN or a list of them, the link to
the application, the role."""


@dataclass(frozen=True)
class Choices:
    """A list the cells of a column choose from (a dropdown): its values, a French label for each
    (or none), and whether another value is refused (``strict``) or only warned of."""

    title: str
    values: tuple[str, ...]
    labels: tuple[str, ...]
    strict: bool = True


@dataclass(frozen=True)
class Column:
    """A column: its key (row 2), its French label (row 1), how its cells read, where its value
    sits in the object of the row (``("solution", "kind")``), the list it chooses from, and, for
    the « Lisez-moi », its type and what an empty cell means, in French."""

    key: str
    label: str
    kind: ColumnKind
    path: tuple[str, ...]
    choices: str | None
    words: str
    absent: str


@dataclass(frozen=True)
class Sheet:
    name: str
    row: str
    """What one row is, in French."""
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column.key == key), None)


@dataclass(frozen=True)
class Layout:
    """The sheets of a portfolio workbook, for ``versions``, and the lists its dropdowns offer."""

    title: str
    versions: tuple[str, ...]
    sheets: tuple[Sheet, ...]
    lists: Mapping[str, Choices]

    def sheet(self, name: str) -> Sheet:
        return next(sheet for sheet in self.sheets if sheet.name == name)


_REQUIRED = "obligatoire"
_LINK_WORDS = "la référence de la demande (feuille Demandes), ou son rang dans la feuille si elle n'en a pas"
_ENTRY: Mapping[FieldType, str] = {
    "boolean": " (liste)", "share": " : 0,45 pour 45 %", "money": " TTC, deux décimales au plus",
    "date": " (JJ/MM/AAAA)", "country": " : FR", "countries": ", séparés par des virgules : FR, DE"}
"""What a cell of a field type takes, beyond the type's name (``french.FIELD_TYPES``)."""


def layout(versions: Sequence[Policy]) -> Layout:
    """The workbook of applications decided by ``versions`` (oldest first): their fields, each with
    the declaration of the newest version that declares it, and the lists of them all."""
    fields: dict[tuple[Level, str], Field] = {}
    declared_by: dict[tuple[Level, str], list[str]] = {}
    for policy in reversed(versions):
        for item in policy.facts.fields:
            fields.setdefault((item.level, item.key), item)
            declared_by.setdefault((item.level, item.key), []).insert(0, policy.version)
    names = tuple(policy.version for policy in versions)

    def declared(level: Level, prefix: tuple[str, ...] = ()) -> list[Column]:
        return [_field_column(item, prefix, declared_by[place], names) for place, item in fields.items()
                if place[0] == level]

    link = Column(LINK, "Demande", "link", (), None, _LINK_WORDS, _REQUIRED)
    sheets = (
        Sheet(APPLICATIONS, "une demande", (
            Column("reference", "Référence", "text", ("reference",), None, "texte",
                   "facultatif : la demande est alors désignée par son rang dans la feuille (1 pour la première)"),
            Column("submitted_on", "Date de dépôt", "date", ("submitted_on",), None, "date (JJ/MM/AAAA)", _REQUIRED),
            *declared("application"),
            Column("solution.name", "Solution", "text", ("solution", "name"), None, "texte : le nom de la solution",
                   _REQUIRED),
            Column("solution.editor", "Éditeur de la solution", "text", ("solution", "editor"), None, "texte",
                   _REQUIRED),
            *declared("solution", ("solution",)))),
        Sheet(ENTITIES, "le demandeur ou un co-bénéficiaire d'une demande", (
            link,
            Column(ROLE, "Rôle", "role", (), "roles",
                   f"{APPLICANT} (une ligne par demande) ou {CO_BENEFICIARY} (une ligne par autre bénéficiaire, "
                   "dans l'ordre)", _REQUIRED),
            Column("siren", "SIREN", "siren", ("siren",), None, "SIREN : 9 chiffres", _REQUIRED),
            Column("name", "Nom", "text", ("name",), None, "texte", _REQUIRED),
            Column("category", "Catégorie", "text", ("category",), "categories", "code d'une catégorie (liste)",
                   _REQUIRED),
            Column("licences", "Licences", "integer", ("licences",), None, "nombre entier", _REQUIRED),
            *declared("entity"))),
        Sheet(EXPENSES, "une ligne de dépenses d'une demande", (
            link,
            Column("kind", "Nature", "text", ("kind",), "expense_kinds", "code d'une nature de dépense (liste)",
                   _REQUIRED),
            Column("amount", "Montant TTC (€)", "money", ("amount",), None, "montant en euros TTC, deux décimales au "
                   "plus", _REQUIRED),
            Column("entity", "Entité servie (SIREN)", "siren", ("entity",), None, "SIREN : 9 chiffres",
                   "vide : le demandeur"),
            Column("label", "Libellé", "text", ("label",), None, "texte", "facultatif"),
            *declared("expense"))),
        Sheet(DOCUMENTS, "une pièce fournie avec une demande", (
            link,
            Column("kind", "Nature", "text", ("kind",), "document_kinds", "code d'une nature de pièce (liste)",
                   _REQUIRED),
            Column("signed_by", "Signataires (SIREN)", "sirens", ("signed_by",), None,
                   "SIREN séparés par des virgules", "vide : aucun signataire"),
            Column("label", "Libellé", "text", ("label",), None, "texte", "facultatif"),
            *declared("document"))),
    )
    return Layout(versions[-1].title, names, sheets, _lists(versions, fields.values()))


def _field_column(item: Field, prefix: tuple[str, ...], versions: list[str], names: tuple[str, ...]) -> Column:
    kind: ColumnKind = item.type
    choices = f"{item.level}.{item.key}" if item.values is not None else "yes_no" if kind == "boolean" else None
    words = (f"l'une des valeurs de la liste : {', '.join(item.values)}" if item.values is not None
             else FIELD_TYPES[item.type] + _ENTRY.get(item.type, "") + _bounds(item))
    if len(versions) < len(names):
        words += f" ; information {'de la version' if len(versions) == 1 else 'des versions'} {', '.join(versions)}"
    key = ".".join((*prefix, item.key))
    return Column(key, item.label[:1].upper() + item.label[1:], kind, (*prefix, item.key), choices, words,
                  _absent(item))


def _bounds(item: Field) -> str:
    low, high = item.minimum, item.maximum
    if low is not None and high is not None:
        return f", de {number(low)} à {number(high)}"
    if low is not None:
        return f", au moins {number(low)}"
    return f", au plus {number(high)}" if high is not None else ""


def _absent(item: Field) -> str:
    if item.optional:
        return "facultatif : l'information n'est pas donnée"
    if item.default is not None:
        return f"vide : {quantity(item.default, item.unit)}"
    return _REQUIRED


def _lists(versions: Sequence[Policy], fields: Iterable[Field]) -> dict[str, Choices]:
    """The dropdowns' lists: the roles, oui/non, the categories, expense kinds and document kinds
    of the versions (an unknown category is admitted, and examined as the version says), and the
    values of each text field that has them."""
    categories: dict[str, str] = {}
    kinds: dict[str, str] = {}
    documents: dict[str, str] = {}
    for policy in versions:
        categories.update((key, item.label) for key, item in policy.beneficiaries.categories.items())
        kinds.update((key, item.label) for key, item in policy.expenses.kinds.items())
        documents.update((key, item.label) for key, item in policy.documents.kinds.items())
    found = {
        "roles": Choices("Rôles", (APPLICANT, CO_BENEFICIARY), ("le demandeur", "un autre bénéficiaire")),
        "yes_no": Choices("Oui ou non", (YES, NO), ("", "")),
        "categories": Choices("Catégories de bénéficiaires", tuple(categories), tuple(categories.values()), False),
        "expense_kinds": Choices("Natures de dépenses", tuple(kinds), tuple(kinds.values())),
        "document_kinds": Choices("Natures de pièces", tuple(documents), tuple(documents.values())),
    }
    for item in fields:
        if item.values is not None:
            found[f"{item.level}.{item.key}"] = Choices(item.label, item.values, ("",) * len(item.values))
    return found
