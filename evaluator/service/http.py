"""The HTTP service: decisions, the policy versions and their documents, over Starlette.

    POST /v1/decisions             an application (JSON) → its decision (schemas/decision.schema.json)
    POST /v1/decisions:batch       a list of applications → a list of decisions or error records
    GET  /v1/policies              the versions loaded: status, effective date, sha256
    GET  /v1/policies/{version}    a version as JSON (the data of its YAML file)
    GET  /v1/policies/{version}/doc   its document, in HTML
    GET  /healthz                  200 when a valid policy set is loaded, else 503
    GET  /openapi.json             the OpenAPI 3.1 document (``evaluator.service.openapi``)

Bodies are read with their numbers as ``Decimal`` (never a float), refused beyond a size limit (413)
or when they take too long to arrive (408), and every refusal is JSON with its problems (the first
``MAX_PROBLEMS``, and how many more), each with its JSON path and a French message (400: not JSON,
422: not a valid application). No trace of an internal error ever reaches a client: it is logged,
and the client gets a French message (500). A request is decided with the policy set current when
it arrives (``LiveRegistry.snapshot``), a batch with one set for all its applications.

Work whose length a client chooses is done off the event loop. A small body is read on the loop, and
a valid application (its version's fast check: microseconds) decided there, in well under a
millisecond; anything else — an invalid application, whose every problem is looked for, a large body,
a batch — is read and decided in a thread, a large body in a lane of its own (one at a time), so
that large bodies cannot hold up ``/healthz`` and small requests. The lists of an application are
checked against their caps before its detailed validation. A decision that cannot be logged is not
given (503). ``server_config`` adds what uvicorn lacks: a deadline for a request's head, and a bound
on open connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from evaluator.core import french
from evaluator.core.application import submission_date
from evaluator.core.decision import Decision
from evaluator.core.policy import Policy
from evaluator.reading import jsontext
from evaluator.reading.parse import Document, byte_position, json_line_document, load_document
from evaluator.reading.problems import InputError, Problem
from evaluator.reading.resources import schema
from evaluator.reading.validation import bundled, validate
from evaluator.service import openapi, workbench
from evaluator.service.decision_log import DecisionLog, LogFailure, LogRecord
from evaluator.service.live import LiveRegistry, PolicySet, PolicySetUnavailable, ReloadFailure
from evaluator.versions.handbook import build as build_document
from evaluator.versions.handbook import to_html as document_html

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("guichet.server")

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 1000
DRAIN_FACTOR = 8
MAX_PROBLEMS = 50
"""The problems a refused request lists at most; the body says how many more there are (``omitted``)."""
MAX_ITEM_PROBLEMS = 10
"""The same, for each application of a batch."""
QUICK_BODY = 16 * 1024
"""A body up to this size is read on the event loop, and decided there when it is a valid application
(``_quick``); anything else is read and decided in a thread."""
LARGE_BODY = 64 * 1024
"""A body larger than this is read and decided in the lane of large bodies, one at a time."""
BODY_SECONDS = 20.0
"""The time a body has to arrive once the request's head has (else 408)."""
HEAD_SECONDS = 10.0
"""The time a request's head has to arrive, from the connection or the previous response (else 408)."""
MAX_CONNECTIONS = 1000
"""Connections open at once; one more is answered 503 and closed at once."""
KEEP_ALIVE_SECONDS = 5
STARTUP_FAILURE = 3
"""The exit code of a server that could not start (uvicorn's)."""
SWITCH_SECONDS = 0.001
"""How long a thread keeps the interpreter while another waits for it (Python's default: 5 ms)."""
RETRY_SECONDS = "30"
REQUEST = "requête"
"""The source named by the problems of a request's body."""
JSON_TYPE = "application/json"
DECISION_ID_HEADER = "Guichet-Decision-Id"
NOT_LOGGED = "décision non rendue : elle n'a pas pu être consignée dans le journal des décisions"
INTERNAL_ERROR = ("erreur interne du service : elle a été consignée dans son journal ; réessayez plus tard, ou "
                  "signalez-la à l'équipe du guichet si elle persiste")


