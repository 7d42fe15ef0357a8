"""A policy version as a document staff check against the cahier des charges.

The document is built once as a list of blocks (headings, paragraphs, tables, lists) from the
policy model, every rule with its clause; Markdown and HTML are two ways of writing it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from evaluator.core import french
from evaluator.core.findings import Status
from evaluator.core.policy import Bonus, Check, Policy

Block = tuple[str, object]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]




def build(policy: Policy) -> list[Block]:
    """The document of ``policy``, as blocks: ``("h1"|"h2"|"h3", text)``, ``("p", text)``,
    ``("ul", [texts])``, ``("table", Table)``."""
    doc: list[Block] = []
    status = "publiée" if policy.status == "published" else "brouillon"
    doc.append(("h1", f"{policy.title} — version {policy.version}"))
    doc.append(("p", f"Version {policy.version} ({status}), applicable aux demandes déposées à partir du "
                     f"{french.day(policy.effective_from)}. Elle transcrit « {policy.source.title} », version "
                     f"{policy.source.version} du {french.day(policy.source.date)}. Empreinte sha256 : "
                     f"{policy.sha256}."))
    window = policy.window
    doc += _section("Période de dépôt", window.clause, window.interpretation, [
        ("p", f"{window.label} : du {french.day(window.opens_on)} au {french.day(window.closes_on)} inclus. "
              f"Hors de cette période : {_status(policy, window.on_outside)}."),
    ])
    doc += _section("Statut d'un dossier", policy.statuses.clause, policy.statuses.interpretation, [
        ("p", "Du plus défavorable au plus favorable : " + ", ".join(s.label.lower() for s in policy.statuses.order)
              + "."),
    ])
    doc += _beneficiaries(policy)
    doc += _expenses(policy)
    mutualisation = policy.mutualisation
    doc += _section("Mutualisation", mutualisation.clause, mutualisation.interpretation, [
        ("p", f"{mutualisation.label} quand : `{mutualisation.mutualised_when.text}`."),
        *_checks(mutualisation.checks, policy),
    ])
    doc += _rates(policy)
    doc += _section("Souveraineté de la solution", policy.sovereignty.clause, policy.sovereignty.interpretation,
                    _checks(policy.sovereignty.checks, policy))
    doc += _section("Conditions réglementaires", policy.conditions.clause, policy.conditions.interpretation,
                    _checks(policy.conditions.checks, policy))
    doc += _documents(policy)
    payments = policy.payments
    doc += _section("Versements", payments.clause, payments.interpretation, [("table", Table(
        ("Versement", "Montant", "Condition", "Clause"),
        tuple((t.label, "le reste de la subvention" if t.share is None else f"{french.percent(t.share)} de la "
               "subvention", t.condition, t.clause) for t in payments.tranches),
    ))])
    reporting = policy.reporting
    doc += _section("Indicateurs d'impact", reporting.clause, reporting.interpretation, [
        ("p", f"À transmettre {reporting.frequency}."),
        ("table", Table(("Indicateur", "Quand", "Clause"), tuple(
            (i.label, f"`{i.when.text}`" if i.when else "toujours", i.clause) for i in reporting.indicators))),
    ])
    rounding = policy.rounding
    doc += _section("Arrondi", rounding.clause, rounding.interpretation, [
        ("p", f"{rounding.label} : {french.ROUNDING_WORDS[rounding.mode]} (pas de {french.euros(rounding.quantum)})."),
    ])
    doc += _extensions(policy)
    doc += _parameters(policy)
    doc += _interpretations(policy)
    return doc


def _extensions(policy: Policy) -> list[Block]:
    """The sections the bundled schema does not know, each kind a table of its rules as it tells
    them."""
    blocks: list[Block] = []
    for section in policy.sections:
        if section.name not in policy.extensions:
            continue
        for kind in section.kinds:
            rules = [(rule, kind.describe(rule, policy)) for rule in kind.rules(policy)]
            if rules:
                names = tuple(name.capitalize() for name, _ in rules[0][1])
                blocks += [("h2", kind.noun.noun.capitalize()), ("table", Table(
                    ("Règle", *names, "Clause"),
                    tuple((rule.label, *(value for _, value in told), rule.clause) for rule, told in rules)))]
    return blocks


def _section(title: str, clause: str, interpretation: str | None, blocks: Sequence[Block]) -> list[Block]:
    section: list[Block] = [("h2", title), ("p", f"Clause : {clause}.")]
    section += list(blocks)
    if interpretation:
        section.append(("p", f"Lecture retenue : {interpretation}"))
    return section


def _beneficiaries(policy: Policy) -> list[Block]:
    b = policy.beneficiaries
    rows = []
    for category in b.categories.values():
        cases = "".join(f"si `{c.when.text}` : {french.OUTCOMES[c.outcome]} ; " for c in category.cases)
        default = french.OUTCOMES[category.outcome]
        outcome = f"{cases}sinon : {default}" if cases else default.capitalize()
        rows.append((f"`{category.id}`", category.label, outcome, category.reason or "", category.clause))
    unknown = b.unknown_category
    return _section("Bénéficiaires", b.clause, b.interpretation, [
        ("table", Table(("Catégorie", "Libellé", "Issue", "Motif", "Clause"), tuple(rows))),
        ("p", f"Toute autre catégorie : {french.OUTCOMES[unknown.outcome]} ({unknown.clause})."
              + (f" {unknown.interpretation}" if unknown.interpretation else "")),
    ])


def _expenses(policy: Policy) -> list[Block]:
    e = policy.expenses
    period, cap = e.funded_period, e.eligible_deployment
    return _section("Dépenses", e.clause, e.interpretation, [
        ("table", Table(("Nature", "Libellé", "Groupe", "Motif d'exclusion", "Clause"), tuple(
            (f"`{k.id}`", k.label, french.GROUPS[k.group].capitalize(), k.reason or "", k.clause)
            for k in e.kinds.values()))),
        ("p", f"{period.label} : {period.months} mois ; une ligne du groupe « {french.GROUPS[period.applies_to]} » "
              f"couvrant plus longtemps est ramenée à cette durée ({period.clause})."),
        ("p", f"{cap.label} : déploiement éligible = `{cap.expression.text}` ({cap.clause})."),
        *_checks(e.checks, policy),
    ])


def _rates(policy: Policy) -> list[Block]:
    rate = policy.rate
    blocks: list[Block] = [
        ("h3", "Taux de base"),
        ("table", Table(("Palier", "Condition", "Taux", "Clause"), tuple(
            (t.label, f"`{t.when.text}`" if t.when else "dans les autres cas", french.percent(t.rate), t.clause)
            for t in rate.tiers))),
        ("h3", "Bonifications"),
        ("table", Table(("Bonification", "Condition", "Valeur", "Justificatif", "Clause"), tuple(
            (b.label, f"`{b.when.text}`", f"+{french.percent(b.value)}", _evidence(b), b.clause)
            for b in rate.bonuses))),
        ("p", f"{rate.ceiling.label} : {french.percent(rate.ceiling.value)} ({rate.ceiling.clause})."),
        ("h3", "Tableau des taux"),
        ("p", "Chaque combinaison d'un palier de base et des bonifications accordées (équivalent de l'Annexe 3)."),
        ("table", rate_table(policy)),
    ]
    return _section("Niveau de financement", rate.clause, rate.interpretation, blocks)


def rate_table(policy: Policy) -> Table:
    """Every combination of a base tier and of bonuses granted, with the resulting rate."""
    rate = policy.rate
    rows = []
    for tier in rate.tiers:
        for count in range(len(rate.bonuses) + 1):
            for granted in combinations(rate.bonuses, count):
                total = tier.rate + sum((b.value for b in granted), Decimal(0))
                final = min(total, rate.ceiling.value)
                capped = f" (plafonné, {french.percent(total)} sans plafond)" if final < total else ""
                rows.append((tier.label, *("oui" if b in granted else "non" for b in rate.bonuses),
                             french.percent(final) + capped))
    return Table(("Palier de base", *(b.label for b in rate.bonuses), "Taux"), tuple(rows))


def _evidence(bonus: Bonus) -> str:
    if bonus.evidence is None:
        return "aucun"
    return f"{bonus.evidence.label} : l'une des pièces " + ", ".join(f"`{k}`" for k in bonus.evidence.one_of)


def _checks(checks: Iterable[Check], policy: Policy) -> list[Block]:
    def absent(check: Check) -> str:
        if check.on_absent is None:
            return ""
        return "sans objet" if check.on_absent == "pass" else _status(policy, check.on_absent)

    rows = tuple((c.label, f"`{c.test.text}`", _status(policy, c.on_fail), absent(c), c.clause) for c in checks)
    if not rows:
        return []
    return [("table", Table(("Critère", "Test", "S'il n'est pas rempli", "Si l'information manque", "Clause"), rows))]


def _status(policy: Policy, status: Status) -> str:
    return policy.statuses.named(status).lower()


def _documents(policy: Policy) -> list[Block]:
    d = policy.documents
    rows = tuple(
        (r.label, ", ".join(f"{d.kinds[k].label} (`{k}`)" for k in r.one_of),
         (f"si `{r.when.text}`" if r.when else "toujours") + (" ; signée par toutes les entités couvertes"
                                                              if r.signed_by_all_covered else ""),
         _status(policy, r.on_missing), r.clause)
        for r in d.requirements
    )
    return _section("Pièces du dossier", d.clause, d.interpretation, [
        ("table", Table(("Pièce exigée", "Pièces acceptées (l'une)", "Quand", "Si elle manque", "Clause"), rows)),
        ("p", "Natures de pièces reconnues : " + ", ".join(f"{k.label} (`{k.id}`)" for k in d.kinds.values()) + "."),
    ])


def _parameters(policy: Policy) -> list[Block]:
    return [
        ("h2", "Paramètres et listes"),
        ("table", Table(("Nom", "Libellé", "Valeur", "Clause"), tuple(
            (f"`{p.id}`", p.label, french.quantity(p.value, p.unit), p.clause) for p in policy.parameters.values()))),
        ("table", Table(("Nom", "Libellé", "Valeurs", "Clause"), tuple(
            (f"`{item.id}`", item.label, ", ".join(item.values), item.clause) for item in policy.lists.values()))),
    ]


def _interpretations(policy: Policy) -> list[Block]:
    notes = [f"{note.label} ({note.clause}) : {note.text}" for note in interpretations(policy)]
    return [("h2", "Notes d'interprétation"), ("ul", notes)] if notes else []


@dataclass(frozen=True)
class Note:
    """An interpretation note: the path of its rule in the policy, the rule's label and clause."""

    path: str
    label: str
    clause: str
    text: str


