"""The service's bounds on the work and the time a client may take (issue 14): the caps on an
application's lists checked before its detailed validation, the problems of a refusal bounded and
counted, large bodies decided off the event loop, a deadline for a request's head and body, a bound
on open connections; and a step of the decision that stays linear in the entities covered.

Timings are asserted only with generous bounds: the figures are in ``bench/load.py --hostile``."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress

import httpx
import pytest

from evaluator import LiveRegistry, Registry
from evaluator.core.application import Entity, SuppliedDocument
from evaluator.core.kinds.requirements import document_problem
from evaluator.reading.detailed import MAX_PROBLEMS as VALIDATION_STOPS
from evaluator.service.http import MAX_ITEM_PROBLEMS, MAX_PROBLEMS, Limits, create_app
from live_server import running


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    limits = Limits(body_seconds=0.5, head_seconds=0.5, max_connections=40)
    with running(create_app(LiveRegistry(), limits=limits)) as url:
        yield url


def post(base: str, path: str, body: str | bytes) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=60) as session:
        return session.post(path, content=body)


# Caps and bounded problems


def test_a_list_beyond_its_cap_is_refused_before_its_items_are_examined(base, application):
    """28,000 bad expense lines (a body under 1 MiB): one problem, the cap, not 28,000 (once a
    13.7 MB answer after 8.8 s)."""
    application["expenses"] = [{"kind": "xx", "amount": "a"}] * 28_000
    started = time.monotonic()
    response = post(base, "/v1/decisions", json.dumps(application))
    assert time.monotonic() - started < 5
    assert response.status_code == 422 and len(response.content) < 2000
    [problem] = response.json()["problems"]
    assert (problem["path"], problem["message"]) == ("expenses", "28 000 éléments : au plus 1 000 admis")
    batch = post(base, "/v1/decisions:batch", json.dumps([application]))
    assert batch.json()[0]["problems"][0]["message"] == "28 000 éléments : au plus 1 000 admis"


def test_the_problems_of_a_refusal_are_bounded_and_counted(base, application):
    application["expenses"] = [{"kind": "xx", "amount": "a", "x": 1}] * 1000  # two problems a line
    response = post(base, "/v1/decisions", json.dumps(application))
    body = response.json()
    found = VALIDATION_STOPS + 1  # the detailed validation stops there, and says so
    assert response.status_code == 422 and len(body["problems"]) == MAX_PROBLEMS
    assert body["omitted"] == found - MAX_PROBLEMS
    assert body["message"].startswith(f"demande invalide : {found} problèmes ; les 50 premiers sont listés")
    [record] = post(base, "/v1/decisions:batch", json.dumps([application])).json()
    assert len(record["problems"]) == MAX_ITEM_PROBLEMS and record["omitted"] == found - MAX_ITEM_PROBLEMS
    application["expenses"] = application["expenses"][:1]
    assert "omitted" not in post(base, "/v1/decisions", json.dumps(application)).json()


# Off the event loop


def test_small_requests_stay_fast_while_large_bad_bodies_are_refused(base, application):
    """Bodies of 300 KB, each seconds of work to refuse (200 documents of 300 bad signatories), sent
    without pause: meanwhile ``/healthz`` and small decisions answer at once (on the event loop, each
    would wait for the whole refusal)."""
    hostile = json.dumps({**application, "documents": [{"kind": "zz", "signed_by": ["1"] * 300}] * 200})
    stop = threading.Event()
    refused: list[int] = []

    def attack() -> None:
        with httpx.Client(base_url=base, timeout=120) as session:
            while not stop.is_set():
                refused.append(session.post("/v1/decisions", content=hostile).status_code)

    attackers = [threading.Thread(target=attack) for _ in range(2)]
    for attacker in attackers:
        attacker.start()
    slowest = 0.0
    try:
        time.sleep(0.5)  # the refusals are under way
        with httpx.Client(base_url=base, timeout=30) as session:
            for _ in range(20):
                started = time.monotonic()
                assert session.get("/healthz").status_code == 200
                assert session.post("/v1/decisions", json=application).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join(120)
    assert slowest < 1.5, f"{slowest:.2f} s"
    assert refused and set(refused) == {422}


# Deadlines and connections


def test_a_head_that_trickles_is_cut_off(base):
    """A request's head that takes longer than ``head_seconds`` (a byte at a time, 50 clients at
    once) is answered 408 and its connection closed; a client that sends nothing at all, too."""
    clients = [socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) for _ in range(30)]
    started = time.monotonic()
    try:
        for byte in b"POST /v1/dec":
            for client in clients[:25]:
                with suppress(OSError):  # (closed by the server once late)
                    client.sendall(bytes([byte]))
            time.sleep(0.1)
        answers = [_answer(client) for client in clients]
    finally:
        for client in clients:
            client.close()
    assert time.monotonic() - started < 5
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[0]
    assert "requête trop lente : son en-tête doit arriver en 0,5 s" in answers[0].decode()


def test_a_body_that_trickles_is_cut_off(base):
    head = b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as client:
        client.sendall(head)
        started = time.monotonic()
        for byte in b'{"reference":':
            with suppress(OSError):  # (closed by the server once late)
                client.sendall(bytes([byte]))
            time.sleep(0.1)
        answer = _answer(client)
    assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert "corps de la requête trop lent : il doit arriver en 0,5 s" in answer.decode()


def test_connections_beyond_the_limit_are_refused_at_once(base):
    port = int(base.rsplit(":", 1)[1])
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    try:
        time.sleep(0.1)  # all accepted
        with socket.create_connection(("127.0.0.1", port)) as extra:
            answer = _answer(extra)
        assert answer.startswith(b"HTTP/1.1 503 ") and "trop de connexions ouvertes" in answer.decode()
    finally:
        for client in held:
            client.close()
    deadline = time.monotonic() + 5
    while True:  # once they are closed, the service answers again
        try:
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            break
        except (httpx.TransportError, AssertionError):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def _answer(client: socket.socket) -> bytes:
    """What the server sends until it closes the connection (10 s at most)."""
    client.settimeout(10)
    received = b""
    with suppress(ConnectionResetError):
        while chunk := client.recv(65536):
            received += chunk
    return received


# A linear step


def test_a_missing_signature_among_many_entities_is_found_in_linear_time(registry: Registry):
    """The mutualisation declaration signed by all but one of 30,000 entities: each entity was
    looked for in the signatories' tuple (10,000 entities: 0.54 s; 30,000: about 5 s)."""
    requirement = next(r for r in registry.versions[0].documents.requirements if r.signed_by_all_covered)
    covered = [Entity("e", f"{number:09d}", "commune", 1, {}) for number in range(30_000)]
    declaration = SuppliedDocument(requirement.one_of[0], tuple(e.siren for e in covered[1:]), {})
    started = time.monotonic()
    problem = document_problem(requirement, (declaration,), covered, {e.siren for e in covered})
    assert time.monotonic() - started < 1
    assert problem == "signature manquante de 000000000"

