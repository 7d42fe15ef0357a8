"""Writing policy versions: a new draft copied from a version, and the publication of a draft.

Both edit the version file as text, line by line, so that the comments and layout staff wrote are
kept; both check the result before writing anything, and write each file at once
(``lock.write_atomically``). A publication writes the lock entry first (``pending``), then the
version's file, then the entry again, confirmed: at every moment, and after a write that fails
midway (a full disk), the version is either the draft it was or published and locked (``lock``).

A publication that takes effect before the day it is made changes the version of applications
already filed: it is refused unless asked for (``backdate``), and then says which submission dates
change version.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from evaluator.core import french
from evaluator.core.policy import Policy
from evaluator.reading.problems import InputError, Problem
from evaluator.versions.loader import load_policy
from evaluator.versions.lock import (
    VERSION_NUMBER,
    LockEntry,
    digest,
    read_lock,
    version_number,
    write_atomically,
    write_lock,
)
from evaluator.versions.registry import Registry, consistency_problems, version_key


@dataclass(frozen=True)
class Reassigned:
    """Submission dates, from ``first`` to ``last``, that a backdated publication moves from the
    version ``before`` (``None``: no published version) to the version ``after``."""

    first: date
    last: date
    before: str | None
    after: str

    def text(self) -> str:
        was = f"relevaient de la version {self.before}" if self.before else "ne relevaient d'aucune version publiée"
        return (f"les demandes déposées du {french.day(self.first)} au {french.day(self.last)} {was} : "
                f"elles relèveront de la version {self.after}")


@dataclass(frozen=True)
class Written:
    """What a command wrote, for it to say."""

    path: Path
    policy: Policy
    lock: Path | None = None
    reassigned: tuple[Reassigned, ...] = ()


def new_draft(registry: Registry, version: str, source_version: str, effective_from: date) -> Written:
    """Copy ``source_version`` to a draft ``version`` taking effect on ``effective_from``."""
    where = str(registry.directory)
    if not VERSION_NUMBER.fullmatch(version):
        raise InputError([Problem(where, f"« {version} » n'est pas un numéro de version", hint="par exemple 1.1")])
    if version in registry.files:
        raise InputError([Problem(str(registry.files[version]), f"la version {version} existe déjà")])
    same = [known for known in registry.files if version_number(known) == version_number(version)]
    if same:
        newest = version_number(max(registry.versions, key=version_key).version)
        following = ".".join(map(str, (*newest[:-1], newest[-1] + 1)))
        raise InputError([Problem(str(registry.files[same[0]]),
                                  f"la version {version} se confondrait avec la version {same[0]} : les numéros se "
                                  f"comparent nombre par nombre ({version} = {same[0]})",
                                  hint=f"choisissez un autre numéro, par exemple {following}")])
    source = registry.version(source_version)
    text = registry.files[source_version].read_text(encoding="utf-8")
    target = registry.directory / f"{version}.yaml"
    text = _set(text, "version", f'"{version}"', target)
    text = _set(text, "status", "draft", target)
    text = _set(text, "effective_from", effective_from.isoformat(), target)
    policy = load_policy(text.encode("utf-8"), str(target))
    if policy.effective_from <= source.effective_from:
        raise InputError([Problem(str(target), f"la nouvelle version doit prendre effet après la version "
                                               f"{source_version} ({source.effective_from.isoformat()})")])
    write_atomically(target, text.encode("utf-8"))
    return Written(target, policy)


def publish(registry: Registry, version: str, today: date, backdate: bool = False) -> Written:
    """Publish the draft ``version``: check it within the whole set, mark it published, lock it.
    An effective date before ``today`` is refused unless ``backdate``; then ``Written.reassigned``
    lists the submission dates, up to the day before ``today``, whose version changes."""
    current = registry.version(version)
    path = registry.files[version]
    found = read_lock(registry.directory)
    lock = {known: dataclasses.replace(entry, pending=False) for known, entry in found.items()}
    if current.status == "published":
        if version not in found or not found[version].pending:
            raise InputError([Problem(str(path), f"la version {version} est déjà publiée")])
        return Written(path, current, write_lock(registry.directory, current.id, lock))  # its entry confirmed
    text = _set(path.read_text(encoding="utf-8"), "status", "published", path)
    raw = text.encode("utf-8")
    policy = load_policy(raw, str(path))
    versions = {p.version: p for p in registry.versions} | {version: policy}
    problems = consistency_problems(registry.directory, versions, registry.files)
    if problems:
        raise InputError(problems)
    if policy.effective_from < today and not backdate:
        since = french.day(policy.effective_from)
        raise InputError([Problem(
            str(path), f"la version {version} prendrait effet le {since}, avant aujourd'hui ({french.day(today)}) : "
                       f"les demandes déjà déposées depuis le {since} changeraient de version",
            hint="choisissez une date d'effet (effective_from) à partir d'aujourd'hui, ou confirmez la publication "
                 "rétroactive avec --backdate")])
    published = dataclasses.replace(registry, versions=tuple(sorted(versions.values(), key=version_key)))
    reassigned = _reassigned(registry, published, policy.effective_from, today - timedelta(days=1))
    entry = LockEntry(version, digest(raw), policy.effective_from, today)
    write_lock(registry.directory, policy.id, lock | {version: dataclasses.replace(entry, pending=True)})
    try:
        write_atomically(path, raw)
        written = write_lock(registry.directory, policy.id, lock | {version: entry})
    except InputError as error:
        raise InputError([*error.problems, _interrupted(path, version)]) from None
    return Written(path, policy, written, reassigned)


def _interrupted(path: Path, version: str) -> Problem:
    """What a publication stopped after its pending lock entry left: the version published and
    locked (its file written, the entry not confirmed), or the draft it was."""
    said = (f"la version {version} est publiée et verrouillée, mais son entrée du verrou n'est pas confirmée"
            if version in read_lock(path.parent) else
            f"la version {version} n'est pas publiée : elle reste un brouillon")
    return Problem(str(path), said, hint=f"corrigez la cause (un disque plein ?), puis relancez « guichet policy "
                                         f"publish {version} »")


def _reassigned(before: Registry, after: Registry, first: date, last: date) -> tuple[Reassigned, ...]:
    """The periods of submission dates from ``first`` to ``last`` whose version in force differs
    from ``before`` to ``after`` (the version in force changes only on an effective date)."""
    if first > last:
        return ()
    starts = sorted({first, *(p.effective_from for p in after.versions
                              if p.status == "published" and first < p.effective_from <= last)})
    periods: list[Reassigned] = []
    for start, end in zip(starts, [*(day - timedelta(days=1) for day in starts[1:]), last], strict=True):
        was = before.in_force(start).version if any(p.status == "published" for p in before.versions) else None
        now = after.in_force(start).version
        if was == now:
            continue
        if periods and (periods[-1].before, periods[-1].after) == (was, now):
            periods[-1] = dataclasses.replace(periods[-1], last=end)
        else:
            periods.append(Reassigned(start, end, was, now))
    return tuple(periods)


def _set(text: str, key: str, value: str, target: Path) -> str:
    """Replace the value of a top-level ``key:`` line, keeping any comment after it."""
    pattern = re.compile(rf"^{key}:[^\n#]*?(?P<comment>[ \t]+#[^\n]*)?$", re.MULTILINE)
    matches = list(pattern.finditer(text))
    if len(matches) != 1:
        raise InputError([Problem(str(target), f"ligne « {key}: » introuvable en tête du fichier",
                                  hint=f"écrivez « {key}: … » sur une ligne, sans indentation")])
    match = matches[0]
    return f"{text[: match.start()]}{key}: {value}{match['comment'] or ''}{text[match.end():]}"
