"""guichet's benchmarks: ``python bench/run.py [--quick] [--only full,lines,toy,load,cold]``.

Each scenario runs several times over seeded random applications and prints the median time per
item, the spread (fastest and slowest run), the throughput, and, for the toy rule, the ratio to the
hand-written function (bench/baseline.py) and to GoRules Zen (bench/zen-toy.json, when the optional
``bench`` extra is installed), all measured in the same run on one core.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import toy_rule  # noqa: E402
from generate import applications, installed, toy_applications, write_lines  # noqa: E402

from evaluator import Registry  # noqa: E402
from evaluator.core.application import Application, accepted_line, build_application, mapping_document  # noqa: E402
from evaluator.core.decision import Decision  # noqa: E402
from evaluator.core.engine import evaluate  # noqa: E402
from evaluator.core.policy import Policy  # noqa: E402
from evaluator.service.batch import Block, decide_block  # noqa: E402
from evaluator.versions.loader import load_policy_file  # noqa: E402


@dataclass(frozen=True)
class Result:
    name: str
    runs: tuple[float, ...]  # seconds per item, one figure a run

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def line(self, baseline: Result | None = None, peer: Result | None = None) -> str:
        text = (f"{self.name:<40} {self.median * 1e6:>9.2f} µs  [{min(self.runs) * 1e6:.2f} – "
                f"{max(self.runs) * 1e6:.2f}]  {1 / self.median:>11,.0f}/s")
        if baseline is not None:
            text += f"  ×{self.median / baseline.median:.1f} hand-written"
        if peer is not None:
            text += f"  ×{self.median / peer.median:.2f} Zen"
        return text


def measure(name: str, function: Callable[[Any], object], items: Sequence[Any], repeats: int) -> Result:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            function(item)
        runs.append((time.perf_counter() - start) / len(items))
    return Result(name, tuple(runs))


def built(policy: Policy, data: Sequence[dict[str, Any]]) -> list[Application]:
    return [build_application(mapping_document(item), policy) for item in data]


def aggregated(application: Application) -> tuple[Decimal, Decimal, bool, int, bool, bool]:
    """The figures the toy rule reads, taken from an application once, outside the timings."""
    licence = sum((line.amount for line in application.expenses if line.kind == "licence"), Decimal(0))
    deployment = sum((line.amount for line in application.expenses if line.kind == "deployment"), Decimal(0))
    mutualised = sum(1 for e in application.co_beneficiaries if e.licences > 0) >= 3
    licences = application.applicant.licences + sum(e.licences for e in application.co_beneficiaries)
    return (licence, deployment, mutualised, licences, application.applicant.facts["overseas"],
            application.facts["frugal_ai"])


def scenario_full(count: int, repeats: int) -> None:
    registry = Registry.default()
    policy = registry.checked(registry.version("1.0"))
    mappings = list(applications(count))
    items = built(policy, mappings)
    print(measure("v1.0 reading (mapping → model)", lambda m: build_application(mapping_document(m), policy), mappings,
                  repeats).line())
    print(measure("v1.0 full decision (evaluate)", lambda a: evaluate(policy, a), items, repeats).line())
    print(measure("v1.0 decision + JSON (to_json)", lambda a: evaluate(policy, a).to_json(None), items,
                  repeats).line())
    print(measure("v1.0 Registry.evaluate(mapping)", registry.evaluate, mappings, repeats).line())


def scenario_lines(count: int, repeats: int) -> None:
    """Where the time of ``guichet batch`` goes, per line on one core: each step measured apart over
    the same JSON lines, then a whole block (``decide_block``: the steps, and the block's own work,
    numbering and joining its records)."""
    registry = Registry.default()
    text = io.StringIO()
    write_lines(text, count, 2026)
    lines = [(number, line) for number, line in enumerate(text.getvalue().encode().splitlines(keepends=True), 1)]
    documents = [accepted_line(line, "lot", number) for number, line in lines]
    chosen = [(document, registry.checked(registry.governing(document))) for document in documents if document]
    models = [(policy, build_application(document, policy)) for document, policy in chosen]
    decisions = [evaluate(policy, application) for policy, application in models]
    print(measure("batch line: reading it (orjson)", lambda item: accepted_line(item[1], "lot", item[0]), lines,
                  repeats).line())
    print(measure("batch line: version, jsonschema-rs, model", lambda item: build_application(*item), chosen,
                  repeats).line())
    print(measure("batch line: decision", lambda item: evaluate(*item), models, repeats).line())
    print(measure("batch line: its JSON", Decision.to_bytes, decisions, repeats).line())
    block = Block(1, text.getvalue().encode())
    whole = measure("batch line: a block (decide_block)", lambda b: decide_block(registry, b, "lot", None), [block],
                    repeats)
    print(Result(whole.name, tuple(run / count for run in whole.runs)).line())


def scenario_toy(count: int, repeats: int) -> None:
    policy = load_policy_file(HERE / "toy-policy.yaml")
    items = built(policy, list(toy_applications(count)))
    figures = [aggregated(a) for a in items]
    for application, inputs in zip(items, figures, strict=True):
        expected = toy_rule(*inputs)[2]
        got = evaluate(policy, application).amounts.grant_total
        assert got == expected, (application.reference, got, expected)
    hand = measure("toy rule, hand-written Python", lambda f: toy_rule(*f), figures, repeats)
    zen_result = None
    try:
        import zen  # type: ignore[import-not-found]
    except ImportError:
        print("(GoRules Zen absent : pip install '.[bench]' pour le mesurer)")
    else:
        content = zen.ZenDecisionContent((HERE / "zen-toy.json").read_text(encoding="utf-8"))
        engine = zen.ZenEngine({"loader": lambda key: content})
        zen_inputs = [{"licence": float(f[0]), "deployment": float(f[1]), "mutualised": f[2], "licences": f[3],
                       "fragile": f[4], "frugal": f[5]} for f in figures]
        for inputs, expected in zip(zen_inputs[:50], figures[:50], strict=True):
            grant = Decimal(str(engine.evaluate("toy", inputs)["result"]["grant"]))
            assert abs(grant - toy_rule(*expected)[2]) <= Decimal("0.01"), (grant, expected)
        zen_result = measure("toy rule, GoRules Zen (ZenEngine.evaluate)", lambda i: engine.evaluate("toy", i),
                             zen_inputs, repeats)
    ours = measure("toy rule, guichet (evaluate)", lambda a: evaluate(policy, a), items, repeats)
    print(hand.line())
    if zen_result is not None:
        print(zen_result.line(hand))
    print(ours.line(hand, zen_result))


def scenario_load(repeats: int) -> None:
    path = Registry.default().files["1.0"]
    print(measure("policy load (YAML, schema, expressions)", lambda p: load_policy_file(p), [path],
                  repeats).line())


def scenario_cold(repeats: int) -> None:
    example = HERE.parent / "examples" / "commune-simple.yaml"
    command = [sys.executable, "-m", "evaluator.cli", "evaluate", str(example)]
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=HERE)  # the installed guichet
        runs.append(time.perf_counter() - start)
    print(Result("guichet evaluate, cold start", tuple(runs)).line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer applications and runs")
    parser.add_argument("--only", default="full,lines,toy,load,cold")
    arguments = parser.parse_args()
    count, repeats = (500, 3) if arguments.quick else (5000, 7)
    chosen = set(arguments.only.split(","))
    print(f"Python {sys.version.split()[0]}, {count} applications, {repeats} runs each; {installed()}")
    if "full" in chosen:
        scenario_full(count, repeats)
    if "lines" in chosen:
        scenario_lines(count, repeats)
    if "toy" in chosen:
        scenario_toy(count, repeats)
    if "load" in chosen:
        scenario_load(repeats * 3)
    if "cold" in chosen:
        scenario_cold(repeats)


if __name__ == "__main__":
    main()
