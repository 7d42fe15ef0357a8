"""Issue 16, points 3 to 5: ``guichet impact`` explains itself (the rules whose outcome changes,
totals by status, by category and by rule, JSON of codes and numbers, a bounded list, a workbook)
and streams on the batch's workers; ``guichet budget`` and the credits before and after an
amendment, to the cent; the progress line of the long commands, on a (fake or real) terminal."""

from __future__ import annotations

import copy
import io
import json
import os
import pty
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from conftest import ROOT, edited, policy_directory
from evaluator.core.policy import Budget
from evaluator.service import progress as progress_module
from evaluator.service.batch import Tally
from evaluator.service.progress import Progress, duration, on_terminal
from evaluator.versions import budget as budget_module
from evaluator.versions.budget import Commitment, Ledger
from evaluator.versions.impact import Amendment, assess
from evaluator.versions.registry import Registry

AMOUNTS = ROOT / "tests" / "amendment" / "amounts" / "1.2.yaml"
BENCH = ROOT / "bench"

# -- the portfolio of the budget, computed by hand -----------------------------------------------
#
# Each application asks 4 000 € of licences and 1 000 € of training, at 30 %: 1 500 € of grant,
# capped by 1.2 at 5 € an inhabitant of the applicant, and ineligible under 1 000 €. Version 1.3 is
# 1.2 with 12 € an inhabitant, 6 000 € of credits, 4 000 € of them in 2027.
#
#   line  filed       inhabitants   1.2                        1.3
#   1     2027-08-01  3 000         eligible, 1 500            eligible, 1 500
#   2     2027-08-15    100         ineligible (500 < 1 000)   eligible, 1 200 (12 × 100)
#   3     2027-09-01    200         eligible, 1 000 (5 × 200)  eligible, 1 500
#   4     2027-10-01  3 000         eligible, 1 500            eligible, 1 500
#   5     2028-02-01  3 000         eligible, 1 500            eligible, 1 500
#
# 1.2, 5 000 € (3 000 in 2027, 2 000 in 2028): 5 500 committed, exhausted by line 5 (1 000 of its
# 1 500 covered); in 2027, 4 000 committed, exhausted by line 4 (3 000 − 2 500 = 500 covered).
# 1.3, 6 000 € (4 000 in 2027): 7 200 committed, exhausted by line 5 (6 000 − 5 700 = 300 covered);
# in 2027, 5 700 committed, exhausted by line 3 (4 000 − 2 700 = 1 300 covered).

FILED = [("2027-08-01", 3000), ("2027-08-15", 100), ("2027-09-01", 200), ("2027-10-01", 3000), ("2028-02-01", 3000)]


def _envelope(kind: str, year: int | None, label: str, credits: str, committed: str, remaining: str, count: int,
              exhausted: tuple[int, str, str] | None) -> dict[str, Any]:
    """An envelope as JSON; ``exhausted``: the line, date and covered part of the one that exhausts it."""
    out = None if exhausted is None else {"line": exhausted[0], "reference": f"R{exhausted[0]}",
                                          "submitted_on": exhausted[1], "grant": "1500.00", "covered": exhausted[2]}
    return {"envelope": kind, "year": year, "label": label, "credits": credits, "committed": committed,
            "remaining": remaining, "applications": count, "exhausted": out}


WHOLE = ("window", None, "Toute la période")
BEFORE = [_envelope(*WHOLE, "5000.00", "5500.00", "-500.00", 4, (5, "2028-02-01", "1000.00")),
          _envelope("year", 2027, "Année 2027", "3000.00", "4000.00", "-1000.00", 3, (4, "2027-10-01", "500.00")),
          _envelope("year", 2028, "Année 2028", "2000.00", "1500.00", "500.00", 1, None)]
AFTER = [_envelope(*WHOLE, "6000.00", "7200.00", "-1200.00", 5, (5, "2028-02-01", "300.00")),
         _envelope("year", 2027, "Année 2027", "4000.00", "5700.00", "-1700.00", 4, (3, "2027-09-01", "1300.00")),
         _envelope("year", 2028, "Année 2028", "2000.00", "1500.00", "500.00", 1, None)]