class Refusal(Exception):
    """A request refused: its HTTP status, a French message, the problems listed and how many more
    were found (``omitted``)."""

    def __init__(self, status: int, message: str, problems: Sequence[Problem] = (),
                 headers: dict[str, str] | None = None, omitted: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = tuple(problems)
        self.headers = headers
        self.omitted = omitted


def error_response(status: int, message: str, problems: Sequence[Problem] = (),
                   headers: Mapping[str, str] | None = None, omitted: int = 0) -> Response:
    return Response(_error_bytes(problems, omitted, message=message), status, headers, JSON_TYPE)


def _error_bytes(problems: Sequence[Problem] = (), omitted: int = 0, *, message: str | None = None,
                 index: int | None = None) -> bytes:
    """An error's JSON: a request's (its ``message``) or a batch item's (its ``index``), the problems
    listed, and how many more there are."""
    body: dict[str, Any] = {} if index is None else {"index": index}
    body["status"] = "error"
    if message is not None:
        body["message"] = message
    body["problems"] = [problem.to_dict() for problem in problems]
    if omitted:
        body["omitted"] = omitted
    try:
        return orjson.dumps(body)
    except TypeError:  # a text that is not Unicode (half a surrogate pair): escaped, as JSON allows
        return json.dumps(body).encode("ascii")


def read_json(raw: bytes) -> Any:
    """A request's body as data: JSON, numbers as ``Decimal``, duplicate keys refused; a problem
    names its line and column. Raises ``Refusal`` (400)."""
    return _parsed(_body_text(raw))


def read_batch(raw: bytes) -> Any:
    """A batch's body as data. A body that does not read as a whole, but is a list whose items its
    brackets and commas tell apart, has each item read on its own: an item that does not read (too
    deeply nested, a key twice…) stands as its ``InputError``, to be answered at its rank, and the
    others are decided. Any other body that does not read is refused (400)."""
    text = _body_text(raw)
    try:
        return _parsed(text)
    except Refusal:
        spans = _list_items(text)
        if spans is None:
            raise
    return [_item(text, start, end) for start, end in spans]


def _body_text(raw: bytes) -> str:
    if not raw.strip():
        raise Refusal(400, "corps de la requête vide",
                      [Problem(REQUEST, "le corps de la requête est vide", hint="envoyez la demande en JSON")])
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line, column = byte_position(raw, error.start)
        raise Refusal(400, "le corps de la requête n'est pas un texte UTF-8", [Problem(
            REQUEST, f"texte UTF-8 invalide (octet 0x{raw[error.start]:02x})", line, column,
            hint="envoyez le JSON encodé en UTF-8")]) from None


def _parsed(text: str) -> Any:
    try:
        return json_line_document(text, REQUEST, 1).data
    except InputError as error:
        raise Refusal(400, "le corps de la requête n'est pas un JSON valide",
                      [_located(problem, text) for problem in error.problems]) from None


_TOKENS = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{},]', re.DOTALL)
"""A JSON text (a string read to its end, or to the end of the body, in linear time) or a bracket or comma."""


def _list_items(text: str) -> list[tuple[int, int]] | None:
    """Where each item of the JSON list ``text`` begins and ends, told apart by the commas outside
    its items' brackets and texts; ``None`` when ``text`` is not a list whose brackets balance."""
    spans: list[tuple[int, int]] = []
    depth = start = 0
    for token in _TOKENS.finditer(text):
        mark = token[0]
        if depth == 0:  # the list's opening bracket, with nothing before it
            if mark != "[" or text[:token.start()].strip():
                return None
            depth, start = 1, token.end()
        elif mark in ("[", "{"):
            depth += 1
        elif mark in ("]", "}"):
            depth -= 1
            if depth == 0:  # the list's closing bracket, with nothing after it
                if mark == "}" or text[token.end():].strip():
                    return None
                spans.append((start, token.start()))
                return spans if len(spans) > 1 or text[start:token.start()].strip() else []
        elif mark == "," and depth == 1:
            spans.append((start, token.start()))
            start = token.end()
    return None


def _item(text: str, start: int, end: int) -> Any:
    """The data of the batch item ``text[start:end]``, or its ``InputError``, placed in the body."""
    start = end - len(text[start:end].lstrip())  # (its place is that of its first character)
    try:
        return json_line_document(text[start:end], REQUEST, 1).data
    except InputError as error:
        return InputError([_in_body(problem, text, start, end) for problem in error.problems])


