"""``guichet test`` as CI runs it: exit codes, the readable diff, -k expressions, JUnit XML, JSON,
--fail-on-empty, --policy-dir, coverage options, the pre-commit hooks and the README's CI recipe."""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

import cli
from conftest import EXAMPLES, ROOT
from evaluator.reading.problems import InputError
from evaluator.testing.cases import Case, load_cases
from evaluator.testing.selection import compile_selection, fold

SIMPLE = EXAMPLES / "commune-simple.yaml"


def guichet(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def case_file(directory: Path, name: str, *cases: str, header: str = "") -> Path:
    """A case file whose cases all decide examples/commune-simple.yaml."""
    path = directory / name
    body = "".join(f"  - name: {case}\n" for case in cases)
    path.write_text(f"{header}base: {SIMPLE}\ncases:\n" + body.replace(
        "\n", "\n    patch: {}\n    expect: {status: eligible}\n"), encoding="utf-8")
    return path


FAILING = """\
cases:
  - name: passe
    application_file: {app}
    expect: {{status: eligible}}
  - name: échoue sur le statut et le montant
    application_file: {app}
    expect:
      status: ineligible
      amounts: {{grant_total: "5000.00"}}
      bonuses: [ia_frugale]
"""


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    path = tmp_path / "failing.yaml"
    path.write_text(FAILING.format(app=SIMPLE), encoding="utf-8")
    return path


# -- exit codes and the readable diff -------------------------------------------------------------


def test_all_cases_pass_exit_0(tmp_path):
    path = case_file(tmp_path, "ok.yaml", "un", "deux")
    result = guichet("test", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["2 passed, 0 failed"]


def test_a_failing_case_exits_1_with_the_differences_in_french(failing):
    result = guichet("test", str(failing))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"ÉCHEC {failing}:5 — échoue sur le statut et le montant",
        "    status : attendu ineligible, obtenu eligible",
        "    bonuses : attendu ['ia_frugale'], obtenu [] (manque : ia_frugale)",
        "    amounts.grant_total : attendu 5000.00, obtenu 5220.00 (écart +220.00)",
        "1 passed, 1 failed",
    ]


def test_tolerance_admits_a_small_gap(tmp_path):
    path = tmp_path / "tolerance.yaml"
    path.write_text(f"cases:\n  - name: à un euro près\n    application_file: {SIMPLE}\n"
                    "    expect: {amounts: {grant_total: '5219.50'}, tolerance: 1}\n", encoding="utf-8")
    assert guichet("test", str(path)).exit_code == 0
    path.write_text(path.read_text(encoding="utf-8").replace("tolerance: 1", "tolerance: 0.10"), encoding="utf-8")
    result = guichet("test", str(path))
    assert result.exit_code == 1
    assert "amounts.grant_total : attendu 5219.50, obtenu 5220.00 (écart +0.50, tolérance 0.10)" in result.stdout


def test_a_case_whose_application_is_refused_is_an_error_exit_2_and_the_others_run(tmp_path):
    path = tmp_path / "refused.yaml"
    path.write_text(f"base: {SIMPLE}\ncases:\n"
                    "  - name: nature inconnue\n"
                    "    patch: {expenses: [{kind: licence, amount: 10}, {kind: cafe, amount: 1}]}\n"
                    "    expect: {status: eligible}\n"
                    "  - name: bon\n    patch: {}\n    expect: {status: eligible}\n", encoding="utf-8")
    result = guichet("test", str(path))
    assert result.exit_code == 2
    assert f"ERREUR {path}:3 — nature inconnue" in result.stdout
    assert "demande refusée : " in result.stdout
    assert result.stdout.splitlines()[-1] == "1 passed, 0 failed, 1 error"
    assert "corrigez le fichier de cas" in result.stderr


# -- bad input: a malformed case file, a bad path, a bad option ------------------------------------


def test_a_malformed_case_file_exits_2_with_its_line_and_nothing_runs(tmp_path):
    path = tmp_path / "malformed.yaml"
    path.write_text(f"cases:\n  - name: faute de frappe\n    application_file: {SIMPLE}\n    expect:\n"
                    "      statut: eligible\n", encoding="utf-8")
    good = case_file(tmp_path, "good.yaml", "bon")
    result = guichet("test", str(good), str(path))
    assert result.exit_code == 2
    assert f"{path}:5:7: clé inconnue : « statut »" in result.stderr
    assert "vouliez-vous dire « status » ?" in result.stderr
    assert "rien n'a été évalué" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_every_bad_case_file_is_reported_at_once(tmp_path):
    first = tmp_path / "a.yaml"
    first.write_text("cases: []\n", encoding="utf-8")
    second = tmp_path / "b.yaml"
    second.write_text("cases:\n  - name: x\n    expect: {status: eligible}\n\tbad\n", encoding="utf-8")
    result = guichet("test", str(tmp_path), "absent.yaml")
    assert result.exit_code == 2
    assert "absent.yaml: fichier ou répertoire introuvable" in result.stderr
    assert f"{first}:1:" in result.stderr
    assert f"{second}:4:" in result.stderr
    assert "3 problèmes" in result.stderr


def test_duplicate_case_names_in_a_file_are_refused(tmp_path):
    path = case_file(tmp_path, "twice.yaml", "même nom", "même nom")
    result = guichet("test", str(path))
    assert result.exit_code == 2
    assert f"{path}:6:5: nom de cas en double : « même nom » (déjà ligne 3)" in result.stderr


def test_the_default_directory_is_tests_cases(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = guichet("test")
    assert result.exit_code == 2
    assert "tests/cases: fichier ou répertoire introuvable" in result.stderr
    (tmp_path / "tests" / "cases").mkdir(parents=True)
    case_file(tmp_path / "tests" / "cases", "x.yaml", "un")
    assert guichet("test").stdout == "1 passed, 0 failed\n"


# -- -k expressions ----------------------------------------------------------------------------------


@pytest.fixture
def named(tmp_path: Path) -> Path:
    case_file(tmp_path, "window.yaml", "Dépôt dans la fenêtre", "Dépôt la veille de la fenêtre",
              header="clause: \"§4 Modalités\"\n")
    case_file(tmp_path, "other.yaml", "Cœur de ville", "and or not", header="clause: \"§3 Bonifications\"\n")
    return tmp_path


@pytest.mark.parametrize(("expression", "passed"), [
    ("fenetre and not veille", 1),
    ("FENÊTRE", 2),
    ("fenetre or coeur", 3),
    ("not fenetre", 2),
    ("coeur or veille and fenetre", 2),  # and binds tighter than or
    ("(coeur or veille) and fenetre", 1),
    ("not veille and fenetre", 1),  # not binds tighter than and
    ("\"la veille\"", 1),
    ("'\"and\"'", 0),
    ("\"and\" and \"or\"", 1),
    ("window", 2),  # the file's name
    ("modalites and not veille", 1),  # the clause
    ("introuvable", 0),
    ("", 4),
])
def test_k_selects_cases_like_pytest(named, expression, passed):
    result = guichet("test", str(named), "-k", expression)
    assert result.exit_code == 0, result.output
    deselected = 4 - passed
    assert result.stdout.splitlines()[-1] == f"{passed} passed, 0 failed" + (
        f", {deselected} deselected" if deselected else "")


def test_a_bad_k_expression_exits_2_and_points_at_the_fault(named):
    result = guichet("test", str(named), "-k", "fenetre and (veille or")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        "option -k: expression de sélection invalide : mot attendu après « or », trouvé la fin de l'expression",
        "    fenetre and (veille or",
        "                          ^",
    ]


@pytest.mark.parametrize(("expression", "message"), [
    ("a b", "« b » inattendu"),
    ("(a", "parenthèse non fermée"),
    ("a)", "« ) » sans parenthèse ouvrante"),
    ("\"a", "guillemet non fermé"),
    ("and", "mot attendu, trouvé « and »"),
    ("not", "mot attendu après « not »"),
])
def test_malformed_selections(expression, message):
    with pytest.raises(InputError) as caught:
        compile_selection(expression)
    assert message in caught.value.problems[0].message


def test_fold_ignores_case_accents_and_ligatures():
    assert fold("Fenêtre ŒUVRE d’Été") == "fenetre oeuvre d'ete"


# -- --fail-on-empty ---------------------------------------------------------------------------------


def test_no_case_passes_unless_fail_on_empty(named, tmp_path):
    assert guichet("test", str(named), "-k", "introuvable").exit_code == 0
    result = guichet("test", str(named), "-k", "introuvable", "--fail-on-empty")
    assert result.exit_code == 1
    assert "aucun cas lancé" in result.stderr
    empty = tmp_path / "vide"
    empty.mkdir()
    assert guichet("test", str(empty), "--fail-on-empty").exit_code == 1
    assert guichet("test", str(named), "--fail-on-empty").exit_code == 0


# -- JUnit XML ---------------------------------------------------------------------------------------


def test_junit_xml_one_testsuite_per_file_one_testcase_per_case(failing, tmp_path):
    case_file(tmp_path, "ok.yaml", "un", "deux", header="clause: \"§3\"\n")
    report = tmp_path / "reports" / "junit.xml"
    result = guichet("test", str(failing), str(tmp_path / "ok.yaml"), "--junit-xml", str(report))
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(failing), str(tmp_path / "ok.yaml")]
    assert [(s.get("tests"), s.get("failures")) for s in suites] == [("2", "1"), ("2", "0")]
    assert [c.get("name") for c in suites[0].findall("testcase")] == ["passe", "échoue sur le statut et le montant"]
    passing, failed = suites[0].findall("testcase")
    assert passing.find("failure") is None
    assert failed.get("line") == "5" and failed.get("file") == str(failing)
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message") == ("status : attendu ineligible, obtenu eligible ; bonuses : attendu "
                                      "['ia_frugale'], obtenu [] (manque : ia_frugale) ; amounts.grant_total : "
                                      "attendu 5000.00, obtenu 5220.00 (écart +220.00)")
    assert "status : attendu ineligible, obtenu eligible" in (failure.text or "")
    assert suites[1].find("properties/property").attrib == {"name": "clause", "value": "§3"}


