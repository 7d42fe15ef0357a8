"""The OpenAPI document drives schemathesis against the real server: every operation, with requests
made from the document (valid and invalid bodies, parameters, other methods), must never get a 5xx,
and every response must follow the document — status, content type, headers and JSON Schema (the
decision schema of ``schemas/`` for a decision). The run is bounded (``MAX_EXAMPLES`` per operation
and phase), a few seconds in all."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from conftest import EXAMPLES, POLICY_FILE
from evaluator import DecisionLog, LiveRegistry, Registry
from evaluator.reading.resources import schema as bundled_schema
from evaluator.service import openapi
from evaluator.service.http import create_app
from live_server import running

AMENDMENT = Path(__file__).resolve().parent / "amendment" / "1.1.yaml"

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
          response_headers_conformance, negative_data_rejection, unsupported_method]

NEWEST = Registry.default().versions[-1]
"""The version the served document describes: the newest of the bundled policies."""
schema = schemathesis.openapi.from_dict(openapi.document(NEWEST))
answered: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path: Path = tmp_path_factory.mktemp("openapi") / "decisions.jsonl"
    with DecisionLog(log_path) as log, running(create_app(LiveRegistry(), decision_log=log)) as base:
        yield base


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_service_follows_its_openapi_document(case, base_url):
    response = case.call_and_validate(base_url=base_url, checks=CHECKS)
    answered[(f"{case.method} {case.operation.path}", response.status_code)] += 1


def test_the_run_reached_the_answers_that_matter():
    """Run after the test above (same module, in order): the document's examples got real decisions
    and the policy's data, so the decision and policy schemas were checked on real responses."""
    if not answered:
        pytest.skip("lancé seul : la campagne schemathesis ci-dessus n'a pas tourné")
    assert answered[("POST /v1/decisions", 200)] >= 1
    assert answered[("POST /v1/decisions:batch", 200)] >= 1
    assert answered[("GET /v1/policies/{version}", 200)] >= 1
    assert answered[("POST /v1/decisions", 422)] >= 1
    assert not [key for key in answered if key[1] >= 500]
    print(f"schemathesis : {sum(answered.values())} requêtes", dict(sorted(answered.items())))


def test_the_document_reuses_the_project_schemas():
    document = openapi.document(NEWEST)
    components = document["components"]["schemas"]
    body = document["paths"]["/v1/decisions"]["post"]
    assert body["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Application"}
    assert body["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Decision"}
    assert components["Application"]["properties"]["applicant"]["$ref"] == "#/components/schemas/Application.entity"
    assert "$id" not in components["Decision"] and "$defs" not in components["Policy"]


def test_the_application_component_is_the_schema_the_version_declares(base_url):
    """The served Application is the newest version's schema: it lists the fields the version declares
    in its facts section, which the bundled structure does not."""
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    components = document["components"]["schemas"]
    skeleton = bundled_schema("application")
    assert "frugal_ai" in components["Application"]["properties"]
    assert "frugal_ai" not in skeleton["properties"]
    assert "overseas" in components["Application.entity"]["properties"]
    assert "overseas" not in skeleton["$defs"]["entity"]["properties"]
    assert components["Application"]["description"].startswith(f"Demande selon la version {NEWEST.version} ")
    assert components["Application"] == openapi.document(NEWEST)["components"]["schemas"]["Application"]


def test_without_a_version_the_application_is_the_bare_structure():
    components = openapi.document(None)["components"]["schemas"]
    assert components["Application"]["properties"].keys() == bundled_schema("application")["properties"].keys()
    assert "overseas" not in components["Application.entity"]["properties"]


def test_the_document_follows_a_reload(tmp_path):
    directory = tmp_path / "guichet-cofinancement"
    shutil.copytree(POLICY_FILE.parent, directory)
    live = LiveRegistry(directory)
    with running(create_app(live)) as base, httpx.Client(base_url=base, timeout=10) as session:
        def described() -> str:
            description: str = session.get("/openapi.json").json()["components"]["schemas"]["Application"][
                "description"]
            return description
        assert described().startswith("Demande selon la version 1.0 ")
        shutil.copy(AMENDMENT, directory / "1.1.yaml")
        assert live.reload() is None
        assert described().startswith("Demande selon la version 1.1 ")


def test_the_document_examples_are_the_example_files(application):
    registry = Registry.default()
    body = openapi.document(NEWEST)["paths"]["/v1/decisions"]["post"]["requestBody"]["content"]["application/json"]
    examples = {name: item["value"] for name, item in body["examples"].items()}
    assert examples == {"commune": openapi.example("commune-simple.yaml"),
                        "outre-mer": openapi.example("outre-mer-incomplete.json")}
    assert registry.evaluate(examples["commune"]).to_bytes() == registry.evaluate(application).to_bytes()
    assert examples["commune"]["submitted_on"] == "2026-07-01"
    incomplete = json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8"))
    assert incomplete == examples["outre-mer"]
    assert registry.evaluate(incomplete).status == "incomplete"


def test_an_example_with_a_fraction_is_shown(monkeypatch, tmp_path):
    """An example file with a share or an amount written with decimals (a float in its JSON) is one
    the version accepts, as the service reads it: it is shown, not silently left out."""
    text = (EXAMPLES / "commune-simple.yaml").read_text(encoding="utf-8")
    shared = text.replace("  licences: 120\n", "  licences: 120\n  qpv_population_share: 0.25\n", 1)
    shared = shared.replace("amount: 3000,", "amount: 3000.50,", 1)
    assert shared.count("0.25") == 1 and shared.count("3000.50") == 1
    (tmp_path / "commune-simple.yaml").write_text(shared, encoding="utf-8")
    (tmp_path / "outre-mer-incomplete.json").write_bytes((EXAMPLES / "outre-mer-incomplete.json").read_bytes())
    monkeypatch.setattr(openapi, "examples_dir", lambda: tmp_path)
    openapi.example.cache_clear()
    try:
        body = openapi.document(NEWEST)["paths"]["/v1/decisions"]["post"]["requestBody"]["content"][
            "application/json"]
        value = body["examples"]["commune"]["value"]
    finally:
        openapi.example.cache_clear()
    assert value["applicant"]["qpv_population_share"] == 0.25 and value["expenses"][1]["amount"] == 3000.5
    assert Registry.default().evaluate(json.loads(json.dumps(value))).status == "eligible"
