"""Impact of an amendment on a portfolio: every application decided under two versions, and what
changes — status, grant, and the rules whose outcome changes — with totals by status, by category
of the applicant and by rule, and the programme's credits before and after, for staff to weigh
before amending a programme funded « dans la limite des crédits disponibles ».

A portfolio is read as a stream (``guichet impact``: ``Report``, fed by the batch's workers with
one small record a line, ``Compared``): memory stays bounded whatever its size, the changed
applications listed up to a limit and the rest counted. The workbench, which holds a small
portfolio in memory with its decisions, uses ``assess``.

A rule's outcome changes when, for one of the entities it is applied to, the outcome or the branch
it takes differs (a rule only one version applies changes nothing when it only informs), or the
branch's words (a bonus « accordée (+10 %) », then « (+5 %) »), or when the amendment changes the
rule and its message differs. When no rule changes so, the rules that read a parameter or a list
the amendment changes and whose message differs, and those that only inform under one version,
are taken (a cap of 50 000 €, then 40 000 €, that caps the grant either way; a cap that no longer
caps)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

from evaluator.core import french
from evaluator.core.application import build_application, without_fields
from evaluator.core.decision import Decision, money_text, rate_text
from evaluator.core.engine import evaluate
from evaluator.core.facts import Level
from evaluator.core.findings import Applied, Status
from evaluator.core.kinds.registry import kinds_of
from evaluator.core.policy import Policy
from evaluator.reading.parse import Document, json_line_document
from evaluator.reading.problems import LIMIT, InputError, Refusals, Refused, visible
from evaluator.versions.budget import Commitment, Ledger
from evaluator.versions.diff import compare

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

ZERO = Decimal(0)
UNDECLARED = "Catégorie qu'aucune des deux versions ne déclare"

Change = Literal["unchanged", "status", "grant_up", "grant_down"]
CHANGES: Mapping[Change, str] = {"unchanged": "inchangée", "status": "statut modifié",
                                 "grant_up": "subvention en hausse", "grant_down": "subvention en baisse"}
"""How an application's decision changes (its status first, else its grant), and in words."""


class Side(NamedTuple):
    """What a decision gives, on one side of the comparison."""

    status: Status
    grant: Decimal
    rate: Decimal


class RuleChange(NamedTuple):
    """A rule whose outcome changes: its path, and the branch it takes under each version (``None``:
    not applied)."""

    rule: str
    before: str | None
    after: str | None


class Compared(NamedTuple):
    """One application decided under both versions: the small record a worker sends back."""

    line: int
    reference: str | None
    category: str
    submitted_on: date
    before: Side
    after: Side
    rules: tuple[RuleChange, ...] = ()
    """The rules whose outcome changes, in evaluation order (worked out for a changed decision only)."""

    @property
    def change(self) -> Change:
        before, after = self.before, self.after
        if before.status != after.status:
            return "status"
        if after.grant > before.grant:
            return "grant_up"
        if after.grant < before.grant:
            return "grant_down"
        return "unchanged"