def interpretations(policy: Policy) -> list[Note]:
    """Every interpretation note of the policy, in the order of the file."""
    found: list[Note] = []

    def note(path: str, label: str, clause: str, text: str | None) -> None:
        if text:
            found.append(Note(path, label, clause, text))

    note("window", "Période de dépôt", policy.window.clause, policy.window.interpretation)
    note("statuses", "Statut d'un dossier", policy.statuses.clause, policy.statuses.interpretation)
    note("rounding", "Arrondi", policy.rounding.clause, policy.rounding.interpretation)
    for p in policy.parameters.values():
        note(f"parameters.{p.id}", p.label, p.clause, p.interpretation)
    for named in policy.lists.values():
        note(f"lists.{named.id}", named.label, named.clause, named.interpretation)
    b = policy.beneficiaries
    note("beneficiaries", "Bénéficiaires", b.clause, b.interpretation)
    note("beneficiaries.unknown_category", "Catégorie non listée", b.unknown_category.clause,
         b.unknown_category.interpretation)
    for category in b.categories.values():
        note(f"beneficiaries.categories.{category.id}", category.label, category.clause, category.interpretation)
    e = policy.expenses
    note("expenses", "Dépenses", e.clause, e.interpretation)
    for kind in e.kinds.values():
        note(f"expenses.kinds.{kind.id}", kind.label, kind.clause, kind.interpretation)
    for key, item in (("funded_period", e.funded_period), ("eligible_deployment", e.eligible_deployment)):
        note(f"expenses.{key}", item.label, item.clause, item.interpretation)
    m = policy.mutualisation
    note("mutualisation", m.label, m.clause, m.interpretation)
    r = policy.rate
    note("rate", "Niveau de financement", r.clause, r.interpretation)
    for tier in r.tiers:
        note(f"rate.base.{tier.id}", tier.label, tier.clause, tier.interpretation)
    for bonus in r.bonuses:
        note(f"rate.bonuses.{bonus.id}", bonus.label, bonus.clause, bonus.interpretation)
        if bonus.evidence:
            note(f"rate.bonuses.{bonus.id}.evidence", bonus.evidence.label, bonus.evidence.clause,
                 bonus.evidence.interpretation)
    note("rate.ceiling", r.ceiling.label, r.ceiling.clause, r.ceiling.interpretation)
    note("sovereignty", "Souveraineté", policy.sovereignty.clause, policy.sovereignty.interpretation)
    note("conditions", "Conditions", policy.conditions.clause, policy.conditions.interpretation)
    for prefix, checks in (("expenses.checks", e.checks), ("mutualisation.checks", m.checks),
                           ("sovereignty.criteria", policy.sovereignty.checks),
                           ("conditions.checks", policy.conditions.checks)):
        for check in checks:
            note(f"{prefix}.{check.id}", check.label, check.clause, check.interpretation)
    d = policy.documents
    note("documents", "Pièces du dossier", d.clause, d.interpretation)
    for requirement in d.requirements:
        note(f"documents.requirements.{requirement.id}", requirement.label, requirement.clause,
             requirement.interpretation)
    note("payments", "Versements", policy.payments.clause, policy.payments.interpretation)
    for tranche in policy.payments.tranches:
        note(f"payments.tranches.{tranche.id}", tranche.label, tranche.clause, tranche.interpretation)
    note("reporting", "Indicateurs", policy.reporting.clause, policy.reporting.interpretation)
    for indicator in policy.reporting.indicators:
        note(f"reporting.indicators.{indicator.id}", indicator.label, indicator.clause, indicator.interpretation)
    return found


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {content}\n")
        elif kind == "p":
            out.append(f"{content}\n")
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in _strings(content)) + "\n")
        elif isinstance(content, Table):
            out.append(_markdown_table(content))
    return "\n".join(out)


def _markdown_table(table: Table) -> str:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"

    lines = [row(table.header), "|" + "---|" * len(table.header), *(row(r) for r in table.rows)]
    return "\n".join(lines) + "\n"


def to_html(blocks: Sequence[Block], title: str) -> str:
    body: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3", "p"):
            body.append(f"<{kind}>{_inline(str(content))}</{kind}>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in _strings(content)) + "</ul>")
        elif isinstance(content, Table):
            head = "".join(f"<th>{_inline(cell)}</th>" for cell in content.header)
            rows = "".join("<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>"
                           for row in content.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _inline(text: str) -> str:
    """Escape a text, and render `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def _strings(content: object) -> list[str]:
    return [str(item) for item in content] if isinstance(content, list) else []


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
    "table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#f0f3f8}code{background:#f4f4f4;padding:0 .2rem}"
)
