"""The safeguards around amending a policy (issue 13, point 4): a broken draft never stops the
published versions from deciding; versions are written to the working policy directory, never into
the installed package; a backdated publication is refused unless asked for, and then says what it
changes; version numbers that compare equal are refused; a version named outside its dates says so
in the decision; ``guichet validate`` warns about texts that still quote a value the draft changed."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from datetime import date, timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest
from click.testing import CliRunner, Result

import cli
from conftest import EXAMPLES, POLICY_FILE, ROOT, edited, policy_directory
from evaluator import InputError, LiveRegistry, Registry
from evaluator.service.decision_log import DecisionLog
from evaluator.service.http import create_app
from evaluator.testing.cases import compare
from evaluator.testing.coverage import observed, rules
from evaluator.versions import workspace
from evaluator.versions.authoring import Reassigned, new_draft, publish
from evaluator.versions.registry import DATES_RULE
from evaluator.versions.stale import stale_texts
from live_server import running

HEADER = 'version: "1.0"\nstatus: published\neffective_from: 2026-05-22'
SIMPLE = EXAMPLES / "commune-simple.yaml"  # submitted on 2026-07-01
TRAP = "au 21 mai 2029 inclus"
DECISION_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas" / "decision.schema.json").read_text(encoding="utf-8")))


def guichet(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def draft(directory: Path, version: str, effective_from: str, *edits: tuple[str, str]) -> Path:
    """A draft ``version`` of ``directory``, the 1.0 edited as staff would."""
    path = directory / f"{version}.yaml"
    header = f'version: "{version}"\nstatus: draft\neffective_from: {effective_from}'
    path.write_text(edited(POLICY_FILE.read_text(encoding="utf-8"), (HEADER, header), *edits), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A copy of the bundled versions: 1.0, published, and its lock."""
    return policy_directory(tmp_path / "politiques")


@pytest.fixture
def broken(directory: Path) -> Path:
    """The versions and a draft 1.1 whose window's end is an unclosed list."""
    return draft(directory, "1.1", "2027-01-01", ("closes_on: 2029-05-21", "closes_on: [2030-05-21"))


# -- 1. a broken draft never stops the published versions ------------------------------------------


def test_a_broken_draft_is_left_out_with_its_problems_and_named_it_raises_them(directory: Path, broken: Path):
    with pytest.raises(InputError):
        Registry.from_directory(directory)
    registry = Registry.from_directory(directory, drafts="skip")
    assert [p.version for p in registry.versions] == ["1.0"]
    [skipped] = registry.skipped
    assert (skipped.version, skipped.path) == ("1.1", broken)
    line = line_of(broken, "closes_on: [2030")
    assert skipped.warning().startswith(f"avertissement : la version brouillon 1.1 ({broken}) est ignorée : "
                                        f"ligne {line} : liste entre crochets non fermée")
    with pytest.raises(InputError) as raised:
        registry.version("1.1")
    first, *problems = raised.value.problems
    assert "la version 1.1 est un brouillon invalide, ignoré" in first.message
    assert problems == list(skipped.problems)


@pytest.mark.parametrize("command", ["evaluate", "batch", "facts"])
def test_commands_that_decide_warn_and_decide_with_the_published_versions(directory: Path, broken: Path,
                                                                        tmp_path: Path, command: str):
    lines = tmp_path / "lot.jsonl"
    lines.write_text(json.dumps(json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text())) + "\n")
    argument = {"evaluate": [str(SIMPLE)], "batch": [str(lines)], "facts": []}[command]
    result = guichet(command, *argument, "--policy-dir", str(directory))
    assert result.exit_code == 0, result.output
    assert f"avertissement : la version brouillon 1.1 ({broken}) est ignorée : ligne " in result.stderr


def test_guichet_test_runs_its_cases_beside_a_broken_draft(directory: Path, broken: Path):
    result = guichet("test", str(ROOT / "tests" / "cases"), "--policy-dir", str(directory))
    assert result.exit_code == 0, result.output
    assert "la version brouillon 1.1" in result.stderr and " 0 failed" in result.stdout


