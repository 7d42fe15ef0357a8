"""The versions of a policy kept in a directory, and which one governs an application.

A directory holds the versions of one policy, one file a version, named after it
(``policies/guichet-cofinancement/1.0.yaml``). The version in force on a date D is the published
version with the latest ``effective_from`` on or before D. An application submitted before the
first version takes effect is decided by the first published version, whose window refuses it.
A version named to decide an application filed outside its dates (before it takes effect, or once
a later published version has replaced it) decides it, and the decision says so in a finding
(``version.dates``).
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from evaluator.core import french
from evaluator.core.application import application_schema, build_application, mapping_document, submission_date
from evaluator.core.decision import Decision
from evaluator.core.engine import evaluate
from evaluator.core.facts import Level
from evaluator.core.findings import Applied
from evaluator.core.policy import Policy
from evaluator.reading.files import read_regular
from evaluator.reading.parse import Document, load_document
from evaluator.reading.problems import InputError, Problem, format_path
from evaluator.reading.resources import policies_dir
from evaluator.versions.loader import load_policy_file
from evaluator.versions.lock import LockEntry, lock_problems, read_lock, version_number

Drafts = Literal["refuse", "skip"]
"""What loading a directory does with a draft that does not load or does not fit with the other
versions: refuse the whole set, or leave the draft out (``Registry.skipped``)."""

DATES_RULE = "version.dates"
"""The rule of the finding that says a version named was applied outside its dates."""

_DECLARED_PUBLISHED = re.compile(r"^status:[ \t]*[\"']?published[\"']?[ \t]*(#.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class Skipped:
    """A draft left out of a set loaded with ``drafts="skip"``: its version (the name of its file),
    its file, and every problem found in it."""

    version: str
    path: Path
    problems: tuple[Problem, ...]

    def warning(self) -> str:
        """What a command that decides says of it on its standard error: the draft, its first problem."""
        first = self.problems[0]
        line = f"ligne {first.line} : " if first.line is not None else ""
        at = f" (à {format_path(first.path)})" if first.path is not None else ""
        more = len(self.problems) - 1
        others = f" (et {more} autre{'s' if more > 1 else ''} problème{'s' if more > 1 else ''})" if more else ""
        return (f"avertissement : la version brouillon {self.version} ({self.path}) est ignorée : {line}"
                f"{first.message}{at}{others} ; « guichet validate {self.path} » les liste tous")

    def refusal(self) -> InputError:
        """Deciding with this draft by name is refused: why, then every problem of its file."""
        why = f"la version {self.version} est un brouillon invalide, ignoré : elle ne peut rien décider"
        return InputError([Problem(str(self.path), why, hint="corrigez les problèmes ci-dessous"), *self.problems])


@dataclass(frozen=True)
class Registry:
    directory: Path
    versions: tuple[Policy, ...]
    files: Mapping[str, Path]
    skipped: tuple[Skipped, ...] = ()
    """The drafts left out (``from_directory(..., drafts="skip")``), each with its problems."""

    @classmethod
    def from_directory(cls, directory: Path, drafts: Drafts = "refuse") -> Registry:
        """Load every version of the policy in ``directory`` (or in its single sub-directory), and
        check that they form a consistent whole: file names, numbers, lock, effective dates, window.

        A draft that does not load, is misnamed, has a number equal to another version's (``1.00``
        beside ``1.0``) or belongs to another policy than the published versions is, with
        ``drafts="refuse"`` (the default: ``guichet validate``, ``policy new`` and ``publish``), a
        problem like any other: ``InputError`` lists them all. With ``drafts="skip"`` (the commands
        that decide), it is left out of the set and listed in ``skipped``, so that the published
        versions go on deciding while staff write a draft; naming it (``version()``) raises its
        problems. A published version (one the lock lists, or whose file says ``status:
        published``) that has a problem, the lock and the published versions' sequence always
        raise, and so does a set that would be left with no version at all."""
        directory = _versions_directory(directory)
        lock = read_lock(directory)
        found, problems = _load_files(directory)

        def published(path: Path) -> bool:
            return _published_file(path, found.get(path), lock)

        for path, problem in _misfit_drafts({p: v for p, v in found.items() if p not in problems}, published):
            problems.setdefault(path, []).append(problem)
        files = {policy.version: path for path, policy in found.items() if path not in problems}
        versions = {version: found[path] for version, path in files.items()}
        skipping = drafts == "skip" and bool(versions)  # a set left with no version at all is refused
        skipped = tuple(Skipped(path.stem, path, tuple(found_problems)) for path, found_problems in problems.items()
                        if skipping and not published(path))
        left_out = {draft.path for draft in skipped}
        refused = [problem for path, found_problems in problems.items() if path not in left_out
                   for problem in found_problems]
        refused.extend(lock_problems(directory, files, versions, lock))
        refused.extend(consistency_problems(directory, versions, files))
        if refused:
            raise InputError(refused)
        return cls(directory, tuple(sorted(versions.values(), key=version_key)), files, skipped)

    @classmethod
    def default(cls) -> Registry:
        """The policies bundled with guichet."""
        return cls.from_directory(policies_dir())

    def version(self, version: str) -> Policy:
        """The version of that number; a draft left out raises its problems."""
        for policy in self.versions:
            if policy.version == version:
                return policy
        for draft in self.skipped:
            if draft.version == version:
                raise draft.refusal()
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
        with every problem. A version named that was not in force on the submission date decides,
        and the decision says so (``outside_dates``)."""
        policy = self.governing(document, version, as_of)
        selected_for = None if version is not None else (as_of or submission_date(document))
        decision = evaluate(policy, build_application(document, self.checked(policy)), selected_for)
        finding = None if version is None else self.outside_dates(policy, decision.submitted_on)
        if finding is None:
            return decision
        trace = decision.trace
        after = next((index + 1 for index, entry in enumerate(trace) if entry.rule == "window"), 0)
        return dataclasses.replace(decision, trace=(*trace[:after], finding, *trace[after:]))

    def outside_dates(self, policy: Policy, submitted: date) -> Applied | None:
        """The finding (``version.dates``, outcome ``info``, no effect on the status) that
        ``policy`` is applied to an application filed on ``submitted``, before it takes effect or on
        or after the date a later published version replaces it; ``None`` within its dates."""
        published, dates = self._published
        successor = next((p for p in published if p.effective_from > policy.effective_from), None)
        if submitted < policy.effective_from:
            why = f"avant son entrée en vigueur ({french.day(policy.effective_from)})"
        elif successor is not None and submitted >= successor.effective_from:
            why = (f"alors que la version {successor.version} la remplace depuis le "
                   f"{french.day(successor.effective_from)}")
        else:
            return None
        rank = bisect_right(dates, submitted) - 1
        in_force = (f"la version en vigueur à cette date est {published[rank].version}" if rank >= 0
                    else "aucune version publiée n'est en vigueur à cette date")
        message = (f"La version {policy.version} est appliquée à une demande déposée le {french.day(submitted)}, "
                   f"{why} ; {in_force}.")
        return Applied(DATES_RULE, "info", policy.window.clause, None, ("submitted_on",), None, "outside", message)

    def evaluate(self, application: Mapping[str, Any], version: str | None = None,
                 as_of: date | None = None) -> Decision:
        """Decide an application given as a mapping (decoded JSON); floats are read as the decimal
        they print as. Raises ``InputError`` with every problem and its JSON path. Decoded JSON is
        read as it is, not copied: it must not change while it is decided (the decision keeps
        nothing of it)."""
        return self.decide(mapping_document(application), version, as_of)

    def evaluate_bytes(self, raw: bytes, source: str, version: str | None = None,
                       as_of: date | None = None) -> Decision:
        return self.decide(load_document(raw, source), version, as_of)