@dataclass(frozen=True)
class Amendment:
    """Two versions to compare, and what comparing decisions needs of them, worked out once (before
    the workers fork): each rule's label and its branches', and what the amendment changes."""

    old: Policy
    new: Policy
    labels: Mapping[str, str]
    """The label of every rule either version declares, in evaluation order (the new version's)."""
    branches: tuple[Mapping[tuple[str, str], str], Mapping[tuple[str, str], str]]
    """The label of each branch of these rules, in the old version and in the new."""
    amended: frozenset[str]
    """The rules the amendment adds, removes or changes."""
    facts: frozenset[str]
    """The parameters and lists it adds, removes or changes."""
    categories: Mapping[str, str]
    """The label of each category of beneficiaries either version declares (the new version's)."""
    added: frozenset[tuple[Level, str]]
    """The fields (level, key) the new version declares and the old does not: the old version
    decides an application without them, as it did before the amendment."""

    @classmethod
    def between(cls, old: Policy, new: Policy) -> Amendment:
        labels: dict[str, str] = {}
        branches: dict[str, dict[tuple[str, str], str]] = {old.version: {}, new.version: {}}
        for policy in (new, old):
            for kind in kinds_of(policy):
                for rule in kind.rules(policy):
                    labels.setdefault(rule.rule, rule.label)
                    branches[policy.version].update(((rule.rule, b.key), b.label) for b in kind.branches(rule, policy))
        paths = frozenset(change.path for change in compare(old, new))
        facts = frozenset(path.split(".", 1)[1] for path in paths if path.startswith(("parameters.", "lists.")))
        categories = {code: category.label for policy in (old, new)
                      for code, category in policy.beneficiaries.categories.items()}
        known = {(item.level, item.key) for item in old.facts.fields}
        added = frozenset((item.level, item.key) for item in new.facts.fields if (item.level, item.key) not in known)
        return cls(old, new, labels, (branches[old.version], branches[new.version]), paths, facts, categories, added)

    def summarise(self, document: Document, line: int) -> tuple[Compared, str]:
        """A line of the portfolio decided under both versions (what a worker does with it), and
        its status under the new one; ``InputError`` when one of them refuses it."""
        before = evaluate(self.old, build_application(without_fields(document, self.added), self.old))
        after = evaluate(self.new, build_application(document, self.new))
        return self.compared(line, before, after), after.status

    def compared(self, line: int, before: Decision, after: Decision) -> Compared:
        record = Compared(line, after.reference, after.application.applicant.category, after.submitted_on,
                          _side(before), _side(after))
        return record if record.change == "unchanged" else record._replace(rules=self.rules_changed(before, after))

    def rules_changed(self, before: Decision, after: Decision) -> tuple[RuleChange, ...]:
        """The rules whose outcome differs from one decision to the other, in evaluation order."""
        old = {(entry.rule, entry.entity): entry for entry in before.trace}
        new = {(entry.rule, entry.entity): entry for entry in after.trace}
        keys = [*old, *(key for key in new if key not in old)]
        order = {rule: index for index, rule in enumerate(self.labels)}
        for loose in (False, True):
            found: dict[str, RuleChange] = {}
            for key in keys:
                rule, was, now = key[0], old.get(key), new.get(key)
                if rule in self.labels and rule not in found and self._differs(was, now, loose):
                    found[rule] = RuleChange(rule, was.branch if was else None, now.branch if now else None)
            if found:
                break
        return tuple(sorted(found.values(), key=lambda change: order[change.rule]))

    def _differs(self, before: Applied | None, after: Applied | None, loose: bool) -> bool:
        """Whether a rule's outcome differs; ``loose``: or its message, when it reads what the
        amendment changes, or it only informs, under one version."""
        if before is None or after is None:
            only = before or after
            return only is not None and (loose or only.outcome != "info")
        if (before.outcome, before.branch) != (after.outcome, after.branch):
            return True
        if self.branch(before.rule, before.branch, 0) != self.branch(after.rule, after.branch, 1):
            return True
        amended = after.rule in self.amended or (loose and not self.facts.isdisjoint(after.inputs))
        return amended and before.text != after.text

    def branch(self, rule: str, key: str | None, side: Literal[0, 1]) -> str:
        """A branch of a rule in words, in the old version (``side`` 0) or the new (1); « non
        appliquée » when the rule was not applied."""
        return "non appliquée" if key is None else self.branches[side].get((rule, key), key)

    def category(self, code: str | None) -> str:
        """A category of beneficiaries in words (``None``: one that neither version declares)."""
        return UNDECLARED if code is None else self.categories.get(code, code)

    def status(self, status: Status) -> str:
        return self.new.statuses.named(status)


def _side(decision: Decision) -> Side:
    return Side(decision.status, decision.amounts.grant_total, decision.final_rate)


class Count(NamedTuple):
    """Applications of one status, and their grants."""

    applications: int
    grant: Decimal


@dataclass
class Sum:
    """Applications counted together, their grants before and after, and how many change."""

    applications: int = 0
    changed: int = 0
    before: Decimal = ZERO
    after: Decimal = ZERO

    def add(self, record: Compared, changed: bool) -> None:
        self.applications += 1
        self.changed += changed
        self.before += record.before.grant
        self.after += record.after.grant

    def to_dict(self) -> dict[str, object]:
        return {"applications": self.applications, "changed": self.changed, "grant_before": money_text(self.before),
                "grant_after": money_text(self.after), "grant_difference": money_text(self.after - self.before)}


