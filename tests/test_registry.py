"""Versions over the life of the window: which one governs an application, published means frozen,
and a directory of versions must hold together."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from conftest import policy_directory
from evaluator import InputError, Registry
from evaluator.versions.authoring import new_draft, publish


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A copy of the bundled directory: version 1.0 and its lock."""
    return policy_directory(tmp_path)


@pytest.fixture
def two_versions(directory: Path) -> Path:
    """1.0, and 1.1 published from 2027-01-01."""
    draft = new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
    assert draft.path == directory / "1.1.yaml"
    return directory


def _problems(directory: Path) -> list[str]:
    with pytest.raises(InputError) as raised:
        Registry.from_directory(directory)
    return [problem.render() for problem in raised.value.problems]


def test_version_in_force_by_date(two_versions):
    registry = Registry.from_directory(two_versions)
    assert registry.in_force(date(2026, 12, 31)).version == "1.0"
    assert registry.in_force(date(2027, 1, 1)).version == "1.1"
    assert registry.in_force(date(2026, 1, 1)).version == "1.0"


def test_a_draft_is_never_in_force_but_can_be_named(directory, application):
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    registry = Registry.from_directory(directory)
    assert registry.in_force(date(2028, 1, 1)).version == "1.0"
    application["submitted_on"] = "2028-01-01"
    assert registry.evaluate(application, version="1.1").policy.version == "1.1"
    assert registry.evaluate(application).policy.version == "1.0"


def test_the_decision_records_the_version_hash_and_date(two_versions, application):
    application["submitted_on"] = "2027-03-01"
    registry = Registry.from_directory(two_versions)
    decision = registry.evaluate(application)
    assert (decision.policy.version, decision.policy.selected_for) == ("1.1", date(2027, 3, 1))
    assert decision.policy.sha256 == registry.version("1.1").sha256
    assert registry.evaluate(application, version="1.0").policy.selected_for is None


def test_new_draft_keeps_comments_and_sets_the_header(directory):
    written = new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    text = written.path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schemas/policy.schema.json\n")
    assert 'version: "1.1"\nstatus: draft\neffective_from: 2027-01-01\n' in text
    assert written.policy.status == "draft"


def test_publish_records_the_hash(two_versions):
    registry = Registry.from_directory(two_versions)
    assert registry.version("1.1").status == "published"
    assert '"1.1"' in (two_versions / "lock.json").read_text(encoding="utf-8")


def test_an_edited_published_version_is_refused_naming_file_and_version(directory):
    path = directory / "1.0.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    value: 500\n", "    value: 300\n"),
                    encoding="utf-8")
    [problem] = _problems(directory)
    assert problem.startswith(f"{path}: la version 1.0 est publiée, donc figée, mais son contenu a changé")


def test_windows_line_endings_do_not_change_the_hash(directory):
    path = directory / "1.0.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert Registry.from_directory(directory).version("1.0").status == "published"


def test_a_published_version_missing_from_the_lock(directory):
    (directory / "lock.json").unlink()
    [problem] = _problems(directory)
    assert "absente du verrou" in problem and "guichet policy publish 1.0" in problem


def test_overlapping_versions_are_refused(directory):
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    path = directory / "1.1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("effective_from: 2027-01-01",
                                                              "effective_from: 2026-05-22"), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        publish(Registry.from_directory(directory), "1.1", date(2026, 12, 1))
    assert "leurs périodes se chevauchent" in raised.value.problems[0].message


def test_duplicate_version_number_is_refused(directory):
    shutil.copy(directory / "1.0.yaml", directory / "1.00.yaml")
    assert any("il doit s'appeler 1.0.yaml" in problem for problem in _problems(directory))


def test_part_of_the_window_uncovered_is_refused(directory):
    path = directory / "1.0.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("effective_from: 2026-05-22",
                                                             "effective_from: 2026-06-01"), encoding="utf-8")
    problems = _problems(directory)
    assert any("aucune version publiée n'est en vigueur du 22 mai 2026 au 31 mai 2026" in p for p in problems)


def test_a_policy_file_must_open_with_the_schema_modeline(directory):
    path = directory / "1.0.yaml"
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[1:]) + "\n", encoding="utf-8")
    assert any("la première ligne doit désigner le schéma des politiques" in p for p in _problems(directory))


def test_publishing_twice_is_refused(two_versions):
    with pytest.raises(InputError) as raised:
        publish(Registry.from_directory(two_versions), "1.1", date(2026, 12, 2))
    assert "déjà publiée" in raised.value.problems[0].message


def test_bundled_registry():
    registry = Registry.default()
    assert [p.version for p in registry.versions] == ["1.0"]
    assert registry.files["1.0"].name == "1.0.yaml"


def test_a_draft_that_cannot_be_written_is_bad_input(directory, monkeypatch):
    """Written beside, then renamed: a draft that cannot be put in place is bad input, and leaves
    neither the draft nor the file written beside it."""
    registry = Registry.from_directory(directory)

    def refuse(source: Path, target: Path) -> None:
        raise PermissionError(13, "Permission non accordée")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError) as raised:
        new_draft(registry, "1.1", "1.0", date(2027, 1, 1))
    assert raised.value.problems[0].message == "écriture impossible : permission refusée"  # (in French)
    assert sorted(path.name for path in directory.iterdir()) == ["1.0.yaml", "lock.json"]
