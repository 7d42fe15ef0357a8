"""Hypothesis strategies: valid applications drawn broadly from what the bundled policy knows, and
the typed expressions a policy may contain. Shared by test_properties.py and test_hostile_policies.py."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from evaluator import Policy, load_policy
from evaluator.core.expressions import Type
from evaluator.core.facts import Stage

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILE = ROOT / "policies" / "guichet-cofinancement" / "1.0.yaml"
POLICY: Policy = load_policy(POLICY_FILE.read_bytes(), str(POLICY_FILE))

CATEGORIES = sorted(POLICY.beneficiaries.categories)
UNKNOWN_CATEGORIES = ["mairie", "syndicat_de_communes", "no", "office_de_tourisme", "ccas"]
KINDS = sorted(POLICY.expenses.kinds)
EXCLUDED_KINDS = sorted(k for k, kind in POLICY.expenses.kinds.items() if kind.group == "excluded")
DOCUMENT_KINDS = sorted(POLICY.documents.kinds)
EU = sorted(POLICY.lists["eu_member_states"].values)
COUNTRIES = [*EU, "US", "CN", "NO", "CH", "GB", "IN"]
OPENS, CLOSES = POLICY.window.opens_on, POLICY.window.closes_on
FRUGAL = next(b for b in POLICY.rate.bonuses if b.id == "ia_frugale")
FRUGAL_EVIDENCE = sorted(FRUGAL.evidence.one_of if FRUGAL.evidence else ())


def luhn_complete(digits: str) -> str:
    """The SIREN made of eight ``digits`` and the check digit that makes its Luhn sum right."""
    for last in "0123456789":
        candidate = digits + last
        total = sum(int(c) * (2 if i % 2 else 1) - (9 if int(c) * (2 if i % 2 else 1) > 9 else 0)
                    for i, c in enumerate(reversed(candidate)))
        if total % 10 == 0:
            return candidate
    raise AssertionError("a Luhn check digit always exists")


sirens = st.text("0123456789", min_size=8, max_size=8).map(luhn_complete)

# Dates across the window and around its edges.
dates = st.one_of(
    st.dates(min_value=OPENS - timedelta(days=400), max_value=CLOSES + timedelta(days=400)),
    st.sampled_from([OPENS - timedelta(days=1), OPENS, CLOSES, CLOSES + timedelta(days=1)]),
)
# Euros with cents, small and large, as numbers or as decimal strings.
cents = st.one_of(st.integers(0, 2_000_000), st.integers(0, 100_000_000_000), st.sampled_from([0, 1, 99, 100]))
amounts = st.builds(lambda c, as_text: (lambda d: f"{d}" if as_text else d)(Decimal(c).scaleb(-2)),
                    cents, st.booleans())
shares = st.one_of(st.integers(0, 10_000).map(lambda n: Decimal(n).scaleb(-4)),
                   st.sampled_from([Decimal(0), Decimal("0.40"), Decimal("0.3999"), Decimal(1)]))
licences = st.one_of(st.integers(0, 1_000), st.integers(0, 10_000_000), st.sampled_from([0, 499, 500, 501]))


def _optional(draw: st.DrawFn, item: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    """Sets ``key`` to a drawn value, or leaves it out (its default then applies)."""
    if draw(st.booleans()):
        item[key] = draw(values)


ELIGIBLE_CATEGORIES = sorted(k for k, c in POLICY.beneficiaries.categories.items() if c.outcome == "eligible")


@st.composite
def entities(draw: st.DrawFn, siren: str, favourable: bool = False) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "name": draw(st.sampled_from(["Commune de Saint-Exemple", "Agglo", "NO", "Syndicat « mixte »"])),
        "siren": siren,
        "category": draw(st.sampled_from(ELIGIBLE_CATEGORIES) if favourable
                         else st.one_of(st.sampled_from(CATEGORIES), st.sampled_from(UNKNOWN_CATEGORIES))),
        "licences": draw(licences),
    }
    for flag in ("overseas", "action_coeur_de_ville", "non_economic_activity"):
        _optional(draw, entity, flag, st.booleans())
    _optional(draw, entity, "qpv_population_share", shares)
    return entity


@st.composite
def applications(draw: st.DrawFn, max_co_beneficiaries: int = 10, max_expenses: int = 20) -> dict[str, Any]:
    """A valid application (schema and policy checks pass), as a decoded JSON mapping. Half of them
    are drawn favourable (applicant eligible, inside the window, the blocking criteria met, a licence
    line), so that every status and non-zero grants are well represented."""
    favourable = draw(st.booleans())
    good = st.just
    all_sirens = draw(st.lists(sirens, min_size=1, max_size=max_co_beneficiaries + 1, unique=True))
    applicant = draw(entities(all_sirens[0], favourable))
    co_beneficiaries = [draw(entities(siren, favourable and draw(st.booleans()))) for siren in all_sirens[1:]]
    submitted = draw(st.dates(min_value=OPENS, max_value=CLOSES) if favourable else dates)
    sovereign = favourable and draw(st.integers(0, 3)) > 0  # every criterion of the sovereignty section met
    countries = st.sampled_from(EU if sovereign else COUNTRIES)
    flag = good(True) if sovereign else st.booleans()
    solution: dict[str, Any] = {
        "name": "Assistant", "editor": "Éditeur",
        "kind": draw(st.sampled_from(["general_purpose", "business_solution"])),
        "editor_country": draw(countries),
        "hosting_countries": draw(st.lists(countries, min_size=1, max_size=3, unique=True)),
        "processing_countries": draw(st.lists(countries, min_size=1, max_size=3, unique=True)),
        "auditability_commitment": draw(flag),
        "extra_eu_transfer": draw(st.sampled_from(["none", "with_explicit_consent"] if sovereign
                                                  else ["none", "with_explicit_consent", "without_consent"])),
        "eu_law_applicable": draw(good(True) if favourable else st.booleans()),
        "extra_eu_jurisdiction": draw(good(False) if favourable else st.booleans()),
        "reversibility": draw(flag),
        "ai_act_compliant": draw(flag),
    }
    _optional(draw, solution, "model_provider_country", st.one_of(st.none(), countries))
    expenses = []
    if favourable:
        licence = draw(st.integers(1, 10_000_000).map(lambda c: Decimal(c).scaleb(-2)))
        expenses.append({"kind": "licence", "amount": licence})
    for _ in range(draw(st.integers(0 if favourable else 1, max_expenses - len(expenses)))):
        line: dict[str, Any] = {"kind": draw(st.sampled_from(KINDS)), "amount": draw(amounts)}
        _optional(draw, line, "months", st.integers(1, 120))
        _optional(draw, line, "entity", st.sampled_from(all_sirens))
        expenses.append(line)
    application: dict[str, Any] = {
        "submitted_on": submitted.isoformat(),
        "applicant": applicant,
        "solution": solution,
        "expenses": expenses,
        "documents": [],
    }
    if co_beneficiaries or draw(st.booleans()):
        application["co_beneficiaries"] = co_beneficiaries
    _optional(draw, application, "reference", st.sampled_from(["DEM-1", "1.10", "010", "NO"]))
    _optional(draw, application, "frugal_ai", st.booleans())
    if favourable:
        application["public_procurement_compliant"] = True
    else:
        _optional(draw, application, "public_procurement_compliant", st.one_of(st.none(), st.booleans()))
    days = st.integers(1 if favourable else -30, 30)
    _optional(draw, application, "purchase_date",
              st.one_of(st.none(), days.map(lambda d: (submitted + timedelta(days=d)).isoformat())))
    if favourable and draw(st.integers(0, 3)) > 0:  # the documents every requirement asks for
        application["documents"] = [{"kind": "quote"}, {"kind": "sovereignty_sheet"},
                                    {"kind": draw(st.sampled_from(["editor_attestation", "contract_extract"]))},
                                    {"kind": "mutualisation_declaration", "signed_by": all_sirens}]
    for kind in draw(st.lists(st.sampled_from(DOCUMENT_KINDS), max_size=len(DOCUMENT_KINDS))):
        document: dict[str, Any] = {"kind": kind}
        if kind == "mutualisation_declaration" or draw(st.booleans()):
            document["signed_by"] = draw(st.lists(st.sampled_from(all_sirens), unique=True))
        application["documents"].append(document)
    return application


def covered_sirens(application: dict[str, Any]) -> list[str]:
    return [application["applicant"]["siren"], *(e["siren"] for e in application.get("co_beneficiaries", []))]


def to_json(value: Any) -> str:
    """JSON text of an application with its decimals written as numbers (``json`` cannot)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_json(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(to_json, value)) + "]"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (str, date)):
        return json.dumps(str(value), ensure_ascii=False)
    raise TypeError(type(value))


