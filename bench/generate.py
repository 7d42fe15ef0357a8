"""Seeded random applications for the benchmarks: valid, varied, reproducible.

``python bench/generate.py N [--seed S] > apps.jsonl`` writes N applications as JSON Lines.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

CATEGORIES = ["commune"] * 6 + ["departement", "region", "communaute_de_communes", "metropole", "sivu",
                                "syndicat_mixte", "spl", "gip", "association", "collectivite_inconnue"]
KINDS = ["licence"] * 4 + ["deployment", "integration", "configuration", "training", "hardware", "consulting"]
COUNTRIES = ["FR"] * 8 + ["DE", "IT", "EL", "NO", "US"]
DOCUMENTS = ["quote", "sovereignty_sheet", "editor_attestation", "contract_extract", "frugality_charter",
             "environmental_impact"]


def installed() -> str:
    """Which guichet the benchmarks measure: the one this Python imports (a regular install holds the
    core compiled by mypyc, an editable one runs the source)."""
    import evaluator.core.engine

    where = Path(evaluator.core.engine.__file__)
    kind = "Python pur" if where.suffix == ".py" else "cœur compilé par mypyc"  # .so, or .pyd on Windows
    return f"guichet : {kind} ({where.parent.parent})"


def siren(rng: random.Random) -> str:
    """A random 9-digit SIREN with a valid Luhn check digit."""
    digits = [rng.randrange(10) for _ in range(8)]
    for check in range(10):
        candidate = [*digits, check]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                    for i, d in enumerate(reversed(candidate)))
        if total % 10 == 0:
            return "".join(map(str, candidate))
    raise AssertionError("a Luhn check digit always exists")


def entity(rng: random.Random, number: str) -> dict[str, Any]:
    return {
        "name": f"Entité {number}",
        "siren": siren(rng),
        "category": rng.choice(CATEGORIES),
        "licences": rng.choice([0, 1, 20, 120, 499, 500, 800]),
        "overseas": rng.random() < 0.1,
        "action_coeur_de_ville": rng.random() < 0.1,
        "qpv_population_share": rng.choice([0, 0.12, 0.3999, 0.4, 0.55]),
        "non_economic_activity": rng.random() < 0.5,
    }


def application(rng: random.Random, index: int) -> dict[str, Any]:
    applicant = entity(rng, "0")
    applicant["category"] = rng.choice(["commune"] * 8 + CATEGORIES)
    co = [entity(rng, str(n + 1)) for n in range(rng.choice([0, 0, 0, 1, 2, 3, 4, 6]))]
    sirens = [applicant["siren"]] + [c["siren"] for c in co]
    expenses = []
    for _ in range(rng.randint(1, 6)):
        line: dict[str, Any] = {"kind": rng.choice(KINDS), "amount": f"{rng.randint(1, 5_000_000) / 100:.2f}",
                                "entity": rng.choice(sirens)}
        if line["kind"] == "licence" and rng.random() < 0.3:
            line["months"] = rng.choice([6, 12, 24, 36])
        expenses.append(line)
    documents = [{"kind": kind} for kind in DOCUMENTS if rng.random() < 0.85]
    if co:
        documents.append({"kind": "mutualisation_declaration", "signed_by": sirens})
    day = rng.randint(1, 28)
    return {
        "reference": f"BENCH-{index:07d}",
        "submitted_on": f"{rng.choice([2026, 2027, 2028, 2029])}-{rng.randint(1, 12):02d}-{day:02d}",
        "applicant": applicant,
        "co_beneficiaries": co,
        "solution": {
            "name": "Assistant", "editor": "Éditeur", "kind": rng.choice(["general_purpose", "business_solution"]),
            "editor_country": rng.choice(COUNTRIES), "hosting_countries": [rng.choice(COUNTRIES)],
            "processing_countries": ["FR"], "auditability_commitment": rng.random() < 0.9,
            "extra_eu_transfer": rng.choice(["none", "none", "with_explicit_consent", "without_consent"]),
            "eu_law_applicable": rng.random() < 0.97, "extra_eu_jurisdiction": rng.random() < 0.03,
            "reversibility": True, "ai_act_compliant": True,
        },
        "expenses": expenses,
        "frugal_ai": rng.random() < 0.3,
        "public_procurement_compliant": rng.random() < 0.97,
        "documents": documents,
    }


def applications(count: int, seed: int = 2026) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        yield application(rng, index)


def toy_application(rng: random.Random, index: int) -> dict[str, Any]:
    """An application for the toy rule (bench/toy-policy.yaml): communes, one licence line and one
    deployment line."""
    data = application(rng, index)
    data["submitted_on"] = "2027-03-01"
    applicant = data["applicant"]
    applicant["category"] = "commune"
    for entity in data["co_beneficiaries"]:
        entity["category"] = "commune"
    data["expenses"] = [
        {"kind": "licence", "amount": f"{rng.randint(100, 5_000_000) / 100:.2f}"},
        {"kind": "deployment", "amount": f"{rng.randint(0, 5_000_000) / 100:.2f}"},
    ]
    data["documents"] = [{"kind": "quote"}]
    return data


def toy_applications(count: int, seed: int = 2026) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        yield toy_application(rng, index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    write_lines(sys.stdout, arguments.count, arguments.seed)


def write_lines(stream: TextIO, count: int, seed: int) -> None:
    """``count`` applications as JSON Lines, written compactly (as ``guichet batch`` reads at once)."""
    for item in applications(count, seed):
        stream.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
