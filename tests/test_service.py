"""The live registry of a service: one immutable policy set at a time, reloaded on demand or by the
watcher; a set that does not load is refused, the last good one keeps serving and the refusal is
exposed and logged; a decision is always made by one set."""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import POLICY_FILE, ROOT
from evaluator import InputError, LiveRegistry, PolicySetUnavailable, Registry
from evaluator.service import live as service_module
from evaluator.versions.authoring import new_draft, publish
from evaluator.versions.lock import digest
from evaluator.versions.registry import Drafts


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A copy of the bundled policy directory, for a test to edit."""
    target = tmp_path / "guichet-cofinancement"
    shutil.copytree(POLICY_FILE.parent, target)
    return target


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition jamais remplie"
        time.sleep(0.02)


def test_the_default_set_decides_as_the_registry_does(application):
    live = LiveRegistry.default()
    assert [p.version for p in live.versions] == [p.version for p in Registry.default().versions]
    assert live.ready and live.failure is None and not live.watching
    assert live.evaluate(application).to_bytes() == Registry.default().evaluate(application).to_bytes()
    snapshot = live.snapshot()
    assert snapshot.generation == 1
    assert set(snapshot.sources) == {p.version for p in snapshot.versions}


def test_application_errors_are_one_exception_with_every_problem_and_its_path(application):
    application["expenses"][0]["amount"] = "12.345"
    application["applicant"]["siren"] = "123"
    with pytest.raises(InputError) as raised:
        LiveRegistry.default().evaluate(application)
    paths = {problem.path for problem in raised.value.problems}
    assert ("expenses", 0, "amount") in paths and ("applicant", "siren") in paths


def test_an_invalid_directory_is_refused_at_start(tmp_path: Path):
    (tmp_path / "1.0.yaml").write_text("pas: une politique\n", encoding="utf-8")
    with pytest.raises(InputError):
        LiveRegistry(tmp_path)


def test_started_without_a_valid_set_it_decides_nothing_until_a_reload_succeeds(tmp_path: Path, application):
    live = LiveRegistry(tmp_path, require=False)
    assert not live.ready
    assert live.failure is not None and "aucune politique" in live.failure.render()
    with pytest.raises(PolicySetUnavailable):
        live.evaluate(application)
    shutil.copytree(POLICY_FILE.parent, tmp_path, dirs_exist_ok=True)
    assert live.reload() is None
    assert live.ready and live.failure is None
    assert live.evaluate(application).status == "eligible"


def test_a_new_draft_is_taken_in_by_reload(directory: Path):
    live = LiveRegistry(directory)
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    assert [p.version for p in live.versions] == ["1.0"]
    assert live.reload() is None
    assert [(p.version, p.status) for p in live.versions] == [("1.0", "published"), ("1.1", "draft")]
    assert live.snapshot().generation == 2


def test_a_broken_edit_is_refused_and_the_last_good_set_keeps_serving(directory: Path, application, caplog):
    live = LiveRegistry(directory)
    before = live.snapshot()
    published = directory / "1.0.yaml"
    published.write_text(published.read_text(encoding="utf-8").replace("rate: 0.30", "rate: 0.35"), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="guichet.service"):
        failure = live.reload()
    assert failure is not None and live.failure is failure
    assert any("figée" in problem.message for problem in failure.problems)
    assert "refusées" in caplog.text and "la génération 1 reste en service" in caplog.text
    assert live.snapshot() is before
    assert live.evaluate(application).policy.sha256 == before.registry.version("1.0").sha256
    shutil.copy(POLICY_FILE, published)
    assert live.reload() is None
    assert live.failure is None and live.snapshot().generation == 2


def test_a_published_version_never_changes_content_while_served(directory: Path, application, caplog):
    """Issue 14: the file of a published version and its lock entry edited together make a valid
    set, but the service already serves that version: the reload is refused, the old content keeps
    deciding, and the refusal is logged in French and kept (``/healthz`` shows it)."""
    live = LiveRegistry(directory)
    before = live.snapshot()
    published = directory / "1.0.yaml"
    edited = published.read_text(encoding="utf-8").replace("rate: 0.30", "rate: 0.35")
    published.write_text(edited, encoding="utf-8")
    lock = directory / "lock.json"
    old_sha = before.registry.version("1.0").sha256
    lock.write_text(lock.read_text(encoding="utf-8").replace(old_sha, digest(edited.encode())), encoding="utf-8")
    Registry.from_directory(directory)  # a valid set, for whoever starts with it
    with caplog.at_level(logging.ERROR, logger="guichet.service"):
        failure = live.reload()
    assert failure is not None and live.failure is failure
    [problem] = failure.problems
    assert problem.source == str(published)
    assert "la version publiée 1.0 est en service" in problem.message and "l'ancien contenu reste" in problem.message
    assert "la génération 1 reste en service" in caplog.text
    assert live.snapshot() is before and live.evaluate(application).policy.sha256 == old_sha
    assert live.reload_if_changed() is False  # refused once per change, not at every poll
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    assert live.reload() is not None  # a draft does not make the rewritten 1.0 acceptable
    assert LiveRegistry(directory).snapshot().registry.version("1.0").sha256 != old_sha  # a restart takes it


def test_a_fifo_among_the_policies_never_blocks_a_reload(directory: Path):
    """A named pipe called ``2.0.yaml`` (which nobody writes to) is left out, not waited on."""
    live = LiveRegistry(directory)
    os.mkfifo(directory / "2.0.yaml")
    reloading = threading.Thread(target=live.reload_if_changed, daemon=True)
    reloading.start()
    reloading.join(10)
    assert not reloading.is_alive(), "le rechargement attend le tube"
    assert [p.version for p in live.versions] == ["1.0"]


def test_reload_if_changed_reads_nothing_new_when_nothing_changed(directory: Path):
    live = LiveRegistry(directory)
    assert live.reload_if_changed() is False
    (directory / "1.0.yaml").touch()
    assert live.reload_if_changed() is False  # same bytes: nothing to reload
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    assert live.reload_if_changed() is True
    assert live.snapshot().generation == 2


def test_the_watcher_follows_edits_and_refusals(directory: Path):
    with LiveRegistry(directory) as live:
        live.watch(0.05)
        assert live.watching
        new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
        wait_for(lambda: [p.version for p in live.versions] == ["1.0", "1.1"])
        publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
        wait_for(lambda: live.registry.version("1.1").status == "published")
        generation = live.snapshot().generation
        draft = directory / "1.1.yaml"
        good = draft.read_text(encoding="utf-8")
        draft.write_text(good.replace("rate: 0.30", "rate: [0.30"), encoding="utf-8")
        wait_for(lambda: live.failure is not None)
        assert live.snapshot().generation == generation
        assert live.failure is not None and any(p.line for p in live.failure.problems)
        draft.write_text(good, encoding="utf-8")
        wait_for(lambda: live.failure is None)
    assert not live.watching


def test_files_changing_during_a_load_are_read_again(directory: Path, monkeypatch):
    """A reload that sees the files change while it reads them starts again, and serves the set of
    one state of the directory."""
    live = LiveRegistry(directory)
    calls = []
    load = Registry.from_directory

    def load_then_edit(path: Path, drafts: Drafts = "refuse") -> Registry:
        loaded = load(path, drafts)
        if not calls:
            new_draft(loaded, "1.1", "1.0", date(2027, 1, 1))  # written after the set was read
        calls.append(path)
        return loaded

    monkeypatch.setattr(service_module.Registry, "from_directory", staticmethod(load_then_edit))
    assert live.reload() is None
    assert len(calls) == 2
    assert [p.version for p in live.versions] == ["1.0", "1.1"]


def test_a_decision_never_mixes_two_sets(directory: Path, application):
    """Threads decide under draft 1.1 while another thread swaps two contents of it in and out: every
    decision's grant is the one of the version whose hash it carries."""
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    draft = directory / "1.1.yaml"
    texts = [draft.read_text(encoding="utf-8")]
    texts.append(texts[0].replace("rate: 0.30", "rate: 0.35"))
    assert texts[1] != texts[0]
    live = LiveRegistry(directory)
    expected: dict[str, str] = {}
    for text in texts:
        draft.write_text(text, encoding="utf-8")
        assert live.reload() is None
        decision = live.evaluate(application, version="1.1")
        expected[decision.policy.sha256] = decision.to_dict()["amounts"]["grant_total"]
    assert len(set(expected.values())) == 2
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def decide() -> None:
        while not stop.is_set():
            decision = live.evaluate(application, version="1.1")
            seen.append((decision.policy.sha256, decision.to_dict()["amounts"]["grant_total"]))

    workers = [threading.Thread(target=decide) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        for round_ in range(20):
            draft.write_text(texts[round_ % 2], encoding="utf-8")
            assert live.reload() is None
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert seen and all(expected[sha] == grant for sha, grant in seen)
    assert {sha for sha, _ in seen} == set(expected)


def readme_service_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Utiliser guichet depuis un service", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "la section « Utiliser guichet depuis un service » montre un exemple Python"
    return found.group(1)


def test_the_readme_service_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_service_example(), "README.md", "exec"), namespace)
    output = capsys.readouterr().out
    assert output.startswith("incomplete ")
    assert "expenses[0].amount : le montant 12.345 a plus de deux décimales" in output
    assert "[('1.0', 'published')] None" in output
    assert isinstance(namespace["decision"].amounts.grant_total, Decimal)
    live = namespace["live"]
    assert isinstance(live, LiveRegistry) and not live.watching