def test_junit_xml_reports_a_refused_application_as_an_error(tmp_path):
    path = tmp_path / "version.yaml"
    path.write_text(f"cases:\n  - name: version inconnue\n    application_file: {SIMPLE}\n"
                    "    policy_version: \"9.9\"\n    expect: {status: eligible}\n", encoding="utf-8")
    report = tmp_path / "junit.xml"
    assert guichet("test", str(path), "--junit-xml", str(report)).exit_code == 2
    testcase = ET.parse(report).getroot().find("testsuite/testcase")
    assert testcase is not None
    error = testcase.find("error")
    assert error is not None and "version 9.9 inconnue" in (error.get("message") or "")


def test_junit_xml_leaves_out_deselected_cases(named, tmp_path):
    report = tmp_path / "junit.xml"
    guichet("test", str(named), "-k", "coeur", "--junit-xml", str(report))
    root = ET.parse(report).getroot()
    assert [c.get("name") for c in root.iter("testcase")] == ["Cœur de ville"]
    assert len(root.findall("testsuite")) == 1


# -- --format json ------------------------------------------------------------------------------------


def test_format_json_gives_results_for_tools(failing):
    result = guichet("test", str(failing), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["format"] == "1"
    assert data["summary"] == {"passed": 1, "failed": 1, "errors": 0, "deselected": 0, "total": 2}
    passed, failed = data["cases"]
    assert (passed["result"], passed["line"], passed["status"]) == ("passed", 2, "eligible")
    assert passed["policy"] == {"id": "guichet-cofinancement", "version": "1.0"}
    assert failed["result"] == "failed"
    assert failed["differences"][0] == {"key": "status", "expected": "ineligible", "actual": "eligible",
                                        "message": "status : attendu ineligible, obtenu eligible"}
    assert [d["key"] for d in failed["differences"]] == ["status", "bonuses", "amounts.grant_total"]
    assert "coverage" not in data


# -- expectations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expect", "code"), [
    ("bonuses: []", 0),
    ("bonuses: {}", 0),
    ("bonuses: [territoires_fragiles]", 1),
    ("rate: {bonuses: {}}", 0),
    ("bonuses: {ia_frugale: '0.10'}", 1),
])
def test_bonuses_may_be_expected_at_the_top_level(tmp_path, expect, code):
    path = tmp_path / "bonuses.yaml"
    path.write_text(f"cases:\n  - name: b\n    application_file: {SIMPLE}\n    expect: {{{expect}}}\n",
                    encoding="utf-8")
    assert guichet("test", str(path)).exit_code == code


