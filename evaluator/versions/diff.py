"""What changed between two versions of a policy, in business words, for a reviewer to sign off.

Each version is read as a list of rules — a parameter, a category, a bonus, a criterion… — each with
its French kind, its label, the fields that matter (already written in French, conditions and
formulas in words and as written), its possible outcomes and its clause. Two versions are compared
rule by rule: a rule added, removed, or a field changed, each in one sentence: « Seuil de licences du
taux majoré : 500 → 300 », « Nouvelle bonification « … » (+5 %) », « Catégorie CCAS : examen au cas
par cas → éligible »; then each rule added or changed as the new version reads it (its condition,
value or share, outcomes and clause). Texts are compared as the policy writes them: a label that
quotes a parameter (``{licence_threshold}``) or a condition that reads one does not change with its
value; the parameter's change is reported once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from evaluator.core import french
from evaluator.core.facts import AGGREGATE_DOMAINS
from evaluator.core.kinds.base import SETTING, Description, Noun
from evaluator.core.kinds.beneficiaries import CATEGORY
from evaluator.core.kinds.registry import kinds_of
from evaluator.core.policy import Policy
from evaluator.core.wording import written
from evaluator.versions.handbook import Block, Table, calculation, interpretations
from evaluator.versions.handbook import to_html as document_html


@dataclass(frozen=True)
class Rule:
    """A rule as it reads: ``fields`` are (French field name, French value), the first one named in
    a one-line summary; its possible outcomes and its clause."""

    path: str
    kind: Noun
    label: str
    fields: Description
    outcomes: tuple[str, ...] = ()
    clause: str | None = None

    @property
    def subject(self) -> str:
        """« Bonification « IA frugale » », what the rule is."""
        named = self.kind.named(self.label)
        return named[0].upper() + named[1:]


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
    subject: str
    """What changed (« Bonification « IA frugale » », « Version 1.1 »): consecutive changes of one
    subject are one rule's."""
    details: Description = ()
    """On the last change of a rule added or changed: the rule as the new version reads it, what its
    sentences do not already say (condition, value, outcomes, clause)."""

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "change": self.change, "kind": self.kind, "label": self.label,
                "field": self.field, "old": self.old, "new": self.new, "text": self.text,
                "details": [{"field": name, "value": value} for name, value in self.details]}


PARAMETER = Noun("paramètre", False, "value")
LIST = Noun("liste", True)
FIELD = Noun("information de la demande", True, "all")
AGGREGATE = Noun("fait calculé", False)
DOCUMENT = Noun("nature de pièce", True)
NOTE = Noun("lecture retenue", True)


def rules(policy: Policy) -> dict[str, Rule]:
    """The rules of a policy, by path: its settings, then each rule as its kind tells it
    (``evaluator.core.kinds``), with its outcomes and clause, then its interpretation notes."""
    found: list[Rule] = []
    add = found.append
    rounding = policy.rounding
    add(Rule("rounding", SETTING, rounding.label, (
        ("arrondi", f"{french.ROUNDING_WORDS[rounding.mode]} (pas de {french.euros(rounding.quantum)})"),),
        clause=rounding.clause))
    for p in policy.parameters.values():
        add(Rule(f"parameters.{p.id}", PARAMETER, p.label, (("valeur", french.quantity(p.value, p.unit)),),
                 clause=p.clause))
    for item in policy.lists.values():
        add(Rule(f"lists.{item.id}", LIST, item.label, (("valeurs", ", ".join(item.values)),), clause=item.clause))
    for field in policy.facts.fields:
        absent = "facultative" if field.optional else "obligatoire" if field.required else \
            f"par défaut {french.quantity(field.default, field.unit)}"
        add(Rule(f"facts.inputs.{field.name}", FIELD, field.label, (
            ("où", _LEVELS[field.level]),
            ("type", french.FIELD_TYPES[field.type] + (f" : {', '.join(field.values)}" if field.values else "")),
            ("si elle manque", absent))))
    for aggregate in policy.facts.aggregates:
        add(Rule(f"facts.aggregates.{aggregate.name}", AGGREGATE, aggregate.label, (
            ("calcul", calculation(aggregate)), ("sur", AGGREGATE_DOMAINS[aggregate.over][2]))))
    for kind in kinds_of(policy):
        for rule in kind.rules(policy):
            add(Rule(rule.rule, kind.noun, rule.label, kind.describe(rule, policy),
                     tuple(branch.label for branch in kind.branches(rule, policy)), rule.clause))
    for document in policy.documents.kinds.values():
        add(Rule(f"documents.kinds.{document.id}", DOCUMENT, document.label, (("libellé", document.label),)))
    add(Rule("reporting.frequency", SETTING, "Fréquence des indicateurs", (("fréquence", policy.reporting.frequency),)))
    for note in interpretations(policy):
        add(Rule(f"{note.path}.interpretation", NOTE, note.label, (("texte", note.text),)))  # its rule's clause
    return {rule.path: rule for rule in found}


_LEVELS = {"application": "la demande", "solution": "la solution", "entity": "chaque entité",
           "expense": "chaque ligne de dépenses", "document": "chaque pièce"}


