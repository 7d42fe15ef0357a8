"""The versions of a policy kept in a directory, and which one governs an application.

A directory holds the versions of one policy, one file a version, named after it
(``policies/guichet-cofinancement/1.0.yaml``). The version in force on a date D is the published
version with the latest ``effective_from`` on or before D. An application submitted before the
first version takes effect is decided by the first published version, whose window refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from evaluator.application import (
    build_application,
    checked_document,
    mapping_document,
    read_application,
    submission_date,
)
from evaluator.decision import Decision
from evaluator.documents import Document
from evaluator.engine import evaluate
from evaluator.policy import Policy
from evaluator.policy_loader import load_policy_file
from evaluator.problems import InputError, Problem
from evaluator.resources import policies_dir


@dataclass(frozen=True)
class Registry:
    directory: Path
    versions: tuple[Policy, ...]

    @classmethod
    def from_directory(cls, directory: Path) -> Registry:
        """Load every version in ``directory`` (or in its single policy sub-directory)."""
        files = sorted(directory.glob("*.yaml")) or sorted(directory.glob("*/*.yaml"))
        if not files:
            raise InputError([Problem(str(directory), "aucune politique (fichier .yaml) dans ce répertoire")])
        problems: list[Problem] = []
        versions: list[Policy] = []
        for path in files:
            try:
                policy = load_policy_file(path)
            except InputError as error:
                problems.extend(error.problems)
                continue
            if path.stem != policy.version:
                problems.append(Problem(str(path), f"le fichier déclare la version {policy.version} : "
                                        f"il doit s'appeler {policy.version}.yaml"))
            versions.append(policy)
        ids = sorted({p.id for p in versions})
        if len(ids) > 1:
            problems.append(Problem(str(directory), "plusieurs politiques dans un même répertoire : " + ", ".join(ids)))
        if problems:
            raise InputError(problems)
        return cls(directory, tuple(sorted(versions, key=_version_key)))

    @classmethod
    def default(cls) -> Registry:
        """The policies bundled with guichet."""
        return cls.from_directory(policies_dir())

    def version(self, version: str) -> Policy:
        for policy in self.versions:
            if policy.version == version:
                return policy
        known = ", ".join(p.version for p in self.versions)
        raise InputError([Problem(str(self.directory), f"version {version} inconnue ; versions : {known}")])

    def in_force(self, on: date) -> Policy:
        published = [p for p in self.versions if p.status == "published"]
        if not published:
            raise InputError([Problem(str(self.directory), "aucune version publiée")])
        started = [p for p in published if p.effective_from <= on]
        if not started:
            return min(published, key=lambda p: p.effective_from)
        return max(started, key=lambda p: p.effective_from)

    def select(self, submitted_on: date, version: str | None = None, as_of: date | None = None) -> Policy:
        """The named version, else the version in force on ``as_of``, else on ``submitted_on``."""
        return self.version(version) if version is not None else self.in_force(as_of or submitted_on)

    def decide(self, document: Document, version: str | None = None, as_of: date | None = None) -> Decision:
        """Decide a schema-checked application document under the version that governs it."""
        submitted = submission_date(document)
        policy = self.select(submitted, version, as_of)
        selected_for = None if version is not None else (as_of or submitted)
        return evaluate(policy, build_application(document, policy), selected_for)

    def evaluate(self, application: Mapping[str, Any], version: str | None = None,
                 as_of: date | None = None) -> Decision:
        """Decide an application given as a mapping (decoded JSON); floats are read as the decimal
        they print as. Raises ``InputError`` with every problem and its JSON path."""
        return self.decide(checked_document(mapping_document(application)), version, as_of)

    def evaluate_bytes(self, raw: bytes, source: str, version: str | None = None,
                       as_of: date | None = None) -> Decision:
        return self.decide(read_application(raw, source), version, as_of)


def _version_key(policy: Policy) -> tuple[int, ...]:
    return tuple(int(part) for part in policy.version.split("."))
