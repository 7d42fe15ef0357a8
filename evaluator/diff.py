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

from evaluator import french
from evaluator.docs import interpretations
from evaluator.policy import Check, Policy


@dataclass(frozen=True)
class Kind:
    noun: str
    feminine: bool

    def added(self, label: str) -> str:
        return f"{'Nouvelle' if self.feminine else 'Nouveau'} {self.named(label)}"

    def removed(self, label: str) -> str:
        return f"{_capital(self.named(label))} supprimé{'e' if self.feminine else ''}"

    def named(self, label: str) -> str:
        """« bonification « IA frugale » », or the label alone when it already says what it is."""
        if label.lower().startswith(self.noun):
            return label[0].lower() + label[1:]
        return f"{self.noun} « {label} »"


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class Rule:
    """A rule as it reads: ``fields`` are (French field name, French value); the first is the one
    named in a one-line summary."""

    path: str
    kind: Kind
    label: str
    fields: tuple[tuple[str, str], ...]


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


PARAMETER = Kind("paramètre", False)
LIST = Kind("liste", True)
CATEGORY = Kind("catégorie", True)
EXPENSE = Kind("nature de dépense", True)
TIER = Kind("palier du taux de base", False)
BONUS = Kind("bonification", True)
CRITERION = Kind("critère", False)
REQUIREMENT = Kind("pièce exigée", True)
DOCUMENT = Kind("nature de pièce", True)
TRANCHE = Kind("versement", False)
INDICATOR = Kind("indicateur", False)
SETTING = Kind("règle", True)
NOTE = Kind("lecture retenue", True)


def rules(policy: Policy) -> dict[str, Rule]:
    """The rules of a policy, by path."""
    status = policy.statuses.named
    found: list[Rule] = []
    add = found.append
    window = policy.window
    add(Rule("window", SETTING, window.label, (
        ("période", f"du {french.day(window.opens_on)} au {french.day(window.closes_on)}"),
        ("hors période", status(window.on_outside).lower()))))
    rounding = policy.rounding
    add(Rule("rounding", SETTING, rounding.label, (
        ("arrondi", f"{french.ROUNDING_WORDS[rounding.mode]} (pas de {french.euros(rounding.quantum)})"),)))
    add(Rule("statuses", SETTING, "Ordre des statuts", (
        ("ordre", ", ".join(s.label.lower() for s in policy.statuses.order)),)))
    for p in policy.parameters.values():
        add(Rule(f"parameters.{p.id}", PARAMETER, p.label, (("valeur", french.quantity(p.value, p.unit)),)))
    for item in policy.lists.values():
        add(Rule(f"lists.{item.id}", LIST, item.label, (("valeurs", ", ".join(item.values)),)))
    b = policy.beneficiaries
    for c in b.categories.values():
        outcome = french.OUTCOMES[c.outcome]
        cases = "".join(f"si {case.when.text} : {french.OUTCOMES[case.outcome]} ; " for case in c.cases)
        add(Rule(f"beneficiaries.categories.{c.id}", CATEGORY, c.label,
                 (("issue", f"{cases}sinon : {outcome}" if cases else outcome),)))
    add(Rule("beneficiaries.unknown_category", SETTING, "Catégorie non listée",
             (("issue", french.OUTCOMES[b.unknown_category.outcome]),)))
    e = policy.expenses
    for k in e.kinds.values():
        add(Rule(f"expenses.kinds.{k.id}", EXPENSE, k.label, (("groupe", french.GROUPS[k.group]),)))
    add(Rule("expenses.funded_period", SETTING, e.funded_period.label,
             (("durée", f"{e.funded_period.months} mois"),)))
    add(Rule("expenses.eligible_deployment", SETTING, e.eligible_deployment.label,
             (("formule", e.eligible_deployment.expression.text),)))
    add(Rule("mutualisation.mutualised_when", SETTING, policy.mutualisation.label,
             (("condition", policy.mutualisation.mutualised_when.text),)))
    for t in policy.rate.tiers:
        add(Rule(f"rate.base.{t.id}", TIER, t.label, (
            ("taux", french.percent(t.rate)), ("condition", t.when.text if t.when else "dans les autres cas"))))
    for bonus in policy.rate.bonuses:
        evidence = "aucun" if bonus.evidence is None else ", ".join(bonus.evidence.one_of)
        add(Rule(f"rate.bonuses.{bonus.id}", BONUS, bonus.label, (
            ("valeur", f"+{french.percent(bonus.value)}"), ("condition", bonus.when.text), ("justificatif", evidence))))
    add(Rule("rate.ceiling", SETTING, policy.rate.ceiling.label,
             (("taux", french.percent(policy.rate.ceiling.value)),)))
    for prefix, checks in (("expenses.checks", e.checks), ("mutualisation.checks", policy.mutualisation.checks),
                           ("sovereignty.criteria", policy.sovereignty.checks),
                           ("conditions.checks", policy.conditions.checks)):
        for check in checks:
            add(_check(f"{prefix}.{check.id}", check, policy))
    d = policy.documents
    for kind in d.kinds.values():
        add(Rule(f"documents.kinds.{kind.id}", DOCUMENT, kind.label, (("libellé", kind.label),)))
    for r in d.requirements:
        add(Rule(f"documents.requirements.{r.id}", REQUIREMENT, r.label, (
            ("si elle manque", status(r.on_missing).lower()), ("pièces acceptées", ", ".join(r.one_of)),
            ("quand", r.when.text if r.when else "toujours"),
            ("signatures", "toutes les entités couvertes" if r.signed_by_all_covered else "non vérifiées"))))
    for tranche in policy.payments.tranches:
        share = "le reste" if tranche.share is None else french.percent(tranche.share)
        add(Rule(f"payments.tranches.{tranche.id}", TRANCHE, tranche.label,
                 (("part", share), ("condition", tranche.condition))))
    for indicator in policy.reporting.indicators:
        add(Rule(f"reporting.indicators.{indicator.id}", INDICATOR, indicator.label,
                 (("quand", indicator.when.text if indicator.when else "toujours"),)))
    add(Rule("reporting.frequency", SETTING, "Fréquence des indicateurs", (("fréquence", policy.reporting.frequency),)))
    for note in interpretations(policy):
        add(Rule(f"{note.path}.interpretation", NOTE, note.label, (("texte", note.text),)))
    return {rule.path: rule for rule in found}




