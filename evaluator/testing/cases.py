"""Golden cases: applications with the part of the decision they must produce.

A case file (``schemas/case.schema.json``) holds one or more cases. Each case gives its application
inline, as a file, or as a patch over the file's base application, and an ``expect`` block: only the
keys it names are checked. Running a case yields the list of differences, in French, each with the
key, the expected and the actual value for tools.

The granted bonuses may be expected as ``rate.bonuses`` (as the decision writes them) or as a
top-level ``bonuses`` (as the cahier des charges names them): a mapping ``{id: value}``, or a list of
ids when only which bonuses are granted matters. Both say "these bonuses and no other"; a case that
gives both is refused, since the two could disagree.

A case whose application is refused (schema, unknown expense kind, unknown version…) is an *error*,
not a failure: the case file is bad input. A rule named in ``absent_findings`` that the policy does
not have fails the case, since its absence would prove nothing.
"""

from __future__ import annotations

import copy
import difflib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from evaluator.core.decision import Decision
from evaluator.reading.files import read_regular
from evaluator.reading.formats import parse_date
from evaluator.reading.parse import Document, load_document
from evaluator.reading.problems import InputError, JsonPath, Problem
from evaluator.reading.validation import bundled, validate
from evaluator.testing.coverage import rules
from evaluator.testing.selection import Selection, fold
from evaluator.versions.registry import Registry

Verdict = Literal["passed", "failed", "error"]
RESULTS_FORMAT = "1"


@dataclass(frozen=True)
class Case:
    name: str
    clause: str | None
    source: str
    line: int | None
    application: Document
    policy_version: str | None
    as_of: date | None
    expect: dict[str, Any]

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source

    @property
    def keywords(self) -> str:
        """The text a ``-k`` selection reads: the case's name, its file's name and its clause."""
        return fold("\n".join([self.name, Path(self.source).stem, self.clause or ""]))


@dataclass(frozen=True)
class Difference:
    """One thing a decision does not do as the case expects: the key of ``expect`` (``rate.final``),
    the expected and the actual value (as JSON values), and the French line that says it."""

    key: str
    expected: Any
    actual: Any
    message: str

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "expected": self.expected, "actual": self.actual, "message": self.message}


