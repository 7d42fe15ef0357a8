"""Which version governs an application: the published one in force on its submission date."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from conftest import POLICY_FILE
from evaluator import InputError, Registry


@pytest.fixture
def two_versions(tmp_path: Path) -> Path:
    directory = tmp_path / "guichet-cofinancement"
    directory.mkdir()
    shutil.copy(POLICY_FILE, directory / "1.0.yaml")
    text = POLICY_FILE.read_text(encoding="utf-8")
    text = text.replace('version: "1.0"\nstatus', 'version: "1.1"\nstatus').replace(
        "effective_from: 2026-05-22", "effective_from: 2027-01-01")
    (directory / "1.1.yaml").write_text(text, encoding="utf-8")
    return directory


def test_version_in_force_by_date(two_versions):
    registry = Registry.from_directory(two_versions)
    assert registry.in_force(date(2026, 12, 31)).version == "1.0"
    assert registry.in_force(date(2027, 1, 1)).version == "1.1"
    assert registry.in_force(date(2026, 1, 1)).version == "1.0"


def test_a_draft_is_never_in_force(two_versions):
    path = two_versions / "1.1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("status: published", "status: draft"), encoding="utf-8")
    registry = Registry.from_directory(two_versions)
    assert registry.in_force(date(2028, 1, 1)).version == "1.0"
    assert registry.version("1.1").status == "draft"


def test_the_decision_records_the_version_and_date(two_versions, application):
    application["submitted_on"] = "2027-03-01"
    decision = Registry.from_directory(two_versions).evaluate(application)
    assert (decision.policy.version, decision.policy.selected_for) == ("1.1", date(2027, 3, 1))


def test_file_name_must_match_version(two_versions):
    (two_versions / "1.1.yaml").rename(two_versions / "2.0.yaml")
    with pytest.raises(InputError) as raised:
        Registry.from_directory(two_versions)
    assert "il doit s'appeler 1.1.yaml" in raised.value.problems[0].message


def test_bundled_registry():
    registry = Registry.default()
    assert [p.version for p in registry.versions] == ["1.0"]
    assert isinstance(registry.directory, Path)
