"""The guichet command, run as a newcomer would: from any directory, exit codes 0 / 1 / 2,
French output, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def guichet(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "import cli; cli.main()", *args]
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_evaluate_text_report_from_another_directory(tmp_path):
    result = guichet("evaluate", str(EXAMPLES / "commune-simple.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "STATUT : ÉLIGIBLE" in result.stdout
    assert "5 220,00 €" in result.stdout
    assert "Traceback" not in result.stderr


def test_deciding_one_application_loads_only_what_it_needs(tmp_path):
    """``guichet evaluate`` decides without importing what only other commands need (the batch and
    its processes, the test runner, the workbooks, the diff, the impact, the service): a user waits
    for its start at each call."""
    loaded = tmp_path / "modules.txt"
    script = (f"import sys, cli\nsys.argv = ['guichet', 'evaluate', {str(EXAMPLES / 'commune-simple.yaml')!r}]\n"
              f"try:\n    cli.main()\nfinally:\n    open({str(loaded)!r}, 'w').write(' '.join(sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "STATUT : ÉLIGIBLE" in result.stdout
    modules = loaded.read_text().split()
    assert "evaluator.core.engine" in modules
    needless = sorted(name for name in modules if name.startswith(
        ("evaluator.service", "evaluator.testing", "evaluator.workbook", "evaluator.versions.impact",
         "evaluator.versions.diff", "evaluator.versions.budget", "evaluator.versions.authoring",
         "evaluator.versions.handbook", "multiprocessing", "openpyxl", "jsonschema.")))
    assert needless == []


def test_evaluate_json_matches_the_decision_schema(tmp_path):
    import jsonschema

    result = guichet("evaluate", str(EXAMPLES / "mutualisee-frugale.yaml"), "--format", "json", cwd=tmp_path)
    decision = json.loads(result.stdout)
    schema = json.loads((ROOT / "schemas" / "decision.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(decision)
    assert decision["status"] == "eligible"
    assert decision["rate"]["final"] == "0.50"
    assert decision["policy"]["version"] == "1.0"
    assert decision["policy"]["selected_for"] == "2026-09-15"


def test_evaluate_reads_stdin(tmp_path):
    text = (EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8")
    result = guichet("evaluate", "-", "--format", "json", cwd=tmp_path, stdin=text)
    assert json.loads(result.stdout)["status"] == "incomplete"


def test_bad_application_exits_2_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "commune-simple.yaml").read_text(encoding="utf-8").replace(
        "  licences: 120", "  licences: cent vingt"), encoding="utf-8")
    result = guichet("evaluate", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{bad}:9:" in result.stderr
    assert "applicant.licences" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path):
    result = guichet("evaluate", "absent.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "absent.yaml: lecture impossible" in result.stderr


def test_validate_policy_application_and_cases(tmp_path):
    result = guichet("validate", str(ROOT / "policies" / "guichet-cofinancement" / "1.0.yaml"),
                     str(EXAMPLES / "commune-simple.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "politique guichet-cofinancement 1.0 valide" in result.stdout
    assert "demande valide" in result.stdout


def test_validate_reports_every_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("submitted_on: 2026-07-01\n", encoding="utf-8")
    result = guichet("validate", str(broken), str(EXAMPLES / "commune-simple.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "clés obligatoires manquantes : « applicant », « solution », « expenses », « documents »" in result.stderr
    assert "demande valide" in result.stdout


def test_batch_keeps_order_and_names_bad_lines(tmp_path):
    good = json.dumps(json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8")))
    lines = tmp_path / "apps.jsonl"
    lines.write_text(f"{good}\n{{\"submitted_on\": 1}}\nnot json\n{good}\n", encoding="utf-8")
    result = guichet("batch", str(lines), cwd=tmp_path)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in records] == ["incomplete", "error", "error", "incomplete"]
    assert [r["line"] for r in records] == [1, 2, 3, 4]
    assert result.returncode == 2


@pytest.mark.parametrize(("expected_status", "code"), [("eligible", 0), ("ineligible", 1)])
def test_test_command_exit_code_and_summary(tmp_path, expected_status, code):
    case = tmp_path / "case.yaml"
    case.write_text(
        f"cases:\n  - name: exemple\n    application_file: {EXAMPLES / 'commune-simple.yaml'}\n"
        f"    expect: {{status: {expected_status}}}\n", encoding="utf-8")
    result = guichet("test", str(case), cwd=tmp_path)
    assert result.returncode == code
    assert result.stdout.splitlines()[-1] == ("1 passed, 0 failed" if code == 0 else "0 passed, 1 failed")
    if code:
        assert "status : attendu ineligible, obtenu eligible" in result.stdout


def test_facts_lists_the_names_expressions_may_read(tmp_path):
    result = guichet("facts", "--version", "1.0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Faits de la version 1.0")
    assert any(line.split()[:2] == ["applicant_overseas", "booléen"] for line in lines)
    assert "licence_count" in result.stdout and "max_qpv_population_share" in result.stdout
    assert guichet("facts", "--version", "9.9", cwd=tmp_path).returncode == 2


def test_the_application_schema_of_a_version_is_its_declared_facts(tmp_path):
    result = guichet("schema", "application", "--version", "1.0", cwd=tmp_path)
    derived = json.loads(result.stdout)
    assert "frugal_ai" in derived["properties"] and "overseas" in derived["$defs"]["entity"]["properties"]
    structure = json.loads((ROOT / "schemas" / "application.schema.json").read_text(encoding="utf-8"))
    assert "frugal_ai" not in structure["properties"]


def test_an_unwritable_output_is_bad_input_not_a_traceback(tmp_path):
    target = tmp_path / "absent" / "doc.html"
    result = guichet("docs", "--format", "html", "--output", str(target), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{target}: écriture impossible" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_batch_that_cannot_write_is_bad_input_not_a_traceback(tmp_path, workers: str):
    good = json.dumps(json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8")))
    lines = tmp_path / "apps.jsonl"
    lines.write_text(f"{good}\n" * 50, encoding="utf-8")
    result = guichet("batch", str(lines), "-o", "/dev/full", "--workers", workers, cwd=tmp_path)
    assert result.returncode == 2
    assert "/dev/full: écriture impossible : plus de place sur le disque" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_batch_with_an_unknown_version_is_bad_input_at_once(tmp_path):
    """Not one error record per line: the option is wrong, nothing is decided."""
    good = json.dumps(json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8")))
    lines = tmp_path / "apps.jsonl"
    lines.write_text(f"{good}\n" * 3, encoding="utf-8")
    result = guichet("batch", str(lines), "--policy-version", "9.9", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "version 9.9 inconnue ; versions : 1.0" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["policy", "case"])
def test_a_policy_or_a_case_file_on_standard_input_is_refused_clearly(tmp_path, kind: str):
    """Checked by its path (its directory holds the lock, or the files it names): not read again
    from a file named « - »."""
    source = ROOT / "policies" / "guichet-cofinancement" / "1.0.yaml" if kind == "policy" else \
        ROOT / "tests" / "cases" / "base-rate.yaml"
    result = guichet("validate", "-", cwd=tmp_path, stdin=source.read_text(encoding="utf-8"))
    assert result.returncode == 2
    assert "<entrée standard>: " in result.stderr and "se vérifie par son chemin" in result.stderr
    assert "No such file" not in result.stderr and "Traceback" not in result.stderr


LABEL_FIELD = """  inputs:
    labelled_territory:
      at: entity
      type: boolean
      label: territoire labellisé
      default: false
