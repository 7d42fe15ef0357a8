"""A policy's evaluation, written once as Python source when the policy loads, then compiled.

The engine (``evaluator.engine``) walks the policy's data for every application. Here that walk is
done once per policy, and what it leaves is written as one Python function:
- the policy's loops (tiers, bonuses, checks, requirements, indicators, tranches) are unrolled;
- its expressions are inlined (``expressions.python_source``);
- its static findings, messages and values are bound as constants.
Per application, only the application's work remains: its entities, its expense lines, its facts.

The decision is the same, byte for byte, as the engine's, which stays the reference (with simpleeval
for the expressions). ``tests/test_reference.py`` compares the two on every golden case and on random
applications, and ``tests/test_hostile_policies.py`` on random policies.

The source is generated from the policy's checked model only, never from its text: the names are
the generator's own, every value of the policy is bound as a constant, and the expressions are
those the checker admitted. The function runs without builtins.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from decimal import Decimal
from typing import Any

from evaluator import engine
from evaluator.application import Application, Entity
from evaluator.decision import Decision
from evaluator.expressions import Expression, python_source
from evaluator.facts import APPLICATION_FACTS, ESTABLISHED, Stage
from evaluator.policy import FAILED_OUTCOMES, ROUNDING_MODES, Check, Policy

Decide = Callable[[Application, "date | None"], Decision]


def _classified(policy: Policy, entity: Entity) -> tuple[Any, ...]:
    """An entity whose category has cases, or is unknown, classified by the engine; with its
    finding's outcome and effect."""
    outcome, rule, clause, message = engine.classify(policy, entity)
    return (outcome, rule, clause, message, *engine.CATEGORY_FINDINGS[outcome])


_HELPERS: dict[str, Any] = {
    "ZERO": engine.ZERO, "Decimal": Decimal, "min": min, "max": max, "bool": bool, "len": len, "set": set,
    "tuple": tuple, "Decision": Decision, "new": object.__new__, "set_attribute": object.__setattr__,
    "document_problem": engine.document_problem, "classified": _classified,
    "window_message": engine.window_message, "entity_message": engine.entity_message,
    "line_message": engine.line_message, "prorated_message": engine.prorated_message,
    "excluded_line_message": engine.excluded_line_message, "missing_message": engine.missing_message,
    "cap_message": engine.cap_message, "mutualisation_message": engine.mutualisation_message,
    "ceiling_message": engine.ceiling_message, "grant_message": engine.grant_message,
    "tranche_message": engine.tranche_message, "check_message": engine.check_message,
}


def compile_policy(policy: Policy) -> Decide:
    """The function deciding an application under ``policy``: ``decide(application, selected_for)``."""
    writer = _Writer(policy)
    source = writer.source()
    namespace = writer.namespace
    exec(compile(source, f"<guichet {policy.id} {policy.version}>", "exec"), namespace)
    decide: Decide = namespace["decide"]
    return decide


