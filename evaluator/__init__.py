"""guichet: the rules of the guichet de cofinancement as data, and the evaluator that applies them.

The stable entry points::

    from evaluator import Registry
    registry = Registry.default()                  # the bundled policy versions
    decision = registry.evaluate(application)      # a mapping, as decoded from JSON
    decision.to_dict()                             # matches schemas/decision.schema.json

Bad input raises ``InputError``, whose ``problems`` each carry a location and a French message.

A ``Registry`` is one immutable set of versions. A service that must follow edits of the policy
directory holds a ``LiveRegistry`` (``evaluator.service.live``): the current set, reloaded on demand or
by an opt-in watcher, a refused set leaving the last good one in service; ``DecisionLog``
(``evaluator.service.decision_log``) keeps the decisions for audit. ``evaluator.service.http`` is the HTTP service.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from evaluator.core.decision import Decision, Finding
from evaluator.core.engine import evaluate
from evaluator.core.policy import Policy
from evaluator.reading.problems import InputError, Problem
from evaluator.versions.loader import load_policy, load_policy_file
from evaluator.versions.registry import Registry

if TYPE_CHECKING:
    from evaluator.service.decision_log import DecisionLog
    from evaluator.service.live import LiveRegistry, PolicySet, PolicySetUnavailable, ReloadFailure

_SERVICE = {"DecisionLog": "evaluator.service.decision_log", "LiveRegistry": "evaluator.service.live",
            "PolicySet": "evaluator.service.live", "PolicySetUnavailable": "evaluator.service.live",
            "ReloadFailure": "evaluator.service.live"}
"""The names of the service, imported when first asked for (a command that decides does not wait
for the threads and files of a service)."""


def __getattr__(name: str) -> Any:
    if name not in _SERVICE:
        raise AttributeError(f"module 'evaluator' has no attribute {name!r}")
    return getattr(import_module(_SERVICE[name]), name)

__all__ = [
    "Decision",
    "DecisionLog",
    "Finding",
    "InputError",
    "LiveRegistry",
    "Policy",
    "PolicySet",
    "PolicySetUnavailable",
    "Problem",
    "Registry",
    "ReloadFailure",
    "evaluate",
    "load_policy",
    "load_policy_file",
]
