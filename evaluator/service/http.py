"""The HTTP service: decisions, the policy versions and their documents, over Starlette.

    POST /v1/decisions             an application (JSON) → its decision (schemas/decision.schema.json)
    POST /v1/decisions:batch       a list of applications → a list of decisions or error records
    GET  /v1/policies              the versions loaded: status, effective date, sha256
    GET  /v1/policies/{version}    a version as JSON (the data of its YAML file)
    GET  /v1/policies/{version}/doc   its document, in HTML
    GET  /healthz                  200 when a valid policy set is loaded, else 503
    GET  /openapi.json             the OpenAPI 3.1 document (``evaluator.service.openapi``)

Bodies are read with their numbers as ``Decimal`` (never a float), refused beyond a size limit (413),
and every refusal is JSON with every problem, its JSON path and a French message (400: not JSON,
422: not a valid application). No trace of an internal error ever reaches a client: it is logged,
and the client gets a French message (500). A request is decided with the policy set current when
it arrives (``LiveRegistry.snapshot``), a batch with one set for all its applications.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from evaluator.core.decision import Decision
from evaluator.core.policy import Policy
from evaluator.reading import jsontext
from evaluator.reading.parse import Document, byte_position, json_line_document, load_document
from evaluator.reading.problems import InputError, Problem
from evaluator.reading.validation import bundled, validate
from evaluator.service import openapi
from evaluator.service.decision_log import DecisionLog
from evaluator.service.live import LiveRegistry, PolicySet, PolicySetUnavailable, ReloadFailure
from evaluator.versions.handbook import build as build_document
from evaluator.versions.handbook import to_html as document_html

log = logging.getLogger("guichet.server")

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 1000
DRAIN_FACTOR = 8
REQUEST = "requête"
"""The source named by the problems of a request's body."""
JSON_TYPE = "application/json"
DECISION_ID_HEADER = "Guichet-Decision-Id"
INTERNAL_ERROR = ("erreur interne du service : elle a été consignée dans son journal ; réessayez plus tard, ou "
                  "signalez-la à l'équipe du guichet si elle persiste")