@dataclass(frozen=True)
class CaseResult:
    case: Case
    differences: tuple[Difference, ...]
    decision: Decision | None
    problems: tuple[Problem, ...] = ()
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        return "error" if self.problems else "failed" if self.differences else "passed"

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    def explanation(self) -> list[str]:
        """What went wrong, one French line (or block) per difference or problem."""
        return [*(d.message for d in self.differences), *(f"demande refusée : {p.render()}" for p in self.problems)]

    def to_dict(self) -> dict[str, Any]:
        case, decision = self.case, self.decision
        return {
            "name": case.name, "file": case.source, "line": case.line, "clause": case.clause,
            "result": self.verdict,
            "policy": None if decision is None else {"id": decision.policy.id, "version": decision.policy.version},
            "status": None if decision is None else decision.status,
            "differences": [d.to_dict() for d in self.differences],
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class Summary:
    passed: int
    failed: int
    errors: int
    deselected: int

    @classmethod
    def of(cls, results: Sequence[CaseResult], deselected: int = 0) -> Summary:
        verdicts = [r.verdict for r in results]
        return cls(verdicts.count("passed"), verdicts.count("failed"), verdicts.count("error"), deselected)

    @property
    def ran(self) -> int:
        return self.passed + self.failed + self.errors

    def line(self) -> str:
        """The closing line, as pytest writes it: ``12 passed, 1 failed`` (errors, deselected if any)."""
        text = f"{self.passed} passed, {self.failed} failed"
        text += f", {self.errors} error{'s' if self.errors > 1 else ''}" if self.errors else ""
        return text + (f", {self.deselected} deselected" if self.deselected else "")

    def to_dict(self) -> dict[str, int]:
        return {"passed": self.passed, "failed": self.failed, "errors": self.errors,
                "deselected": self.deselected, "total": self.ran}


def results_document(results: Sequence[CaseResult], summary: Summary) -> dict[str, Any]:
    """The results of a run for tools (``guichet test --format json``)."""
    return {"format": RESULTS_FORMAT, "summary": summary.to_dict(), "cases": [r.to_dict() for r in results]}


def discover(paths: Iterable[Path]) -> list[Path]:
    """Case files under ``paths``: the YAML files themselves, or those found in directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def collect(paths: Sequence[Path]) -> tuple[list[Case], list[Problem]]:
    """The cases of every file under ``paths``, and the problems of every bad file (all of them)."""
    problems = [Problem(str(p), "fichier ou répertoire introuvable",
                        hint="indiquez des fichiers de cas ou les répertoires qui les contiennent")
                for p in paths if not p.exists()]
    cases: list[Case] = []
    for path in discover(p for p in paths if p.exists()):
        try:
            cases.extend(load_cases(path))
        except InputError as error:
            problems.extend(error.problems)
    return cases, problems


def select(cases: Iterable[Case], selection: Selection) -> list[Case]:
    return [case for case in cases if selection.matches(case.keywords)]


def load_cases(path: Path) -> list[Case]:
    """The cases of one file; raises ``InputError`` with every problem of the file."""
    document = load_document(read_regular(path, str(path)), str(path))
    problems = validate(document, bundled("case"))
    if problems:
        raise InputError(problems)
    problems = list(_case_problems(document))
    if problems:
        raise InputError(problems)
    data = document.data
    base = _base(document, path)
    cases = []
    for index, item in enumerate(data["cases"]):
        prefix: JsonPath = ("cases", index)
        line = (document.locate(prefix) or (None, None))[0]
        if "application" in item:
            application = _subdocument(document, (*prefix, "application"))
        elif "application_file" in item:
            target = path.parent / item["application_file"]
            application = _read_file(target, document, (*prefix, "application_file"))
        else:
            if base is None:
                raise InputError([document.problem((*prefix, "patch"), "« patch » sans demande de base",
                                                   "ajoutez « base: » en tête du fichier")])
            application = _patched(base, document, (*prefix, "patch"))
        cases.append(Case(
            name=item["name"],
            clause=item.get("clause", data.get("clause")),
            source=str(path),
            line=line,
            application=application,
            policy_version=item.get("policy_version"),
            as_of=parse_date(item["as_of"]) if "as_of" in item else None,
            expect=item["expect"],
        ))
    return cases


def _case_problems(document: Document) -> Iterator[Problem]:
    """What the schema cannot say: names unique in a file, bonuses expected once."""
    seen: dict[str, int] = {}
    for index, item in enumerate(document.data["cases"]):
        name = item["name"]
        if name in seen:
            first = (document.locate(("cases", seen[name], "name")) or (None,))[0]
            yield document.problem(("cases", index, "name"), f"nom de cas en double : « {name} » (déjà ligne {first})",
                                   "chaque cas d'un fichier a son propre nom : les rapports le désignent ainsi")
        seen.setdefault(name, index)
        expect = item["expect"]
        if "bonuses" in expect and "bonuses" in expect.get("rate", {}):
            yield document.problem(("cases", index, "expect", "bonuses"),
                                   "bonifications attendues deux fois : « bonuses » et « rate.bonuses »",
                                   "gardez l'une des deux écritures")


def run_case(case: Case, registry: Registry) -> CaseResult:
    start = time.perf_counter()
    try:
        decision = registry.decide(case.application, case.policy_version, case.as_of)
    except InputError as error:
        return CaseResult(case, (), None, error.problems, time.perf_counter() - start)
    known = {rule.id for rule in rules(registry.version(decision.policy.version))}
    differences = tuple(compare(case.expect, decision, known))
    return CaseResult(case, differences, decision, (), time.perf_counter() - start)


def compare(expect: dict[str, Any], decision: Decision, known_rules: Iterable[str] = ()) -> Iterator[Difference]:
    """Every difference between what a case expects and what the decision says. ``known_rules``: the
    rules of the policy, to tell a misspelt rule id from a finding rightly absent."""
    actual = decision.to_dict()
    tolerance = Decimal(str(expect.get("tolerance", 0)))
    for key in ("status", "mutualised", "licence_count"):
        if key in expect and expect[key] != actual[key]:
            yield Difference(key, expect[key], actual[key],
                             f"{key} : attendu {_show(expect[key])}, obtenu {_show(actual[key])}")
    granted: dict[str, str] = actual["rate"]["bonuses"]
    for key, value in expect.get("rate", {}).items():
        if key == "bonuses":
            yield from _bonuses_difference("rate.bonuses", value, granted)
        elif key == "base_tier":
            if value != actual["rate"][key]:
                yield Difference("rate.base_tier", value, actual["rate"][key],
                                 f"rate.base_tier : attendu {value}, obtenu {actual['rate'][key]}")
        elif Decimal(str(value)) != Decimal(actual["rate"][key]):
            yield Difference(f"rate.{key}", str(value), actual["rate"][key],
                             f"rate.{key} : attendu {value}, obtenu {actual['rate'][key]}")
    if "bonuses" in expect:
        yield from _bonuses_difference("bonuses", expect["bonuses"], granted)
    for key, value in expect.get("amounts", {}).items():
        gap = Decimal(actual["amounts"][key]) - Decimal(str(value))
        if abs(gap) > tolerance:
            allowed = f", tolérance {tolerance}" if tolerance else ""
            yield Difference(f"amounts.{key}", str(value), actual["amounts"][key],
                             f"amounts.{key} : attendu {value}, obtenu {actual['amounts'][key]} "
                             f"(écart {gap:+}{allowed})")
    if "payments" in expect:
        wanted_payments = {k: Decimal(str(v)) for k, v in expect["payments"].items()}
        got_payments = {p["id"]: Decimal(p["amount"]) for p in actual["payments"]}
        if wanted_payments.keys() != got_payments.keys() or any(
            abs(wanted_payments[k] - got_payments[k]) > tolerance for k in wanted_payments
        ):
            yield Difference("payments", _texts(wanted_payments), _texts(got_payments),
                             f"payments : attendu {_mapping(wanted_payments)}, obtenu {_mapping(got_payments)}")
    findings = actual["findings"]
    known = set(known_rules) | {f["rule"] for f in findings}
    for wanted in expect.get("findings", []):
        if not any(_matches(wanted, f) for f in findings):
            same_rule = [f"{f['outcome']}" for f in findings if f["rule"] == wanted["rule"]]
            seen = f"constats de cette règle : {', '.join(same_rule)}" if same_rule else "aucun constat de cette règle"
            if wanted["rule"] not in known:
                seen = f"règle inconnue de la politique{_suggestion(wanted['rule'], known)}"
            yield Difference("findings", wanted, [f for f in findings if f["rule"] == wanted["rule"]],
                             f"constat attendu absent : {_finding(wanted)} ({seen})")
    for unwanted in expect.get("absent_findings", []):
        if unwanted["rule"] not in known:
            yield Difference("absent_findings", unwanted, None,
                             f"absent_findings : règle « {unwanted['rule']} » inconnue de la politique "
                             f"{decision.policy.id} {decision.policy.version}{_suggestion(unwanted['rule'], known)}"
                             " : son absence ne prouve rien")
            continue
        for finding in findings:
            if _matches(unwanted, finding):
                yield Difference("absent_findings", unwanted, finding,
                                 f"constat inattendu : {_finding(unwanted)} — « {finding['message']} »")
                break
    if "missing_documents" in expect:
        wanted_missing = sorted(expect["missing_documents"])
        got_missing = sorted(m["requirement"] for m in actual["missing_documents"])
        if wanted_missing != got_missing:
            yield Difference("missing_documents", wanted_missing, got_missing,
                             f"missing_documents : attendu {wanted_missing}, obtenu {got_missing}"
                             f"{_extra_and_lacking(wanted_missing, got_missing)}")


def _bonuses_difference(key: str, wanted: dict[str, Any] | list[str], granted: dict[str, str]) -> Iterator[Difference]:
    """The granted bonuses against a mapping ``{id: value}``, or a list of ids (values unchecked)."""
    if isinstance(wanted, list):
        if sorted(wanted) != sorted(granted):
            yield Difference(key, sorted(wanted), sorted(granted),
                             f"{key} : attendu {sorted(wanted)}, obtenu {sorted(granted)}"
                             f"{_extra_and_lacking(wanted, list(granted))}")
        return
    expected = {name: Decimal(str(v)) for name, v in wanted.items()}
    got = {name: Decimal(v) for name, v in granted.items()}
    if expected != got:
        yield Difference(key, _texts(expected), _texts(got),
                         f"{key} : attendu {_mapping(expected)}, obtenu {_mapping(got)}"
                         f"{_extra_and_lacking(list(expected), list(got))}")


def _extra_and_lacking(wanted: list[str], got: list[str]) -> str:
    parts = []
    lacking = sorted(set(wanted) - set(got))
    extra = sorted(set(got) - set(wanted))
    if lacking:
        parts.append(f"manque : {', '.join(lacking)}")
    if extra:
        parts.append(f"en trop : {', '.join(extra)}")
    return f" ({' ; '.join(parts)})" if parts else ""


def _suggestion(rule: str, known: set[str]) -> str:
    close = difflib.get_close_matches(rule, sorted(known), n=1, cutoff=0.6)
    return f" (vouliez-vous dire « {close[0]} » ?)" if close else ""


def _matches(wanted: dict[str, Any], finding: dict[str, Any]) -> bool:
    return all(finding.get(key) == value for key, value in wanted.items())


def _finding(wanted: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in wanted.items())


def _mapping(values: dict[str, Decimal]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(values.items())) + "}"


def _texts(values: dict[str, Decimal]) -> dict[str, str]:
    return {k: str(v) for k, v in sorted(values.items())}


def _show(value: object) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def _base(document: Document, path: Path) -> Document | None:
    base = document.data.get("base")
    if base is None:
        return None
    if isinstance(base, str):
        return _read_file(path.parent / base, document, ("base",))
    return _subdocument(document, ("base",))


def _read_file(target: Path, document: Document, path: JsonPath) -> Document:
    try:
        raw = read_regular(target, str(target))
    except InputError as error:
        message = f"fichier de demande illisible : {target} ({error.problems[0].message})"
        raise InputError([document.problem(path, message)]) from None
    return load_document(raw, str(target))


def _subdocument(document: Document, prefix: JsonPath) -> Document:
    """The part of ``document`` under ``prefix``, as a document of its own with its locations."""
    data: Any = document.data
    for part in prefix:
        data = data[part]
    return Document(document.source, copy.deepcopy(data), document.lines,
                    _under(document.locations, prefix), _under(document.plain_text, prefix))


def _patched(base: Document, document: Document, prefix: JsonPath) -> Document:
    patch = _subdocument(document, prefix)
    merged = _merge(copy.deepcopy(base.data), patch.data)
    if base.source == document.source:
        locations = {**base.locations, **patch.locations}
        plain = {**base.plain_text, **patch.plain_text}
    else:
        case_line = document.locate(prefix[:-1])
        locations = {**({(): case_line} if case_line else {}), **patch.locations}
        plain = {**base.plain_text, **patch.plain_text}
    return Document(document.source, merged, document.lines, locations, plain)


def _merge(base: Any, patch: Any) -> Any:
    """Mappings merge, other values replace, ``null`` removes the key."""
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = _merge(base.get(key), value)
    return base


def _under(table: dict[JsonPath, Any], prefix: JsonPath) -> dict[JsonPath, Any]:
    size = len(prefix)
    return {path[size:]: value for path, value in table.items() if path[:size] == prefix}