@dataclass
class Report:
    """The impact of an amendment, summed up as the portfolio's records come (``add``), in bounded
    memory: the changed applications listed up to ``limit``, the others counted."""

    amendment: Amendment
    limit: int = LIMIT
    changes: Counter[Change] = field(default_factory=Counter)
    transitions: dict[tuple[Status, Status], Sum] = field(default_factory=dict)
    categories: dict[str | None, Sum] = field(default_factory=dict)
    """By category of the applicant: those the versions declare, the others together (``None``:
    a portfolio may name any number of them)."""
    rules: dict[str, Sum] = field(default_factory=dict)
    listed: list[Compared] = field(default_factory=list)
    refusals: Refusals = field(init=False)
    ledgers: tuple[Ledger, Ledger] = field(init=False)

    def __post_init__(self) -> None:
        self.refusals = Refusals(self.limit)
        self.ledgers = (Ledger(self.amendment.old.budget), Ledger(self.amendment.new.budget))

    def add(self, record: Compared | Refused) -> None:
        if isinstance(record, Refused):
            self.refusals.add(record)
            return
        change = record.change
        self.changes[change] += 1
        changed = change != "unchanged"
        _sum(self.transitions, (record.before.status, record.after.status)).add(record, changed)
        category = record.category if record.category in self.amendment.categories else None
        _sum(self.categories, category).add(record, changed)
        if changed:
            for rule in record.rules:
                _sum(self.rules, rule.rule).add(record, True)
            if len(self.listed) < self.limit:
                self.listed.append(record)
        for ledger, side in zip(self.ledgers, (record.before, record.after), strict=True):
            if side.status == "eligible":
                ledger.add(Commitment(record.line, record.reference, record.submitted_on, side.grant))

    @property
    def decided(self) -> int:
        return sum(self.changes.values())

    @property
    def changed(self) -> int:
        return self.decided - self.changes["unchanged"]

    def totals(self) -> tuple[Decimal, Decimal]:
        """The grants of the applications decided, before and after."""
        return (sum((s.before for s in self.transitions.values()), ZERO),
                sum((s.after for s in self.transitions.values()), ZERO))

    def by_status(self) -> list[tuple[Status, Count, Count]]:
        """Each status (in the new version's order), with its applications and grants before and after."""
        found = []
        for definition in self.amendment.new.statuses.order:
            was = [s for (old, _), s in self.transitions.items() if old == definition.id]
            now = [s for (_, new), s in self.transitions.items() if new == definition.id]
            if was or now:
                found.append((definition.id,
                              Count(sum(s.applications for s in was), sum((s.before for s in was), ZERO)),
                              Count(sum(s.applications for s in now), sum((s.after for s in now), ZERO))))
        return found

    def to_dict(self) -> dict[str, object]:
        """The report as data: codes and numbers (amounts and rates as decimal texts, as in a
        decision), the French words only in ``label`` fields."""
        amendment = self.amendment
        before, after = self.totals()
        return {
            "from": amendment.old.version, "to": amendment.new.version,
            "decided": self.decided, "changed": self.changed,
            "changes": {change: self.changes[change] for change in CHANGES},
            "grant_total": {"before": money_text(before), "after": money_text(after),
                            "difference": money_text(after - before)},
            "by_status": [{"status": status, "label": amendment.status(status),
                           "before": {"applications": old.applications, "grant": money_text(old.grant)},
                           "after": {"applications": new.applications, "grant": money_text(new.grant)}}
                          for status, old, new in self.by_status()],
            "transitions": [{"from": old, "to": new, **figures.to_dict()} for (old, new), figures in
                            sorted(self.transitions.items(), key=lambda item: -item[1].applications) if old != new],
            "by_category": [{"category": code, "label": amendment.category(code), **figures.to_dict()}
                            for code, figures in _largest(self.categories)],
            "by_rule": [{"rule": rule, "label": amendment.labels[rule], **figures.to_dict()}
                        for rule, figures in _largest(self.rules)],
            "budget": {"before": self.ledgers[0].to_dict(amendment.old.version),
                       "after": self.ledgers[1].to_dict(amendment.new.version)},
            "listed": [self._record(record) for record in self.listed],
            "not_listed": self.changed - len(self.listed),
            **self.refusals.to_dict(),
        }

    def _record(self, record: Compared) -> dict[str, object]:
        return {"line": record.line, "reference": record.reference, "category": record.category,
                "change": record.change,
                "before": {"status": record.before.status, "rate": rate_text(record.before.rate),
                           "grant": money_text(record.before.grant)},
                "after": {"status": record.after.status, "rate": rate_text(record.after.rate),
                          "grant": money_text(record.after.grant)},
                "rules": [{"rule": change.rule, "label": self.amendment.labels[change.rule],
                           "before": change.before, "after": change.after} for change in record.rules]}

    def text(self) -> str:
        """The report in French, for a person."""
        amendment = self.amendment
        old, new = amendment.old.version, amendment.new.version
        before, after = self.totals()
        lines = [f"Impact du passage de la version {old} à la version {new} : "
                 f"{french.count(self.decided, 'demande décidée', 'demandes décidées')}, "
                 f"{french.count(self.changed, 'dont la décision change', 'dont la décision change')}.",
                 f"Subvention totale : {french.euros(before)} → {french.euros(after)} ({_signed(after - before)})", "",
                 "Nature du changement :"]
        lines.extend(f"  {french.number(self.changes[change]):>10}  {words}" for change, words in CHANGES.items()
                     if self.changes[change])
        lines += ["", f"Par statut (version {old} → version {new}) :"]
        lines.extend(f"  {amendment.status(status).lower()} : {_count(b)} → {_count(a)}"
                     for status, b, a in self.by_status())
        moves = [(key, figures) for key, figures in self.transitions.items() if key[0] != key[1]]
        if moves:
            lines += ["", "Changements de statut :"]
            lines.extend(f"  {amendment.status(b).lower()} → {amendment.status(a).lower()} : "
                         f"{french.count(figures.applications, 'demande', 'demandes')}, "
                         f"{french.euros(figures.before)} → {french.euros(figures.after)}"
                         for (b, a), figures in sorted(moves, key=lambda item: -item[1].applications))
        lines += ["", "Par catégorie du demandeur (subvention avant → après) :"]
        lines.extend(f"  {amendment.category(code)} : {_sum_text(figures, True)}"
                     for code, figures in _largest(self.categories))
        if self.rules:
            lines += ["", "Par règle dont l'issue change (une demande compte pour chacune de ses règles) :"]
            lines.extend(f"  {rule} — {amendment.labels[rule]} : {_sum_text(figures, False)}"
                         for rule, figures in _largest(self.rules))
        lines += ["", "Crédits du programme :"]
        for version, ledger in zip((old, new), self.ledgers, strict=True):
            lines.append(f"  Selon la version {version} — " + ledger.text().rstrip("\n").replace("\n", "\n  "))
        if self.listed:
            lines += ["", f"Demandes dont la décision change ({len(self.listed)} premières sur "
                          f"{french.number(self.changed)}) :" if self.changed > len(self.listed)
                      else "Demandes dont la décision change :"]
            lines.extend(self._line(record) for record in self.listed)
            if self.changed > len(self.listed):
                lines.append(f"  … et {french.number(self.changed - len(self.listed))} autre(s) (--limit pour les "
                             "lister).")
        text = visible("\n".join(lines)) + "\n"
        refused = self.refusals.text()
        return text + ("\n" + refused if refused else "")

    def _line(self, record: Compared) -> str:
        name = f"{record.reference} (ligne {record.line})" if record.reference else f"ligne {record.line}"
        text = f"  - {name} : {self._side(record.before)} → {self._side(record.after)}"
        for change in record.rules:
            text += (f"\n      {change.rule} — {self.amendment.labels[change.rule]} : était « "
                     f"{self.amendment.branch(change.rule, change.before, 0)} », devient « "
                     f"{self.amendment.branch(change.rule, change.after, 1)} »")
        return text

    def _side(self, side: Side) -> str:
        return f"{self.amendment.status(side.status).lower()}, {french.percent(side.rate)}, {french.euros(side.grant)}"

    def workbook(self) -> bytes:
        """The report as an Excel workbook: one sheet a table, amounts as numbers."""
        from openpyxl import Workbook  # openpyxl only when a workbook is written: no cost at start
        from openpyxl.utils import get_column_letter

        book = Workbook(write_only=True)
        for title, header, rows in self._tables():
            sheet = book.create_sheet(title)
            for column in range(1, len(header) + 1):
                sheet.column_dimensions[get_column_letter(column)].width = 40 if column == 1 else 18
            sheet.append(header)
            for row in rows:
                sheet.append([_cell(sheet, value) for value in row])
        data = io.BytesIO()
        book.save(data)
        return data.getvalue()

    def _tables(self) -> Iterator[tuple[str, list[str], Iterable[list[object]]]]:
        amendment = self.amendment
        old, new = amendment.old.version, amendment.new.version
        before, after = self.totals()
        yield ("Synthèse", ["Élément", "Valeur", "Clé"], [
            ["Version de départ", old, "from"], ["Version amendée", new, "to"],
            ["Demandes décidées", self.decided, "decided"],
            ["Demandes dont la décision change", self.changed, "changed"],
            *([f"Nature du changement : {words}", self.changes[change], f"changes.{change}"]
              for change, words in CHANGES.items()),
            [f"Subvention totale, version {old}", before, "grant_total.before"],
            [f"Subvention totale, version {new}", after, "grant_total.after"],
            ["Écart", after - before, "grant_total.difference"],
            ["Lignes refusées", self.refusals.count, "refused"]])
        yield ("Par statut", ["Statut", "Code", "Demandes avant", "Subvention avant", "Demandes après",
                              "Subvention après"],
               ([amendment.status(status), status, b.applications, b.grant, a.applications, a.grant]
                for status, b, a in self.by_status()))
        yield ("Changements de statut", ["Statut avant", "Statut après", "Code avant", "Code après", "Demandes",
                                         "Subvention avant", "Subvention après"],
               ([amendment.status(b), amendment.status(a), b, a, s.applications, s.before, s.after]
                for (b, a), s in self.transitions.items() if b != a))
        yield ("Par catégorie", ["Catégorie du demandeur", "Code", *_SUM_HEADER],
               ([amendment.category(code), code, *_sum_row(s)] for code, s in _largest(self.categories)))
        yield ("Par règle", ["Règle", "Chemin", *_SUM_HEADER],
               ([amendment.labels[rule], rule, *_sum_row(s)] for rule, s in _largest(self.rules)))
        yield ("Crédits", ["Version", "Enveloppe", "Crédits", "Engagés", "Reste", "Demandes éligibles",
                           "Épuisés le", "Par la ligne", "Référence"],
               ([version, e.label, e.credits, e.committed, e.remaining, e.applications,
                 *((e.exhausted[0].submitted_on, e.exhausted[0].line, e.exhausted[0].reference) if e.exhausted
                   else (None, None, None))]
                for version, ledger in zip((old, new), self.ledgers, strict=True) for e in ledger.envelopes()))
        yield ("Demandes qui changent", ["Ligne", "Référence", "Catégorie", "Changement", "Statut avant", "Taux avant",
                                         "Subvention avant", "Statut après", "Taux après", "Subvention après",
                                         "Règles dont l'issue change"],
               ([r.line, r.reference, r.category, CHANGES[r.change], amendment.status(r.before.status),
                 Rate(r.before.rate), r.before.grant, amendment.status(r.after.status), Rate(r.after.rate),
                 r.after.grant,
                 " ; ".join(f"{c.rule} ({amendment.labels[c.rule]})" for c in r.rules)] for r in self.listed))
        yield ("Lignes refusées", ["Ligne", "Problème"],
               ([r.line, r.problems[0].render()] for r in self.refusals.first))


