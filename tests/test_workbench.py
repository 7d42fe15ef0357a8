"""The workbench's pages, answered in process: the form follows each version's declared facts, a
refused application comes back with each message beside its field, rows are added and removed
without script, an uploaded application prefills the form, and an impact gives its totals and
charts. The same pages in a real browser: tests/test_workbench_browser.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import EXAMPLES, policy_directory
from evaluator.core.french import unbreakable
from evaluator.service.http import create_app
from evaluator.service.live import LiveRegistry
from evaluator.service.workbench.form import application_of, form_of, values_of
from live_server import running

DRAFT = Path(__file__).resolve().parent / "amendment" / "amounts" / "1.2.yaml"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    directory = policy_directory(tmp_path_factory.mktemp("workbench"), {"1.2.yaml": DRAFT.read_text(encoding="utf-8")})
    with running(create_app(LiveRegistry(directory))) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _values(application: dict[str, Any]) -> dict[str, str]:
    values = values_of(application)
    values.update(co_rows="0", expense_rows=str(len(application["expenses"])),
                  document_rows=str(len(application["documents"])))
    return values


def test_the_home_page_lists_the_versions_and_the_one_in_force(client):
    page = client.get("/").text
    assert 'href="/versions/1.2"' in page and "brouillon" in page
    dated = client.get("/?le=2026-06-01").text
    assert "Une demande déposée le 1er\u00a0juin\u00a02026 relève de la" in dated


def test_a_field_a_draft_declares_is_in_its_form_and_not_in_1_0s(client):
    assert 'name="applicant.population"' in client.get("/simuler?version=1.2").text
    assert 'name="applicant.population"' not in client.get("/simuler?version=1.0").text


def test_the_form_reads_back_the_application_it_shows(registry):
    application = json.loads(json.dumps(_example(), default=str))
    form = form_of(registry.versions[0])
    assert application_of(form, values_of(application)) == application  # amounts come back as Decimal


def test_a_decided_application_shows_its_status_amounts_and_downloads(client):
    page = client.post("/simuler", data={**_values(_example()), "action": "decide"})
    assert page.status_code == 200
    assert "Résultat : Éligible" in page.text
    assert unbreakable("5 220,00 €") in page.text
    assert 'download="decision.json"' in page.text


def test_a_refused_application_says_each_problem_beside_its_field(client):
    values = _values(_example())
    values["expense.0.amount"] = "12,5"
    values["applicant.category"] = ""
    page = client.post("/simuler", data={**values, "action": "decide"})
    assert page.status_code == 422
    assert 'id="f-expense-0-amount-error"' in page.text
    assert 'id="f-applicant-category-error"' in page.text
    assert 'aria-invalid="true"' in page.text


def test_rows_are_added_and_removed_without_script(client):
    values = _values(_example())
    added = client.post("/simuler", data={**values, "action": "add:co"}).text
    assert 'name="co.0.siren"' in added
    removed = client.post("/simuler", data={**values, "action": "remove:expense.0"}).text
    assert 'name="expense.2.kind"' not in removed and 'name="expense.1.kind"' in removed


def test_an_uploaded_application_prefills_the_form(client):
    raw = (EXAMPLES / "commune-simple.yaml").read_bytes()
    page = client.post("/simuler", data={"action": "upload", "version": ""},
                       files={"application_file": ("demande.yaml", raw, "application/yaml")}).text
    assert 'value="DEM-2026-0001"' in page
    assert 'name="expense.2.amount" value="2500"' in page


def test_an_upload_that_is_not_an_application_is_refused_in_french(client):
    page = client.post("/simuler", data={"action": "upload"},
                       files={"application_file": ("x.yaml", b"- a\n- b\n", "application/yaml")})
    assert page.status_code == 422
    assert "ne contient pas une demande" in page.text


def test_comparing_two_versions_tells_the_changes_in_words(client):
    page = client.get("/comparer?de=1.0&a=1.2").text
    assert "Nouveau plafond de 50\u00a0000,00\u00a0€ par demande" in page
    assert client.get("/comparer?de=1.0&a=9.9").status_code == 404


def test_an_impact_upload_gives_totals_counts_and_charts(client):
    lines = [_example(), {**_example(), "reference": "B", "frugal_ai": True}]
    for line in lines:
        line["submitted_on"] = "2027-08-01"
        line["applicant"]["population"] = 100  # the draft caps its grant at 500 €
    portfolio = "".join(json.dumps(line, default=str) + "\n" for line in lines) + "{pas du json\n"
    page = client.post("/impact", data={"de": "1.2", "a": "1.2"},
                       files={"portfolio": ("p.jsonl", portfolio.encode(), "application/x-ndjson")})
    assert page.status_code == 200
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') >= 3
    assert "Lignes invalides, non évaluées" in page.text


def test_the_api_documentation_is_served_from_the_package(client):
    page = client.get("/docs").text
    assert '<script src="/docs/static/swagger-ui-bundle.js"></script>' in page
    assert "http" not in page.split("<script")[1].split("</script>")[0]  # nothing from outside
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200


def test_a_version_page_has_its_contents_and_a_draft_watermark(client):
    page = client.get("/versions/1.2").text
    assert '<nav class="contents" aria-label="Sommaire">' in page
    assert '<body class="draft">' in page
    assert 'href="#niveau-de-financement"' in page and 'id="niveau-de-financement"' in page
    assert client.get("/versions/9.9").status_code == 404


def _example() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "commune-simple.yaml").read_text(encoding="utf-8"))
    data["submitted_on"] = str(data["submitted_on"])
    return data


def test_an_impact_upload_may_be_a_workbook(client, tmp_path: Path):
    from click.testing import CliRunner

    import cli

    lines = tmp_path / "p.jsonl"
    portfolio = [{**_example(), "reference": f"R{number}"} for number in range(3)]
    lines.write_text("".join(json.dumps(item) + "\n" for item in portfolio), encoding="utf-8")
    assert CliRunner().invoke(cli.main, ["convert", str(lines), "-o", str(tmp_path / "p.xlsx")]).exit_code == 0
    pages = [client.post("/impact", data={"de": "1.0", "a": "1.0"},
                         files={"portfolio": (path.name, path.read_bytes(), "application/octet-stream")}).text
             for path in (lines, tmp_path / "p.xlsx")]
    assert all("De la version 1.0 à la version 1.0 : 3 demande(s)" in page for page in pages)
    totals = [page.split('id="totaux"')[1].split("</table>")[0] for page in pages]
    assert totals[0] == totals[1]


@pytest.mark.parametrize("data", [{"co_rows": "99999999", "action": "add:co"}, {"co_rows": "abc", "action": "add:co"},
                                  {f"co.{'9' * 5000}.name": "x", "action": f"remove:co.{'9' * 5000}"}])
def test_row_counts_written_in_a_request_are_bounded_and_never_fail(client, data):
    from evaluator.service.workbench.form import MAX_ROWS

    page = client.post("/simuler", data=data)
    assert page.status_code == 200
    assert f'name="co.{MAX_ROWS}.name"' not in page.text  # rows 0 to 199 at most
