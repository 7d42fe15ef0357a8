"""A policy version as a document staff check against the cahier des charges.

The document is built once as a list of blocks (headings, paragraphs, tables, lists) from the
policy model, every rule with its clause; Markdown and HTML are two ways of writing it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from evaluator.core import french
from evaluator.core.expressions import PRECISION
from evaluator.core.facts import AGGREGATE_DOMAINS, Aggregate
from evaluator.core.kinds.base import Kind, code
from evaluator.core.policy import Policy
from evaluator.core.wording import Written, written

Block = tuple[str, object]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]




ARITHMETIC = (
    "Les conditions et formules calculent en décimal exact ; un nombre suivi de « % » est un pourcentage (`40 %` "
    f"vaut 0,40) ; une division est arrondie à {PRECISION} chiffres significatifs (au plus proche, au pair) et vaut 0 "
    "quand son diviseur est nul pour une demande (un diviseur nul pour toute demande est refusé au chargement)."
)
"""How the expressions of every version compute, as the document says it."""


def build(policy: Policy) -> list[Block]:
    """The document of ``policy``, as blocks: ``("h1"|"h2"|"h3", text)``, ``("p", text)``,
    ``("ul", [texts])``, ``("table", Table)``. Each section of the policy, in evaluation order, gives
    a table per kind of rule: each rule as its kind tells it (``kinds``), its possible outcomes and
    its clause."""
    doc: list[Block] = []
    status = "publiée" if policy.status == "published" else "brouillon"
    doc.append(("h1", f"{policy.title} — version {policy.version}"))
    if policy.status == "draft":
        doc.append(("draft", f"Brouillon : la version {policy.version} n'est pas publiée ; elle ne décide aucune "
                             "demande tant qu'elle ne l'est pas, et peut encore changer."))
    doc.append(("p", f"Version {policy.version} ({status}), applicable aux demandes déposées à partir du "
                     f"{french.day(policy.effective_from)}. Elle transcrit « {policy.source.title} », version "
                     f"{policy.source.version} du {french.day(policy.source.date)}. Empreinte sha256 : "
                     f"{policy.sha256}."))
    doc += _facts(policy)
    for section in policy.sections:
        about = section.about(policy)
        blocks = [block for kind in section.kinds for block in _rules(kind, policy)]
        if section.name == "rate":
            blocks += [("h3", "Tableau des taux"),
                       ("p", "Chaque combinaison d'un palier de base et des bonifications accordées (équivalent de "
                             "l'Annexe 3)."),
                       ("table", rate_table(policy))]
        if section.name == "documents":
            blocks.append(("p", "Natures de pièces reconnues : "
                                + ", ".join(f"{k.label} (`{k.id}`)" for k in policy.documents.kinds.values()) + "."))
        doc += _section(section.title, about.clause, getattr(about, "interpretation", None), blocks)
    rounding = policy.rounding
    doc += _section("Arrondi", rounding.clause, rounding.interpretation, [
        ("p", f"{rounding.label} : {french.ROUNDING_WORDS[rounding.mode]} (pas de {french.euros(rounding.quantum)})."),
        ("p", ARITHMETIC),
    ])
    doc += _parameters(policy)
    doc += _interpretations(policy)
    return doc


def _section(title: str, clause: str, interpretation: str | None, blocks: Sequence[Block]) -> list[Block]:
    section: list[Block] = [("h2", title), ("p", f"Clause : {clause}.")]
    section += list(blocks)
    if interpretation:
        section.append(("p", f"Lecture retenue : {interpretation}"))
    return section


def _rules(kind: Kind, policy: Policy) -> list[Block]:
    """The rules of one kind as a table: each as its kind tells it, its outcomes and its clause."""
    rules = [(rule, kind.describe(rule, policy)) for rule in kind.rules(policy)]
    if not rules:
        return []
    names = tuple(name[0].upper() + name[1:] for name, _ in rules[0][1])
    noun = kind.noun.noun
    return [("table", Table(
        (noun[0].upper() + noun[1:], *names, "Issues possibles", "Clause"),
        tuple((rule.label, *(value for _, value in told),
               " ; ".join(branch.label for branch in kind.branches(rule, policy)), rule.clause)
              for rule, told in rules)))]


def _facts(policy: Policy) -> list[Block]:
    facts = policy.facts
    where = {"application": "la demande", "solution": "la solution", "entity": "chaque entité",
             "expense": "chaque ligne de dépenses", "document": "chaque pièce"}
    blocks: list[Block] = [("table", Table(("Information", "Clé", "Où", "Type", "Si elle manque"), tuple(
        (field.label, f"`{field.key}`", where[field.level],
         french.FIELD_TYPES[field.type] + (f" : {', '.join(field.values)}" if field.values else ""),
         "non renseignée" if field.optional else "obligatoire" if field.required
         else f"{french.quantity(field.default, field.unit)}")
        for field in facts.fields)))]
    if facts.aggregates:
        blocks.append(("table", Table(("Fait calculé", "Nom", "Sur", "Calcul"), tuple(
            (aggregate.label, f"`{aggregate.name}`", AGGREGATE_DOMAINS[aggregate.over][2],
             calculation(aggregate)) for aggregate in facts.aggregates))))
    return _section("Informations de la demande", facts.clause, facts.interpretation, blocks)


def calculation(aggregate: Aggregate) -> str:
    """How an aggregate is computed, its expressions in words: « plus grand de … si … »."""
    operation = french.OPERATIONS[aggregate.operation]
    told = [(joint, code(expression, "")) for joint, expression in ((" de ", aggregate.of), (" si ", aggregate.where))
            if expression is not None]
    return Written(operation + "".join(joint + text for joint, text in told),
                   operation + "".join(joint + written(text) for joint, text in told))


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
    """Every interpretation note of the policy: of its settings, then of each section and of each of
    its rules (and of a rule's evidence), in evaluation order."""
    found: dict[str, Note] = {}

    def note(path: str, label: str, clause: str, text: str | None) -> None:
        if text and path not in found:
            found[path] = Note(path, label, clause, text)

    note("rounding", "Arrondi", policy.rounding.clause, policy.rounding.interpretation)
    note("facts", "Informations de la demande", policy.facts.clause, policy.facts.interpretation)
    for p in policy.parameters.values():
        note(f"parameters.{p.id}", p.label, p.clause, p.interpretation)
    for named in policy.lists.values():
        note(f"lists.{named.id}", named.label, named.clause, named.interpretation)
    for section in policy.sections:
        about = section.about(policy)
        note(section.name, section.title, about.clause, getattr(about, "interpretation", None))
        for kind in section.kinds:
            for rule in kind.rules(policy):
                if rule is not about:
                    note(rule.rule, rule.label, rule.clause, getattr(rule, "interpretation", None))
                evidence = getattr(rule, "evidence", None)
                if evidence is not None:
                    note(f"{rule.rule}.evidence", evidence.label, evidence.clause, evidence.interpretation)
    return list(found.values())


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for kind, content in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {content}\n")
        elif kind == "p":
            out.append(f"{content}\n")
        elif kind == "draft":
            out.append(f"> **{content}**\n")
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


@dataclass(frozen=True)
class Page:
    """A document as HTML: its title, its body, its table of contents (anchor, title of each
    section), and whether it is a draft's."""

    title: str
    body: str
    contents: tuple[tuple[str, str], ...]
    draft: bool


def html_page(blocks: Sequence[Block]) -> Page:
    """The blocks as HTML, each section (``h2``) with an anchor to link to."""
    body: list[str] = []
    contents: list[tuple[str, str]] = []
    draft = False
    title = ""
    for kind, content in blocks:
        if kind == "h2":
            anchor = _anchor(str(content), {a for a, _ in contents})
            contents.append((anchor, str(content)))
            body.append(f'<h2 id="{anchor}">{inline_html(str(content))}</h2>')
        elif kind == "h1" and not title:
            title = inline_html(str(content))
        elif kind in ("h1", "h3", "p"):
            body.append(f"<{kind}>{inline_html(str(content))}</{kind}>")
        elif kind == "draft":
            draft = True
            body.append(f'<p class="draft-banner" role="note"><strong>{inline_html(str(content))}</strong></p>')
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in _strings(content)) + "</ul>")
        elif isinstance(content, Table):
            head = "".join(f'<th scope="col">{inline_html(cell)}</th>' for cell in content.header)
            rows = "".join(f'<tr><th scope="row">{inline_html(row[0])}</th>'
                           + "".join(f"<td>{inline_html(cell)}</td>" for cell in row[1:]) + "</tr>"
                           for row in content.rows if row)
            body.append(f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
    return Page(title, "\n".join(body), tuple(contents), draft)


def contents_html(page: Page) -> str:
    """The table of contents of a page, as a navigation list."""
    if not page.contents:
        return ""
    items = "".join(f'<li><a href="#{anchor}">{inline_html(title)}</a></li>' for anchor, title in page.contents)
    return f'<nav class="contents" aria-label="Sommaire"><h2 class="contents-title">Sommaire</h2><ol>{items}</ol></nav>'


def to_html(blocks: Sequence[Block], title: str) -> str:
    """A standalone page (no external resource), printable on A4; a draft's is watermarked."""
    page = html_page(blocks)
    draft = ' class="draft"' if page.draft else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{DOCUMENT_CSS}</style>\n</head>\n"
        f"<body{draft}>\n<main>\n<h1>{page.title}</h1>\n{contents_html(page)}\n{page.body}\n"
        "</main>\n</body>\n</html>\n"
    )