"""


@pytest.fixture
def with_draft(tmp_path: Path) -> Path:
    """The bundled versions and a draft 1.1 that declares one more field of an entity."""
    target = tmp_path / "politiques" / "guichet-cofinancement"
    shutil.copytree(ROOT / "policies" / "guichet-cofinancement", target)
    text = (target / "1.0.yaml").read_text(encoding="utf-8")
    for old, new in (('version: "1.0"\nstatus: published\neffective_from: 2026-05-22',
                      'version: "1.1"\nstatus: draft\neffective_from: 2027-01-01'), ("  inputs:\n", LABEL_FIELD)):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (target / "1.1.yaml").write_text(text, encoding="utf-8")
    return target


def test_impact_refuses_a_line_one_version_cannot_read_and_names_the_version_that_can(with_draft, tmp_path):
    """Impact decides each line under both versions: a field only the old version 1.1 declares makes
    the line a refusal of the new one (listed with its line, not a crash), whose hint names the
    version that declares it; the command then ends with code 2, and says how many lines it refused.
    (A field only the new version declares is left out of the decision before the amendment:
    tests/test_impact.py.)"""
    application = json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8"))
    labelled = json.loads(json.dumps(application))
    labelled["applicant"]["labelled_territory"] = True
    lines = tmp_path / "portefeuille.jsonl"
    lines.write_text(f"{json.dumps(application)}\n{json.dumps(labelled)}\n", encoding="utf-8")
    result = guichet("impact", "--from", "1.1", "--to", "1.0", str(lines), "--policy-dir", str(with_draft),
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"1 ligne refusée sur {lines}, non comptée dans l'impact : corrigez-la.\n"
    report = json.loads(result.stdout)
    assert (report["changes"]["unchanged"], report["refused"]) == (1, 1)
    [invalid] = report["invalid"]
    assert invalid["line"] == 2
    [problem] = invalid["problems"]
    assert (problem["message"], problem["path"]) == ("clé inconnue : « labelled_territory »",
                                                     "applicant.labelled_territory")
    assert problem["hint"].startswith("information de la version 1.1, inconnue de la version 1.0")


@pytest.mark.parametrize(("change", "message", "path"), [
    ({"submitted_on": None}, "clé obligatoire manquante : « submitted_on »", "$"),
    ({"submitted_on": "2026-02-30"}, "« 2026-02-30 » n'est pas une date du calendrier", "submitted_on"),
    ({"submitted_on": 20260701}, "20260701", "submitted_on"),  # (a text in a file, read as YAML; a number on a line)
])
def test_an_application_without_a_good_submission_date_is_a_located_problem(with_draft, tmp_path, change,
                                                                             message: str, path: str):
    """The version cannot be chosen: evaluate and validate say where and why (exit 2), batch writes
    an error record for the line and goes on — with a draft among the versions."""
    application = json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8"))
    application.update(change)
    if change["submitted_on"] is None:
        del application["submitted_on"]
    single = tmp_path / "demande.json"
    single.write_text(json.dumps(application), encoding="utf-8")
    for command in ("evaluate", "validate"):
        result = guichet(command, str(single), "--policy-dir", str(with_draft), cwd=tmp_path)
        assert result.returncode == 2, result.stdout
        assert f"{single}:1:" in result.stderr and message in result.stderr and f"(à {path})" in result.stderr
        assert "Traceback" not in result.stderr
    lines = tmp_path / "lot.jsonl"
    good = (EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8")
    lines.write_text(f"{json.dumps(application)}\n{json.dumps(json.loads(good))}\n", encoding="utf-8")
    result = guichet("batch", str(lines), "--policy-dir", str(with_draft), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["line"], first["status"], first["problems"][0]["path"]) == (1, "error", path)
    assert message in first["problems"][0]["message"]
    assert (second["line"], second["status"]) == (2, "incomplete")


# -- issue 14: standard output, usage errors, interruptions, files written -------------------------

STDOUT_COMMANDS = {
    "evaluate": ["evaluate", str(EXAMPLES / "commune-simple.yaml")],
    "schema": ["schema", "policy"],
    "facts": ["facts"],
    "docs": ["docs"],
    "diff": ["diff", "1.0", "1.0"],
    "test": ["test", str(ROOT / "tests" / "cases" / "base-rate.yaml")],
    "validate": ["validate", str(EXAMPLES / "commune-simple.yaml")],
    "impact": ["impact", "--from", "1.0", "--to", "1.0", str(ROOT / "tests" / "bad-inputs" / "batch" / "bom.jsonl")],
    "replay": ["replay", "{log}"],
    "help": ["-h"],
}


@pytest.fixture(scope="module")
def decision_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A decision log of one decision, its application kept (what ``guichet replay`` reads)."""
    from evaluator import Registry
    from evaluator.service.decision_log import DecisionLog

    application = json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("journal") / "decisions.jsonl"
    DecisionLog(path, store_input=True).record(Registry.default().evaluate(application), application)
    return path


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("command", sorted(STDOUT_COMMANDS))
def test_a_full_standard_output_is_one_french_line_and_code_1(tmp_path, decision_log, command: str):
    """Issue 14: ``… > /dev/full`` ended in a traceback for each of these commands."""
    args = [a.format(log=decision_log) for a in STDOUT_COMMANDS[command]]
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=tmp_path, stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60,
                                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1:] == [
        "guichet : la sortie standard n'a pas pu être écrite (plus de place sur le disque)."]
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr


