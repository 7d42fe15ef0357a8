"""Shared fixtures: the bundled policy, a clean application, and policy variants made by editing
the YAML text the way staff would."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from evaluator import Decision, InputError, Policy, Problem, Registry, load_policy
from evaluator.core.application import build_application, mapping_document
from evaluator.core.engine import evaluate

ROOT = Path(__file__).resolve().parent.parent

# Property tests: a bounded number of examples in CI; GUICHET_HYPOTHESIS_PROFILE=long runs 25 times
# more (see the README, « Robustesse »). Tests scale their own counts on ``settings().max_examples``.
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("GUICHET_HYPOTHESIS_PROFILE", "ci"))
POLICY_FILE = ROOT / "policies" / "guichet-cofinancement" / "1.0.yaml"
EXAMPLES = ROOT / "examples"

# tests/test_compiled.py runs the suite against the wheel's compiled core: it must be that core here.
if os.environ.get("GUICHET_EXPECT_COMPILED") == "1":
    import evaluator.core.engine

    assert Path(evaluator.core.engine.__file__).suffix in (".so", ".pyd"), evaluator.core.engine.__file__


@pytest.fixture(scope="session")
def policy_text() -> str:
    return POLICY_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def policy(policy_text: str) -> Policy:
    return load_policy(policy_text.encode(), str(POLICY_FILE))


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.default()


@pytest.fixture
def application() -> dict[str, Any]:
    """A clean eligible application (the commune example), to modify in a test."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "commune-simple.yaml").read_text(encoding="utf-8"))
    data["submitted_on"] = str(data["submitted_on"])
    return copy.deepcopy(data)


def decide_with(policy: Policy, application: dict[str, Any]) -> Decision:
    document = mapping_document(application)
    return evaluate(policy, build_application(document, policy))


@pytest.fixture
def decide(policy: Policy) -> Callable[[dict[str, Any]], Decision]:
    return lambda application: decide_with(policy, application)


def policy_directory(parent: Path, drafts: dict[str, str] | None = None) -> Path:
    """A copy of the bundled versions (1.0, published, and its lock) in ``parent``, as
    ``guichet-cofinancement/``, with ``drafts`` (file name: text) written beside them."""
    target = parent / "guichet-cofinancement"
    shutil.copytree(POLICY_FILE.parent, target)
    for name, text in (drafts or {}).items():
        (target / name).write_text(text, encoding="utf-8")
    return target


def edited(text: str, *edits: tuple[str, str]) -> str:
    """``text`` with the edits ``(old, new)`` made, as staff would; each ``old`` stands there once."""
    for old, new in edits:
        assert text.count(old) == 1, f"edit target not unique: {old!r}"
        text = text.replace(old, new)
    return text


def refused(policy_text: str, *edits: tuple[str, str]) -> list[Problem]:
    """The problems of the policy ``policy_text`` once edited, which must be refused at load."""
    with pytest.raises(InputError) as raised:
        load_policy(edited(policy_text, *edits).encode(), "broken.yaml")
    return raised.value.problems


@pytest.fixture
def amended(policy_text: str) -> Callable[..., Policy]:
    """The v1.0 policy with textual edits ``(old, new)`` applied to its YAML, as staff would."""
    return lambda *edits: load_policy(edited(policy_text, *edits).encode(), "amended.yaml")