# -- typed expressions, for policies that must load and then never fail --------------------------

_LITERALS = st.one_of(st.integers(-1000, 1_000_000), st.integers(0, 10_000).map(lambda n: Decimal(n).scaleb(-2)),
                      st.sampled_from([Decimal("1e15"), Decimal("-1e15"), Decimal("0.000001")]))
_PERCENTAGES = st.sampled_from(["40 %", "40%", "12.5 %", "0 %", "100 %", "0.5%"])
_DIVISORS = st.sampled_from(["3", "7", "0.07", "40 %", "12.5%", "-2", "0.000001"])
"""Literal divisors: never zero (a divisor zero whatever the application is refused at load)."""


def _names(scope: dict[str, Type], wanted: Type) -> list[str]:
    return sorted(name for name, kind in scope.items() if kind is wanted)


def expressions(wanted: Type, stage: Stage | None, max_leaves: int = 12) -> st.SearchStrategy[str]:
    """Well-typed expression texts over the facts known at ``stage`` (an entity's facts when None) and
    the policy's parameters and lists, using every construction the checker admits (divisions and
    percentages included)."""
    facts = POLICY.facts.known_at(stage) if stage is not None else POLICY.facts.scope("entity")
    scope = {name: symbol.type for name, symbol in facts.items() if not symbol.optional}
    scope.update({name: Type.NUMBER for name in POLICY.parameters})
    scope.update({name: Type.TEXT_LIST for name in POLICY.lists})

    divisors = st.sampled_from(_names(scope, Type.NUMBER))  # facts may be zero for an application: the quotient is 0

    def leaves(kind: Type) -> st.SearchStrategy[str]:
        names = st.sampled_from(_names(scope, kind)) if _names(scope, kind) else st.nothing()
        if kind is Type.NUMBER:
            return st.one_of(names, _LITERALS.map(lambda n: f"{n}" if not isinstance(n, Decimal) else f"{n:f}"),
                             _PERCENTAGES)
        if kind is Type.BOOL:
            return st.one_of(names, st.sampled_from(["True", "False"]))
        if kind is Type.TEXT:
            return st.one_of(names, st.sampled_from(["'FR'", "'NO'", "'none'", "''"]))
        if kind is Type.TEXT_LIST:
            return st.one_of(names, st.sampled_from(["['FR', 'DE']", "[]", "('NO',)"]))
        return names

    def extend(kind: Type, inner: Any) -> st.SearchStrategy[str]:
        def of(k: Type) -> st.SearchStrategy[str]:
            return inner(k)

        if kind is Type.NUMBER:
            return st.one_of(
                st.tuples(of(Type.NUMBER), st.sampled_from(["+", "-", "*"]), of(Type.NUMBER)).map(
                    lambda t: f"({t[0]} {t[1]} {t[2]})"),
                st.tuples(of(Type.NUMBER), st.one_of(divisors, _DIVISORS)).map(lambda t: f"({t[0]} / {t[1]})"),
                of(Type.NUMBER).map(lambda a: f"-({a})"),
                st.tuples(st.sampled_from(["min", "max"]), st.lists(of(Type.NUMBER), min_size=2, max_size=4)).map(
                    lambda t: f"{t[0]}({', '.join(t[1])})"),
                st.tuples(of(Type.NUMBER), of(Type.BOOL), of(Type.NUMBER)).map(
                    lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            )
        if kind is Type.BOOL:
            return st.one_of(
                st.tuples(of(Type.BOOL), st.sampled_from(["and", "or"]), of(Type.BOOL)).map(
                    lambda t: f"({t[0]} {t[1]} {t[2]})"),
                of(Type.BOOL).map(lambda a: f"not ({a})"),
                st.tuples(of(Type.NUMBER), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), of(Type.NUMBER)).map(
                    lambda t: f"({t[0]} {t[1]} {t[2]})"),
                st.tuples(of(Type.TEXT), st.sampled_from(["in", "not in"]), of(Type.TEXT_LIST)).map(
                    lambda t: f"({t[0]} {t[1]} {t[2]})"),
                st.tuples(of(Type.TEXT), st.sampled_from(["==", "!="]), of(Type.TEXT)).map(
                    lambda t: f"({t[0]} {t[1]} {t[2]})"),
                st.tuples(st.sampled_from(["all_in", "any_in"]), of(Type.TEXT_LIST), of(Type.TEXT_LIST)).map(
                    lambda t: f"{t[0]}({t[1]}, {t[2]})"),
                *([st.sampled_from(["submitted_on >= submitted_on", "submitted_on < submitted_on"])]
                  if "submitted_on" in scope else []),
            )
        return leaves(kind)

    def build(kind: Type, budget: int) -> st.SearchStrategy[str]:
        if budget <= 1:
            return leaves(kind)
        return st.one_of(leaves(kind), extend(kind, lambda k: build(k, budget // 2)))

    return build(wanted, max_leaves)