@pytest.mark.parametrize("command", ["evaluate", "schema", "docs", "help"])
def test_a_pipe_closed_by_its_reader_ends_quietly(tmp_path, command: str):
    """``guichet docs | head -1``: the reader has what it wanted; no traceback, nothing said."""
    reader, writer = os.pipe()
    os.close(reader)  # closed before anything is written: the first write finds it closed
    try:
        result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", *STDOUT_COMMANDS[command]],
                                cwd=tmp_path, stdout=writer, stderr=subprocess.PIPE, text=True, timeout=60,
                                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (1, "")


@pytest.mark.parametrize("expression", ["(" * 500 + "a" + ")" * 500, "not " * 5000 + "a"])
def test_a_selection_nested_too_deep_is_refused(tmp_path, expression: str):
    """Issue 14: 500 nested parentheses, 5,000 ``not``: a traceback (the recursion limit)."""
    result = guichet("test", str(ROOT / "tests" / "cases" / "base-rate.yaml"), "-k", expression, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "option -k: expression de sélection invalide : imbrication trop profonde (plus de 32 parenthèses ou « not » "
        "imbriqués)")
    assert "Traceback" not in result.stderr


def test_a_long_selection_is_one_node_not_a_deep_one(tmp_path):
    """10,000 words joined by « or » are read and matched without recursion (and read in linear
    time)."""
    result = guichet("test", str(ROOT / "tests" / "cases" / "base-rate.yaml"), "-k",
                     " or ".join(["zz"] * 9_999 + ["taux"]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert ", 0 failed" in last and not last.startswith("0 passed"), last


@pytest.mark.parametrize(("args", "said"), [
    (["evaluat", "x"], "Erreur : commande inconnue : evaluat. (Vouliez-vous dire l'une de : 'evaluate', 'validate' ?)"),
    (["evaluate"], "Erreur : argument manquant : 'APPLICATION'."),
    (["evaluate", "--foo", "x"], "Erreur : option inconnue : --foo. Vouliez-vous dire '--format' ?"),
    (["evaluate", "--format", "xml", "x"],
     "Erreur : valeur invalide pour '--format' : « xml » n'est pas admis ; valeurs admises : 'text', 'json'."),
    (["batch", "x", "--workers", "0"],
     "Erreur : valeur invalide pour '--workers' : 0 est hors de l'intervalle admis (x>=1)."),
    (["evaluate", "a", "b"], "Erreur : argument en trop : b"),
    (["policy", "new", "2.0", "--from", "1.0", "--effective-from", "2026"],
     "Erreur : valeur invalide pour '--effective-from' : « 2026 » n'est pas une date AAAA-MM-JJ."),
])
def test_usage_errors_are_french_and_exit_2(tmp_path, args: list[str], said: str):
    result = guichet(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == said
    assert "Usage" not in result.stderr and "Error" not in result.stderr


def test_help_is_french(tmp_path):
    result = guichet("serve", "-h", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("Utilisation : ") and "serve [OPTIONS]" in result.stdout.splitlines()[0]
    for english in ("Usage", "Show this message", "TEXT", "INTEGER", "DIRECTORY", "FILE", "default:"):
        assert english not in result.stdout, english
    assert "--policy-dir RÉPERTOIRE" in result.stdout and "[par défaut : 8000; 1<=x<=65535]" in result.stdout


def test_an_interrupted_command_says_so_in_french(tmp_path):
    """Ctrl-C while ``guichet evaluate -`` waits on its input: « Aborted! » before issue 14."""
    process = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "evaluate", "-"], cwd=tmp_path,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    time.sleep(1.5)  # (started, and reading its input)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.strip() == "guichet : interrompu."


def test_the_decisions_are_never_written_over_the_applications(tmp_path):
    """Issue 14: ``batch F -o F`` emptied F and ended with code 0. The same file under another name
    (a hard link), and standard output appended to it, are refused too; F is left as it was."""
    good = json.dumps(json.loads((EXAMPLES / "outre-mer-incomplete.json").read_text(encoding="utf-8")))
    lines = tmp_path / "apps.jsonl"
    lines.write_text(f"{good}\n" * 3, encoding="utf-8")
    before = lines.read_bytes()
    os.link(lines, tmp_path / "lien.jsonl")
    for target in (str(lines), "lien.jsonl"):
        result = guichet("batch", str(lines), "-o", target, cwd=tmp_path)
        assert result.returncode == 2
        assert "la sortie est le fichier des demandes lui-même : il serait effacé avant d'être lu" in result.stderr
        assert lines.read_bytes() == before
    appended = subprocess.run(f"{sys.executable} -c 'import cli; cli.main()' batch {lines} >> {lines}", shell=True,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert appended.returncode == 2
    assert "<sortie standard>: la sortie est le fichier des demandes lui-même" in appended.stderr
    assert lines.read_bytes() == before


WRITES = {
    "docs": ["docs", "--format", "html", "-o", "{target}"],
    "junit": ["test", str(ROOT / "tests" / "cases"), "--junit-xml", "{target}"],
    "coverage": ["test", str(ROOT / "tests" / "cases" / "base-rate.yaml"), "--coverage-json", "{target}"],
}
LIMITED = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
           "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); import cli; cli.main()")


@pytest.mark.parametrize("output", sorted(WRITES))
def test_a_file_written_on_a_full_disk_is_left_whole(tmp_path, output: str):
    """A file a command writes (``-o``, ``--junit-xml``, ``--coverage-json``) is written beside,
    then renamed over the old one: a disk that fills up midway (here, a 4 KiB limit on the size of a
    file) leaves the old file whole, and nothing beside it."""
    target = tmp_path / "sortie"
    target.write_bytes(b"ancienne version\n")
    args = [a.format(target=target) for a in WRITES[output]]
    result = subprocess.run([sys.executable, "-c", LIMITED, *args], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert f"{target}: écriture impossible" in result.stderr and "Traceback" not in result.stderr
    assert target.read_bytes() == b"ancienne version\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sortie"]