def _known_by(versions: list[str], governing: str) -> str:
    names = ", ".join(versions)
    return (f"information de la version {names}" if len(versions) == 1 else f"information des versions {names}") + (
        f", inconnue de la version {governing} qui régit cette demande")


def version_key(policy: Policy) -> tuple[int, ...]:
    return version_number(policy.version)


def _load_files(directory: Path) -> tuple[dict[Path, Policy], dict[Path, list[Problem]]]:
    """The versions of ``directory`` that load, by file, and the problems of each file that does
    not load or is not named after its version."""
    found: dict[Path, Policy] = {}
    problems: dict[Path, list[Problem]] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            policy = load_policy_file(path)
        except InputError as error:
            problems[path] = list(error.problems)
            continue
        found[path] = policy
        if path.stem != policy.version:
            problems[path] = [Problem(str(path), f"le fichier déclare la version {policy.version} : "
                                                 f"il doit s'appeler {policy.version}.yaml")]
    return found, problems


def _published_file(path: Path, policy: Policy | None, lock: Mapping[str, LockEntry]) -> bool:
    """A version file is published when the lock lists it or it says so — read from its text when
    it does not load."""
    if path.stem in lock:
        return True
    if policy is not None:
        return policy.status == "published"
    try:
        text = read_regular(path, str(path)).decode("utf-8", errors="replace")
    except InputError:  # (not a regular file, too large: it is not read)
        return False
    return _DECLARED_PUBLISHED.search(text) is not None


def _misfit_drafts(versions: Mapping[Path, Policy],
                   published: Callable[[Path], bool]) -> Iterator[tuple[Path, Problem]]:
    """The drafts that cannot stand beside the other versions: a number that compares equal to
    another's (``1.0``, ``1.00``, ``01.0``), or another policy than the published versions'."""
    ids = sorted({policy.id for path, policy in versions.items() if published(path)})
    for path, policy in versions.items():
        if published(path):
            continue
        same = [other.version for other_path, other in versions.items()
                if other_path != path and version_number(other.version) == version_number(policy.version)]
        if same:
            yield path, Problem(str(path), f"la version {policy.version} se confond avec la version "
                                           f"{', '.join(same)} : les numéros se comparent nombre par nombre",
                                hint="donnez au brouillon un numéro distinct")
        if ids and policy.id not in ids:
            yield path, Problem(str(path), f"ce brouillon est une version de la politique {policy.id}, les versions "
                                           f"publiées de ce répertoire de la politique {', '.join(ids)}")


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
