"""The lock file: the content hash of every published version of a policy.

``lock.json`` sits beside the version files. A published version is frozen: its content must keep
the hash recorded when it was published, and an amendment is a new version. The hash is the sha256
of the file with its line endings written ``\\n`` (so that a checkout with Windows line endings
does not change it).

A publication writes two files, and a reader (``guichet validate``, a service reloading) may look
between the two writes, or after a full disk stopped the second: the lock entry is written first,
marked ``pending``, and such an entry counts only once the version's file has the content it locks.
Until then the version is the draft it was; once the file is written, the version is published
and locked, whether the entry has been confirmed (written again without the mark) or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from evaluator.core.policy import Policy
from evaluator.reading.files import os_error_text, read_regular
from evaluator.reading.parse import load_document
from evaluator.reading.problems import InputError, Problem
from evaluator.reading.validation import Schema, validate

LOCK_NAME = "lock.json"

VERSION_NUMBER = re.compile(r"[0-9]+\.[0-9]+")
"""What a version number looks like (``1.0``, ``1.1``, ``2.10``)."""


def version_number(version: str) -> tuple[int, ...]:
    """How version numbers compare: number by number, so that ``1.0``, ``1.00`` and ``01.0`` are
    one number, and ``1.10`` comes after ``1.9``."""
    return tuple(int(part) for part in version.split("."))


def digest(raw: bytes) -> str:
    """The content hash of a policy file."""
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


@dataclass(frozen=True)
class LockEntry:
    version: str
    sha256: str
    effective_from: date
    published_on: date
    pending: bool = False
    """Written by a publication before the version's file: the entry counts once the file matches."""

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"sha256": self.sha256, "effective_from": self.effective_from.isoformat(),
                                 "published_on": self.published_on.isoformat()}
        if self.pending:
            entry["pending"] = True
        return entry


_HANDS_OFF = "il est écrit par « guichet policy publish » : ne le modifiez pas à la main"
_DATE = {"type": "string", "format": "date"}
LOCK_SCHEMA = Schema("lock", {
    "type": "object",
    "additionalProperties": False,
    "required": ["versions"],
    "x-hint": _HANDS_OFF,
    "properties": {
        "policy": {"type": "string"},
        "versions": {
            "type": "object",
            "propertyNames": {"pattern": f"^{VERSION_NUMBER.pattern}$",
                              "x-hint": "une clé de « versions » est un numéro de version, par exemple 1.0"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["sha256", "effective_from", "published_on"],
                "x-hint": _HANDS_OFF,
                "properties": {
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                               "x-hint": "l'empreinte sha256 du fichier : 64 chiffres hexadécimaux en minuscules"},
                    "effective_from": _DATE,
                    "published_on": _DATE,
                    "pending": {"const": True},
                },
            },
        },
    },
})
"""What a lock file is (checked before it is read: a malformed one is bad input, located)."""


def read_lock(directory: Path) -> dict[str, LockEntry]:
    """The entries of ``directory``'s lock file (none if there is no lock file yet), a ``pending``
    entry only once the version's file has the content it locks. Raises ``InputError`` for a lock
    file that is not one, with every problem and its place."""
    path = directory / LOCK_NAME
    if not path.exists():
        return {}
    document = load_document(read_regular(path, str(path), hint=_HANDS_OFF), str(path))
    problems = validate(document, LOCK_SCHEMA)
    if problems:
        raise InputError(problems)
    entries = {version: LockEntry(version, entry["sha256"], date.fromisoformat(entry["effective_from"]),
                                  date.fromisoformat(entry["published_on"]), entry.get("pending", False))
               for version, entry in document.data["versions"].items()}
    return {version: entry for version, entry in entries.items()
            if not entry.pending or _file_digest(directory / f"{version}.yaml") == entry.sha256}


def _file_digest(path: Path) -> str | None:
    try:
        return digest(read_regular(path, str(path)))
    except InputError:  # (no file, or not one: the publication did not happen)
        return None


def write_lock(directory: Path, policy_id: str, entries: Mapping[str, LockEntry]) -> Path:
    path = directory / LOCK_NAME
    ordered = sorted(entries.values(), key=lambda e: version_number(e.version))
    data = {"policy": policy_id, "versions": {e.version: e.to_dict() for e in ordered}}
    write_atomically(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (``replacing``). A file that cannot be written is bad input."""
    with replacing(path) as beside, beside.open("wb") as file:
        file.write(data)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A file to write beside ``path`` (a name no policy set reads), flushed to disk then renamed
    over ``path`` once the block ends, so that a reader — a service watching the directory — sees
    the old file or the new one, never a part; removed if the block raises. A file that cannot be
    written is bad input."""
    beside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield beside
        with beside.open("rb+") as file:
            os.fsync(file.fileno())
        os.replace(beside, path)
    except OSError as error:
        _remove(beside)
        raise InputError([Problem(str(path), f"écriture impossible : {os_error_text(error)}")]) from None
    except BaseException:
        _remove(beside)
        raise
    with suppress(OSError):  # the rename itself on disk before any later write, where the system can
        _sync_directory(path.parent)


def _remove(path: Path) -> None:
    with suppress(OSError):
        path.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def lock_problems(directory: Path, files: Mapping[str, Path], versions: Mapping[str, Policy],
                  lock: Mapping[str, LockEntry]) -> list[Problem]:
    """Published versions whose content no longer matches the lock, or that the lock lacks."""
    problems = []
    for version, policy in versions.items():
        entry = lock.get(version)
        where = str(files[version])
        if policy.status == "published" and entry is None:
            problems.append(Problem(where, f"la version {version} est publiée mais absente du verrou {LOCK_NAME}",
                                    hint=f"publiez-la avec « guichet policy publish {version} »"))
        elif entry is not None and entry.sha256 != policy.sha256:
            problems.append(Problem(
                where,
                f"la version {version} est publiée, donc figée, mais son contenu a changé "
                f"(empreinte {policy.sha256[:12]}…, le verrou attend {entry.sha256[:12]}…)",
                hint=f"annulez la modification ; un amendement est une nouvelle version : "
                     f"« guichet policy new <version> --from {version} --effective-from <date> »",
            ))
    for version in lock:
        if version not in versions:
            problems.append(Problem(str(directory / LOCK_NAME),
                                    f"le verrou mentionne la version {version}, dont le fichier {version}.yaml manque",
                                    hint="une version publiée ne se supprime pas"))
    return problems