class Refusal(Exception):
    """A request refused: its HTTP status, a French message, and every problem found."""

    def __init__(self, status: int, message: str, problems: Sequence[Problem] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = tuple(problems)
        self.headers = headers


def error_response(status: int, message: str, problems: Sequence[Problem] = (),
                   headers: Mapping[str, str] | None = None) -> Response:
    body = {"status": "error", "message": message, "problems": [problem.to_dict() for problem in problems]}
    try:
        content = orjson.dumps(body)
    except TypeError:  # a text that is not Unicode (half a surrogate pair): escaped, as JSON allows
        content = json.dumps(body).encode("ascii")
    return Response(content, status, headers, JSON_TYPE)


def read_json(raw: bytes) -> Any:
    """A request's body as data: JSON, numbers as ``Decimal``, duplicate keys refused; a problem
    names its line and column. Raises ``Refusal`` (400)."""
    if not raw.strip():
        raise Refusal(400, "corps de la requête vide",
                      [Problem(REQUEST, "le corps de la requête est vide", hint="envoyez la demande en JSON")])
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line, column = byte_position(raw, error.start)
        raise Refusal(400, "le corps de la requête n'est pas un texte UTF-8", [Problem(
            REQUEST, f"texte UTF-8 invalide (octet 0x{raw[error.start]:02x})", line, column,
            hint="envoyez le JSON encodé en UTF-8")]) from None
    try:
        data = json_line_document(text, REQUEST, 1).data
    except InputError as error:
        raise Refusal(400, "le corps de la requête n'est pas un JSON valide",
                      [_located(problem, text) for problem in error.problems]) from None
    return data


def _located(problem: Problem, text: str) -> Problem:
    """A problem of ``json_line_document`` (which reads one line) placed in a body of several lines."""
    if "\n" not in text:
        return problem
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return replace(problem, line=error.lineno, column=error.colno)
    except (ValueError, RecursionError):
        pass
    return replace(problem, line=None, column=None)


def _client_problem(problem: Problem) -> Problem:
    """A problem as a client sees it: one that is not about the request (a version it names that
    does not exist, say) does not show the service's file paths."""
    return problem if problem.source == REQUEST else replace(problem, source="politiques", line=None, column=None,
                                                             excerpt=None)


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH


Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Refusals become their JSON answer; any other error is logged and answered with a 500 that
    says nothing of it."""
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refusal as refusal:
            return error_response(refusal.status, refusal.message, refusal.problems, refusal.headers)
        except Exception:
            log.exception("erreur interne sur %s %s", request.method, request.url.path)
            return error_response(500, INTERNAL_ERROR)
    return guarded


class Service:
    """The endpoints, over a live registry and an optional decision log."""

    def __init__(self, live: LiveRegistry, decision_log: DecisionLog | None = None,
                 limits: Limits | None = None) -> None:
        self.live = live
        self.decision_log = decision_log
        self.limits = limits or Limits()

    def routes(self) -> list[Route]:
        return [
            Route("/v1/decisions", _guarded(self.decide), methods=["POST"]),
            Route("/v1/decisions:batch", _guarded(self.decide_batch), methods=["POST"]),
            Route("/v1/policies", _guarded(self.policies), methods=["GET"]),
            Route("/v1/policies/{version}", _guarded(self.policy), methods=["GET"]),
            Route("/v1/policies/{version}/doc", _guarded(self.policy_document), methods=["GET"]),
            Route("/healthz", _guarded(self.health), methods=["GET"]),
            Route("/openapi.json", _guarded(self.openapi), methods=["GET"]),
        ]

    # Decisions

    async def decide(self, request: Request) -> Response:
        raw = await self._body(request)
        current = self._current()
        version = self._version(request, current)
        data = read_json(raw)
        try:
            decision = _decide(current, data, version)
        except InputError as error:
            raise _invalid(error.problems) from None
        body = decision.to_bytes()
        headers = None
        if self.decision_log is not None:
            record = self.decision_log.record(decision, data, decision_bytes=body, requested_version=version)
            headers = {DECISION_ID_HEADER: record.decision_id}
        return Response(body, 200, headers, JSON_TYPE)

    async def decide_batch(self, request: Request) -> Response:
        raw = await self._body(request)
        current = self._current()
        version = self._version(request, current)
        data = read_json(raw)
        if not isinstance(data, list):
            raise Refusal(422, "un lot est une liste JSON de demandes", [Problem(
                REQUEST, f"liste de demandes attendue, pas {_kind(data)}", path=(),
                hint="envoyez [{…}, {…}] ; pour une seule demande : POST /v1/decisions")])
        if len(data) > self.limits.max_batch:
            raise Refusal(413, f"lot trop grand : {len(data)} demandes, au plus {self.limits.max_batch}", [Problem(
                REQUEST, f"le lot compte {len(data)} demandes ; la limite est de {self.limits.max_batch}", path=(),
                hint="découpez le lot")])
        body = await run_in_threadpool(self._decide_all, current, data, version)
        return Response(body, 200, None, JSON_TYPE)

    def _decide_all(self, current: PolicySet, items: list[Any], version: str | None) -> bytes:
        parts: list[bytes] = []
        for index, item in enumerate(items):
            try:
                decision = _decide(current, item, version)
            except InputError as error:
                parts.append(orjson.dumps({"index": index, "status": "error",
                                           "problems": [_client_problem(p).to_dict() for p in error.problems]}))
                continue
            body = decision.to_bytes()
            if self.decision_log is not None:
                self.decision_log.record(decision, item, decision_bytes=body, requested_version=version)
            parts.append(body)
        return b"[" + b",".join(parts) + b"]"

    async def _body(self, request: Request) -> bytes:
        """The body, of at most ``max_body_bytes``. A longer one is refused (413) after it is read and
        dropped, so that the client, still sending, gets the answer; one longer than ``DRAIN_FACTOR``
        times the limit is refused at once, and the connection closed."""
        limit = self.limits.max_body_bytes
        too_large = Refusal(413, f"corps de la requête trop volumineux : la limite est de {limit} octets", [Problem(
            REQUEST, f"le corps dépasse {limit} octets",
            hint="une demande tient en quelques kilo-octets ; découpez un lot")], {"Connection": "close"})
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > DRAIN_FACTOR * limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > DRAIN_FACTOR * limit:
                break
        if size > limit:
            raise too_large
        return b"".join(chunks)

    def _current(self) -> PolicySet:
        try:
            return self.live.snapshot()
        except PolicySetUnavailable as unavailable:
            problems = unavailable.failure.problems if unavailable.failure is not None else ()
            raise Refusal(503, "aucune politique valide n'est chargée : le service ne peut pas décider",
                          [_client_problem(p) for p in problems]) from None

    def _version(self, request: Request, current: PolicySet) -> str | None:
        version = request.query_params.get("version")
        return None if version is None else _named(current, version, 422).version

    # Policies

    async def policies(self, request: Request) -> Response:
        current = self._current()
        in_force = _in_force_today(current)
        body = {
            "generation": current.generation,
            "loaded_at": current.loaded_at.isoformat(),
            "versions": [{"id": p.id, "version": p.version, "status": p.status,
                          "effective_from": p.effective_from.isoformat(), "sha256": p.sha256, "title": p.title,
                          "in_force": p is in_force} for p in current.versions],
        }
        return Response(orjson.dumps(body), 200, None, JSON_TYPE)

    async def policy(self, request: Request) -> Response:
        current = self._current()
        policy = self._policy(request, current)
        return Response(_policy_json(current.sources[policy.version], f"{policy.version}.yaml"), 200, None,
                        JSON_TYPE)

    async def policy_document(self, request: Request) -> Response:
        current = self._current()
        return HTMLResponse(_policy_html(self._policy(request, current)))

    def _policy(self, request: Request, current: PolicySet) -> Policy:
        return _named(current, str(request.path_params["version"]), 404)

    # Service

    async def health(self, request: Request) -> Response:
        live = self.live
        try:
            current: PolicySet | None = live.snapshot()
        except PolicySetUnavailable:
            current = None
        body = {
            "status": "ok" if current is not None else "indisponible",
            "ready": current is not None,
            "generation": current.generation if current is not None else None,
            "loaded_at": current.loaded_at.isoformat() if current is not None else None,
            "versions": [p.version for p in current.versions] if current is not None else [],
            "watching": live.watching,
            "reload_error": _failure(live.failure, str(live.directory)),
        }
        return Response(orjson.dumps(body), 200 if current is not None else 503, None, JSON_TYPE)

    async def openapi(self, request: Request) -> Response:
        try:
            newest: Policy | None = self.live.snapshot().versions[-1]
        except PolicySetUnavailable:
            newest = None
        return Response(_openapi_json(newest), 200, None, JSON_TYPE)


@lru_cache(maxsize=4)
def _openapi_json(newest: Policy | None) -> bytes:
    """The OpenAPI document of the set in force, its ``Application`` the newest version's schema
    (kept by version content: a reload that changes the newest version gives a new document)."""
    return orjson.dumps(openapi.document(newest))


CACHED_VERSIONS = 16
"""Versions whose JSON and HTML are kept (by content: versions edited again and again, drafts, do
not pile up)."""


@lru_cache(maxsize=CACHED_VERSIONS)
def _policy_json(raw: bytes, name: str) -> bytes:
    document = load_document(raw, name)
    validate(document, bundled("policy"))  # gives back the text of a value the schema wants as text
    return jsontext.dumps(document.data)


@lru_cache(maxsize=CACHED_VERSIONS)
def _policy_html(policy: Policy) -> str:
    return document_html(build_document(policy), f"{policy.title} — version {policy.version}")


def _named(current: PolicySet, version: str, status: int) -> Policy:
    """The version a request names; refused with ``status`` when the set has none of that name."""
    try:
        return current.registry.version(version)
    except InputError:
        known = ", ".join(p.version for p in current.versions)
        raise Refusal(status, f"version « {version} » inconnue", [Problem(
            "version", f"version « {version} » inconnue ; versions : {known}",
            hint="GET /v1/policies liste les versions")]) from None


def _decide(current: PolicySet, data: Any, version: str | None) -> Decision:
    """Decide ``data`` (a decoded application) with ``current``; raises ``InputError``."""
    return current.registry.decide(Document(REQUEST, data, []), version)


def _invalid(problems: Sequence[Problem]) -> Refusal:
    count = len(problems)
    return Refusal(422, f"demande invalide : {count} problème{'s' if count > 1 else ''}",
                   [_client_problem(problem) for problem in problems])


def _in_force_today(current: PolicySet) -> Policy | None:
    try:
        return current.registry.in_force(date.today())
    except InputError:
        return None


def _failure(failure: ReloadFailure | None, directory: str) -> dict[str, Any] | None:
    """A refused reload, its file names relative to the policy directory."""
    if failure is None:
        return None
    problems = []
    for problem in failure.problems:
        source = os.path.relpath(problem.source, directory) if os.path.isabs(problem.source) else problem.source
        problems.append(replace(problem, source=source).to_dict())
    return {"at": failure.at.isoformat(), "problems": problems}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "un objet"
    if isinstance(value, str):
        return "un texte"
    if isinstance(value, bool):
        return "un booléen"
    if value is None:
        return "null"
    return "un nombre"


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return error_response(405, f"méthode {request.method} non admise sur {request.url.path} ; méthodes "
                                   f"admises : {allowed}", headers=exc.headers)
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if status == 404:
        return error_response(404, f"ressource introuvable : {request.url.path}", [Problem(
            REQUEST, f"aucune ressource {request.url.path}", hint="GET /openapi.json décrit le service")])
    return error_response(status, "requête refusée", headers=exc.headers if isinstance(exc, HTTPException) else None)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("erreur interne sur %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, INTERNAL_ERROR)


def create_app(live: LiveRegistry, *, decision_log: DecisionLog | None = None,
               limits: Limits | None = None) -> Starlette:
    """The ASGI application of the service."""
    service = Service(live, decision_log, limits)
    return Starlette(routes=service.routes(), exception_handlers={HTTPException: _not_found, 500: _internal_error})


def run(live: LiveRegistry, *, host: str = "127.0.0.1", port: int = 8000, decision_log: DecisionLog | None = None,
        limits: Limits | None = None, watch_interval: float | None = 1.0, access_log: bool = False) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM), with uvicorn: the watcher polls the policies every
    ``watch_interval`` seconds (``None``: never), and SIGHUP reloads them at once."""
    import signal
    import threading

    import uvicorn

    if watch_interval is not None:
        live.watch(watch_interval)
    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=live.reload, daemon=True).start())
    try:
        uvicorn.run(create_app(live, decision_log=decision_log, limits=limits), host=host, port=port,
                    access_log=access_log, log_level="info", server_header=False)
    finally:
        live.stop()
        if decision_log is not None:
            decision_log.close()
