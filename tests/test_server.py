"""The HTTP service, called over HTTP on a real server (uvicorn on a free loopback port): decisions,
batches, policies, documents, health; every refusal in French with its JSON paths; hot reload."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import POLICY_FILE, ROOT
from evaluator import LiveRegistry, Registry
from evaluator.reading.parse import load_document
from evaluator.reading.validation import bundled, validate
from evaluator.service.http import Limits, create_app
from evaluator.versions.authoring import new_draft
from evaluator.versions.lock import digest
from live_server import free_port, running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A server over the bundled policies, shared by the tests that only read."""
    with running(create_app(LiveRegistry())) as base, httpx.Client(base_url=base, timeout=10) as session:
        yield session


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    target = tmp_path / "guichet-cofinancement"
    shutil.copytree(POLICY_FILE.parent, target)
    return target


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition jamais remplie"
        time.sleep(0.05)


def assert_refusal(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "error" and body["message"]
    assert "Traceback" not in response.text
    problems: list[dict[str, Any]] = body["problems"]
    return problems


# Decisions


def test_a_decision_over_http_is_the_registry_decision_byte_for_byte(client, application):
    response = client.post("/v1/decisions", content=json.dumps(application))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == Registry.default().evaluate(application).to_bytes()
    assert "guichet-decision-id" not in response.headers  # no log kept by this server


def test_amounts_are_read_as_decimals_never_floats(client, application):
    application["expenses"] = [{"kind": "licence", "amount": 1234.57, "months": 12},
                               {"kind": "training", "amount": 0.3}]
    text = json.dumps(application, indent=2)  # several lines: JSON, as a person would write it
    decision = client.post("/v1/decisions", content=text).json()
    assert decision["amounts"]["requested_total"] == "1234.87"
    expected = Registry.default().evaluate(json.loads(text, parse_float=Decimal)).to_dict()
    assert decision == json.loads(json.dumps(expected))


def test_a_version_can_be_named(client, application):
    assert client.post("/v1/decisions", params={"version": "1.0"}, json=application).json()["policy"][
        "selected_for"] is None
    problems = assert_refusal(client.post("/v1/decisions", params={"version": "9.9"}, json=application), 422)
    assert problems[0]["source"] == "version" and "9.9" in problems[0]["message"]


def test_an_invalid_application_gets_every_problem_with_its_path_in_french(client, application):
    application["expenses"][0]["amount"] = "12.345"
    application["applicant"]["siren"] = "123456789"
    application["solution"]["editor_country"] = "France"
    del application["submitted_on"]
    problems = assert_refusal(client.post("/v1/decisions", json=application), 422)
    paths = {problem["path"] for problem in problems}
    assert {"expenses[0].amount", "applicant.siren", "solution.editor_country"} <= paths
    assert any("submitted_on" in problem["message"] for problem in problems)
    assert all(problem["source"] == "requête" for problem in problems)
    assert any("décimales" in problem["message"] for problem in problems)


def test_a_policy_dependent_problem_has_its_path_too(client, application):
    application["expenses"][0]["kind"] = "license"
    problems = assert_refusal(client.post("/v1/decisions", json=application), 422)
    assert problems[0]["path"] == "expenses[0].kind"
    assert problems[0]["hint"] == "vouliez-vous dire « licence » ?"


@pytest.mark.parametrize(("body", "message", "line", "column"), [
    (b'{"reference": "A",\n  "submitted_on": }', "JSON invalide : valeur attendue", 2, 19),
    (b'{"a": 1, "a": 2}', "clé en double : « a »", 1, None),
    (b"", "le corps de la requête est vide", None, None),
    (b'{"reference": "caf\xe9"}', "texte UTF-8 invalide (octet 0xe9)", 1, 19),
    (b"[" * 100_000, "imbrication trop profonde (plus de 64 niveaux)", 1, 65),
])
def test_a_body_that_is_not_json_is_a_400_with_its_place(client, body, message, line, column):
    problems = assert_refusal(client.post("/v1/decisions", content=body), 400)
    assert problems[0]["message"] == message
    assert (problems[0]["line"], problems[0]["column"]) == (line, column)


@pytest.mark.parametrize(("old", "new", "path"), [
    ('"DEM-2026-0001"', '"\\ud800"', "reference"),
    ('"commune"', '"x\\udfff"', "applicant.category"),
    ('"licences"', '"\\udc00"', "applicant"),
])
def test_half_a_surrogate_pair_is_not_text(client, application, old, new, path):
    """JSON lets ``\\ud800`` stand alone; Unicode text (and so a decision) cannot hold it."""
    body = json.dumps(application).replace(old, new, 1)
    problems = assert_refusal(client.post("/v1/decisions", content=body), 400)
    assert problems[0]["path"] == path and "moitié" in problems[0]["message"]
    batch = client.post("/v1/decisions:batch", content=f"[{json.dumps(application)}, {body}]")
    assert batch.status_code == 200  # that application alone is refused, at its rank
    good, bad = batch.json()
    assert good["status"] == "eligible" and bad["index"] == 1 and bad["problems"][0]["path"] == path
    paired = json.dumps(application).replace('"DEM-2026-0001"', '"\\ud83d\\ude00"')  # a pair: 😀
    assert client.post("/v1/decisions", content=paired).json()["reference"] == "\U0001f600"


def test_numbers_json_does_not_know_are_refused(client, application):
    text = json.dumps(application).replace('"licences": 120', '"licences": NaN')
    assert assert_refusal(client.post("/v1/decisions", content=text), 422)[0]["path"] == "applicant.licences"


def test_a_batch_decides_each_application_in_order(client, application):
    bad = json.loads(json.dumps(application))
    bad["expenses"][0]["amount"] = -1
    response = client.post("/v1/decisions:batch", json=[application, bad, "texte", application])
    assert response.status_code == 200
    results = response.json()
    assert [result["status"] for result in results] == ["eligible", "error", "error", "eligible"]
    assert results[1]["index"] == 1 and results[1]["problems"][0]["path"] == "expenses[0].amount"
    assert results[2]["index"] == 2 and results[2]["problems"][0]["path"] == "$"
    assert results[0] == json.loads(Registry.default().evaluate(application).to_bytes())


DRAFT_FIELD = """  inputs:
    labelled_territory:
      at: entity
      type: boolean
      label: territoire labellisé
      default: false
"""


def test_a_field_only_a_draft_declares_is_refused_with_the_versions_that_declare_it(directory: Path, application):
    """Sent to the published version (by the submission date, or named), a field that only the draft
    1.1 declares is a 422 whose hint names the version that knows it, alone or in a batch; the draft,
    named, reads it."""
    text = POLICY_FILE.read_text(encoding="utf-8")
    for old, new in (('version: "1.0"\nstatus: published\neffective_from: 2026-05-22',
                      'version: "1.1"\nstatus: draft\neffective_from: 2027-01-01'), ("  inputs:\n", DRAFT_FIELD)):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (directory / "1.1.yaml").write_text(text, encoding="utf-8")
    application["applicant"]["labelled_territory"] = True
    hint = "information de la version 1.1, inconnue de la version 1.0 qui régit cette demande ; "
    with running(create_app(LiveRegistry(directory))) as base, httpx.Client(base_url=base, timeout=10) as session:
        for params in ({}, {"version": "1.0"}):
            [problem] = assert_refusal(session.post("/v1/decisions", params=params, json=application), 422)
            assert problem["path"] == "applicant.labelled_territory"
            assert problem["message"] == "clé inconnue : « labelled_territory »"
            assert problem["hint"].startswith(hint), problem
        [record] = session.post("/v1/decisions:batch", json=[application]).json()
        assert record["index"] == 0 and record["problems"][0]["hint"].startswith(hint)
        decided = session.post("/v1/decisions", params={"version": "1.1"}, json=application)
        assert decided.status_code == 200 and decided.json()["policy"]["version"] == "1.1"


def deeply_nested(application: dict[str, Any], depth: int) -> str:
    """``application`` with ``hosting_countries: [X, X]``, X a list nested ``depth`` deep."""
    nested = "[" * depth + "]" * depth
    body = json.dumps(application).replace('"hosting_countries": ["FR"]', f'"hosting_countries": [{nested}, {nested}]')
    assert nested in body
    return body


@pytest.mark.parametrize("depth", [240, 500, 900])
def test_a_deeply_nested_application_is_refused_never_a_500(client, application, depth):
    """Issue 14, item 3: the reading refuses the nesting (a 4xx in French, with its place), and in a
    batch only that application is refused, at its rank: the 999 others are decided."""
    deep = deeply_nested(application, depth)
    response = client.post("/v1/decisions", content=deep)
    assert 400 <= response.status_code < 500
    problems = assert_refusal(response, response.status_code)
    assert "imbrication trop profonde" in problems[0]["message"] and problems[0]["line"] == 1
    good = json.dumps(application)
    items = [good] * 999
    items.insert(500, deep)
    batch = client.post("/v1/decisions:batch", content="[" + ",\n".join(items) + "]")
    assert batch.status_code == 200, batch.text[:500]
    results = batch.json()
    assert len(results) == 1000 and [i for i, r in enumerate(results) if r["status"] == "error"] == [500]
    assert results[500]["index"] == 500 and "imbrication trop profonde" in results[500]["problems"][0]["message"]
    assert results[500]["problems"][0]["line"] == 501  # the item's line in the body
    assert results[0] == results[999] == json.loads(Registry.default().evaluate(application).to_bytes())


def test_an_item_that_does_not_read_is_refused_at_its_rank(client, application):
    """A batch whose body does not read as a whole, but whose items its brackets and commas tell
    apart: each item is read on its own. A body that is not such a list is a 400."""
    good = json.dumps(application)
    response = client.post("/v1/decisions:batch", content=f'[{good}, {{"a": 1, "a": 2}},\n {{"b": }}, {good}]')
    first, twice, broken, last = response.json()
    assert first["status"] == last["status"] == "eligible"
    assert (twice["index"], twice["problems"][0]["message"]) == (1, "clé en double : « a »")
    assert (broken["index"], broken["problems"][0]["message"]) == (2, "JSON invalide : valeur attendue")
    assert (broken["problems"][0]["line"], broken["problems"][0]["column"]) == (2, 8)
    for body in (f"[{good}, {{", f"{good}]", '{"a": [1}]', f'[{good}] "x"'):
        assert_refusal(client.post("/v1/decisions:batch", content=body), 400)


def test_an_internal_error_on_one_application_costs_only_its_rank(application, caplog, monkeypatch):
    decide = Registry.decide

    def broken_on_one(self: Registry, document: Any, version: str | None = None) -> Any:
        if document.data.get("reference") == "boom":
            raise RecursionError("détail interne secret")
        return decide(self, document, version)

    monkeypatch.setattr(Registry, "decide", broken_on_one)
    with running(create_app(LiveRegistry())) as base, httpx.Client(base_url=base, timeout=10) as session, \
            caplog.at_level(logging.ERROR, logger="guichet.server"):
        response = session.post("/v1/decisions:batch", json=[application, {**application, "reference": "boom"},
                                                              application])
    assert response.status_code == 200 and "secret" not in response.text
    first, failed, last = response.json()
    assert first["status"] == last["status"] == "eligible"
    assert failed["index"] == 1 and "erreur interne du service" in failed["problems"][0]["message"]
    assert "détail interne secret" in caplog.text


def test_a_batch_is_a_list(client, application):
    problems = assert_refusal(client.post("/v1/decisions:batch", json=application), 422)
    assert "liste de demandes attendue, pas un objet" in problems[0]["message"]
    assert client.post("/v1/decisions:batch", json=[]).json() == []


def test_oversized_bodies_and_batches_are_refused(application):
    with running(create_app(LiveRegistry(), limits=Limits(max_body_bytes=4000, max_batch=2))) as base, \
            httpx.Client(base_url=base, timeout=10) as session:
        assert session.post("/v1/decisions", json=application).status_code == 200
        big = {**application, "reference": "x" * 5000}
        problems = assert_refusal(session.post("/v1/decisions", json=big), 413)
        assert "4000 octets" in problems[0]["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds on what arrives
            yield json.dumps(big).encode()

        assert_refusal(session.post("/v1/decisions", content=chunks()), 413)
        assert_refusal(session.post("/v1/decisions:batch", json=[application] * 3), 413)
        assert session.get("/healthz").status_code == 200


# Policies


def test_the_versions_loaded_are_listed(client):
    body = client.get("/v1/policies").json()
    assert body["generation"] == 1
    [version] = body["versions"]
    policy = Registry.default().version("1.0")
    assert version == {"id": policy.id, "version": "1.0", "status": "published", "effective_from": "2026-05-22",
                       "sha256": policy.sha256, "title": policy.title, "in_force": True}


def test_a_version_is_served_as_the_data_of_its_file(client):
    response = client.get("/v1/policies/1.0")
    assert response.status_code == 200
    document = load_document(POLICY_FILE.read_bytes(), str(POLICY_FILE))
    validate(document, bundled("policy"))
    assert json.loads(response.content, parse_float=Decimal) == document.data
    assert b'"value":0.40' in response.content  # numbers as written, not through a float


def test_a_version_document_is_html(client):
    response = client.get("/v1/policies/1.0/doc")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Guichet de cofinancement" in response.text and "version 1.0" in response.text


def test_an_unknown_version_is_a_404(client):
    for path in ("/v1/policies/2.0", "/v1/policies/2.0/doc"):
        problems = assert_refusal(client.get(path), 404)
        assert problems[0]["message"] == "version « 2.0 » inconnue ; versions : 1.0"


def test_unknown_routes_and_methods_are_answered_in_french(client):
    assert_refusal(client.get("/v2/nothing"), 404)
    response = client.delete("/v1/decisions")
    assert_refusal(response, 405)
    assert response.headers["allow"] == "POST"
    assert "méthode DELETE non admise" in response.json()["message"]


def test_the_openapi_document_is_served(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert "Application.entity" in document["components"]["schemas"]
    assert set(document["paths"]) == {"/v1/decisions", "/v1/decisions:batch", "/v1/policies",
                                      "/v1/policies/{version}", "/v1/policies/{version}/doc", "/healthz",
                                      "/openapi.json"}


# Health and errors


def test_health_is_ready_with_a_valid_set(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["ready"] and body["versions"] == ["1.0"]
    assert body["reload_error"] is None


def test_without_a_valid_set_the_service_is_not_ready(tmp_path: Path, application):
    live = LiveRegistry(tmp_path, require=False)
    with running(create_app(live)) as base, httpx.Client(base_url=base, timeout=10) as session:
        health = session.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "indisponible"
        assert health.json()["reload_error"]["problems"][0]["source"] == "."
        assert "aucune politique" in health.json()["reload_error"]["problems"][0]["message"]
        assert_refusal(session.post("/v1/decisions", json=application), 503)
        assert_refusal(session.get("/v1/policies"), 503)


def test_an_internal_error_is_logged_and_never_shown(application, caplog, monkeypatch):
    live = LiveRegistry()

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("détail interne secret")

    with running(create_app(live)) as base, httpx.Client(base_url=base, timeout=10) as session:
        monkeypatch.setattr(Registry, "decide", broken)
        with caplog.at_level(logging.ERROR, logger="guichet.server"):
            response = session.post("/v1/decisions", json=application)
    assert_refusal(response, 500)
    assert "erreur interne du service" in response.json()["message"]
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert "détail interne secret" in caplog.text


# Hot reload


def test_health_shows_a_published_version_rewritten_under_the_service(directory: Path, application):
    live = LiveRegistry(directory)
    served = live.snapshot().registry.version("1.0").sha256
    published = directory / "1.0.yaml"
    edited = published.read_text(encoding="utf-8").replace("rate: 0.30", "rate: 0.35")
    published.write_text(edited, encoding="utf-8")
    lock = directory / "lock.json"
    lock.write_text(lock.read_text(encoding="utf-8").replace(served, digest(edited.encode())), encoding="utf-8")
    with running(create_app(live)) as base, httpx.Client(base_url=base, timeout=10) as session:
        live.reload()
        health = session.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        [problem] = health.json()["reload_error"]["problems"]
        assert problem["source"] == "1.0.yaml" and "la version publiée 1.0 est en service" in problem["message"]
        assert session.post("/v1/decisions", json=application).json()["policy"]["sha256"] == served


def test_a_valid_edit_is_taken_in_and_a_broken_one_refused_while_the_service_answers(directory: Path,
                                                                                      application):
    live = LiveRegistry(directory)
    live.watch(0.05)
    try:
        with running(create_app(live)) as base, httpx.Client(base_url=base, timeout=10) as session:
            def versions() -> list[str]:
                return [v["version"] for v in session.get("/v1/policies").json()["versions"]]

            assert versions() == ["1.0"]
            new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
            wait_for(lambda: versions() == ["1.0", "1.1"])
            decision = session.post("/v1/decisions", params={"version": "1.1"}, json=application).json()
            assert decision["policy"]["version"] == "1.1"
            generation = session.get("/v1/policies").json()["generation"]

            published = directory / "1.0.yaml"
            frozen = published.read_text(encoding="utf-8")
            published.write_text(frozen.replace("status: published", "status: publiee"), encoding="utf-8")
            error = wait_for(lambda: session.get("/healthz").json()["reload_error"])
            assert error["problems"][0]["source"] == "1.0.yaml" and error["problems"][0]["line"]
            assert session.get("/healthz").status_code == 200  # still ready: the last good set serves
            assert session.get("/v1/policies").json()["generation"] == generation
            again = session.post("/v1/decisions", params={"version": "1.1"}, json=application)
            assert again.status_code == 200 and again.json() == decision
            published.write_text(frozen, encoding="utf-8")
            wait_for(lambda: session.get("/healthz").json()["reload_error"] is None)

            draft = directory / "1.1.yaml"  # a broken draft is left out: the published version goes on deciding
            good = draft.read_text(encoding="utf-8")
            draft.write_text(good.replace("status: draft", "status: brouillon"), encoding="utf-8")
            wait_for(lambda: versions() == ["1.0"])
            assert session.get("/healthz").json()["reload_error"] is None
            assert session.post("/v1/decisions", json=application).status_code == 200
            assert session.post("/v1/decisions", params={"version": "1.1"}, json=application).status_code == 422

            draft.write_text(good.replace("rate: 0.30", "rate: 0.35"), encoding="utf-8")
            wait_for(lambda: versions() == ["1.0", "1.1"])
            changed = session.post("/v1/decisions", params={"version": "1.1"}, json=application).json()
            assert changed["rate"]["base"] == "0.35"
    finally:
        live.stop()


# The command


def test_guichet_serve_runs_and_stops(directory: Path, tmp_path: Path, application):
    port = free_port()
    log = tmp_path / "decisions.jsonl"
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--policy-dir", str(directory),
         "--decision-log", str(log), "--watch-interval", "0.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as session:
            def ready() -> bool:
                try:
                    return session.get("/healthz").status_code == 200
                except httpx.TransportError:
                    assert server.poll() is None, "le serveur s'est arrêté"
                    return False

            wait_for(ready, timeout=30)
            assert session.get("/healthz").json()["watching"] is True
            response = session.post("/v1/decisions", json=application)
            assert response.status_code == 200
            record = json.loads(log.read_text(encoding="utf-8").splitlines()[0])
            assert record["decision_id"] == response.headers["guichet-decision-id"]
            if hasattr(signal, "SIGHUP"):
                new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
                server.send_signal(signal.SIGHUP)
                wait_for(lambda: session.get("/healthz").json()["versions"] == ["1.0", "1.1"])
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=20)[0].decode()
    assert server.returncode == 0, output
    assert "politiques chargées" in output and "Traceback" not in output


def test_guichet_serve_refuses_an_invalid_directory(tmp_path: Path):
    (tmp_path / "1.0.yaml").write_text("version: 1.0\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(free_port()),
                             "--policy-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 2
    assert "rien n'a été évalué" in result.stderr and "Traceback" not in result.stderr


def test_the_load_script_drives_the_server_and_stops_it():
    """A short run of ``bench/load.py`` (the figures of the README come from a 20 s run)."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--duration", "1",
                             "--max-requests", "300", "--warmup", "20", "--connections", "4"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "erreurs : 0" in result.stdout and "décisions/s" in result.stdout and "p99" in result.stdout
