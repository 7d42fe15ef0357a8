"""Test results as JUnit XML, the report GitLab, Jenkins, Azure DevOps and the GitHub Actions
reporters read: one ``testsuite`` per case file, one ``testcase`` per case run (cases left out by
``-k`` are not listed), a ``failure`` whose message is the differences, an ``error`` when the
case's application is refused."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import PurePath

from evaluator.testing.cases import CaseResult, Summary

# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(results: Sequence[CaseResult], name: str = "guichet test") -> str:
    """The JUnit XML document of ``results``, grouped by case file in order of appearance."""
    files: dict[str, list[CaseResult]] = {}
    for result in results:
        files.setdefault(result.case.source, []).append(result)
    root = ET.Element("testsuites", _counts(name, results))
    for source, in_file in files.items():
        suite = ET.SubElement(root, "testsuite", {**_counts(source, in_file), "file": _text(source)})
        clause = in_file[0].case.clause
        if clause:
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", {"name": "clause", "value": _text(clause)})
        for result in in_file:
            _testcase(suite, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(name: str, results: Sequence[CaseResult]) -> dict[str, str]:
    summary = Summary.of(results)
    return {"name": _text(name), "tests": str(summary.ran), "failures": str(summary.failed),
            "errors": str(summary.errors), "skipped": "0", "time": _seconds(sum(r.seconds for r in results))}


def _testcase(suite: ET.Element, result: CaseResult) -> None:
    case = result.case
    attributes = {"classname": _classname(case.source), "name": _text(case.name), "file": _text(case.source),
                  "time": _seconds(result.seconds)}
    if case.line is not None:
        attributes["line"] = str(case.line)
    element = ET.SubElement(suite, "testcase", attributes)
    if result.verdict == "passed":
        return
    lines = result.explanation()
    if result.verdict == "error":
        outcome = ET.SubElement(element, "error", {"type": "demande refusée", "message": _text(lines[0])})
    else:
        count = len(lines)
        outcome = ET.SubElement(element, "failure", {
            "type": f"{count} différence{'s' if count > 1 else ''}",
            "message": _text(" ; ".join(lines)),
        })
    outcome.text = _text(f"{case.location} — {case.name}\n" + "\n".join(lines))


def _classname(source: str) -> str:
    """``tests/cases/window.yaml`` → ``tests.cases.window``, as CI systems group by dotted class."""
    path = PurePath(source)
    parts = [part for part in path.with_suffix("").parts if part not in ("/", ".", "..")]
    return _text(".".join(parts))


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)
