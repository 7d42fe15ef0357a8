"""Golden cases: applications with the part of the decision they must produce.

A case file (``schemas/case.schema.json``) holds one or more cases. Each case gives its application
inline, as a file, or as a patch over the file's base application, and an ``expect`` block: only the
keys it names are checked. Running a case yields the list of differences, in French.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from evaluator.application import checked_document
from evaluator.decision import Decision
from evaluator.documents import Document, load_document
from evaluator.problems import InputError, JsonPath, Problem
from evaluator.registry import Registry
from evaluator.validation import parse_date, validate


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


@dataclass(frozen=True)
class CaseResult:
    case: Case
    differences: tuple[str, ...]
    decision: Decision | None

    @property
    def passed(self) -> bool:
        return not self.differences


def discover(paths: Iterable[Path]) -> list[Path]:
    """Case files under ``paths``: the YAML files themselves, or those found in directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def load_cases(path: Path) -> list[Case]:
    """The cases of one file; raises ``InputError`` with every problem of the file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError([Problem(str(path), f"lecture impossible : {error.strerror}")]) from None
    document = load_document(raw, str(path))
    problems = validate(document, "case")
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


def run_case(case: Case, registry: Registry) -> CaseResult:
    try:
        application = checked_document(case.application)
        decision = registry.decide(application, case.policy_version, case.as_of)
    except InputError as error:
        return CaseResult(case, tuple(f"demande refusée : {p.render()}" for p in error.problems), None)
    return CaseResult(case, tuple(compare(case.expect, decision)), decision)


def compare(expect: dict[str, Any], decision: Decision) -> Iterator[str]:
    """Every difference between what a case expects and what the decision says."""
    actual = decision.to_dict()
    tolerance = Decimal(str(expect.get("tolerance", 0)))
    for key in ("status", "mutualised", "licence_count"):
        if key in expect and expect[key] != actual[key]:
            yield f"{key} : attendu {_show(expect[key])}, obtenu {_show(actual[key])}"
    for key, value in expect.get("rate", {}).items():
        if key == "bonuses":
            wanted = {name: Decimal(str(v)) for name, v in value.items()}
            got = {name: Decimal(v) for name, v in actual["rate"]["bonuses"].items()}
            if wanted != got:
                yield f"rate.bonuses : attendu {_bonuses(wanted)}, obtenu {_bonuses(got)}"
        elif key == "base_tier":
            if value != actual["rate"][key]:
                yield f"rate.base_tier : attendu {value}, obtenu {actual['rate'][key]}"
        elif Decimal(str(value)) != Decimal(actual["rate"][key]):
            yield f"rate.{key} : attendu {value}, obtenu {actual['rate'][key]}"
    for key, value in expect.get("amounts", {}).items():
        if abs(Decimal(str(value)) - Decimal(actual["amounts"][key])) > tolerance:
            yield f"amounts.{key} : attendu {value}, obtenu {actual['amounts'][key]}"
    if "payments" in expect:
        wanted_payments = {k: Decimal(str(v)) for k, v in expect["payments"].items()}
        got_payments = {p["id"]: Decimal(p["amount"]) for p in actual["payments"]}
        if wanted_payments.keys() != got_payments.keys() or any(
            abs(wanted_payments[k] - got_payments[k]) > tolerance for k in wanted_payments
        ):
            yield f"payments : attendu {_bonuses(wanted_payments)}, obtenu {_bonuses(got_payments)}"
    findings = actual["findings"]
    for wanted in expect.get("findings", []):
        if not any(_matches(wanted, f) for f in findings):
            same_rule = [f"{f['outcome']}" for f in findings if f["rule"] == wanted["rule"]]
            seen = f"constats de cette règle : {', '.join(same_rule)}" if same_rule else "aucun constat de cette règle"
            yield f"constat attendu absent : {_finding(wanted)} ({seen})"
    for unwanted in expect.get("absent_findings", []):
        for finding in findings:
            if _matches(unwanted, finding):
                yield f"constat inattendu : {_finding(unwanted)} — « {finding['message']} »"
                break
    if "missing_documents" in expect:
        wanted_missing = sorted(expect["missing_documents"])
        got_missing = sorted(m["requirement"] for m in actual["missing_documents"])
        if wanted_missing != got_missing:
            yield f"missing_documents : attendu {wanted_missing}, obtenu {got_missing}"


def _matches(wanted: dict[str, Any], finding: dict[str, Any]) -> bool:
    return all(finding.get(key) == value for key, value in wanted.items())


def _finding(wanted: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in wanted.items())


def _bonuses(values: dict[str, Decimal]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(values.items())) + "}"


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
        raw = target.read_bytes()
    except OSError as error:
        message = f"fichier de demande illisible : {target} ({error.strerror})"
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
