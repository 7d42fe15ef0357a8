"""The versions of a policy kept in a directory, and which one governs an application.

A directory holds the versions of one policy, one file a version, named after it
(``policies/guichet-cofinancement/1.0.yaml``). The version in force on a date D is the published
version with the latest ``effective_from`` on or before D. An application submitted before the
first version takes effect is decided by the first published version, whose window refuses it.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

from evaluator.core import french
from evaluator.core.application import application_schema, build_application, mapping_document, submission_date
from evaluator.core.decision import Decision
from evaluator.core.engine import evaluate
from evaluator.core.facts import Level
from evaluator.core.policy import Policy
from evaluator.reading.parse import Document, load_document
from evaluator.reading.problems import InputError, Problem
from evaluator.reading.resources import policies_dir
from evaluator.versions.loader import load_policy_file
from evaluator.versions.lock import lock_problems, read_lock


@dataclass(frozen=True)
class Registry:
    directory: Path
    versions: tuple[Policy, ...]
    files: Mapping[str, Path]

    @classmethod
    def from_directory(cls, directory: Path) -> Registry:
        """Load every version of the policy in ``directory`` (or in its single sub-directory), and
        check that they form a consistent whole: file names, lock, effective dates, window."""
        directory = _versions_directory(directory)
        problems: list[Problem] = []
        versions: dict[str, Policy] = {}
        files: dict[str, Path] = {}
        for path in sorted(directory.glob("*.yaml")):
            try:
                policy = load_policy_file(path)
            except InputError as error:
                problems.extend(error.problems)
                continue
            if path.stem != policy.version:
                problems.append(Problem(str(path), f"le fichier déclare la version {policy.version} : "
                                        f"il doit s'appeler {policy.version}.yaml"))
                continue
            versions[policy.version] = policy
            files[policy.version] = path
        problems.extend(lock_problems(directory, files, versions, read_lock(directory)))
        problems.extend(consistency_problems(directory, versions, files))
        if problems:
            raise InputError(problems)
        return cls(directory, tuple(sorted(versions.values(), key=version_key)), files)

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
        published, dates = self._published
        if not published:
            raise InputError([Problem(str(self.directory), "aucune version publiée")])
        return published[max(bisect_right(dates, on) - 1, 0)]

    @cached_property
    def _published(self) -> tuple[tuple[Policy, ...], tuple[date, ...]]:
        """The published versions by effective date (distinct, as ``from_directory`` checks), and
        their dates."""
        published = tuple(sorted((p for p in self.versions if p.status == "published"), key=lambda p: p.effective_from))
        return published, tuple(p.effective_from for p in published)

    def select(self, submitted_on: date, version: str | None = None, as_of: date | None = None) -> Policy:
        """The named version, else the version in force on ``as_of``, else on ``submitted_on``."""
        return self.version(version) if version is not None else self.in_force(as_of or submitted_on)

    def governing(self, document: Document, version: str | None = None, as_of: date | None = None) -> Policy:
        """The version that decides an application document: the named version, else the version in
        force on ``as_of``, else on its submission date. An application without a valid submission
        date is checked against the schema of the newest published version (of the newest draft when
        none is published), which says what is wrong."""
        if version is not None:
            return self.version(version)
        submitted = as_of or submission_date(document)
        if submitted is None:
            published, _ = self._published
            newest = published[-1] if published else self.versions[-1]
            build_application(document, self.checked(newest))  # raises: submitted_on is required
            raise InputError([document.problem(("submitted_on",), "date de dépôt illisible")])
        return self.in_force(submitted)

    def checked(self, policy: Policy) -> Policy:
        """``policy`` with its application schema saying, of a field it does not declare, which
        other versions declare it."""
        return self._told[policy.version]

    @cached_property
    def _told(self) -> dict[str, Policy]:
        declared: dict[tuple[Level, str], list[str]] = {}
        for policy in self.versions:
            for item in policy.facts.fields:
                declared.setdefault((item.level, item.key), []).append(policy.version)
        told = {}
        for policy in self.versions:
            own = {(item.level, item.key) for item in policy.facts.fields}
            elsewhere = {place: _known_by(versions, policy.version) for place, versions in declared.items()
                         if place not in own}
            schema = application_schema(policy.facts, elsewhere)
            told[policy.version] = dataclasses.replace(policy, application_schema=schema) if elsewhere else policy
        return told

    def decide(self, document: Document, version: str | None = None, as_of: date | None = None) -> Decision:
        """Decide an application document under the version that governs it; raises ``InputError``
        with every problem."""
        policy = self.governing(document, version, as_of)
        selected_for = None if version is not None else (as_of or submission_date(document))
        return evaluate(policy, build_application(document, self.checked(policy)), selected_for)

    def evaluate(self, application: Mapping[str, Any], version: str | None = None,
                 as_of: date | None = None) -> Decision:
        """Decide an application given as a mapping (decoded JSON); floats are read as the decimal
        they print as. Raises ``InputError`` with every problem and its JSON path."""
        return self.decide(mapping_document(application), version, as_of)

    def evaluate_bytes(self, raw: bytes, source: str, version: str | None = None,
                       as_of: date | None = None) -> Decision:
        return self.decide(load_document(raw, source), version, as_of)


def _known_by(versions: list[str], governing: str) -> str:
    names = ", ".join(versions)
    return (f"information de la version {names}" if len(versions) == 1 else f"information des versions {names}") + (
        f", inconnue de la version {governing} qui régit cette demande")


def version_key(policy: Policy) -> tuple[int, ...]:
    return tuple(int(part) for part in policy.version.split("."))


def _versions_directory(directory: Path) -> Path:
    """The directory holding the version files: ``directory`` itself, or its one sub-directory."""
    if any(directory.glob("*.yaml")):
        return directory
    candidates = sorted({path.parent for path in directory.glob("*/*.yaml")})
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError([Problem(str(directory), "aucune politique (fichier .yaml) dans ce répertoire")])
    names = ", ".join(c.name for c in candidates)
    raise InputError([Problem(str(directory), f"plusieurs politiques dans ce répertoire ({names})",
                              hint="indiquez le répertoire d'une seule politique")])


def consistency_problems(directory: Path, versions: Mapping[str, Policy], files: Mapping[str, Path]) -> list[Problem]:
    """Published versions must follow one another: one policy, distinct numbers and effective dates
    increasing with the version, and the first in force when the window opens."""
    problems: list[Problem] = []
    ids = sorted({p.id for p in versions.values()})
    if len(ids) > 1:
        problems.append(Problem(str(directory), "plusieurs politiques dans un même répertoire : " + ", ".join(ids)))
    published = sorted((p for p in versions.values() if p.status == "published"), key=version_key)
    for previous, current in pairwise(published):
        where = str(files[current.version])
        if version_key(previous) == version_key(current):
            message = f"les versions {previous.version} et {current.version} portent le même numéro"
            problems.append(Problem(where, message))
        elif current.effective_from <= previous.effective_from:
            problems.append(Problem(
                where,
                f"la version {current.version} prend effet le {french.day(current.effective_from)}, pas après la "
                f"version {previous.version} ({french.day(previous.effective_from)}) : leurs périodes se chevauchent",
                hint="une nouvelle version prend effet après la précédente",
            ))
    if published:
        first = published[0]
        if first.effective_from > first.window.opens_on:
            problems.append(Problem(
                str(files[first.version]),
                f"aucune version publiée n'est en vigueur du {french.day(first.window.opens_on)} au "
                f"{french.day(first.effective_from - timedelta(days=1))}, alors que le guichet est ouvert",
                hint="la première version doit prendre effet au plus tard à l'ouverture du guichet",
            ))
    return problems