def test_validate_still_fails_on_the_broken_draft_and_naming_it_is_an_error(directory: Path, broken: Path):
    result = guichet("validate", str(directory))
    assert result.exit_code == 2
    assert f"{broken}:{line_of(broken, 'closes_on: [2030')}:" in result.stderr
    assert "avertissement" not in result.stderr
    named = guichet("evaluate", str(SIMPLE), "--policy-version", "1.1", "--policy-dir", str(directory))
    assert named.exit_code == 2
    assert "la version 1.1 est un brouillon invalide, ignoré : elle ne peut rien décider" in named.stderr
    assert "liste entre crochets non fermée" in named.stderr and "Traceback" not in named.output


def test_a_broken_published_version_still_stops_everything(directory: Path):
    published = directory / "1.0.yaml"
    published.write_text(published.read_text(encoding="utf-8").replace("    value: 500\n", "    value: 300\n"),
                         encoding="utf-8")
    result = guichet("evaluate", str(SIMPLE), "--policy-dir", str(directory))
    assert result.exit_code == 2 and "donc figée" in result.stderr
    with pytest.raises(InputError):
        Registry.from_directory(directory, drafts="skip")


def test_a_broken_file_that_says_it_is_published_is_not_left_out(directory: Path, broken: Path):
    broken.write_text(broken.read_text(encoding="utf-8").replace("status: draft", "status: published"),
                      encoding="utf-8")
    with pytest.raises(InputError):
        Registry.from_directory(directory, drafts="skip")


def test_a_set_of_broken_drafts_alone_is_refused(tmp_path: Path):
    (tmp_path / "1.0.yaml").write_text("pas: une politique\n", encoding="utf-8")
    with pytest.raises(InputError):
        Registry.from_directory(tmp_path, drafts="skip")


def test_the_service_starts_and_reloads_beside_a_broken_draft(directory: Path, broken: Path, application, caplog):
    with caplog.at_level(logging.WARNING, logger="guichet.service"):
        live = LiveRegistry(directory)
    assert [p.version for p in live.versions] == ["1.0"] and live.failure is None
    assert f"la version brouillon 1.1 ({broken}) est ignorée" in caplog.text
    new_draft(Registry.from_directory(directory, drafts="skip"), "1.2", "1.0", date(2027, 6, 1))
    assert live.reload() is None
    assert [p.version for p in live.versions] == ["1.0", "1.2"]
    assert live.evaluate(application).policy.version == "1.0"


# -- 2. versions are written to the working policy directory -----------------------------------------


def test_policy_new_writes_into_the_working_policies_directory_the_commands_then_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    working = tmp_path / "policies" / "guichet-cofinancement"
    shutil.copytree(POLICY_FILE.parent, working)
    monkeypatch.chdir(tmp_path)
    result = guichet("policy", "new", "1.1", "--from", "1.0", "--effective-from", "2027-01-01")
    assert result.exit_code == 0, result.output
    assert (working / "1.1.yaml").exists() and not (POLICY_FILE.parent / "1.1.yaml").exists()
    decided = guichet("evaluate", str(SIMPLE), "--policy-version", "1.1", "--format", "json")
    assert json.loads(decided.stdout)["policy"]["version"] == "1.1"
    assert workspace.reading_directory(None) == Path("policies")


def test_policy_new_without_a_working_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "autre.yaml").write_text("pas: une politique\n", encoding="utf-8")  # not a project's
    assert workspace.reading_directory(None) == workspace.policies_dir()
    for command in (["new", "1.1", "--from", "1.0", "--effective-from", "2027-01-01"], ["publish", "1.1"]):
        result = guichet("policy", *command)
        assert result.exit_code == 2, result.output
        assert "aucune politique dans ./policies : une version ne s'écrit pas dans les politiques livrées" in (
            result.stderr)
        assert "--policy-dir" in result.stderr
    assert sorted(p.name for p in POLICY_FILE.parent.iterdir()) == ["1.0.yaml", "lock.json"]