def _in_body(problem: Problem, text: str, start: int, end: int) -> Problem:
    """A problem of the item ``text[start:end]`` placed in the whole body ``text``."""
    located = _located(problem, text[start:end])
    if located.line is None:
        return located
    line = text.count("\n", 0, start) + located.line
    column = located.column
    if column is not None and located.line == 1:
        column += start - (text.rfind("\n", 0, start) + 1)
    return replace(located, line=line, column=column)


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
    body_seconds: float = BODY_SECONDS
    head_seconds: float = HEAD_SECONDS
    max_connections: int = MAX_CONNECTIONS


Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Refusals become their JSON answer; any other error is logged and answered with a 500 that
    says nothing of it."""
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refusal as refusal:
            return error_response(refusal.status, refusal.message, refusal.problems, refusal.headers, refusal.omitted)
        except Exception:
            log.exception("erreur interne sur %s %s", request.method, request.url.path)
            return error_response(500, INTERNAL_ERROR)
    return guarded


T = TypeVar("T")


class Service:
    """The endpoints, over a live registry and an optional decision log."""

    def __init__(self, live: LiveRegistry, decision_log: DecisionLog | None = None,
                 limits: Limits | None = None) -> None:
        self.live = live
        self.decision_log = decision_log
        self.limits = limits or Limits()
        self._large_lane = anyio.CapacityLimiter(1)

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
        if len(raw) <= QUICK_BODY:  # read here; a valid application is decided here too
            data = read_json(raw)
            if _quick(current, data, version):
                body, headers = self._decide_one(current, data, version)
            else:
                body, headers = await self._in_thread(len(raw), partial(self._decide_one, current, data, version))
        else:
            body, headers = await self._in_thread(len(raw), partial(self._read_and_decide, current, raw, version))
        return Response(body, 200, headers, JSON_TYPE)

    def _read_and_decide(self, current: PolicySet, raw: bytes,
                         version: str | None) -> tuple[bytes, dict[str, str] | None]:
        return self._decide_one(current, read_json(raw), version)

    def _decide_one(self, current: PolicySet, data: Any, version: str | None) -> tuple[bytes, dict[str, str] | None]:
        try:
            decision = _decide(current, data, version)
        except InputError as error:
            raise _invalid(error.problems) from None
        body = decision.to_bytes()
        if self.decision_log is None:
            return body, None
        try:
            record = _logged(self.decision_log, decision, data, body, version)
        except LogFailure as failure:
            raise Refusal(503, NOT_LOGGED, [_not_logged(failure)], {"Retry-After": RETRY_SECONDS}) from None
        return body, {DECISION_ID_HEADER: record.decision_id}

    async def decide_batch(self, request: Request) -> Response:
        raw = await self._body(request)
        current = self._current()
        version = self._version(request, current)
        body = await self._in_thread(len(raw), partial(self._decide_all, current, raw, version))
        return Response(body, 200, None, JSON_TYPE)

    def _decide_all(self, current: PolicySet, raw: bytes, version: str | None) -> bytes:
        data = read_batch(raw)
        if not isinstance(data, list):
            raise Refusal(422, "un lot est une liste JSON de demandes", [Problem(
                REQUEST, f"liste de demandes attendue, pas {_kind(data)}", path=(),
                hint="envoyez [{…}, {…}] ; pour une seule demande : POST /v1/decisions")])
        if len(data) > self.limits.max_batch:
            raise Refusal(413, f"lot trop grand : {len(data)} demandes, au plus {self.limits.max_batch}", [Problem(
                REQUEST, f"le lot compte {len(data)} demandes ; la limite est de {self.limits.max_batch}", path=(),
                hint="découpez le lot")])
        return b"[" + b",".join([self._decide_item(current, index, item, version)
                                 for index, item in enumerate(data)]) + b"]"

    def _decide_item(self, current: PolicySet, index: int, item: Any, version: str | None) -> bytes:
        """The decision of a batch's application, or its error record: whatever goes wrong with one
        application (bad input, an internal error, a decision that cannot be logged) is answered at
        its rank, and the batch goes on."""
        if isinstance(item, InputError):  # an item that does not read (``read_batch``)
            return _item_error(index, item.problems)
        try:
            decision = _decide(current, item, version)
        except InputError as error:
            return _item_error(index, [_client_problem(p) for p in error.problems])
        except Exception:
            log.exception("erreur interne sur la demande %d d'un lot", index)
            return _item_error(index, [Problem("service", INTERNAL_ERROR)])
        body = decision.to_bytes()
        if self.decision_log is not None:
            try:
                _logged(self.decision_log, decision, item, body, version)
            except LogFailure as failure:
                return _item_error(index, [_not_logged(failure)])
        return body

    async def _in_thread(self, size: int, work: Callable[[], T]) -> T:
        """Run ``work`` in a thread: the shared pool for a small body, the lane of large bodies (one
        at a time) for a body over ``LARGE_BODY``."""
        return await anyio.to_thread.run_sync(work, limiter=self._large_lane if size > LARGE_BODY else None)

    async def _body(self, request: Request) -> bytes:
        """The body, of at most ``max_body_bytes``, arrived within ``body_seconds`` (else 408, and the
        connection closed). A longer one is refused (413) after it is read and dropped, so that the
        client, still sending, gets the answer; one longer than ``DRAIN_FACTOR`` times the limit is
        refused at once, and the connection closed."""
        limit = self.limits.max_body_bytes
        too_large = Refusal(413, f"corps de la requête trop volumineux : la limite est de {limit} octets", [Problem(
            REQUEST, f"le corps dépasse {limit} octets",
            hint="une demande tient en quelques kilo-octets ; découpez un lot")], {"Connection": "close"})
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > DRAIN_FACTOR * limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_seconds):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size <= limit:
                        chunks.append(chunk)
                    elif size > DRAIN_FACTOR * limit:
                        break
        except TimeoutError:
            seconds = _seconds(self.limits.body_seconds)
            raise Refusal(408, f"corps de la requête trop lent : il doit arriver en {seconds}", [Problem(
                REQUEST, f"{french.number(size)} octets reçus en {seconds}",
                hint="envoyez le corps d'un seul tenant")], {"Connection": "close"}) from None
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


def _logged(decision_log: DecisionLog, decision: Decision, data: Any, body: bytes, version: str | None) -> LogRecord:
    """Log ``decision``; a failure is written in the service's log before ``LogFailure`` goes on."""
    try:
        return decision_log.record(decision, data, decision_bytes=body, requested_version=version)
    except LogFailure as failure:
        log.error("%s : %s", NOT_LOGGED, failure)
        raise


