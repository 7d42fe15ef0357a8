"""The OpenAPI document drives schemathesis against the real server: every operation, with requests
made from the document (valid and invalid bodies, parameters, other methods), must never get a 5xx,
and every response must follow the document — status, content type, headers and JSON Schema (the
decision schema of ``schemas/`` for a decision). The run is bounded (``MAX_EXAMPLES`` per operation
and phase), a few seconds in all."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

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

from conftest import EXAMPLES
from evaluator import DecisionLog, LiveRegistry, Registry, openapi
from evaluator.server import create_app
from live_server import running

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
          response_headers_conformance, negative_data_rejection, unsupported_method]

schema = schemathesis.openapi.from_dict(openapi.document())
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
    document = openapi.document()
    components = document["components"]["schemas"]
    body = document["paths"]["/v1/decisions"]["post"]
    assert body["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Application"}
    assert body["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Decision"}
    assert components["Application"]["properties"]["applicant"]["$ref"] == "#/components/schemas/Application.entity"
    assert "$id" not in components["Decision"] and "$defs" not in components["Policy"]


def test_the_document_examples_are_the_example_files(application):
    registry = Registry.default()
    assert registry.evaluate(openapi.EXAMPLE_APPLICATION).to_bytes() == registry.evaluate(application).to_bytes()
    incomplete = json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8"))
    assert incomplete == openapi.EXAMPLE_INCOMPLETE
    assert registry.evaluate(incomplete).status == "incomplete"
