"""The decision log: one JSON line per decision, written as it is made, with what an auditor needs;
``guichet replay`` decides the stored applications again and reports every decision that would
differ (exit 1), or none (exit 0); an unreadable log is bad input (exit 2)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

import cli
from conftest import EXAMPLES, POLICY_FILE
from evaluator import DecisionLog, LiveRegistry, Registry
from evaluator.service.decision_log import input_digest
from evaluator.service.http import create_app
from evaluator.versions.authoring import new_draft, publish
from live_server import running


def replay(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, ["replay", *args])
    return result.exit_code, result.stdout, result.stderr


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    data["submitted_on"] = str(data["submitted_on"])
    return data


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_record_says_which_rules_made_which_decision(tmp_path: Path, application):
    decision = Registry.default().evaluate(application)
    log = DecisionLog(tmp_path / "decisions.jsonl")
    record = log.record(decision, application)
    [line] = lines(tmp_path / "decisions.jsonl")  # on disk before the log is closed
    log.close()
    assert line == {
        "format": "1", "decision_id": record.decision_id, "timestamp": record.timestamp,
        "policy_id": "guichet-cofinancement", "policy_version": "1.0", "policy_sha256": decision.policy.sha256,
        "input_sha256": input_digest(application), "decision_sha256": record.decision_sha256,
        "status": "eligible", "grant_total": decision.to_dict()["amounts"]["grant_total"],
        "reference": "DEM-2026-0001", "requested_version": None,
    }
    assert len(record.decision_id) == 36 and record.decision_id[14] == "4"  # a uuid4
    moment = datetime.fromisoformat(record.timestamp.replace("Z", "+00:00"))
    assert moment.tzinfo is not None and abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


def test_the_input_is_stored_only_when_asked(tmp_path: Path, application):
    decision = Registry.default().evaluate(application)
    with DecisionLog(tmp_path / "with.jsonl", store_input=True) as log:
        log.record(decision, application)
    with DecisionLog(tmp_path / "without.jsonl") as log:
        log.record(decision, application)
    [stored] = lines(tmp_path / "with.jsonl")
    [not_stored] = lines(tmp_path / "without.jsonl")
    assert stored["input"] == json.loads(json.dumps(application))
    assert "input" not in not_stored and not_stored["input_sha256"] == stored["input_sha256"]


def test_the_input_hash_is_that_of_the_data_however_written(application):
    reordered = dict(reversed(list(application.items())))
    as_decimals = copy.deepcopy(application)
    as_decimals["expenses"][0]["amount"] = Decimal("14400.00")
    as_float = copy.deepcopy(application)
    as_float["expenses"][0]["amount"] = 14400.0
    assert input_digest(application) == input_digest(reordered) == input_digest(as_decimals) == input_digest(as_float)
    changed = copy.deepcopy(application)
    changed["expenses"][0]["amount"] = 14400.01
    assert input_digest(changed) != input_digest(application)


def test_records_written_from_many_threads_never_interleave(tmp_path: Path, application, monkeypatch):
    """A record may take several writes (a file takes part of one): the writes of two records never
    mix. The file here takes 7 bytes a write, and hands over to other threads in between."""
    decision = Registry.default().evaluate(application)
    path = tmp_path / "decisions.jsonl"
    write = os.write

    def trickling(descriptor: int, data: Any) -> int:
        written = write(descriptor, data[:7])
        time.sleep(0)
        return written

    with DecisionLog(path, store_input=True) as log:
        monkeypatch.setattr(os, "write", trickling)
        threads = [threading.Thread(target=lambda: [log.record(decision, application) for _ in range(40)])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        monkeypatch.undo()
    records = lines(path)
    assert len(records) == 160 and len({r["decision_id"] for r in records}) == 160


def test_an_unwritable_log_is_bad_input(tmp_path: Path):
    from evaluator import InputError

    with pytest.raises(InputError) as raised:
        DecisionLog(tmp_path / "absent" / "decisions.jsonl")
    assert "journal des décisions impossible à ouvrir" in raised.value.problems[0].message


# Replay


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    """A log kept by the real service, with the applications: three decisions, one refusal (not logged)."""
    path = tmp_path / "decisions.jsonl"
    with DecisionLog(path, store_input=True) as log, running(create_app(LiveRegistry(), decision_log=log)) as base, \
            httpx.Client(base_url=base, timeout=10) as session:
        for name in ("commune-simple.yaml", "mutualisee-frugale.yaml"):
            assert session.post("/v1/decisions", json=example(name)).status_code == 200
        raw = (EXAMPLES / "outre-mer-incomplete.json").read_bytes()
        assert session.post("/v1/decisions", params={"version": "1.0"}, content=raw).status_code == 200
        assert session.post("/v1/decisions", json={"reference": "X"}).status_code == 422
    return path


def test_replay_finds_the_same_decisions(logged: Path):
    code, out, err = replay(str(logged))
    assert code == 0, out + err
    assert out.strip() == "3 décisions rejouées : 3 identiques, 0 différente."
    assert lines(logged)[2]["requested_version"] == "1.0"


def test_replay_reports_the_decisions_a_new_version_would_change(logged: Path, tmp_path: Path):
    directory = tmp_path / "policies"
    shutil.copytree(POLICY_FILE.parent, directory)
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2026, 6, 15))  # after the third, of 06-10
    published = directory / "1.1.yaml"
    published.write_text(published.read_text(encoding="utf-8").replace("rate: 0.30", "rate: 0.35"), encoding="utf-8")
    publish(Registry.from_directory(directory), "1.1", date(2026, 5, 30))
    code, out, _ = replay(str(logged), "--policy-dir", str(directory))
    assert code == 1
    first = lines(logged)[0]["decision_id"]
    assert f"{logged}:1 : la décision {first} (dossier DEM-2026-0001) serait différente" in out
    assert "version de la politique : 1.0 → 1.1" in out and "subvention : 5220.00 → " in out
    assert "3 décisions rejouées : 1 identique, 2 différentes." in out  # the third named version 1.0
    code, out, _ = replay(str(logged), "--policy-dir", str(directory), "--same-version")
    assert code == 0, out


def test_replay_reports_a_changed_record_or_input(logged: Path):
    records = lines(logged)
    records[0]["status"] = "review"
    records[1]["input"]["expenses"][0]["amount"] = "1.00"
    records[2]["input"]["applicant"]["licences"] = float("nan")  # written NaN: a number with no JSON form
    logged.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    code, out, err = replay(str(logged))
    assert code == 1, err
    assert "statut : review → eligible" in out
    assert out.count("la demande enregistrée ne correspond plus à son empreinte (journal modifié ?)") == 2


def test_replay_of_an_unreadable_line_is_bad_input(logged: Path):
    text = logged.read_text(encoding="utf-8").splitlines()
    logged.write_text("\n".join([text[0], "{pas du json", '{"decision_id": 1}', text[1]]) + "\n", encoding="utf-8")
    code, out, err = replay(str(logged))
    assert code == 2
    assert f"{logged}:2:2: JSON invalide" in err
    assert f"{logged}:3: enregistrement incomplet" in err
    assert "2 décisions rejouées : 2 identiques, 0 différente ; 2 lignes illisibles." in out
    assert "Traceback" not in out + err


def test_replay_without_stored_inputs_replays_nothing(tmp_path: Path, application):
    path = tmp_path / "decisions.jsonl"
    with DecisionLog(path) as log:
        log.record(Registry.default().evaluate(application), application)
    code, out, _ = replay(str(path))
    assert code == 0
    assert "0 décision rejouée : 0 identique, 0 différente ; 1 sans demande enregistrée (non rejouée)." in out
    assert "--log-inputs" in out


def test_replay_of_a_missing_log_is_bad_input(tmp_path: Path):
    code, _, err = replay(str(tmp_path / "absent.jsonl"))
    assert code == 2 and "absent.jsonl" in err and "introuvable" in err