def _not_logged(failure: LogFailure) -> Problem:
    return Problem("service", f"{NOT_LOGGED} : {failure.reason}",
                   hint="redemandez-la plus tard ; l'incident est consigné dans le journal du service")


def _quick(current: PolicySet, data: Any, version: str | None) -> bool:
    """Whether ``data`` is an application its version's fast check accepts (structure and formats,
    in microseconds): a valid application of a small body is decided in well under a millisecond,
    whereas finding every problem of an invalid one may take much longer."""
    document = Document(REQUEST, data, [])
    if (version is None and submission_date(document) is None) or _over_caps(data):
        return False  # (the version of an application without a date is found by a detailed validation)
    try:
        policy = current.registry.governing(document, version)
    except InputError:
        return False
    return current.registry.checked(policy).application_check.accepts(data)


def _decide(current: PolicySet, data: Any, version: str | None) -> Decision:
    """Decide ``data`` (a decoded application) with ``current``; raises ``InputError``."""
    over = _over_caps(data)
    if over:
        raise InputError(over)
    return current.registry.decide(Document(REQUEST, data, []), version)


@cache
def _caps() -> tuple[tuple[str, int], ...]:
    """The lists of an application and how many items each may have (``maxItems``, the same in the
    application schema of every version)."""
    properties: dict[str, Any] = schema("application")["properties"]
    return tuple((key, spec["maxItems"]) for key, spec in properties.items() if "maxItems" in spec)


def _over_caps(data: Any) -> list[Problem]:
    """The lists of an application longer than the schema admits, checked before anything else: a
    list of 28,000 bad lines is refused at once, not examined line by line."""
    if not isinstance(data, dict):
        return []
    return [Problem(REQUEST, f"{french.number(len(items))} éléments : au plus {french.number(cap)} admis",
                    path=(key,), hint="la demande n'est pas examinée plus avant tant que la liste dépasse la limite")
            for key, cap in _caps() if isinstance(items := data.get(key), list) and len(items) > cap]