def test_writing_into_the_installed_package_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "site-packages" / "evaluator"
    bundled = package / "_bundled" / "policies" / "guichet-cofinancement"
    shutil.copytree(POLICY_FILE.parent, bundled)
    monkeypatch.setattr(workspace, "PACKAGE", package)
    result = guichet("policy", "new", "1.1", "--from", "1.0", "--effective-from", "2027-01-01",
                     "--policy-dir", str(bundled))
    assert result.exit_code == 2
    assert "ce répertoire est dans le paquet guichet installé" in result.stderr
    assert not (bundled / "1.1.yaml").exists()


# -- 3. a publication in the past ---------------------------------------------------------------------


def test_publishing_before_today_is_refused_unless_backdated_and_says_which_dates_change(directory: Path):
    draft(directory, "1.1", "2026-06-01")
    today = date(2026, 12, 1)
    with pytest.raises(InputError) as raised:
        publish(Registry.from_directory(directory), "1.1", today)
    [problem] = raised.value.problems
    assert problem.message == ("la version 1.1 prendrait effet le 1er juin 2026, avant aujourd'hui (1er décembre "
                               "2026) : les demandes déjà déposées depuis le 1er juin 2026 changeraient de version")
    assert "--backdate" in (problem.hint or "")
    assert "status: draft" in (directory / "1.1.yaml").read_text(encoding="utf-8")
    written = publish(Registry.from_directory(directory), "1.1", today, backdate=True)
    [period] = written.reassigned
    assert period == Reassigned(date(2026, 6, 1), date(2026, 11, 30), "1.0", "1.1")
    assert period.text() == ("les demandes déposées du 1er juin 2026 au 30 novembre 2026 relevaient de la "
                             "version 1.0 : elles relèveront de la version 1.1")


def test_a_backdated_publication_names_only_the_dates_whose_version_changes(directory: Path):
    """1.2 is published from 2027-01-01; 1.1, published afterwards from 2026-06-01, changes the
    dates up to 2026-12-31 only: 1.2 still decides from 2027-01-01."""
    draft(directory, "1.2", "2027-01-01")
    publish(Registry.from_directory(directory), "1.2", date(2026, 12, 1))
    draft(directory, "1.1", "2026-06-01")
    written = publish(Registry.from_directory(directory), "1.1", date(2027, 2, 1), backdate=True)
    assert written.reassigned == (Reassigned(date(2026, 6, 1), date(2026, 12, 31), "1.0", "1.1"),)


def test_the_publish_command_takes_today_and_backdate(directory: Path):
    effective = date.today() - timedelta(days=30)
    draft(directory, "1.1", effective.isoformat())
    refused = guichet("policy", "publish", "1.1", "--policy-dir", str(directory))
    assert refused.exit_code == 2 and "avant aujourd'hui" in refused.stderr and "--backdate" in refused.stderr
    result = guichet("policy", "publish", "1.1", "--policy-dir", str(directory), "--backdate")
    assert result.exit_code == 0, result.output
    assert "Publication rétroactive : les demandes déposées du " in result.stdout
    assert "relevaient de la version 1.0 : elles relèveront de la version 1.1." in result.stdout


# -- 4. numbers that compare equal ---------------------------------------------------------------------


@pytest.mark.parametrize("number", ["1.00", "01.0", "1.000"])
def test_policy_new_refuses_a_number_equal_to_an_existing_one(directory: Path, number: str):
    with pytest.raises(InputError) as raised:
        new_draft(Registry.from_directory(directory), number, "1.0", date(2027, 1, 1))
    [problem] = raised.value.problems
    assert problem.message == (f"la version {number} se confondrait avec la version 1.0 : les numéros se comparent "
                               f"nombre par nombre ({number} = 1.0)")
    assert problem.hint == "choisissez un autre numéro, par exemple 1.1"
    assert not (directory / f"{number}.yaml").exists()