def test_bonuses_expected_twice_are_refused(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(f"cases:\n  - name: b\n    application_file: {SIMPLE}\n"
                    "    expect: {bonuses: [], rate: {bonuses: {}}}\n", encoding="utf-8")
    result = guichet("test", str(path))
    assert result.exit_code == 2
    assert "bonifications attendues deux fois" in result.stderr
    assert f"{path}:4:14:" in result.stderr


def test_an_absent_finding_of_a_rule_the_policy_lacks_fails(tmp_path):
    path = tmp_path / "absent.yaml"
    path.write_text(f"cases:\n  - name: faute\n    application_file: {SIMPLE}\n"
                    "    expect:\n      absent_findings: [{rule: rate.bonus.ia_frugale}]\n"
                    "      findings: [{rule: window, outcome: pass}, {rule: amounts.grant}]\n", encoding="utf-8")
    result = guichet("test", str(path))
    assert result.exit_code == 1
    assert ("absent_findings : règle « rate.bonus.ia_frugale » inconnue de la politique guichet-cofinancement 1.0 "
            "(vouliez-vous dire « rate.bonuses.ia_frugale » ?) : son absence ne prouve rien") in result.stdout


def test_case_keywords_hold_name_file_and_clause(tmp_path):
    path = case_file(tmp_path, "fenêtre.yaml", "Un Cas", header="clause: \"§4 Modalités\"\n")
    case: Case = load_cases(path)[0]
    assert case.keywords == "un cas\nfenetre\n§4 modalites"


# -- --policy-dir ------------------------------------------------------------------------------------


def test_policy_dir_tests_a_policy_kept_elsewhere(tmp_path):
    directory = tmp_path / "regles" / "guichet-cofinancement"
    directory.mkdir(parents=True)
    text = (ROOT / "policies" / "guichet-cofinancement" / "1.0.yaml").read_text(encoding="utf-8")
    assert text.count("status: published") == 1 and text.count("      rate: 0.30\n") == 1
    (directory / "1.0.yaml").write_text(text.replace("status: published", "status: draft").replace(
        "      rate: 0.30\n", "      rate: 0.35\n"), encoding="utf-8")
    path = tmp_path / "cases.yaml"
    path.write_text(f"cases:\n  - name: taux amendé\n    application_file: {SIMPLE}\n    policy_version: \"1.0\"\n"
                    "    expect: {rate: {base: '0.35'}}\n", encoding="utf-8")
    assert guichet("test", str(path), "--policy-dir", str(tmp_path / "regles")).exit_code == 0
    result = guichet("test", str(path))
    assert result.exit_code == 1
    assert "rate.base : attendu 0.35, obtenu 0.30" in result.stdout


def test_a_bad_policy_dir_exits_2(tmp_path):
    result = guichet("test", str(case_file(tmp_path, "x.yaml", "un")), "--policy-dir", str(tmp_path / "nulle-part"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# -- coverage options --------------------------------------------------------------------------------


def test_coverage_prints_the_table_before_the_summary(named):
    result = guichet("test", str(named), "--coverage")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Couverture des règles : guichet-cofinancement 1.0 (4 cas)"
    assert "Issues non couvertes" in result.stdout
    assert lines[-2].startswith("Couverture : ")
    assert lines[-1] == "4 passed, 0 failed"


def test_coverage_min_fails_below_the_threshold(named):
    result = guichet("test", str(named), "--coverage-min", "100")
    assert result.exit_code == 1
    assert "NON ATTEINT" in result.stdout
    assert "couverture des règles insuffisante" in result.stderr
    assert guichet("test", str(named), "--coverage-min", "10").exit_code == 0


def test_a_bad_coverage_min_exits_2(named):
    result = guichet("test", str(named), "--coverage-min", "cent")
    assert result.exit_code == 2
    assert "« cent » n'est pas un pourcentage de 0 à 100" in result.stderr


def test_coverage_json_file_and_in_the_json_results(named, tmp_path):
    target = tmp_path / "out" / "coverage.json"
    result = guichet("test", str(named), "--coverage-json", str(target), "--format", "json", "--coverage-min", "50")
    assert result.exit_code == 1
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written == json.loads(result.stdout)["coverage"]
    assert written["total"] == 104 and written["minimum"] == "50" and written["meets_minimum"] is False
    assert written["policies"][0]["cases"] == 4


# -- for policy repositories: pre-commit hooks and the README recipe ----------------------------------


def test_pre_commit_hooks_validate_and_test():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert set(hooks) == {"guichet-validate", "guichet-test"}
    assert all(hook["language"] == "python" for hook in hooks.values())
    assert hooks["guichet-validate"]["entry"].startswith("guichet validate")
    assert hooks["guichet-test"]["entry"].startswith("guichet test")
    assert hooks["guichet-test"]["pass_filenames"] is False
    assert re.search(hooks["guichet-validate"]["files"], "policies/guichet-cofinancement/1.0.yaml")
    assert re.search(hooks["guichet-validate"]["files"], "tests/cases/window.yaml")
    assert not re.search(hooks["guichet-validate"]["files"], ".gitlab-ci.yml")


def _repository_copy(tmp_path: Path) -> Path:
    """This repository's policies and cases, as a repository of policies would hold them."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "tests" / "cases", tmp_path / "tests" / "cases")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # the worked examples' applications
    return tmp_path


def _run_command(command: str, cwd: Path) -> Result:
    words = shlex.split(command)
    assert words[0] == "guichet"
    expanded = [match for word in words[1:] for match in (sorted(glob.glob(word, root_dir=cwd)) or [word])]
    return guichet(*expanded)


def test_the_pre_commit_hooks_pass_on_this_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(_repository_copy(tmp_path))
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    files = [str(p.relative_to(tmp_path)) for p in sorted(tmp_path.rglob("*.yaml"))
             if re.search(hooks["guichet-validate"]["files"], str(p.relative_to(tmp_path)))]
    validated = _run_command(hooks["guichet-validate"]["entry"] + " " + " ".join(files), tmp_path)
    assert validated.exit_code == 0, validated.output
    tested = _run_command(hooks["guichet-test"]["entry"], tmp_path)
    assert tested.exit_code == 0, tested.output


def _ci_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## .*$", readme, flags=re.MULTILINE)
    following = headings[headings.index("## Policies in CI") + 1]
    return readme.split("## Policies in CI", 1)[1].split(f"\n{following}\n", 1)[0]


def test_the_readme_ci_recipes_run_on_this_repository(tmp_path, monkeypatch):
    blocks = re.findall(r"```yaml\n(.*?)```", _ci_section(), flags=re.DOTALL)
    gitlab = next(yaml.safe_load(b) for b in blocks if "artifacts" in b)
    github = next(yaml.safe_load(b) for b in blocks if "jobs" in b)
    gitlab_commands = [line for line in gitlab["policies"]["script"] if line.startswith("guichet")]
    github_commands = [step["run"] for step in github["jobs"]["policies"]["steps"]
                       if step.get("run", "").startswith("guichet")]
    assert gitlab_commands == github_commands
    assert [c.split()[1] for c in gitlab_commands] == ["validate", "test"]
    assert gitlab["policies"]["artifacts"]["reports"]["junit"] in gitlab_commands[1]
    monkeypatch.chdir(_repository_copy(tmp_path))
    for command in gitlab_commands:
        result = _run_command(command, tmp_path)
        assert result.exit_code == 0, f"{command}\n{result.output}"
    assert ET.parse(tmp_path / "reports" / "junit.xml").getroot().get("failures") == "0"
    assert json.loads((tmp_path / "reports" / "coverage.json").read_text(encoding="utf-8"))["meets_minimum"] is True


def test_junit_xml_stays_well_formed_with_any_text(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text(f"cases:\n  - name: \"cloche \\x07 et <balise> & « guillemets »\"\n"
                    f"    application_file: {SIMPLE}\n    expect: {{status: review}}\n", encoding="utf-8")
    report = tmp_path / "junit.xml"
    assert guichet("test", str(path), "--junit-xml", str(report)).exit_code == 1
    testcase = ET.parse(report).getroot().find("testsuite/testcase")
    assert testcase is not None
    assert testcase.get("name") == "cloche \ufffd et <balise> & « guillemets »"
