"""A policy set kept current while a service runs.

A ``Registry`` is one immutable set of policy versions. A ``LiveRegistry`` holds the current set
behind a single reference: ``reload()`` — or the opt-in watcher, which polls the directory's files —
reads the directory again, checks the new set completely, and only then swaps it in. A set that does
not load is refused: the last good set goes on serving, and the refusal is kept (``failure``) and
logged. So is a set in which a published version being served has other content (its file and its
lock entry edited together): a version number never changes meaning while the service runs. A
draft that does not load is not a reason to refuse a set: it is left out of it, with a warning in
the log (``Registry.skipped``), so that the published versions go on deciding while staff write
it. A decision is made by one set from start to end: take ``snapshot()`` once, decide with it.

    live = LiveRegistry(Path("policies"))     # raises InputError if the directory is invalid
    live.watch()                              # opt-in: poll the files every second
    decision = live.evaluate(application)     # the set current when the call starts
    live.failure                              # the last refusal, or None
    live.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from evaluator.core.decision import Decision
from evaluator.core.policy import Policy
from evaluator.reading.files import read_regular
from evaluator.reading.problems import InputError, Problem
from evaluator.reading.resources import policies_dir
from evaluator.versions.lock import LOCK_NAME, digest
from evaluator.versions.registry import Registry

log = logging.getLogger("guichet.service")

POLL_SECONDS = 1.0
LOAD_ATTEMPTS = 3
"""How many times a reload reads the directory again when its files change while they are read."""


@dataclass(frozen=True)
class PolicySet:
    """One set of policy versions, loaded at once: the registry, the bytes of each version's file (the
    very bytes its sha256 was taken of), when it was loaded, and its rank among the sets loaded."""

    registry: Registry
    sources: Mapping[str, bytes]
    loaded_at: datetime
    generation: int

    @property
    def versions(self) -> tuple[Policy, ...]:
        return self.registry.versions


@dataclass(frozen=True)
class ReloadFailure:
    """A set refused: when, and every problem found in it."""

    at: datetime
    problems: tuple[Problem, ...]

    def render(self) -> str:
        return "\n".join(problem.render() for problem in self.problems)


class PolicySetUnavailable(Exception):
    """No valid policy set has been loaded yet: nothing can be decided."""

    def __init__(self, failure: ReloadFailure | None) -> None:
        super().__init__("aucun ensemble de politiques valide n'est chargé")
        self.failure = failure


@dataclass(frozen=True)
class _State:
    current: PolicySet | None
    failure: ReloadFailure | None


class _Changed(Exception):
    """The directory's files changed while the set was read."""


Files = dict[Path, bytes]


def read_files(directory: Path) -> Files:
    """What a policy set is read from: the version files and lock files of ``directory`` and of its
    sub-directories. A file that vanishes or cannot be read, or is not a regular file of a bounded
    size (a FIFO, a link to ``/dev/zero``), is left out (the loader reports it)."""
    found: Files = {}
    for pattern in ("*.yaml", LOCK_NAME, "*/*.yaml", f"*/{LOCK_NAME}"):
        for path in sorted(directory.glob(pattern)):
            try:
                found[path] = read_regular(path, str(path))
            except InputError:
                continue
    return found


def _load_set(directory: Path, generation: int, before: Files) -> PolicySet:
    """Load and check the set of ``directory``, read as ``before``, and make sure that it is the set
    of one state of the directory: its files must not change while they are read. Raises
    ``InputError`` for an invalid set, ``_Changed`` when the files changed meanwhile."""
    registry = Registry.from_directory(directory, drafts="skip")
    after = read_files(directory)
    if after != before:
        raise _Changed
    sources: dict[str, bytes] = {}
    for policy in registry.versions:
        raw = after.get(registry.files[policy.version])
        if raw is None or digest(raw) != policy.sha256:
            raise _Changed
        sources[policy.version] = raw
    return PolicySet(registry, sources, datetime.now(UTC), generation)


def _rewritten(current: PolicySet | None, loaded: PolicySet) -> list[Problem]:
    """The published versions ``current`` serves that ``loaded`` has with other content."""
    problems = []
    for served in current.versions if current is not None else ():
        new = next((p for p in loaded.versions if p.version == served.version), None)
        if served.status == "published" and new is not None and new.sha256 != served.sha256:
            problems.append(Problem(
                str(loaded.registry.files[new.version]),
                f"la version publiée {served.version} est en service avec l'empreinte {served.sha256[:12]}… : son "
                f"contenu ne peut pas changer sous le même numéro (nouvelle empreinte {new.sha256[:12]}…) ; "
                "l'ancien contenu reste en service",
                hint="rétablissez le fichier et son entrée du verrou ; un amendement est une nouvelle version "
                     "(guichet policy new) ; seul un redémarrage du service chargerait ce contenu"))
    return problems


