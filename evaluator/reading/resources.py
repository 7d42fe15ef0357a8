"""Where the bundled policies, schemas and example applications are, installed or in a checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent.parent
"""The ``evaluator`` package."""


def bundled_dir(name: str) -> Path:
    """``policies``, ``schemas`` or ``examples``: inside the installed package, else beside it in a checkout."""
    installed = _PACKAGE / "_bundled" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def policies_dir() -> Path:
    return bundled_dir("policies")


def examples_dir() -> Path:
    """The example applications (``examples/``), those the OpenAPI document shows."""
    return bundled_dir("examples")


@cache
def schema(name: str) -> dict[str, Any]:
    """A bundled JSON Schema by short name: ``policy``, ``application``, ``decision``, ``case``."""
    path = bundled_dir("schemas") / f"{name}.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


ELSEWHERE = "x-elsewhere"
"""In an object of an application schema, what an unknown key is elsewhere (the other versions of
a policy that declare it), to say so with the key."""


def pointed(reference: str, root: dict[str, Any]) -> Any:
    """What a local ``$ref`` (``#/$defs/date``) points to in the schema ``root``."""
    target: Any = root
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    return target
