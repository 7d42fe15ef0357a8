"""guichet: the rules of the guichet de cofinancement as data, and the evaluator that applies them.

The stable entry points::

    from evaluator import Registry
    registry = Registry.default()                  # the bundled policy versions
    decision = registry.evaluate(application)      # a mapping, as decoded from JSON
    decision.to_dict()                             # matches schemas/decision.schema.json

Bad input raises ``InputError``, whose ``problems`` each carry a location and a French message.
"""

from evaluator.decision import Decision, Finding
from evaluator.engine import evaluate
from evaluator.policy import Policy
from evaluator.policy_loader import load_policy, load_policy_file
from evaluator.problems import InputError, Problem
from evaluator.registry import Registry

__all__ = [
    "Decision",
    "Finding",
    "InputError",
    "Policy",
    "Problem",
    "Registry",
    "evaluate",
    "load_policy",
    "load_policy_file",
]