class _Writer:
    """Writes the ``decide`` function of a policy, line by line."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.namespace: dict[str, Any] = {"__builtins__": {}, **_HELPERS}
        self.lines: list[str] = []
        self.depth = 0
        self.names = {name: self.bind(value) for name, value in policy.constants.items()}
        """What an expression reads for each name: a constant, an input of the application, or a
        local variable once the evaluation has established the fact."""
        self.names.update((name, f"inputs[{name!r}]") for name, fact in APPLICATION_FACTS.items()
                          if fact.stage is Stage.INPUT)
        self.established: dict[str, str] = {}
        rounding = policy.rounding
        self.rounding = f"{self.bind(rounding.quantum)}, {self.bind(ROUNDING_MODES[rounding.mode])}"

    # -- writing ---------------------------------------------------------------------------------

    def bind(self, value: object) -> str:
        """A name for ``value`` in the function's globals."""
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.line(header)
        self.depth += 1
        yield
        self.depth -= 1

    def otherwise(self, after_a_branch: bool) -> AbstractContextManager[None]:
        """The ``else:`` of the branches written just before, or, with none, the current block."""
        return self.block("else:") if after_a_branch else nullcontext()

    def test(self, expression: Expression) -> str:
        return f"({python_source(expression.tree, self.namespace, self.names)})"

    def establish(self, fact: str, local: str) -> None:
        """From here on, ``fact`` is known, in the local variable ``local``."""
        self.names[fact] = self.established[fact] = local

    def find(self, entry: str) -> None:
        self.line(f"find({entry})")

    def find_static(self, entry: tuple[Any, ...]) -> None:
        """Record a finding known in advance, and its effect on the status."""
        self.find(self.bind(entry))
        if entry[4] is not None:
            self.line(f"effects.add({entry[4]!r})")

    def quantize(self, value: str) -> str:
        """``value`` rounded as the policy says."""
        return f"({value}).quantize({self.rounding})"

    # -- the function ----------------------------------------------------------------------------

    def source(self) -> str:
        policy = self.policy
        self.namespace["POLICY"] = policy
        with self.block("def decide(application, selected_for=None):"):
            self.line("inputs = application.facts")
            self.line("trace = []")
            self.line("find = trace.append")
            self.line("effects = set()")
            self.line("missing = []" if self._documents_can_miss() else "missing = ()")
            self._window()
            self._beneficiaries()
            self._expenses()
            self._mutualisation()
            self._rate()
            self._checks(policy.sovereignty.checks)
            self._checks(policy.conditions.checks)
            self._documents()
            self._reporting()
            self._status()
            self._amounts()
            self.line(f"established = ({''.join(self.established[fact] + ', ' for fact in ESTABLISHED)})")
            self._decision()
        return "\n".join(self.lines) + "\n"

    def _decision(self) -> None:
        """The decision, its fields set at once: a quarter of the time of the dataclass's ``__init__``
        (one frozen ``__setattr__`` per field), which counts at a few microseconds a decision."""
        fields = {"status": "status", "selected_for": "selected_for", "tier": "tier", "granted": "tuple(bonuses)",
                  "final_rate": "final_rate", "figures": "figures", "entity_rows": "tuple(rows)",
                  "entity_amounts": "(entity_licence, entity_deployment)", "paid": "paid",
                  "missing_documents": "tuple(missing)", "indicators": "tuple(indicators)", "trace": "tuple(trace)",
                  "established": "established", "applied": "POLICY", "application": "application"}
        assert list(fields) == [field.name for field in dataclasses.fields(Decision)], "Decision's fields changed"
        self.line("decision = new(Decision)")
        self.line(f"set_attribute(decision, '__dict__', {{{', '.join(f'{k!r}: {v}' for k, v in fields.items())}}})")
        self.line("return decision")

    def _window(self) -> None:
        window = self.policy.window
        self.line("submitted = application.submitted_on")
        self.line(f"inside = {self.bind(window.opens_on)} <= submitted <= {self.bind(window.closes_on)}")
        message = f"(window_message, {self.bind(window)}, submitted, inside)"
        with self.block("if inside:"):
            self.find(f"('window', 'pass', {window.clause!r}, {message}, None, ('submitted_on',), None)")
        with self.block("else:"):
            self.find(f"('window', 'fail', {window.clause!r}, {message}, {window.on_outside!r}, ('submitted_on',), "
                      "None)")
            self.line(f"effects.add({window.on_outside!r})")

    def _beneficiaries(self) -> None:
        categories = self.policy.beneficiaries.categories
        static = self.bind({key: (c.outcome, c.rule, c.clause, c.message, *engine.CATEGORY_FINDINGS[c.outcome])
                            for key, c in categories.items() if not c.cases})
        self.line("applicant = application.applicant")
        self.line(f"outcome, rule, clause, message, finding, effect = {static}.get(applicant.category) "
                  "or classified(POLICY, applicant)")
        self.find("(rule, finding, clause, (entity_message, applicant, True, outcome, message), effect, (), "
                  "applicant.siren)")
        with self.block("if effect is not None:"):
            self.line("effects.add(effect)")
        self.line("rows = [('applicant', applicant, outcome, True)]")
        self.line("sirens = {applicant.siren}")
        self.line("licence_count = applicant.licences")
        self.line("share = applicant.qpv_population_share")
        with self.block("if not share > ZERO:"):  # as max(ZERO, share): the same zero
            self.line("share = ZERO")
        self.line("with_licences = 0")
        with self.block("for entity in application.co_beneficiaries:"):
            self.line(f"outcome, rule, clause, message, finding, effect = {static}.get(entity.category) "
                      "or classified(POLICY, entity)")
            with self.block("if outcome == 'ineligible':"):
                self.find("(rule, finding, clause, (entity_message, entity, False, outcome, message), None, "
                          "(), entity.siren)")
                self.line("rows.append(('co_beneficiary', entity, outcome, False))")
                self.line("continue")
            self.line("siren = entity.siren")
            self.find("(rule, finding, clause, (entity_message, entity, False, outcome, message), effect, (), siren)")
            with self.block("if effect is not None:"):
                self.line("effects.add(effect)")
            self.line("rows.append(('co_beneficiary', entity, outcome, True))")
            self.line("sirens.add(siren)")
            self.line("licences = entity.licences")
            self.line("licence_count += licences")
            with self.block("if entity.qpv_population_share > share:"):
                self.line("share = entity.qpv_population_share")
            with self.block("if licences > 0:"):
                self.line("with_licences += 1")
        self.line("covered_count = len(sirens) - 1")  # the SIRENs of an application are distinct
        self.establish("covered_co_beneficiary_count", "covered_count")
        self.establish("co_beneficiaries_with_licences", "with_licences")
        self.establish("licence_count", "licence_count")
        self.establish("max_qpv_population_share", "share")

    def _expenses(self) -> None:
        expenses = self.policy.expenses
        period = expenses.funded_period
        months = period.months
        self.line("requested = licence_requested = deployment_requested = eligible_licence = ZERO")
        self.line("deployment_by_entity = {}")
        self.line("entity_licence = {}")
        kinds = {key: (kind, kind.rule, kind.clause, kind.group, kind.excluded_text if kind.group == "excluded"
                       else kind.eligible_text) for key, kind in expenses.kinds.items()}
        with self.block("for line in application.expenses:"):
            self.line(f"kind, rule, clause, group, text = {self.bind(kinds)}[line.kind]")
            self.line("entity = line.entity")
            self.line("amount = asked = line.amount")
            self.line("requested += asked")
            with self.block("if entity not in sirens:"):
                self.find("(rule, 'fail', clause, (excluded_line_message, line, kind), None, (), entity)")
                self.line("continue")
            for group, totals in (("licence", ("licence_requested += asked", "eligible_licence += amount",
                                               "entity_licence[entity] = entity_licence.get(entity, ZERO) + amount")),
                                  ("deployment", ("deployment_requested += amount",
                                                  "deployment_by_entity[entity] = deployment_by_entity.get(entity, "
                                                  "ZERO) + amount"))):
                with self.block(f"{'if' if group == 'licence' else 'elif'} group == {group!r}:"):
                    if period.applies_to == group:
                        with self.block(f"if line.months is not None and line.months > {months!r}:"):
                            self.line(f"amount = {self.quantize(f'amount * {months!r} / line.months')}")
                            self.find(f"('expenses.funded_period', 'info', {period.clause!r}, (prorated_message, "
                                      f"line, kind, {months!r}, amount), None, (), entity)")
                    for total in totals:
                        self.line(total)
            with self.block("else:"):
                self.find("(rule, 'fail', clause, (line_message, line, kind, text), None, (), entity)")
                self.line("continue")
            self.find("(rule, 'pass', clause, (line_message, line, kind, text), None, (), entity)")
        for fact, local in (("requested_total", "requested"), ("licence_requested", "licence_requested"),
                            ("deployment_requested", "deployment_requested"), ("eligible_licence", "eligible_licence")):
            self.establish(fact, local)
        formula = expenses.eligible_deployment
        bounded = f"min(max(ZERO, Decimal({self.test(formula.expression)})), deployment_requested)"
        self.line(f"eligible_deployment = {self.quantize(bounded)}")
        self.find(f"('expenses.eligible_deployment', 'info' if eligible_deployment < deployment_requested else 'pass', "
                  f"{formula.clause!r}, (cap_message, {formula.label!r}, eligible_deployment, "
                  f"deployment_requested), None, {formula.expression.inputs!r}, None)")
        self.line("entity_deployment = {}")
        with self.block("if deployment_requested:"), self.block("for siren, amount in deployment_by_entity.items():"):
            share = self.quantize("amount * eligible_deployment / deployment_requested")
            self.line(f"entity_deployment[siren] = {share}")
        self.line("eligible_total = eligible_licence + eligible_deployment")
        self.line("excluded_total = requested - eligible_licence - eligible_deployment")
        self.line("applicant_total = (entity_licence.get(applicant.siren, ZERO) "
                  "+ entity_deployment.get(applicant.siren, ZERO))")
        for fact, local in (("eligible_deployment", "eligible_deployment"), ("eligible_total", "eligible_total"),
                            ("excluded_total", "excluded_total"), ("applicant_eligible_total", "applicant_total")):
            self.establish(fact, local)
        self._checks(expenses.checks)

    def _mutualisation(self) -> None:
        section = self.policy.mutualisation
        test = self.test(section.mutualised_when)
        self.line(f"mutualised = {test if isinstance(section.mutualised_when.tree, ast.Compare) else f'bool({test})'}")
        self.establish("mutualised", "mutualised")
        self.find(f"('mutualisation.mutualised_when', 'pass' if mutualised else 'info', {section.clause!r}, "
                  f"(mutualisation_message, {section.label!r}, mutualised, with_licences), None, "
                  f"{section.mutualised_when.inputs!r}, None)")
        self._checks(section.checks)

    def _rate(self) -> None:
        rate = self.policy.rate
        keyword = "if"
        for tier in rate.tiers:
            header = "else:" if tier.when is None else f"{keyword} {self.test(tier.when)}:"
            with self.block(header):
                self.line(f"tier = {self.bind(tier)}")
                self.find_static(tier.when_taken)
            if tier.when is None:
                break
            keyword = "elif"
        else:
            with self.block("else:"):
                self.line(f"tier = {self.bind(rate.tiers[-1])}")
                self.find_static(rate.tiers[-1].when_taken)
        self.line("total = tier.rate")
        self.line("bonuses = []")
        for bonus in rate.bonuses:
            with self.block(f"if not {self.test(bonus.when)}:"):
                self.find_static(bonus.when_not_met)
            if bonus.evidence is not None:
                evidence = self.bind(frozenset(bonus.evidence.one_of))
                with self.block(f"elif {evidence}.isdisjoint(inputs['document_kinds']):"):
                    self.find_static(bonus.when_unproven)
                    self.line(f"missing.append({self.bind(engine.bonus_missing(bonus))})")
            with self.block("else:"):
                self.line(f"total += {self.bind(bonus.value)}")
                self.line(f"bonuses.append({self.bind(bonus)})")
                self.find_static(bonus.when_granted)
        ceiling = rate.ceiling
        self.line(f"final_rate = min(total, {self.bind(ceiling.value)})")
        self.find(f"('rate.ceiling', 'info' if total > {self.bind(ceiling.value)} else 'pass', {ceiling.clause!r}, "
                  f"(ceiling_message, {self.bind(ceiling)}, total), None, (), None)")

    def _checks(self, checks: tuple[Check, ...]) -> None:
        for check in checks:
            if check.optional and check.on_absent is not None:
                self.line(f"absent = [name for name in {check.optional!r} if inputs[name] is None]")
                with self.block("if absent:"):
                    self._absent(check)
                with self.block("else:"):
                    self._test(check)
            else:
                self._test(check)

    def _absent(self, check: Check) -> None:
        name = self.bind(check)
        if check.on_absent == "pass":
            self.find(f"({check.rule!r}, 'pass', {check.clause!r}, (check_message, {name}, "
                      f"'sans objet, non renseigné : ', absent, '.'), None, {check.test.inputs!r}, None)")
            return
        assert check.on_absent is not None
        self.find(f"({check.rule!r}, {FAILED_OUTCOMES[check.on_absent]!r}, {check.clause!r}, (check_message, "
                  f"{name}, 'à renseigner (', absent, ').'), {check.on_absent!r}, {check.test.inputs!r}, None)")
        self.line(f"effects.add({check.on_absent!r})")

    def _test(self, check: Check) -> None:
        with self.block(f"if {self.test(check.test)}:"):
            self.find_static(check.when_passed)
        with self.block("else:"):
            self.find_static(check.when_failed)

    def _documents(self) -> None:
        for requirement in self.policy.documents.requirements:
            keyword = "if"
            if requirement.when is not None:
                with self.block(f"if not {self.test(requirement.when)}:"):
                    self.find_static(requirement.when_not_required)
                keyword = "elif"
            if not requirement.signed_by_all_covered:
                with self.block(f"{keyword} not {self.bind(frozenset(requirement.one_of))}"
                                ".isdisjoint(inputs['document_kinds']):"):
                    self.find_static(requirement.when_supplied)
                keyword = "elif"
            with self.otherwise(keyword == "elif"):
                name = self.bind(requirement)
                self.line(f"problem = document_problem({name}, application.documents, "
                          "[row[1] for row in rows if row[3]], sirens)")
                with self.block("if problem is None:"):
                    self.find_static(requirement.when_supplied)
                with self.block("else:"):
                    outcome = FAILED_OUTCOMES[requirement.on_missing]
                    self.find(f"({requirement.rule!r}, {outcome!r}, {requirement.clause!r}, "
                              f"missing_message({requirement.label!r}, problem), {requirement.on_missing!r}, (), None)")
                    self.line(f"effects.add({requirement.on_missing!r})")
                    self.line(f"missing.append({self.bind(engine.requirement_missing(requirement))})")

    def _documents_can_miss(self) -> bool:
        """Whether a document can be missing: a bonus needs evidence, or a document is required."""
        policy = self.policy
        return bool(policy.documents.requirements) or any(bonus.evidence for bonus in policy.rate.bonuses)

    def _reporting(self) -> None:
        indicators = self.policy.reporting.indicators
        if all(indicator.when is None for indicator in indicators):
            self.line(f"indicators = {self.bind(indicators)}")
            for indicator in indicators:
                self.find_static(indicator.when_required)
            return
        self.line("indicators = []")
        for indicator in indicators:
            if indicator.when is not None:
                with self.block(f"if not {self.test(indicator.when)}:"):
                    self.find_static(indicator.when_not_required)
            with self.otherwise(indicator.when is not None):
                self.line(f"indicators.append({self.bind(indicator)})")
                self.find_static(indicator.when_required)

    def _status(self) -> None:
        order = self.policy.statuses.order
        with self.block("if not effects:"):  # the most frequent case, tested first
            self.line(f"status = {order[-1].id!r}")
        for status in order[:-1]:
            with self.block(f"elif {status.id!r} in effects:"):
                self.line(f"status = {status.id!r}")
        with self.block("else:"):
            self.line(f"status = {order[-1].id!r}")

    def _amounts(self) -> None:
        policy = self.policy
        clause = policy.rate.clause
        with self.block("if status == 'ineligible':"):
            self.line("grant_licence = grant_deployment = grant_total = ZERO")
            self.line("paid = ()")
            self.find(f"('amounts.grant', 'info', {clause!r}, {engine.NO_GRANT!r}, None, (), None)")
        with self.block("else:"):
            self.line(f"grant_licence = {self.quantize('eligible_licence * final_rate')}")
            self.line(f"grant_deployment = {self.quantize('eligible_deployment * final_rate')}")
            self.line("grant_total = grant_licence + grant_deployment")
            self.find(f"('amounts.grant', 'info', {clause!r}, (grant_message, {self.bind(policy.rounding)}, "
                      "eligible_licence, eligible_deployment, final_rate, grant_licence, grant_deployment), None, (), "
                      "None)")
            paid = []
            for index, tranche in enumerate(policy.payments.tranches):
                before = " + ".join(f"amount_{earlier}" for earlier in range(index))  # the grant is a sum of
                rest = f"grant_total - ({before})" if before else "grant_total"      # amounts rounded: ≤ 0 exponent
                share = rest if tranche.share is None else self.quantize(f"grant_total * {self.bind(tranche.share)}")
                name = self.bind(tranche)
                self.line(f"amount_{index} = {share}")
                self.find(f"({tranche.rule!r}, 'info', {tranche.clause!r}, (tranche_message, {name}, amount_{index}), "
                          "None, (), None)")
                paid.append(f"({name}, amount_{index})")
            self.line(f"paid = ({''.join(item + ', ' for item in paid)})")
        self.line("figures = (requested, eligible_licence, eligible_deployment, eligible_total, excluded_total, "
                  "grant_licence, grant_deployment, grant_total)")
