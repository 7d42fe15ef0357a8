"""The facts an expression may read (``evaluator/facts.py``) are exactly the facts the evaluator
establishes: a fact declared and never set would fail the first policy that reads it."""

from __future__ import annotations

from evaluator import Registry
from evaluator.engine import _entity_facts
from evaluator.facts import APPLICATION_FACTS, ENTITY_FACTS, Stage


def test_an_application_gives_exactly_the_input_facts(registry: Registry, application):
    decision = registry.evaluate(application)
    inputs = {name for name, fact in APPLICATION_FACTS.items() if fact.stage is Stage.INPUT}
    assert set(decision.application.facts) == inputs


def test_every_declared_fact_is_established_by_an_evaluation(registry: Registry, application, policy):
    decision = registry.evaluate(application)
    assert set(decision.facts) == set(APPLICATION_FACTS) | set(policy.constants)


def test_an_entity_gives_exactly_the_entity_facts(registry: Registry, application, policy):
    entity = registry.evaluate(application).application.applicant
    assert set(_entity_facts(policy, entity)) == set(ENTITY_FACTS) | set(policy.constants)
