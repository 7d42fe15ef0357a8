"""Writing policy versions: a new draft copied from a version, and the publication of a draft.

Both edit the version file as text, line by line, so that the comments and layout staff wrote are
kept; both check the result before writing anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from evaluator.core.policy import Policy
from evaluator.reading.problems import InputError, Problem
from evaluator.versions.loader import load_policy
from evaluator.versions.lock import LockEntry, digest, read_lock, write_lock
from evaluator.versions.registry import Registry, consistency_problems

_VERSION = re.compile(r"[0-9]+\.[0-9]+")


@dataclass(frozen=True)
class Written:
    """What a command wrote, for it to say."""

    path: Path
    policy: Policy
    lock: Path | None = None


def new_draft(registry: Registry, version: str, source_version: str, effective_from: date) -> Written:
    """Copy ``source_version`` to a draft ``version`` taking effect on ``effective_from``."""
    where = str(registry.directory)
    if not _VERSION.fullmatch(version):
        raise InputError([Problem(where, f"« {version} » n'est pas un numéro de version", hint="par exemple 1.1")])
    if version in registry.files:
        raise InputError([Problem(str(registry.files[version]), f"la version {version} existe déjà")])
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
    _write(target, text.encode("utf-8"))
    return Written(target, policy)


def publish(registry: Registry, version: str, today: date) -> Written:
    """Publish the draft ``version``: check it within the whole set, mark it published, lock it."""
    current = registry.version(version)
    path = registry.files[version]
    if current.status == "published":
        raise InputError([Problem(str(path), f"la version {version} est déjà publiée")])
    text = _set(path.read_text(encoding="utf-8"), "status", "published", path)
    raw = text.encode("utf-8")
    policy = load_policy(raw, str(path))
    versions = {p.version: p for p in registry.versions} | {version: policy}
    problems = consistency_problems(registry.directory, versions, registry.files)
    if problems:
        raise InputError(problems)
    lock = read_lock(registry.directory)
    lock[version] = LockEntry(version, digest(raw), policy.effective_from, today)
    _write(path, raw)
    try:
        lock_path = write_lock(registry.directory, policy.id, lock)
    except OSError as error:
        message = f"écriture du verrou impossible : {error.strerror}"
        raise InputError([Problem(str(registry.directory), message)]) from None
    return Written(path, policy, lock_path)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise InputError([Problem(str(path), f"écriture impossible : {error.strerror}")]) from None


def _set(text: str, key: str, value: str, target: Path) -> str:
    """Replace the value of a top-level ``key:`` line, keeping any comment after it."""
    pattern = re.compile(rf"^{key}:[^\n#]*?(?P<comment>[ \t]+#[^\n]*)?$", re.MULTILINE)
    matches = list(pattern.finditer(text))
    if len(matches) != 1:
        raise InputError([Problem(str(target), f"ligne « {key}: » introuvable en tête du fichier",
                                  hint=f"écrivez « {key}: … » sur une ligne, sans indentation")])
    match = matches[0]
    return f"{text[: match.start()]}{key}: {value}{match['comment'] or ''}{text[match.end():]}"