@pytest.fixture
def amounts(tmp_path: Path) -> Path:
    """The bundled versions, the draft 1.2 and the draft 1.3 made from it."""
    text = AMOUNTS.read_text(encoding="utf-8")
    later = edited(text, ('version: "1.2"\nstatus: draft\neffective_from: 2027-07-01',
                          'version: "1.3"\nstatus: draft\neffective_from: 2027-07-02'),
                   ("  credits: 5000\n  per_year:\n    2027: 3000\n", "  credits: 6000\n  per_year:\n    2027: 4000\n"),
                   ("    value: 5\n    unit: euros\n", "    value: 12\n    unit: euros\n"))
    return policy_directory(tmp_path, {"1.2.yaml": text, "1.3.yaml": later})


@pytest.fixture
def filed(tmp_path: Path, application: dict[str, Any]) -> Path:
    """The five applications of the hand-computed portfolio, then a line that is not one."""
    application["expenses"] = [{"kind": "licence", "amount": 4000, "months": 12}, {"kind": "training", "amount": 1000}]
    lines = []
    for number, (submitted, inhabitants) in enumerate(FILED, start=1):
        item = copy.deepcopy(application)
        item.update(submitted_on=submitted, reference=f"R{number}")
        item["applicant"]["population"] = inhabitants
        lines.append(json.dumps(item, ensure_ascii=False))
    path = tmp_path / "portefeuille.jsonl"
    path.write_text("\n".join(lines) + '\n{"reference": "R6"}\n', encoding="utf-8")
    return path


def guichet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import cli; cli.main()", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_the_budget_command_commits_the_eligible_grants_to_the_cent(amounts, filed, tmp_path):
    result = guichet("budget", str(filed), "--policy-version", "1.2", "--policy-dir", str(amounts), "--format", "json",
                     "--workers", "2", cwd=tmp_path)
    assert result.returncode == 2, result.stderr  # line 6 is refused, and said so
    assert result.stderr == f"1 ligne refusée sur {filed}, non comptée dans les engagements : corrigez-la.\n"
    report = json.loads(result.stdout)
    assert report["budget"]["envelopes"] == BEFORE
    assert (report["credits_of"], report["decided_by"], report["decided"], report["eligible"], report["refused"]) == (
        "1.2", "named", 5, 4, 1)
    assert [r["line"] for r in report["invalid"]] == [6]
    text = guichet("budget", str(filed), "--policy-version", "1.3", "--policy-dir", str(amounts), cwd=tmp_path).stdout
    assert ("Année 2027 : 4 000,00 € de crédits, 5 700,00 € engagés par 4 demande(s) éligible(s) ; dépassement de "
            "1 700,00 €. Les crédits sont épuisés le 1er septembre 2027, par la demande R3 (ligne 3) (1 500,00 €, "
            "dont 1 300,00 € couverts).") in text
    assert "5 demandes décidées (toutes par la version 1.3), dont 5 éligibles." in text
    assert "  ligne 6 : " in text