def _anchor(title: str, taken: set[str]) -> str:
    """A readable anchor for a title, unique in its page: « Niveau de financement » → niveau-de-financement."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    anchor = "-".join(re.findall(r"[a-z0-9]+", plain)) or "section"
    found, number = anchor, 2
    while found in taken:
        found, number = f"{anchor}-{number}", number + 1
    return found


def inline_html(text: str) -> str:
    """Escape a text (quotes included), render `code` spans, and keep amounts, rates and dates on
    one line."""
    parts = french.unbreakable(html.escape(text)).split("`")
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def _strings(content: object) -> list[str]:
    return [str(item) for item in content] if isinstance(content, list) else []


DOCUMENT_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;"
    "line-height:1.45}"
    ".table{overflow-x:auto}table{border-collapse:collapse;margin:1rem 0;width:100%}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f0f3f8}code{background:#f4f4f4;padding:0 .2rem;overflow-wrap:anywhere}"
    "a{color:#000091}.contents ol{columns:2}.contents-title{font-size:1.1rem}"
    ".draft-banner{background:#fff4d6;border-left:6px solid #b34000;padding:.6rem 1rem}"
    "body.draft main{background-image:url(\"data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' "
    "width='420' height='300'><text x='40' y='200' transform='rotate(-30 210 150)' font-size='64' "
    "font-family='sans-serif' fill='%23b34000' fill-opacity='0.09'>BROUILLON</text></svg>\")}"
    "@page{size:A4;margin:18mm 15mm}"
    "@media print{body{max-width:none;margin:0;font-size:10pt}.contents,.no-print{display:none}"
    "h2{break-after:avoid}tr,.draft-banner{break-inside:avoid}a{color:inherit;text-decoration:none}"
    "body.draft main{-webkit-print-color-adjust:exact;print-color-adjust:exact}}"
)
"""The document's style: on screen, in print (A4), with a draft's watermark."""