def compare(old: Policy, new: Policy) -> list[Change]:
    """The changes from ``old`` to ``new``, in the order of the policy; the last change of each rule
    added or changed carries the rule as ``new`` reads it."""
    before, after = rules(old), rules(new)
    changes = list(_header(old, new))
    for path, rule in after.items():
        found = list(_changes(before.get(path), rule))
        if found:
            told = " ".join(change.text for change in found)
            details = tuple((name, value) for name, value in _details(rule) if value and value not in told)
            changes += [*found[:-1], dataclasses.replace(found[-1], details=details)]
    for path, rule in before.items():
        if path not in after:
            text = rule.kind.removed(rule.label) if rule.kind is not NOTE else \
                f"Lecture retenue supprimée : {rule.label}"
            changes.append(Change(path, "removed", rule.kind.noun, rule.label, None, None, None, text, rule.subject))
    return changes


def _changes(previous: Rule | None, rule: Rule) -> Iterator[Change]:
    """What changed of ``rule`` since ``previous``: compared as the policy writes them, its label,
    each of its fields and its clause."""
    path, noun = rule.path, rule.kind.noun
    if previous is None:
        text = rule.kind.added(rule.label, rule.fields) if rule.kind is not NOTE else \
            f"Nouvelle lecture retenue : {rule.label}"
        yield Change(path, "added", noun, rule.label, None, None, None, text, rule.subject)
        return
    if written(previous.label) != written(rule.label) and rule.kind is not NOTE:
        yield Change(path, "changed", noun, rule.label, "libellé", previous.label, rule.label,
                     f"Libellé modifié : « {previous.label} » → « {rule.label} »", rule.subject)
    old_fields = dict((*previous.fields, ("clause", previous.clause or "")))
    for name, value in (*rule.fields, ("clause", rule.clause or "")):
        was = old_fields.get(name)
        if was is not None and written(was) != written(value):
            yield Change(path, "changed", noun, rule.label, name, was, value, _changed(rule, name, was, value),
                         rule.subject)


def _details(rule: Rule) -> Description:
    """A rule as a reviewer signs it off: its fields, its possible outcomes (the status each leads
    to) and its clause."""
    return (*rule.fields, ("issues possibles", " ; ".join(rule.outcomes)), ("clause", rule.clause or ""))


def _header(old: Policy, new: Policy) -> Iterator[Change]:
    subject = f"Version {new.version}"
    if old.effective_from != new.effective_from:
        yield Change("effective_from", "changed", "version", new.version, "en vigueur à partir du",
                     french.day(old.effective_from), french.day(new.effective_from),
                     f"En vigueur à partir du : {french.day(old.effective_from)} → {french.day(new.effective_from)}",
                     subject)
    old_source = f"{old.source.title}, version {old.source.version} du {french.day(old.source.date)}"
    new_source = f"{new.source.title}, version {new.source.version} du {french.day(new.source.date)}"
    if old_source != new_source:
        yield Change("source", "changed", "version", new.version, "texte transcrit", old_source, new_source,
                     f"Texte transcrit : {old_source} → {new_source}", subject)


def _changed(rule: Rule, name: str, old: str, new: str) -> str:
    if rule.kind is PARAMETER or (rule.kind is SETTING and len(rule.fields) == 1):
        return f"{rule.label} : {old} → {new}"
    if rule.kind is NOTE:
        return f"Lecture retenue modifiée : {rule.label}"
    if rule.kind is CATEGORY.noun and name == rule.fields[0][0]:
        return f"Catégorie {rule.label} : {old} → {new}"
    return f"{rule.subject}, {name} : {old} → {new}"


def to_text(old: Policy, new: Policy, changes: list[Change]) -> str:
    title = f"De la version {old.version} à la version {new.version} ({old.id}) :"
    if not changes:
        return f"{title}\n  aucun changement de règle.\n"
    return title + "\n" + "".join(
        f"  - {change.text}\n" + "".join(f"      {name} : {value}\n" for name, value in change.details)
        for change in changes)


def to_markdown(old: Policy, new: Policy, changes: list[Change]) -> str:
    title = f"## Changements de la version {old.version} à la version {new.version}\n\n"
    if not changes:
        return title + "Aucun changement de règle.\n"
    return title + "".join(
        f"- {change.text}\n" + "".join(f"  - {name} : {value}\n" for name, value in change.details)
        for change in changes)


def to_html(old: Policy, new: Policy, changes: list[Change]) -> str:
    """A standalone HTML page: per rule, what changed, then the rule as the new version reads it."""
    title = f"Changements de la version {old.version} à la version {new.version}"
    blocks: list[Block] = [("h1", title), ("p", f"{new.title} ({new.id}) : {_count(len(changes))}. Chaque règle "
                                                f"nouvelle ou modifiée est donnée telle que la version {new.version} "
                                                "la lit, avec ses issues possibles et sa clause.")]
    groups: list[list[Change]] = []
    for change in changes:  # a rule's changes follow one another; the last one has its details
        if groups and groups[-1][-1].subject == change.subject and not groups[-1][-1].details:
            groups[-1].append(change)
        else:
            groups.append([change])
    for group in groups:
        blocks += [("h2", group[0].subject), ("ul", [change.text for change in group])]
        if group[-1].details:
            rows = tuple((name[0].upper() + name[1:], value) for name, value in group[-1].details)
            blocks.append(("table", Table(("Élément", f"Version {new.version}"), rows)))
    return document_html(blocks, f"{title} — {new.title}")


def _count(changes: int) -> str:
    return "aucun changement de règle" if not changes else \
        f"{changes} changement{'s' if changes > 1 else ''} de règle"