def test_the_budget_command_takes_the_credits_of_the_version_in_force_today(amounts, filed, tmp_path):
    """Without --policy-version, each application is decided by the version that governs it, against
    the credits of the version in force today: 1.0 here, which declares none (said, exit 2)."""
    result = guichet("budget", str(filed), "--policy-dir", str(amounts), cwd=tmp_path)
    assert result.returncode == 2
    assert "la version 1.0 ne déclare pas les crédits du programme (section « budget »)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_amendment_that_adds_a_field_is_measured_on_a_portfolio_written_for_it(amounts, filed, tmp_path):
    """1.0 does not know the population each entity now gives (1.2 caps the grant with it): the
    decision before the amendment is made without it, as 1.0 made it; none is refused for it."""
    result = guichet("impact", "--from", "1.0", "--to", "1.2", str(filed), "--policy-dir", str(amounts),
                     "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["refused"] == 1  # the line that is no application, and no other
    assert report["changes"]["unchanged"] + report["changes"]["status"] + report["changes"]["grant_up"] \
        + report["changes"]["grant_down"] == 5
    assert report["grant_total"]["before"] == "7500.00"  # five times 1 500 €: 1.0 caps nothing


def test_impact_reports_the_credits_before_and_after_and_explains_each_change(amounts, filed, tmp_path):
    result = guichet("impact", "--from", "1.2", "--to", "1.3", str(filed), "--policy-dir", str(amounts),
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["budget"]["before"]["envelopes"] == BEFORE
    assert report["budget"]["after"]["envelopes"] == AFTER
    assert report["grant_total"] == {"before": "5500.00", "after": "7200.00", "difference": "1700.00"}
    assert report["changes"] == {"unchanged": 3, "status": 1, "grant_up": 1, "grant_down": 0}
    assert [(s["status"], s["before"], s["after"]) for s in report["by_status"]] == [
        ("ineligible", {"applications": 1, "grant": "0.00"}, {"applications": 0, "grant": "0.00"}),
        ("eligible", {"applications": 4, "grant": "5500.00"}, {"applications": 5, "grant": "7200.00"})]
    assert report["transitions"] == [{"from": "ineligible", "to": "eligible", "applications": 1, "changed": 1,
                                      "grant_before": "0.00", "grant_after": "1200.00", "grant_difference": "1200.00"}]
    assert report["by_category"] == [{"category": "commune", "label": "Commune", "applications": 5, "changed": 2,
                                      "grant_before": "5500.00", "grant_after": "7200.00",
                                      "grant_difference": "1700.00"}]
    assert [(r["rule"], r["applications"], r["grant_after"]) for r in report["by_rule"]] == [
        ("grant.caps.per_inhabitant", 1, "1500.00"), ("grant.checks.minimum_grant", 1, "1200.00")]
    [second, third] = report["listed"]
    assert second == {"line": 2, "reference": "R2", "category": "commune", "change": "status",
                      "before": {"status": "ineligible", "rate": "0.30", "grant": "0.00"},
                      "after": {"status": "eligible", "rate": "0.30", "grant": "1200.00"},
                      "rules": [{"rule": "grant.checks.minimum_grant",
                                 "label": "La subvention atteint le minimum de 1 000,00 €",
                                 "before": "failed", "after": "met"}]}
    assert third["rules"] == [{"rule": "grant.caps.per_inhabitant",
                               "label": "Plafond de 12,00 € par habitant de chaque entité",
                               "before": "capped", "after": None}]
    text = guichet("impact", "--from", "1.2", "--to", "1.3", str(filed), "--policy-dir", str(amounts),
                   cwd=tmp_path).stdout
    assert "  Selon la version 1.3 — Crédits du programme (fictifs, pour les tests)" in text
    assert ("    - Toute la période : 6 000,00 € de crédits, 7 200,00 € engagés par 5 demande(s) éligible(s) ; "
            "dépassement de 1 200,00 €. Les crédits sont épuisés le 1er février 2028, par la demande R5 (ligne 5) "
            "(1 500,00 €, dont 300,00 € couverts).") in text
    assert ("  - R3 (ligne 3) : éligible, 30 %, 1 000,00 € → éligible, 30 %, 1 500,00 €\n"
            "      grant.caps.per_inhabitant — Plafond de 12,00 € par habitant de chaque entité : était « montant "
            "ramené au plafond », devient « non appliquée »") in text
    assert "  non éligible → éligible : 1 demande, 0,00 € → 1 200,00 €" in text


TEXT_FIELDS = {"label", "clause", "message", "hint", "source", "reference", "path"}


def _codes(value: object, key: str = "") -> Iterator[tuple[str, str]]:
    """Every text of a JSON document outside the fields meant for words, with its key."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _codes(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _codes(item, key)
    elif isinstance(value, str) and key not in TEXT_FIELDS:
        yield key, value


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 seeded applications of the benchmarks, one line spoilt."""
    sys.path.insert(0, str(BENCH))
    from generate import applications

    lines = [json.dumps(item, ensure_ascii=False) for item in applications(300, seed=5)]
    lines[41] = '{"submitted_on": "2026-07-01"'
    path = tmp_path_factory.mktemp("impact") / "portefeuille.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def amendment_1_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("versions")
    return policy_directory(parent, {"1.1.yaml": (ROOT / "tests" / "amendment" / "1.1.yaml").read_text("utf-8")})


def test_impact_json_holds_codes_and_numbers_and_streams_alike_on_one_or_two_workers(generated, amendment_1_1,
                                                                                      tmp_path):
    runs = [guichet("impact", "--from", "1.0", "--to", "1.1", str(generated), "--policy-dir", str(amendment_1_1),
                    "--format", "json", "--limit", "1000", "--workers", workers, cwd=tmp_path) for workers in "12"]
    assert [r.returncode for r in runs] == [2, 2]
    assert runs[0].stdout == runs[1].stdout
    report = json.loads(runs[0].stdout)
    odd = [(key, text) for key, text in _codes(report) if not re.fullmatch(r"[A-Za-z0-9_.\-]*", text)]
    assert odd == [], "French words belong in label fields"
    assert report["decided"] + report["refused"] == 300 and report["refused"] == 1
    # the in-memory form the workbench reads says the same
    registry = Registry.from_directory(amendment_1_1)
    numbered = list(enumerate(generated.read_text(encoding="utf-8").splitlines(), start=1))
    held = assess(registry.checked(registry.version("1.0")), registry.checked(registry.version("1.1")), numbered,
                  str(generated)).to_dict()
    assert {k: v for k, v in held.items() if k != "invalid"} == {k: v for k, v in report.items() if k != "invalid"}
    changed = report["listed"]
    assert len(changed) == report["changed"] > 20
    assert all(change["rules"] for change in changed), "every change is explained by a rule"
    assert sum(s["applications"] for s in report["by_category"]) == report["decided"]
    assert sum(r["applications"] for r in report["by_rule"]) >= report["changed"]
    frugal = [r for c in changed for r in c["rules"] if r["rule"] == "rate.bonuses.ia_frugale"]
    assert frugal and all((r["before"], r["after"]) == ("granted", "granted") for r in frugal)  # +10 % → +5 %


def test_the_list_of_changes_is_bounded_and_the_rest_counted(generated, amendment_1_1, tmp_path):
    result = guichet("impact", "--from", "1.0", "--to", "1.1", str(generated), "--policy-dir", str(amendment_1_1),
                     "--limit", "3", cwd=tmp_path)
    assert result.returncode == 2
    text = result.stdout
    changed = int(re.search(r"(\d+) dont la décision change", text)[1])  # type: ignore[index]
    assert f"Demandes dont la décision change (3 premières sur {changed}) :" in text
    assert f"  … et {changed - 3} autre(s) (--limit pour les lister)." in text
    listed = text.split("Demandes dont la décision change (")[1].split("\n  - ")[1:]
    assert len(listed) == 3
    assert all(re.search(r"\n      [a-z_.]+ — .+ : était « .+ », devient « .+ »", change) for change in listed)


def test_impact_writes_the_comparison_as_a_workbook(amounts, filed, tmp_path):
    target = tmp_path / "impact.xlsx"
    result = guichet("impact", "--from", "1.2", "--to", "1.3", str(filed), "--policy-dir", str(amounts),
                     "--format", "xlsx", "-o", str(target), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    book = load_workbook(target)
    assert book.sheetnames == ["Synthèse", "Par statut", "Changements de statut", "Par catégorie", "Par règle",
                               "Crédits", "Demandes qui changent", "Lignes refusées"]
    summary = {row[2]: row[1] for row in book["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert (summary["decided"], summary["changed"], summary["refused"]) == (5, 2, 1)
    assert Decimal(str(summary["grant_total.difference"])) == Decimal("1700")
    credits = list(book["Crédits"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[3], r[7]) for r in credits] == [
        ("1.2", "Toute la période", 5500, 5), ("1.2", "Année 2027", 4000, 4), ("1.2", "Année 2028", 1500, None),
        ("1.3", "Toute la période", 7200, 5), ("1.3", "Année 2027", 5700, 3), ("1.3", "Année 2028", 1500, None)]
    changes = list(book["Demandes qui changent"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[3], r[10]) for r in changes] == [
        (2, "statut modifié", "grant.checks.minimum_grant (La subvention atteint le minimum de 1 000,00 €)"),
        (3, "subvention en hausse", "grant.caps.per_inhabitant (Plafond de 12,00 € par habitant de chaque entité)")]
    assert book["Demandes qui changent"]["G2"].number_format == '#,##0.00 "€"'
    assert book["Demandes qui changent"]["F2"].number_format == "0.00 %"


def test_a_workbook_needs_a_file(filed, tmp_path):
    result = guichet("impact", "--from", "1.0", "--to", "1.0", str(filed), "--format", "xlsx", cwd=tmp_path)
    assert result.returncode == 2
    assert "--format xlsx: un classeur s'écrit dans un fichier\n  conseil : nommez-le : -o impact.xlsx" in result.stderr


def test_a_rule_only_one_version_applies_changes_nothing_when_it_only_informs(amendment_1_1, application):
    """1.1 adds the bonus « solution métier »: an application it does not reach has it « not
    granted », an information; the change of its grant is the threshold's (500 → 300 licences)."""
    registry = Registry.from_directory(amendment_1_1)
    old, new = registry.version("1.0"), registry.version("1.1")
    application["applicant"]["licences"] = 350
    line = json.dumps(application)
    [outcome] = assess(old, new, [(1, line)], "p.jsonl").outcomes
    assert outcome.compared is not None
    assert [(c.rule, c.before, c.after) for c in outcome.compared.rules] == [
        ("rate.base.majore", None, "taken"), ("rate.base.standard", "taken", None)]
    assert Amendment.between(old, new).branch("rate.base.majore", "taken", 1) == "palier retenu (40 %)"


# -- the ledger: bounded, and right --------------------------------------------------------------


def _reference(credits: Decimal, commitments: list[Commitment]) -> tuple[Decimal, int, tuple[int, Decimal] | None]:
    """What the credits come to, the plain way: every commitment sorted by date, then line."""
    total, exhausted = Decimal(0), None
    for commitment in sorted(commitments, key=lambda c: (c.submitted_on, c.line)):
        if exhausted is None and total + commitment.grant > credits:
            exhausted = (commitment.line, credits - total)
        total += commitment.grant
    return total, len(commitments), exhausted


@pytest.mark.parametrize("seed", range(40))
def test_the_ledger_keeps_little_and_finds_where_the_credits_run_out(seed, monkeypatch):
    monkeypatch.setattr(budget_module, "TRIM_EVERY", 3)
    rng = random.Random(seed)
    start = date(2027, 12, 20)
    commitments = [Commitment(line, f"R{line}", start + timedelta(days=rng.randrange(20)),
                              Decimal(rng.choice([0, 1, 250, 999, 1000, 15000])) / rng.choice([1, 100]))
                   for line in range(1, rng.randrange(2, 200))]
    credits = Decimal(rng.randrange(0, 60_000))
    budget = Budget("Crédits", credits, {2028: credits / 2}, "§4", None)
    ledger = Ledger(budget)
    for commitment in rng.sample(commitments, len(commitments)):  # in any order
        ledger.add(commitment)
    whole, year = ledger.envelopes()
    for envelope, amount, taken in ((whole, credits, commitments),
                                    (year, credits / 2, [c for c in commitments if c.submitted_on.year == 2028])):
        committed, count, exhausted = _reference(amount, taken)
        found = None if envelope.exhausted is None else (envelope.exhausted[0].line, envelope.exhausted[1])
        assert (envelope.committed, envelope.applications, found) == (committed, count, exhausted)


def test_the_ledger_keeps_the_commitments_the_credits_may_still_run_out_on_and_no_more():
    ledger = Ledger(Budget("Crédits", Decimal(10_000), {}, "§4", None))
    for line in range(1, 50_001):  # 1 000 € each, over 100 days: the credits run out at the 11th of the first
        ledger.add(Commitment(line, None, date(2027, 1, 1) + timedelta(days=line % 100), Decimal(1000)))
    assert ledger.whole is not None
    assert sum(len(day.kept) for day in ledger.whole.days.values()) <= 100 + 11 + budget_module.TRIM_EVERY
    [whole] = ledger.envelopes()
    assert (whole.committed, whole.applications) == (Decimal(50_000_000), 50_000)
    assert whole.exhausted is not None and whole.exhausted[0].line == 1100 and whole.exhausted[1] == 0


# -- progress ------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A fake terminal: what is written is kept."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _drawn(screen: str) -> list[str]:
    """The successive states of the progress line (each drawing begins with a carriage return)."""
    return [part.split("\n")[0].removesuffix("\x1b[K") for part in screen.split("\r")[1:]]


def test_progress_shows_count_bytes_percentage_rate_and_time_left_then_the_final_figures(registry):
    screen, clock = Terminal(), Clock()
    shown = Progress(screen, 4_000_000, clock=clock)
    clock.now += 2
    shown.update(Tally(999, 1, 1000, 1_000_000, {"eligible": 600, "review": 399}))
    clock.now += 0.1  # within the same fifth of a second: not drawn again
    shown.update(Tally(1099, 1, 1100, 1_100_000))
    clock.now += 2
    shown.update(Tally(1999, 1, 2000, 2_000_000))
    clock.now += 2
    shown.finish(Tally(3998, 2, 4001, 4_000_000, {"eligible": 2400, "review": 1598}), registry.versions[-1].statuses)
    lines = _drawn(screen.getvalue())
    assert lines == [
        "[███░░░░░░░░░]  25 % · 1 000 demandes · 1,0 sur 4,0 Mo · 500/s · reste 6 s",
        "[██████░░░░░░]  50 % · 2 000 demandes · 2,0 sur 4,0 Mo · 488/s · reste 4 s",
        "[████████████] 100 % · 4 000 demandes · 4,0 sur 4,0 Mo · 656/s"]
    assert screen.getvalue().endswith(
        "\nTerminé : 3 998 demandes décidées, 2 lignes refusées (4 001 lignes lues en 6 s, 656 demandes/s) — "
        "examen au cas par cas : 1 598, éligible : 2 400.\n")


def test_progress_without_a_total_counts_what_is_read_and_a_stop_ends_its_line():
    screen, clock = Terminal(), Clock()
    shown = Progress(screen, None, clock=clock)
    shown.stop()
    assert screen.getvalue() == ""  # nothing drawn, nothing to end
    clock.now += 1
    shown.update(Tally(12_345, 0, 12_345, 25_300_000))
    shown.stop()
    assert _drawn(screen.getvalue()) == ["12 345 demandes · 25,3 Mo lus · 12 345/s"] * 2
    assert screen.getvalue().endswith("\n")
    lines = Progress(Terminal(), 900, in_bytes=False, clock=clock)
    lines.update(Tally(100, 0, 300))
    assert lines.line(3) == "[████░░░░░░░░]  33 % · 100 demandes · 300 sur 900 lignes · 33/s · reste 6 s"


def test_progress_is_shown_on_a_terminal_only_and_fits_its_width(monkeypatch):
    assert on_terminal(io.StringIO(), 10) is None
    shown = on_terminal(Terminal(), 10**12)
    assert shown is not None
    monkeypatch.setattr(progress_module, "_columns", lambda _stream: 40)
    shown.update(Tally(10**9, 0, 10**9, 10**11))
    assert all(len(line) <= 39 for line in _drawn(shown.stream.getvalue()))  # type: ignore[attr-defined]
    assert [duration(s) for s in (0.4, 59.6, 75.4, 3725)] == ["0 s", "1 min 00 s", "1 min 15 s", "1 h 02 min"]


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run guichet with its standard error on a pseudo-terminal; its code, and what it showed there."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", *args], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=slave,
                               env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    os.close(slave)
    shown = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the other end closed (Linux: EIO)
            break
        if not data:
            break
        shown += data
    os.close(master)
    return process.wait(timeout=120), shown.decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("command", ["batch", "impact"])
def test_on_a_terminal_batch_and_impact_end_with_the_final_figures_and_a_summary(command, generated, amendment_1_1,
                                                                                 tmp_path):
    args = (["batch", str(generated), "-o", str(tmp_path / "d.jsonl")] if command == "batch"
            else ["impact", "--from", "1.0", "--to", "1.1", str(generated), "-o", str(tmp_path / "i.txt")])
    code, shown = _on_a_terminal([*args, "--policy-dir", str(amendment_1_1), "--workers", "2"], tmp_path)
    assert code == 2  # (a line is refused)
    *_, last = _drawn(shown.split("\nTerminé")[0])
    assert re.match(r"\[█{12}\] 100 % · 300 demandes · [0-9,]+ sur [0-9,]+ ko · [0-9 ]+/s$", last), last
    [summary] = [line for line in shown.split("\n") if line.startswith("Terminé")]
    assert summary.startswith("Terminé : 299 demandes décidées, 1 ligne refusée (300 lignes lues en "), shown
    statuses = [int(n.replace(" ", "")) for n in re.findall(r" : ([0-9 ]+)(?:,|\.$)", summary.split(" — ")[1])]
    assert sum(statuses) == 299


SLOWED = """
import time
import evaluator.service.batch as batch
work = batch.summarise_block
def slowed(*arguments):
    time.sleep(0.3)
    return work(*arguments)
batch.summarise_block, batch.BLOCK_BYTES = slowed, 16_384
import cli
cli.main()
"""


def test_impact_stopped_midway_writes_nothing_and_says_how_far_it_went(generated, amendment_1_1, tmp_path):
    """Its blocks slowed (0.3 s each, some 30 of them on two workers), it is stopped after 1.5 s."""
    process = subprocess.Popen([sys.executable, "-c", SLOWED, "impact", "--from", "1.0", "--to", "1.1", str(generated),
                                "--policy-dir", str(amendment_1_1), "--workers", "2"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    time.sleep(1.5)
    process.terminate()
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stdout == ""
    assert re.fullmatch(r"guichet impact interrompu \(SIGTERM\) après [0-9 ]+ lignes lues : rien n'est écrit\.\n",
                        stderr), stderr
