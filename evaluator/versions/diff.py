"""What changed between two versions of a policy, in business words.

Each version is read as a list of rules — a parameter, a category, a bonus, a criterion… — each with
its French kind, its label and the fields that matter, already written in French. Two versions are
compared rule by rule: a rule added, removed, or a field changed, each in one sentence:
« Seuil de licences du taux majoré : 500 → 300 », « Nouvelle bonification « … » (+5 %) »,
« Catégorie CCAS : examen au cas par cas → éligible ».
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from evaluator.core import french
from evaluator.core.facts import AGGREGATE_DOMAINS
from evaluator.core.kinds.base import SETTING, Description, Noun
from evaluator.core.kinds.beneficiaries import CATEGORY
from evaluator.core.kinds.registry import kinds_of
from evaluator.core.policy import Policy
from evaluator.versions.handbook import interpretations


@dataclass(frozen=True)
class Rule:
    """A rule as it reads: ``fields`` are (French field name, French value); the first is the one
    named in a one-line summary."""

    path: str
    kind: Noun
    label: str
    fields: Description


@dataclass(frozen=True)
class Change:
    path: str
    change: Literal["added", "removed", "changed"]
    kind: str
    label: str
    field: str | None
    old: str | None
    new: str | None
    text: str

    def to_dict(self) -> dict[str, str | None]:
        return {"path": self.path, "change": self.change, "kind": self.kind, "label": self.label,
                "field": self.field, "old": self.old, "new": self.new, "text": self.text}


PARAMETER = Noun("paramètre", False, "value")
LIST = Noun("liste", True)
FIELD = Noun("information de la demande", True, "all")
DOCUMENT = Noun("nature de pièce", True)
NOTE = Noun("lecture retenue", True)


def rules(policy: Policy) -> dict[str, Rule]:
    """The rules of a policy, by path: its settings, then each rule as its kind tells it
    (``evaluator.core.kinds``), then its interpretation notes."""
    found: list[Rule] = []
    add = found.append
    rounding = policy.rounding
    add(Rule("rounding", SETTING, rounding.label, (
        ("arrondi", f"{french.ROUNDING_WORDS[rounding.mode]} (pas de {french.euros(rounding.quantum)})"),)))
    for p in policy.parameters.values():
        add(Rule(f"parameters.{p.id}", PARAMETER, p.label, (("valeur", french.quantity(p.value, p.unit)),)))
    for item in policy.lists.values():
        add(Rule(f"lists.{item.id}", LIST, item.label, (("valeurs", ", ".join(item.values)),)))
    for field in policy.facts.fields:
        absent = "facultative" if field.optional else "obligatoire" if field.required else \
            f"par défaut {french.quantity(field.default, field.unit)}"
        add(Rule(f"facts.inputs.{field.name}", FIELD, field.label, (
            ("où", _LEVELS[field.level]),
            ("type", french.FIELD_TYPES[field.type] + (f" : {', '.join(field.values)}" if field.values else "")),
            ("si elle manque", absent))))
    for aggregate in policy.facts.aggregates:
        add(Rule(f"facts.aggregates.{aggregate.name}", FIELD, aggregate.label, (
            ("calcul", f"{french.OPERATIONS[aggregate.operation]} de "
                       f"{aggregate.of.text if aggregate.of else 'chaque élément'} sur "
                       f"{AGGREGATE_DOMAINS[aggregate.over][2]}"
                       + (f" si {aggregate.where.text}" if aggregate.where else "")),)))
    for kind in kinds_of(policy):
        for rule in kind.rules(policy):
            add(Rule(rule.rule, kind.noun, rule.label, kind.describe(rule, policy)))
    for document in policy.documents.kinds.values():
        add(Rule(f"documents.kinds.{document.id}", DOCUMENT, document.label, (("libellé", document.label),)))
    add(Rule("reporting.frequency", SETTING, "Fréquence des indicateurs", (("fréquence", policy.reporting.frequency),)))
    for note in interpretations(policy):
        add(Rule(f"{note.path}.interpretation", NOTE, note.label, (("texte", note.text),)))
    return {rule.path: rule for rule in found}


_LEVELS = {"application": "la demande", "solution": "la solution", "entity": "chaque entité",
           "expense": "chaque ligne de dépenses", "document": "chaque pièce"}


def compare(old: Policy, new: Policy) -> list[Change]:
    """The changes from ``old`` to ``new``, in the order of the policy."""
    before, after = rules(old), rules(new)
    changes = list(_header(old, new))
    for path, rule in after.items():
        previous = before.get(path)
        if previous is None:
            text = rule.kind.added(rule.label, rule.fields) if rule.kind is not NOTE else \
                f"Nouvelle lecture retenue : {rule.label}"
            changes.append(Change(path, "added", rule.kind.noun, rule.label, None, None, None, text))
            continue
        if previous.label != rule.label and rule.kind is not NOTE:
            changes.append(Change(path, "changed", rule.kind.noun, rule.label, "libellé", previous.label, rule.label,
                                  f"Libellé modifié : « {previous.label} » → « {rule.label} »"))
        old_fields = dict(previous.fields)
        for name, value in rule.fields:
            was = old_fields.get(name)
            if was is not None and was != value:
                changes.append(Change(path, "changed", rule.kind.noun, rule.label, name, was, value,
                                      _changed(rule, name, was, value)))
    for path, rule in before.items():
        if path not in after:
            text = rule.kind.removed(rule.label) if rule.kind is not NOTE else \
                f"Lecture retenue supprimée : {rule.label}"
            changes.append(Change(path, "removed", rule.kind.noun, rule.label, None, None, None, text))
    return changes


def _header(old: Policy, new: Policy) -> Iterator[Change]:
    if old.effective_from != new.effective_from:
        yield Change("effective_from", "changed", "version", new.version, "en vigueur à partir du",
                     french.day(old.effective_from), french.day(new.effective_from),
                     f"En vigueur à partir du : {french.day(old.effective_from)} → {french.day(new.effective_from)}")
    old_source = f"{old.source.title}, version {old.source.version} du {french.day(old.source.date)}"
    new_source = f"{new.source.title}, version {new.source.version} du {french.day(new.source.date)}"
    if old_source != new_source:
        yield Change("source", "changed", "version", new.version, "texte transcrit", old_source, new_source,
                     f"Texte transcrit : {old_source} → {new_source}")


def _changed(rule: Rule, name: str, old: str, new: str) -> str:
    if rule.kind is PARAMETER or (rule.kind is SETTING and len(rule.fields) == 1):
        return f"{rule.label} : {old} → {new}"
    if rule.kind is NOTE:
        return f"Lecture retenue modifiée : {rule.label}"
    if rule.kind is CATEGORY.noun:
        return f"Catégorie {rule.label} : {old} → {new}"
    named = rule.kind.named(rule.label)
    return f"{named[0].upper()}{named[1:]}, {name} : {old} → {new}"


def to_text(old: Policy, new: Policy, changes: list[Change]) -> str:
    title = f"De la version {old.version} à la version {new.version} ({old.id}) :"
    if not changes:
        return f"{title}\n  aucun changement de règle.\n"
    return title + "\n" + "".join(f"  - {change.text}\n" for change in changes)


def to_markdown(old: Policy, new: Policy, changes: list[Change]) -> str:
    title = f"## Changements de la version {old.version} à la version {new.version}\n\n"
    if not changes:
        return title + "Aucun changement de règle.\n"
    return title + "".join(f"- {change.text}\n" for change in changes)