def test_the_registry_refuses_a_draft_whose_number_equals_another(directory: Path):
    path = directory / "1.00.yaml"
    path.write_text(edited(POLICY_FILE.read_text(encoding="utf-8"),
                           (HEADER, 'version: "1.00"\nstatus: draft\neffective_from: 2027-01-01')), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        Registry.from_directory(directory)
    assert any("la version 1.00 se confond avec la version 1.0" in p.message for p in raised.value.problems)
    assert [draft.version for draft in Registry.from_directory(directory, drafts="skip").skipped] == ["1.00"]


# -- 5. a version named outside its dates ---------------------------------------------------------------


def test_a_draft_named_before_it_takes_effect_says_so_in_a_finding(directory: Path, application):
    draft(directory, "1.1", "2026-12-01")
    registry = Registry.from_directory(directory)
    decision = registry.evaluate(application, version="1.1")
    finding = next(f for f in decision.findings if f.rule == DATES_RULE)
    assert finding.message == ("La version 1.1 est appliquée à une demande déposée le 1er juillet 2026, avant son "
                               "entrée en vigueur (1er décembre 2026) ; la version en vigueur à cette date est 1.0.")
    assert (finding.outcome, finding.effect, finding.clause) == ("info", None, "§4 Modalités")
    rules_in_order = [f.rule for f in decision.findings]
    assert rules_in_order[rules_in_order.index("window") + 1] == DATES_RULE
    assert decision.status == registry.evaluate(application).status == "eligible"
    DECISION_SCHEMA.validate(decision.to_dict())
    assert json.loads(decision.to_bytes())["findings"] == decision.to_dict()["findings"]
    assert DATES_RULE not in {f.rule for f in registry.evaluate(application).findings}
    assert DATES_RULE not in {f.rule for f in registry.evaluate(application, version="1.0").findings}


def test_a_version_named_after_it_is_replaced_says_so(directory: Path, application):
    draft(directory, "1.1", "2026-06-15")
    publish(Registry.from_directory(directory), "1.1", date(2026, 6, 1))
    decision = Registry.from_directory(directory).evaluate(application, version="1.0")
    [finding] = [f for f in decision.findings if f.rule == DATES_RULE]
    assert finding.message == ("La version 1.0 est appliquée à une demande déposée le 1er juillet 2026, alors que la "
                               "version 1.1 la remplace depuis le 15 juin 2026 ; la version en vigueur à cette date "
                               "est 1.1.")


def test_the_finding_leaves_coverage_alone_and_a_case_may_expect_it(directory: Path, application):
    draft(directory, "1.1", "2026-12-01")
    registry = Registry.from_directory(directory)
    table = rules(registry.version("1.1"))
    named = registry.evaluate(application, version="1.1")
    without = dataclasses.replace(named, trace=tuple(entry for entry in named.trace if entry.rule != DATES_RULE))
    assert observed(table, named) == observed(table, without)
    expect = {"findings": [{"rule": DATES_RULE, "outcome": "info", "effect": None}]}
    assert list(compare(expect, named, (rule.id for rule in table))) == []


def test_the_cli_and_the_http_service_state_it(directory: Path, application):
    draft(directory, "1.1", "2026-12-01")
    result = guichet("evaluate", str(SIMPLE), "--policy-version", "1.1", "--policy-dir", str(directory))
    assert "[info] La version 1.1 est appliquée à une demande déposée le 1er juillet 2026" in result.stdout
    with running(create_app(LiveRegistry(directory))) as base, httpx.Client(base_url=base, timeout=10) as client:
        named = client.post("/v1/decisions", params={"version": "1.1"}, json=application).json()
        by_date = client.post("/v1/decisions", json=application).json()
    assert DATES_RULE in {f["rule"] for f in named["findings"]}
    assert DATES_RULE not in {f["rule"] for f in by_date["findings"]}


def test_replaying_a_decision_named_outside_its_dates_finds_it_identical(directory: Path, tmp_path: Path,
                                                                          application):
    draft(directory, "1.1", "2026-12-01")
    log = tmp_path / "decisions.jsonl"
    with DecisionLog(log, store_input=True) as kept:
        kept.record(Registry.from_directory(directory).evaluate(application, version="1.1"), application,
                    requested_version="1.1")
    for mode in ([], ["--same-version"]):
        result = guichet("replay", str(log), "--policy-dir", str(directory), *mode)
        assert result.exit_code == 0, result.output


# -- 6. stale texts --------------------------------------------------------------------------------------


def test_validate_warns_about_a_text_quoting_the_old_end_of_the_window(directory: Path):
    """The trap of the issue: the window's end moved, « 21 mai 2029 » left in its interpretation."""
    path = draft(directory, "1.1", "2027-01-01", ("closes_on: 2029-05-21", "closes_on: 2030-05-21"))
    line = line_of(path, TRAP)
    column = path.read_text(encoding="utf-8").splitlines()[line - 1].index("21 mai 2029") + 1
    for target in (directory, path):
        result = guichet("validate", str(target))
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith(
            f"{path}:{line}:{column}: avertissement : ce texte cite encore « 21 mai 2029 », l'ancienne valeur de "
            "window.closes_on (2029-05-21 dans la version 1.0, 2030-05-21 dans celle-ci) (à window.interpretation)")
        assert "un texte peut citer un paramètre (section parameters) par {nom}" in result.stderr
    path.write_text(path.read_text(encoding="utf-8").replace(TRAP, "au 21 mai 2030 inclus"), encoding="utf-8")
    assert stale_texts(path) == []


@pytest.mark.parametrize(("text", "stale"), [
    ("au moins 40 % de la population", "40 %"),
    ("au moins 40\u202f% de la population", "40\u202f%"),
    ("au moins 40% de la population", "40%"),
    ("une part de 0,40 au moins", "0,40"),
    ("une part de 0.4 au moins", "0.4"),
    ("au moins 140 % ou 0,405", None),
    ("au moins {qpv_share_threshold}", None),
    ("de 40 % à 35 %", None),
])
def test_a_changed_share_is_looked_for_in_its_usual_forms(directory: Path, text: str, stale: str | None):
    label = "    label: Part de la population en quartier prioritaire de la ville (QPV)"
    path = draft(directory, "1.1", "2027-01-01", ("    value: 0.40\n", "    value: 0.35\n"),
                 (label, f"    label: {text}"))
    found = [w for w in stale_texts(path) if w.path == ("parameters", "qpv_share_threshold", "label")]
    assert [w.message.split("« ")[1].split(" »")[0] for w in found] == ([stale] if stale else [])
    if stale:
        assert found[0].hint == ("écrivez {qpv_share_threshold} à la place de la valeur : le texte citera toujours "
                                 "celle du paramètre")
        assert found[0].line == line_of(path, text)


@pytest.mark.parametrize(("text", "warned"), [
    ("au moins 500 licences", True),
    ("au moins 1 500 licences", False),
    ("pour 500 € de licences", False),
    ("le seuil passe de 500 à 300", False),
])
def test_a_changed_threshold_is_told_from_other_numbers(directory: Path, text: str, warned: bool):
    path = draft(directory, "1.1", "2027-01-01", ("    value: 500\n", "    value: 300\n"),
                 ("    label: Seuil de licences du taux majoré", f"    label: {text}"))
    found = [w for w in stale_texts(path) if w.path == ("parameters", "licence_threshold", "label")]
    assert bool(found) is warned


def test_a_published_version_or_the_amendment_example_gives_no_warning(directory: Path):
    assert stale_texts(POLICY_FILE) == []
    shutil.copy(ROOT / "tests" / "amendment" / "1.1.yaml", directory / "1.1.yaml")
    assert stale_texts(directory / "1.1.yaml") == []
