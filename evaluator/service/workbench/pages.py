"""The workbench's pages (see the package): each reads the live registry's current set of versions,
renders a Jinja2 template, and never writes anything."""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from importlib.resources import files
from typing import Any
from urllib.parse import quote

import jinja2
import markupsafe
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from evaluator.core import french
from evaluator.core.decision import Decision
from evaluator.core.policy import Policy
from evaluator.reading.formats import parse_date
from evaluator.reading.parse import load_document
from evaluator.reading.problems import InputError, Problem, format_path
from evaluator.service.live import LiveRegistry, PolicySet
from evaluator.service.workbench import charts
from evaluator.service.workbench.form import (
    MAX_ROWS,
    REPEATED,
    Form,
    application_of,
    counts,
    field_name,
    form_of,
    values_of,
)
from evaluator.versions.diff import compare
from evaluator.versions.handbook import DOCUMENT_CSS, build, contents_html, html_page, inline_html
from evaluator.versions.impact import Impact, assess
from evaluator.workbook.layout import layout as workbook_layout
from evaluator.workbook.reading import Assembled, workbook_from

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""The largest upload (an application, a portfolio) the workbench reads."""
PAGE_ROWS = 50
"""The changed applications of an impact shown per page."""

_templates = jinja2.Environment(loader=jinja2.PackageLoader("evaluator.service.workbench", "templates"),
                                autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                undefined=jinja2.StrictUndefined)
_templates.filters.update(euros=lambda value: french.unbreakable(french.euros(Decimal(value))),
                          percent=lambda value: french.unbreakable(french.percent(Decimal(value))),
                          day=lambda value: french.unbreakable(french.day(value)),
                          number=lambda value: french.number(value), unbreakable=french.unbreakable,
                          inline=lambda text: markupsafe.Markup(inline_html(str(text))))


class Refused(Exception):
    """A request the workbench cannot answer: its HTTP status and a French message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def routes(live: LiveRegistry) -> list[BaseRoute]:
    """The workbench's routes, reading ``live``."""
    pages = _Pages(live)
    static = files("evaluator.service.workbench") / "static"
    swagger = files("swagger_ui") / "static"
    return [
        Route("/", pages.guarded(pages.home)),
        Route("/versions/{version}", pages.guarded(pages.version)),
        Route("/simuler", pages.guarded(pages.simulate), methods=["GET", "POST"]),
        Route("/comparer", pages.guarded(pages.compare)),
        Route("/impact", pages.guarded(pages.impact), methods=["GET", "POST"]),
        Route("/docs", pages.guarded(pages.api)),
        Route("/static/document.css", lambda _request: Response(DOCUMENT_CSS, media_type="text/css")),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
        Mount("/docs/static", StaticFiles(directory=str(swagger)), name="swagger"),
    ]