def _check(path: str, check: Check, policy: Policy) -> Rule:
    if check.on_absent is None:
        absent = "non prévu"
    elif check.on_absent == "pass":
        absent = "sans objet"
    else:
        absent = policy.statuses.named(check.on_absent).lower()
    return Rule(path, CRITERION, check.label, (
        ("s'il n'est pas rempli", policy.statuses.named(check.on_fail).lower()), ("test", check.test.text),
        ("si l'information manque", absent)))


def compare(old: Policy, new: Policy) -> list[Change]:
    """The changes from ``old`` to ``new``, in the order of the policy."""
    before, after = rules(old), rules(new)
    changes = list(_header(old, new))
    for path, rule in after.items():
        previous = before.get(path)
        if previous is None:
            text = f"{rule.kind.added(rule.label)}{_summary(rule)}" if rule.kind is not NOTE else \
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


def _summary(rule: Rule) -> str:
    if rule.kind is BONUS:
        return f" ({rule.fields[0][1]})"
    if rule.kind in (PARAMETER, CATEGORY, EXPENSE, TIER):
        return f" : {rule.fields[0][1]}"
    return ""


def _changed(rule: Rule, name: str, old: str, new: str) -> str:
    if rule.kind is PARAMETER or (rule.kind is SETTING and len(rule.fields) == 1):
        return f"{rule.label} : {old} → {new}"
    if rule.kind is NOTE:
        return f"Lecture retenue modifiée : {rule.label}"
    if rule.kind is CATEGORY:
        return f"Catégorie {rule.label} : {old} → {new}"
    return f"{_capital(rule.kind.named(rule.label))}, {name} : {old} → {new}"


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