class LiveRegistry:
    """The current policy set of a service, safe to share between threads; see the module's text."""

    def __init__(self, directory: Path | None = None, *, require: bool = True) -> None:
        """Load the set of ``directory`` (by default the bundled policies). With ``require`` (the
        default), an invalid set raises ``InputError``; without, the registry starts empty and
        ``snapshot()`` raises ``PolicySetUnavailable`` until a reload succeeds."""
        self._directory = directory if directory is not None else policies_dir()
        self._lock = threading.Lock()
        self._state = _State(None, None)
        self._seen: Files | None = None
        self._generation = 0
        self._watch_lock = threading.Lock()
        self._watcher: tuple[threading.Thread, threading.Event] | None = None
        failure = self.reload()
        if failure is not None and require:
            raise InputError(failure.problems)

    @classmethod
    def default(cls) -> LiveRegistry:
        """The policies bundled with guichet."""
        return cls()

    @property
    def directory(self) -> Path:
        return self._directory

    def snapshot(self) -> PolicySet:
        """The current set: decide everything of one request with it."""
        state = self._state
        if state.current is None:
            raise PolicySetUnavailable(state.failure)
        return state.current

    @property
    def registry(self) -> Registry:
        return self.snapshot().registry

    @property
    def versions(self) -> tuple[Policy, ...]:
        return self.snapshot().versions

    @property
    def ready(self) -> bool:
        """A valid set is loaded."""
        return self._state.current is not None

    @property
    def failure(self) -> ReloadFailure | None:
        """Why the last reload was refused, if it was (cleared by the next successful one)."""
        return self._state.failure

    def evaluate(self, application: Mapping[str, Any], version: str | None = None,
                 as_of: date | None = None) -> Decision:
        """``Registry.evaluate`` with the current set. Raises ``InputError`` with every problem."""
        return self.snapshot().registry.evaluate(application, version, as_of)

    def reload(self) -> ReloadFailure | None:
        """Read the directory again; swap the new set in if it is valid, else keep the current one.
        Returns the refusal, or ``None`` when the new set is in service."""
        with self._lock:
            return self._reload()

    def reload_if_changed(self) -> bool:
        """Reload when the directory's files differ from those of the last reload; says whether it
        did."""
        files = read_files(self._directory)
        with self._lock:
            if files == self._seen:
                return False
            self._reload(files)
            return True

    def _reload(self, files: Files | None = None) -> ReloadFailure | None:
        now = datetime.now(UTC)
        for _ in range(LOAD_ATTEMPTS):
            seen = self._seen = read_files(self._directory) if files is None else files
            files = None
            try:
                loaded = _load_set(self._directory, self._generation + 1, seen)
            except _Changed:
                continue
            except InputError as error:
                return self._refuse(ReloadFailure(now, error.problems))
            except Exception:
                log.exception("erreur interne au chargement des politiques de %s", self._directory)
                return self._refuse(ReloadFailure(now, (Problem(
                    str(self._directory), "erreur interne au chargement des politiques",
                    hint="voir le journal du service"),)))
            rewritten = _rewritten(self._state.current, loaded)
            if rewritten:
                return self._refuse(ReloadFailure(now, tuple(rewritten)))
            self._generation = loaded.generation
            self._state = _State(loaded, None)
            log.info("politiques chargées de %s : versions %s (génération %d)", self._directory,
                     ", ".join(f"{p.version} ({p.status})" for p in loaded.versions), loaded.generation)
            for draft in loaded.registry.skipped:
                log.warning("%s", draft.warning())
            return None
        self._seen = None
        return self._refuse(ReloadFailure(now, (Problem(
            str(self._directory), "les fichiers des politiques ont changé pendant leur lecture",
            hint="nouvel essai au prochain rechargement"),)))

    def _refuse(self, failure: ReloadFailure) -> ReloadFailure:
        current = self._state.current
        self._state = _State(current, failure)
        kept = (f"la génération {current.generation} reste en service" if current is not None
                else "aucune politique n'est en service")
        log.error("politiques de %s refusées (%d problème(s)) ; %s :\n%s", self._directory,
                  len(failure.problems), kept, failure.render())
        return failure

    def watch(self, interval: float = POLL_SECONDS) -> None:
        """Start polling the directory every ``interval`` seconds, in a daemon thread, and reload it
        when its files change. Idempotent; ``stop()`` ends it."""
        with self._watch_lock:
            if self._watcher is not None:
                return
            stopping = threading.Event()
            thread = threading.Thread(target=self._poll, args=(interval, stopping), name="guichet-politiques",
                                      daemon=True)
            self._watcher = thread, stopping
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the watcher, if it runs."""
        with self._watch_lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            thread, stopping = watcher
            stopping.set()
            thread.join(timeout)

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    def _poll(self, interval: float, stopping: threading.Event) -> None:
        while not stopping.wait(interval):
            try:
                self.reload_if_changed()
            except Exception:  # the watcher outlives any error: the last good set keeps serving
                log.exception("erreur interne pendant la surveillance de %s", self._directory)

    def __enter__(self) -> LiveRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