_SUM_HEADER = ["Demandes", "Dont changées", "Subvention avant", "Subvention après", "Écart"]
K = TypeVar("K")


class Rate(NamedTuple):
    """A rate, in a workbook's cell (shown as a percentage)."""

    value: Decimal


def _cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    """A value in a cell: an amount in euros, a rate as a percentage (each written as the decimal
    it is), a date as a date, the rest as it is."""
    if isinstance(value, Rate):
        value, style = value.value, "0.00 %"
    elif isinstance(value, Decimal):
        style = '#,##0.00 "€"'
    elif isinstance(value, date):
        style = "DD/MM/YYYY"
    else:
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet)
    cell.value, cell.number_format = value, style
    return cell


def _sum_row(figures: Sum) -> list[object]:
    return [figures.applications, figures.changed, figures.before, figures.after, figures.after - figures.before]


def _sum(found: dict[K, Sum], key: K) -> Sum:
    figures = found.get(key)
    if figures is None:
        figures = found[key] = Sum()
    return figures


def _largest(found: dict[K, Sum]) -> list[tuple[K, Sum]]:
    return sorted(found.items(), key=lambda item: (-item[1].applications, str(item[0])))


def _count(count: Count) -> str:
    return f"{french.count(count.applications, 'demande', 'demandes')}, {french.euros(count.grant)}"


