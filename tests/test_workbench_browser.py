"""The workbench in a real browser: Debian's Chromium, driven by Playwright, against a `guichet serve`
the tests start; every page checked with axe-core (no violation rated serious or critical) and
photographed into test-artifacts/screenshots/ (docs/screenshots/, the README's pictures, with
GUICHET_SCREENSHOTS=docs).

Chromium must be installed (`apt-get install -y chromium`; `.ci/run` does it): without it these
tests fail, they never skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from conftest import ROOT, policy_directory
from live_server import free_port

AMENDMENT = Path(__file__).resolve().parent / "amendment" / "1.1.yaml"
"""Lowers the threshold of the higher rate from 500 to 300 licences, among others."""
DRAFT = Path(__file__).resolve().parent / "amendment" / "amounts" / "1.2.yaml"
"""Declares each entity's population, and caps the grant."""
SCREENSHOTS = ROOT / ("docs" if os.environ.get("GUICHET_SCREENSHOTS") == "docs" else "test-artifacts") / "screenshots"
"""Where each page's picture goes: test-artifacts/ (ignored by git), or the README's pictures in
docs/screenshots/ with GUICHET_SCREENSHOTS=docs."""
CHROMIUM = os.environ.get("GUICHET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    drafts = {"1.1.yaml": AMENDMENT.read_text(encoding="utf-8"), "1.2.yaml": DRAFT.read_text(encoding="utf-8")}
    directory = policy_directory(tmp_path_factory.mktemp("workbench"), drafts)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", "from evaluator.cli import main; main()", "serve",
                                "--port", str(port), "--policy-dir", str(directory)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"guichet serve n'a pas démarré : {process.stderr.read()!r}") from None
            time.sleep(0.1)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"Chromium introuvable ({CHROMIUM}) : apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    yield context.new_page()
    context.close()


SWAGGER_SUMMARIES = {"exclude": [["#swagger-ui .opblock-summary-control"]]}
"""Swagger UI puts the link of each route inside the button that opens it (axe's nested-interactive):
that control of the third-party widget is left out of the check; the rest of the page is checked."""


def _accessible(page: Page, name: str, context: dict[str, Any] | None = None, *, whole: bool = False) -> None:
    """No axe-core violation rated serious or critical; the page photographed."""
    results = Axe().run(page, context)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, ensure_ascii=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=whole)


def _fill(page: Page, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f'[name="{name}"]')
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


ENTITY = {"name": "Commune", "category": "commune", "licences": "10"}
SOLUTION = {f"solution.{key}": value for key, value in {
    "name": "Assistant", "editor": "Éditeur Souverain SAS", "kind": "general_purpose", "editor_country": "FR",
    "hosting_countries": "FR", "processing_countries": "FR", "model_provider_country": "FR",
    "auditability_commitment": "oui", "extra_eu_transfer": "none", "eu_law_applicable": "oui",
    "extra_eu_jurisdiction": "non", "reversibility": "oui", "ai_act_compliant": "oui"}.items()}
SIRENS = ("217500016", "210100012", "210100020", "210100038")


def test_the_worked_example_of_section_2_gives_250_and_250_at_50_percent(server, page):
    """§2, note 7: 500 € of licences and 2,000 € of deployment give 1,000 € eligible; mutualised
    (three co-beneficiaries with licences) and frugal, the rate is 50 %: 250 € + 250 €."""
    page.goto(f"{server}/simuler?version=1.0")
    for _ in range(3):
        page.get_by_role("button", name="Ajouter un co-bénéficiaire").click()
    for _ in range(4):
        page.get_by_role("button", name="Ajouter une pièce").click()
    page.get_by_role("button", name="Ajouter une ligne de dépenses").click()
    values = {"submitted_on": "2026-07-01", "frugal_ai": "oui", "public_procurement_compliant": "oui", **SOLUTION,
              **{f"applicant.{key}": value for key, value in ENTITY.items()}, "applicant.siren": SIRENS[0],
              "applicant.name": "Commune de Saint-Exemple",
              "expense.0.kind": "licence", "expense.0.amount": "500", "expense.1.kind": "deployment",
              "expense.1.amount": "2000"}
    for index, siren in enumerate(SIRENS[1:]):
        values.update({f"co.{index}.{key}": value for key, value in ENTITY.items()})
        values.update({f"co.{index}.siren": siren, f"co.{index}.name": f"Commune {index + 2}"})
    for index, kind in enumerate(("quote", "sovereignty_sheet", "editor_attestation", "mutualisation_declaration",
                                  "frugal_ai_practices")):
        values[f"document.{index}.kind"] = kind
    values["document.3.signed_by"] = ", ".join(SIRENS)
    _fill(page, values)
    page.get_by_role("button", name="Évaluer la demande").last.click()
    result = page.locator("section.decision")
    assert "Résultat : Éligible" in result.inner_text()
    figures = result.inner_text().replace("\u00a0", " ")
    assert "Total éligible\t1 000,00 €" in figures
    assert "Subvention sur les licences\t250,00 €" in figures
    assert "Subvention sur le déploiement\t250,00 €" in figures
    assert "Taux retenu\t50 %" in figures
    _accessible(page, "simuler-resultat")


def test_a_field_added_to_a_draft_appears_in_its_form_only(server, page):
    page.goto(f"{server}/simuler?version=1.2")
    assert page.get_by_label("Population municipale de l'entité (INSEE)").count() == 1
    _accessible(page, "simuler")
    page.goto(f"{server}/simuler?version=1.0")
    assert page.get_by_label("Population municipale de l'entité (INSEE)").count() == 0


def test_a_refused_field_says_why_beside_it(server, page):
    page.goto(f"{server}/simuler?version=1.0")
    page.locator('[name="expense.0.amount"]').fill("12,5")
    page.get_by_role("button", name="Évaluer la demande").last.click()
    amount = page.locator('[name="expense.0.amount"]')
    assert amount.get_attribute("aria-invalid") == "true"
    assert page.locator("#f-expense-0-amount-error").is_visible()
    _accessible(page, "simuler-erreurs")


def test_an_impact_upload_shows_its_charts_and_totals(server, page, tmp_path: Path):
    portfolio = tmp_path / "portefeuille.jsonl"
    lines: list[dict[str, Any]] = []
    for number in range(12):
        application = json.loads((ROOT / "tests" / "bad-inputs" / "batch" / "bom.jsonl").read_text("utf-8-sig")
                                 .splitlines()[0])
        application["reference"] = f"DEM-{number}"
        application["applicant"]["licences"] = 100 * (number + 1)
        application["applicant"]["category"] = "association" if number == 11 else "commune"
        lines.append(application)
    portfolio.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    page.goto(f"{server}/impact")
    page.locator("#portfolio").set_input_files(str(portfolio))
    page.locator("#de").select_option("1.0")
    page.locator("#a").select_option("1.1")
    page.get_by_role("button", name="Mesurer l'impact").click()
    assert page.locator("figure.chart svg").count() >= 3
    text = page.inner_text("main")
    assert "Subvention totale, version 1.1" in text and "subvention en hausse\t2" in text
    _accessible(page, "impact", whole=True)


@pytest.mark.parametrize(("name", "path"), [("accueil", "/"), ("version", "/versions/1.2"),
                                            ("comparer", "/comparer?de=1.0&a=1.2"), ("api", "/docs")])
def test_each_page_reads_well_for_everyone(server, page, name, path):
    page.goto(f"{server}{path}")
    page.wait_for_load_state("networkidle")
    assert page.locator("main h1").first.is_visible()
    _accessible(page, name, SWAGGER_SUMMARIES if name == "api" else None)
