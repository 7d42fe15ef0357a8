"""Where the commands find the versions of a policy, and where they may write new ones.

Without ``--policy-dir``, a command reads ``./policies`` when the current directory holds policies
there (``policies/<policy>/<version>.yaml``, the layout of a project), else the policies bundled
with guichet. ``policy new`` and ``policy publish`` write only into ``--policy-dir`` or
``./policies``: never into the bundled policies of the installed package, which an upgrade would
replace and which no project commits.
"""

from __future__ import annotations

from pathlib import Path

from evaluator.reading.problems import InputError, Problem
from evaluator.reading.resources import policies_dir

WORKING = Path("policies")
"""The working policy directory, relative to the current directory."""

PACKAGE = Path(__file__).resolve().parent.parent
"""The installed ``evaluator`` package: nothing is written inside it."""


def reading_directory(option: str | None) -> Path:
    """The directory of versions a command reads: ``--policy-dir``, else ``./policies`` when it
    holds policies, else the bundled policies."""
    if option is not None:
        return Path(option)
    return WORKING if _holds_policies(WORKING) else policies_dir()


def writing_directory(option: str | None) -> Path:
    """The directory a new or published version is written to: ``--policy-dir``, else
    ``./policies``; refused when there is none, or when it lies in the installed package."""
    if option is None and not _holds_policies(WORKING):
        raise InputError([Problem(str(WORKING), "aucune politique dans ./policies : une version ne s'écrit pas "
                                                "dans les politiques livrées avec guichet",
                                  hint="indiquez le répertoire des versions (--policy-dir), ou lancez la commande "
                                       "depuis un projet qui a un répertoire policies/")])
    directory = Path(option) if option is not None else WORKING
    if directory.resolve().is_relative_to(PACKAGE):
        raise InputError([Problem(str(directory), "ce répertoire est dans le paquet guichet installé (les politiques "
                                                  "livrées) : on n'y écrit pas de version",
                                  hint="copiez les politiques dans votre projet (policies/) et indiquez ce "
                                       "répertoire (--policy-dir), ou lancez la commande depuis ce projet")])
    return directory


def _holds_policies(directory: Path) -> bool:
    """``directory`` is laid out as a project's policies: ``<policy>/<version>.yaml``."""
    return directory.is_dir() and any(directory.glob("*/*.yaml"))