def _sum_text(figures: Sum, changed: bool) -> str:
    """Applications counted together (``changed``: with those that change) and their grants."""
    before, after = figures.before, figures.after
    count = french.count(figures.applications, "demande", "demandes")
    if changed:
        count += f", dont {french.count(figures.changed, 'changée', 'changées')}"
    return f"{count} ; {french.euros(before)} → {french.euros(after)} ({_signed(after - before)})"


def _signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "") + french.euros(amount)


# -- a small portfolio in memory (the workbench) --------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One application of the portfolio: its line, reference and both decisions (``None`` for a line
    that is not a valid application, whose problems are given), and their comparison."""

    line: int
    reference: str | None
    before: Decision | None
    after: Decision | None
    problems: tuple[str, ...] = ()
    compared: Compared | None = None


@dataclass(frozen=True)
class Impact:
    """A portfolio held in memory, decided under two versions: its outcomes, and its report (all
    the changed applications listed)."""

    old_version: str
    new_version: str
    outcomes: tuple[Outcome, ...]
    report: Report

    def invalid(self) -> list[Outcome]:
        """The lines that are not valid applications, left out of the counts and totals."""
        return [o for o in self.outcomes if o.problems]

    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.compared is not None and o.compared.change != "unchanged"]

    def counts(self) -> Counter[str]:
        """The applications by change, in words (a change of status with both statuses)."""
        status = self.report.amendment.status
        counts: Counter[str] = Counter()
        for outcome in self.outcomes:
            compared = outcome.compared
            if compared is None:
                counts["invalide"] += 1
            elif compared.change == "status":
                before, after = (status(side.status).lower() for side in (compared.before, compared.after))
                counts[f"statut {before} → {after}"] += 1
            else:
                counts[CHANGES[compared.change]] += 1
        return counts

    def to_dict(self) -> dict[str, object]:
        return self.report.to_dict()


def assess(old: Policy, new: Policy, lines: Iterable[tuple[int, str]], source: str) -> Impact:
    """Decide each application of a JSON Lines portfolio under ``old`` and under ``new``."""
    amendment = Amendment.between(old, new)
    numbered = list(lines)
    report = Report(amendment, limit=len(numbered))
    outcomes = []
    for number, line in numbered:
        try:
            document = json_line_document(line, source, number)
            before = evaluate(old, build_application(without_fields(document, amendment.added), old))
            after = evaluate(new, build_application(document, new))
        except InputError as error:
            report.add(Refused(number, tuple(error.problems)))
            outcomes.append(Outcome(number, None, None, None, tuple(p.render() for p in error.problems)))
            continue
        record = amendment.compared(number, before, after)
        report.add(record)
        outcomes.append(Outcome(number, before.reference, before, after, compared=record))
    return Impact(old.version, new.version, tuple(outcomes), report)