def _invalid(problems: Sequence[Problem]) -> Refusal:
    """A 422 listing the first ``MAX_PROBLEMS`` problems, and counting the others."""
    count = len(problems)
    message = f"demande invalide : {french.number(count)} problème{'s' if count > 1 else ''}"
    if count > MAX_PROBLEMS:
        message += f" ; les {MAX_PROBLEMS} premiers sont listés, « omitted » compte les autres"
    return Refusal(422, message, [_client_problem(problem) for problem in problems[:MAX_PROBLEMS]],
                   omitted=max(count - MAX_PROBLEMS, 0))


def _item_error(index: int, problems: Sequence[Problem]) -> bytes:
    """The error record of a batch's application: its rank, its first ``MAX_ITEM_PROBLEMS``
    problems, and how many more."""
    return _error_bytes(problems[:MAX_ITEM_PROBLEMS], max(len(problems) - MAX_ITEM_PROBLEMS, 0), index=index)


def _seconds(value: float) -> str:
    """``20.0`` → ``20 s``, ``0.5`` → ``0,5 s``."""
    return f"{french.number(Decimal(repr(value)).normalize())} s"


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
    app = Starlette(routes=[*service.routes(), *workbench.routes(live)],
                    exception_handlers={HTTPException: _not_found, 500: _internal_error})
    app.state.limits = service.limits  # for ``server_config``
    return app


def server_config(app: Starlette, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration that serves ``app`` (``create_app``) within its limits, with what
    uvicorn lacks: a request's head must arrive within ``head_seconds`` of the connection or of the
    previous response (a client that trickles it is answered 408 and cut off), and at most
    ``max_connections`` connections are open (one more is answered 503 and closed at once). An idle
    connection is closed after ``KEEP_ALIVE_SECONDS``."""
    import uvicorn

    return uvicorn.Config(app, http=_guarded_protocol(app.state.limits), timeout_keep_alive=KEEP_ALIVE_SECONDS,
                          server_header=False, **options)


def _guarded_protocol(limits: Limits) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

    class GuardedProtocol(HttpToolsProtocol):
        """uvicorn's HTTP/1.1 protocol, with a deadline for each request's head and a bound on the
        connections open."""

        head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                self._answer(503, f"trop de connexions ouvertes (la limite est de {limits.max_connections}) : "
                                  "réessayez dans un instant")
            else:
                self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
            self.head_timer = self.loop.call_later(limits.head_seconds, self._head_late)

        def _head_late(self) -> None:
            if self.cycle is not None and not self.cycle.response_complete:
                return  # the head arrived: the request is being served, its body has its own deadline
            self._answer(408, f"requête trop lente : son en-tête doit arriver en {_seconds(limits.head_seconds)}")

        def _answer(self, status: int, message: str) -> None:
            """Answer ``status`` with ``message`` (a JSON error) and close the connection."""
            if self.transport.is_closing():
                return
            body = _error_bytes(message=message)
            head = f"content-type: {JSON_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
            self.transport.write(STATUS_LINE[status] + head.encode("ascii") + body)
            self.transport.close()

    return GuardedProtocol


def run(live: LiveRegistry, *, host: str = "127.0.0.1", port: int = 8000, decision_log: DecisionLog | None = None,
        limits: Limits | None = None, watch_interval: float | None = 1.0, access_log: bool = False) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM), with uvicorn: the watcher polls the policies every
    ``watch_interval`` seconds (``None``: never), and SIGHUP reloads them at once."""
    import gc
    import signal
    import sys
    import threading

    import uvicorn

    import evaluator.reading.detailed  # noqa: F401 (loaded now, and frozen below, not by the first refused request)

    # Small requests stay fast while a thread works on a large body: the event loop gets the
    # interpreter back within a millisecond (not five), and the collector, which stops every
    # thread, no longer walks the policies and modules loaded once and for all.
    sys.setswitchinterval(SWITCH_SECONDS)
    gc.freeze()

    if watch_interval is not None:
        live.watch(watch_interval)
    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=live.reload, daemon=True).start())
    server = uvicorn.Server(server_config(create_app(live, decision_log=decision_log, limits=limits), host=host,
                                          port=port, access_log=access_log, log_level="info"))
    try:
        with suppress(KeyboardInterrupt):  # uvicorn raises the signal again once it has stopped
            server.run()
    finally:
        live.stop()
        if decision_log is not None:
            decision_log.close()
    if not server.started:  # the port is taken, say: uvicorn has said why
        raise SystemExit(STARTUP_FAILURE)