class _Pages:
    def __init__(self, live: LiveRegistry) -> None:
        self.live = live

    def guarded(self, page: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def answer(request: Request) -> Response:
            try:
                return await page(request)  # type: ignore[no-any-return]
            except Refused as refusal:
                return self.render("error.html", refusal.status, title="Page introuvable"
                                   if refusal.status == 404 else "Demande refusée", message=refusal.message)

        return answer

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(_templates.get_template(template).render(**context), status_code=status)

    def current(self) -> PolicySet:
        return self.live.snapshot()

    def named(self, current: PolicySet, version: str) -> Policy:
        found = next((p for p in current.versions if p.version == version), None)
        if found is None:
            known = ", ".join(p.version for p in current.versions)
            raise Refused(404, f"La version « {version} » n'existe pas ; versions : {known}.")
        return found

    # Accueil

    async def home(self, request: Request) -> Response:
        current = self.current()
        registry = current.registry
        today = date.today()
        on = _date(request.query_params.get("le", "")) or today
        try:
            in_force: Policy | None = registry.in_force(on)
        except InputError:
            in_force = None
        return self.render("home.html", title="Versions du cahier des charges", versions=current.versions, today=today,
                           in_force_today=_in_force(registry, today), on=on, in_force=in_force,
                           asked=request.query_params.get("le", ""))

    # La version

    async def version(self, request: Request) -> Response:
        policy = self.named(self.current(), str(request.path_params["version"]))
        page = html_page(build(policy))
        return self.render("version.html", title=f"Version {policy.version}", policy=policy, page=page,
                           contents=contents_html(page))

    # Simuler

    async def simulate(self, request: Request) -> Response:
        current = self.current()
        newest = current.versions[-1].version
        if request.method == "GET":
            version = request.query_params.get("version", "")
            values: dict[str, str] = {"submitted_on": date.today().isoformat()}
            rows = {"co": 0, "expense": 1, "document": 1}
            return self._form(current, version or _published(current) or newest, values, rows, version=version)
        submitted = await _form_data(request)
        upload = submitted.pop("application_file", None)
        values = {key: value for key, value in submitted.items() if isinstance(value, str)}
        action = values.pop("action", "decide")
        version = values.pop("version", "")
        rows = counts(values)
        values = {name: value for name, value in values.items() if not name.endswith("_rows")}
        if action == "upload":
            return self._prefill(current, version, upload)
        group, _, index = action.partition(":")
        if group in ("add", "remove"):
            which, _, number = index.partition(".")
            if which in REPEATED:
                if group == "add":
                    rows[which] = min(rows[which] + 1, MAX_ROWS)
                elif number.isdigit() and len(number) < 10 and int(number) < rows[which]:
                    values = _without_row(values, which, int(number))
                    rows[which] -= 1
            return self._form(current, version or _published(current) or newest, values, rows, version=version)
        return self._decide(current, version, values, rows)

    def _form(self, current: PolicySet, shown: str, values: Mapping[str, str], rows: Mapping[str, int], *,
              version: str, errors: Mapping[str, list[str]] | None = None, general: Sequence[str] = (),
              decision: Decision | None = None, application: Mapping[str, Any] | None = None) -> Response:
        policy = self.named(current, shown)
        form = form_of(policy)
        return self.render("simulate.html", 200 if not errors and not general else 422, title="Simuler une demande",
                           form=form, versions=current.versions, version=version, shown=policy, values=values,
                           rows=rows, errors=errors or {}, general=general, decision=decision,
                           download=_download(application, decision))

    def _prefill(self, current: PolicySet, version: str, upload: Any) -> Response:
        newest = _published(current) or current.versions[-1].version
        if not isinstance(upload, UploadFile) or not upload.filename:
            return self._form(current, version or newest, {}, {"co": 0, "expense": 1, "document": 1},
                              version=version, general=["Choisissez un fichier de demande (JSON ou YAML)."])
        raw = upload.file.read(MAX_UPLOAD_BYTES + 1)
        try:
            if len(raw) > MAX_UPLOAD_BYTES:
                raise InputError([Problem(upload.filename, "fichier trop gros (5 Mio au plus)")])
            document = load_document(raw, upload.filename)
            if not isinstance(document.data, dict):
                raise InputError([Problem(upload.filename, "le fichier ne contient pas une demande (un dictionnaire)")])
        except InputError as error:
            return self._form(current, version or newest, {}, {"co": 0, "expense": 1, "document": 1},
                              version=version, general=[p.render() for p in error.problems])
        values = values_of(document.data)
        rows = counts(values)
        rows["expense"], rows["document"] = max(rows["expense"], 1), max(rows["document"], 1)
        return self._form(current, version or newest, values, rows, version=version)

    def _decide(self, current: PolicySet, version: str, values: Mapping[str, str], rows: Mapping[str, int]) -> Response:
        newest = current.versions[-1].version
        shown = version or _governing(current, values.get("submitted_on", "")) or newest
        form: Form = form_of(self.named(current, shown))
        application = application_of(form, {**values, **_empty_rows(rows, values)})
        try:
            decision = current.registry.evaluate(application, version or None)
        except InputError as error:
            errors: dict[str, list[str]] = defaultdict(list)
            general: list[str] = []
            for problem in error.problems:
                text = problem.message + (f" — {problem.hint}" if problem.hint else "")
                names = [name for name in _fields_of(problem) if _known(form, name)]
                for name in names:
                    errors[name].append(text)
                if not names:
                    general.append(f"{format_path(problem.path)} : {text}" if problem.path else text)
            return self._form(current, shown, values, rows, version=version, errors=errors, general=general)
        return self._form(current, decision.policy.version, values, rows, version=version, decision=decision,
                          application=application)

    # Comparer

    async def compare(self, request: Request) -> Response:
        current = self.current()
        versions = current.versions
        first = request.query_params.get("de") or (versions[-2].version if len(versions) > 1 else versions[0].version)
        second = request.query_params.get("a") or versions[-1].version
        old, new = self.named(current, first), self.named(current, second)
        changes = compare(old, new)
        return self.render("compare.html", title=f"Comparer {old.version} et {new.version}", versions=versions,
                           old=old, new=new, changes=changes)

    # Impact

    async def impact(self, request: Request) -> Response:
        current = self.current()
        versions = current.versions
        if request.method == "GET":
            return self.render("impact.html", title="Impact d'un amendement", versions=versions, result=None,
                               old=versions[0].version, new=versions[-1].version, problems=())
        submitted = await _form_data(request)
        old = self.named(current, str(submitted.get("de", "")))
        new = self.named(current, str(submitted.get("a", "")))
        upload = submitted.get("portfolio")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return self.render("impact.html", 422, title="Impact d'un amendement", versions=versions, result=None,
                               old=old.version, new=new.version,
                               problems=["Choisissez un portefeuille (JSON Lines ou classeur .xlsx)."])
        raw = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise Refused(413, "Le portefeuille dépasse 5 Mio : utilisez « guichet impact » en ligne de commande.")
        try:
            lines, unreadable = _portfolio_lines(raw, upload.filename, current)
        except InputError as error:
            return self.render("impact.html", 422, title="Impact d'un amendement", versions=versions, result=None,
                               old=old.version, new=new.version, problems=[p.render() for p in error.problems])
        result = assess(old, new, lines, upload.filename)
        return self.render("impact.html", title="Impact d'un amendement", versions=versions, old=old.version,
                           new=new.version, problems=unreadable, result=_impact_view(result),
                           download=_data_url(json.dumps(result.to_dict(), ensure_ascii=False, indent=2)))

    # API

    async def api(self, _request: Request) -> Response:
        return self.render("api.html", title="Documentation de l'API")


async def _form_data(request: Request) -> dict[str, Any]:
    """The submitted form, its body bounded in size."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BYTES + 64 * 1024:
        raise Refused(413, "Envoi trop gros : 5 Mio au plus.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES + 64 * 1024:
            raise Refused(413, "Envoi trop gros : 5 Mio au plus.")
    request._body = bytes(body)  # read once, bounded: the form is parsed from it
    form = await request.form(max_files=1, max_fields=20_000)
    return {key: value for key, value in form.multi_items()}


def _portfolio_lines(raw: bytes, source: str, current: PolicySet) -> tuple[list[tuple[int, str]], list[str]]:
    """The applications of an uploaded portfolio, numbered: the lines of JSON Lines, or the rows of a
    workbook (« Demandes », as ``guichet convert`` writes it), each as its JSON line; and the
    problems of the rows that cannot be read."""
    if not (source.lower().endswith(".xlsx") or raw.startswith(b"PK\x03\x04")):
        text = raw.decode("utf-8", errors="replace")
        return [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()], []
    lines: list[tuple[int, str]] = []
    unreadable: list[str] = []
    for entry in workbook_from(io.BytesIO(raw), source, workbook_layout(current.versions)).entries():
        if isinstance(entry, Assembled):
            lines.append((entry.number, entry.line.decode("utf-8")))
        else:
            unreadable.extend(problem.render() for problem in entry.problems)
    return lines, unreadable


def _date(text: str) -> date | None:
    try:
        return parse_date(text) if text else None
    except (ValueError, TypeError):
        return None


def _in_force(registry: Any, on: date) -> Policy | None:
    try:
        return registry.in_force(on)  # type: ignore[no-any-return]
    except InputError:
        return None


def _published(current: PolicySet) -> str | None:
    """The version in force today, if any."""
    policy = _in_force(current.registry, date.today())
    return None if policy is None else policy.version


def _governing(current: PolicySet, submitted_on: str) -> str | None:
    on = _date(submitted_on)
    policy = _in_force(current.registry, on) if on else None
    return policy.version if policy else None


def _fields_of(problem: Problem) -> list[str]:
    """The form fields a problem is about: the one at its path, or, for keys missing from a place,
    each of them (« clés obligatoires manquantes : « name », « siren » »)."""
    name = field_name(problem.path or ())
    return [f"{name}.{key}" if name else key for key in problem.missing] or [name]


def _known(form: Form, name: str) -> bool:
    group, _, rest = name.partition(".")
    key = rest.rpartition(".")[2] if group in REPEATED else rest
    if group in form.groups and group != "application":
        return any(item.key == key for item in form.groups[group])
    return any(item.key == name for item in form.groups["application"])


def _without_row(values: Mapping[str, str], group: str, index: int) -> dict[str, str]:
    """The values with row ``index`` of ``group`` taken out, the rows after it moved up."""
    kept: dict[str, str] = {}
    for name, value in values.items():
        head, _, rest = name.partition(".")
        number, _, key = rest.partition(".")
        if head != group or not number.isdigit() or len(number) >= 10:  # (beyond MAX_ROWS: never read)
            kept[name] = value
        elif int(number) != index:
            kept[f"{group}.{int(number) - (int(number) > index)}.{key}"] = value
    return kept


def _empty_rows(rows: Mapping[str, int], values: Mapping[str, str]) -> dict[str, str]:
    """A marker for each row shown but left empty, so that it is still sent (and refused)."""
    return {f"{group}.{index}.__row": "" for group in REPEATED for index in range(rows[group])
            if not any(name.startswith(f"{group}.{index}.") for name in values)}


def _download(application: Mapping[str, Any] | None, decision: Decision | None) -> dict[str, str]:
    if application is None or decision is None:
        return {}
    return {"application": _data_url(json.dumps(application, ensure_ascii=False, indent=2, default=str)),
            "decision": _data_url(decision.to_json())}


def _data_url(text: str) -> str:
    return "data:application/json;charset=utf-8," + quote(text)


def _impact_view(impact: Impact) -> dict[str, Any]:
    """What the impact page shows, read from the impact's report (``versions.impact.Report``):
    totals, counts, the charts, the credits and the changed applications."""
    report = impact.report
    amendment = report.amendment
    before, after = report.totals()
    versions = (f"version {impact.old_version}", f"version {impact.new_version}")
    statuses = report.by_status()
    categories = sorted(report.categories.items(), key=lambda item: amendment.category(item[0]))
    deltas = Counter((o.compared.after.rate - o.compared.before.rate) * 100 for o in impact.outcomes if o.compared)
    rules = sorted(report.rules.items(), key=lambda item: -item[1].applications)[:12]
    budget = [(name, envelope) for name, ledger in zip(versions, report.ledgers, strict=True)
              for envelope in ledger.envelopes()]
    chart_list = [
        charts.Chart("Subvention avant et après, par statut", tuple(amendment.status(s) for s, _, _ in statuses),
                     ((versions[0], tuple(was.grant for _, was, _ in statuses)),
                      (versions[1], tuple(now.grant for _, _, now in statuses))), _euros),
        charts.Chart("Subvention avant et après, par catégorie du demandeur",
                     tuple(amendment.category(code) for code, _ in categories),
                     ((versions[0], tuple(s.before for _, s in categories)),
                      (versions[1], tuple(s.after for _, s in categories))), _euros),
        charts.Chart("Variation du taux (points), nombre de demandes", tuple(map(_points, sorted(deltas))),
                     (("demandes", tuple(Decimal(deltas[delta]) for delta in sorted(deltas))),), _count),
        charts.Chart("Règles dont l'issue change, nombre de demandes", tuple(rule for rule, _ in rules),
                     (("demandes", tuple(Decimal(s.applications) for _, s in rules)),), _count),
        charts.Chart("Crédits et engagements des demandes éligibles",
                     tuple(f"{envelope.label}, {name}" for name, envelope in budget),
                     (("crédits", tuple(e.credits for _, e in budget)),
                      ("engagés", tuple(e.committed for _, e in budget))), _euros),
    ]
    rows = [{"line": o.line, "reference": o.reference or "", "before": o.before, "after": o.after,
             "rules": ", ".join(change.rule for change in (o.compared.rules if o.compared else ()))}
            for o in impact.changed()]
    return {"impact": impact, "before": before, "after": after, "counts": sorted(impact.counts().items()),
            "budget": budget, "charts": [(chart, charts.rows(chart)) for chart in chart_list if chart.categories],
            "pages": [rows[start:start + PAGE_ROWS] for start in range(0, len(rows), PAGE_ROWS)],
            "invalid": impact.invalid()}


def _points(delta: Decimal) -> str:
    """A change of rate in points: « +10 pt », « 0 pt »."""
    return f"{'+' if delta > 0 else ''}{french.number(delta.normalize() + 0)} pt"


def _euros(value: Decimal) -> str:
    return french.euros(value)


def _count(value: Decimal) -> str:
    return french.number(int(value))
