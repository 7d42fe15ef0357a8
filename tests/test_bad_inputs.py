"""The corpus of bad inputs (``tests/bad-inputs/manifest.yaml``), each run through the real guichet
command in a subprocess bounded in time and memory: exit 2, one clear French message naming the file
and its line or JSON path, never a traceback; the traps that are accepted keep their meaning."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "bad-inputs"
POLICY = ROOT / "policies" / "guichet-cofinancement" / "1.0.yaml"
GOOD_LINE = (CORPUS / "batch" / "bom.jsonl").read_text(encoding="utf-8-sig").splitlines()[0]
ENTRIES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))["entries"]
SECONDS = 20
MEMORY_BYTES = 1 << 30
# The command runs with its address space capped: a bomb that slipped through would fail with a
# MemoryError (a traceback) instead of swapping the machine.
LAUNCH = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_BYTES}, {MEMORY_BYTES})); "
          "import cli; cli.main()")
ENGLISH = re.compile(r"Traceback|Error\b|Exception\b|line \d+, in ")
FOOTER = re.compile(r"^(\d+) problèmes? : rien n'a été évalué\.$", re.MULTILINE)


def _id(entry: dict[str, Any]) -> str:
    return str(entry["file"])


@dataclass(frozen=True)
class Run:
    entry: dict[str, Any]
    file: str
    text: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def _materialise(entry: dict[str, Any], workdir: Path) -> Path:
    """The file of an entry: in the corpus, or written now (policy copies, the 50 MB file, links to
    /dev/zero, named pipes)."""
    if "generate" in entry:
        target = workdir / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        _GENERATE[entry["generate"]](target)
        return target
    if "from_policy" in entry:
        text = POLICY.read_text(encoding="utf-8")
        for old, new in entry["from_policy"]:
            assert text.count(old) == 1, f"{entry['file']}: edit target not unique in the policy: {old!r}"
            text = text.replace(old, new)
        target = workdir / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target
    return CORPUS / entry["file"]


def _fifty_megabytes(target: Path) -> None:
    size = 50 * 1024 * 1024
    with target.open("wb") as out:
        out.write(b"reference: ")
        out.write(b"x" * (size - len(b"reference: \n")))
        out.write(b"\n")


def _beside_the_bundled_versions(target: Path) -> None:
    for bundled in POLICY.parent.iterdir():
        shutil.copy(bundled, target.parent / bundled.name)


_GENERATE = {
    "fifty_megabytes": _fifty_megabytes,
    "zero_link": lambda target: target.symlink_to("/dev/zero"),
    "fifo": os.mkfifo,
    "policy_fifo": lambda target: (_beside_the_bundled_versions(target), os.mkfifo(target)),
    "policy_zero": lambda target: (_beside_the_bundled_versions(target), target.symlink_to("/dev/zero")),
    "deep_portfolio": lambda target: target.write_text("[" * 300 + "]" * 300 + "\n" + GOOD_LINE + "\n"),
    "absent": lambda target: None,
}


def _run(entry: dict[str, Any], workdir: Path) -> Run:
    path = _materialise(entry, workdir)
    args = [a.format(file=path, corpus=CORPUS, dir=path.parent) for a in entry.get("args", ["evaluate", "{file}"])]
    command = [sys.executable, "-c", LAUNCH, *args]
    start = time.monotonic()
    try:
        with open(entry.get("stdin", os.devnull), "rb") as stdin:
            result = subprocess.run(command, cwd=workdir, stdin=stdin, capture_output=True, timeout=SECONDS,
                                    env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{entry['file']}: no answer within {SECONDS} s")
    regular = path.is_file() and path.stat().st_size < 10_000_000  # (never a FIFO or /dev/zero)
    text = path.read_text(encoding="utf-8", errors="replace") if regular else ""
    return Run(entry, str(path), text, result.returncode, result.stdout.decode("utf-8", "replace"),
               result.stderr.decode("utf-8", "replace"), time.monotonic() - start)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every entry run once, in parallel (the subprocesses dominate the time)."""
    workdir = tmp_path_factory.mktemp("bad-inputs")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = dict(zip(map(_id, ENTRIES), pool.map(lambda e: _run(e, workdir), ENTRIES), strict=True))
    yield done


def test_the_corpus_is_large_and_covers_every_command():
    bad = [e for e in ENTRIES if e.get("exit", 2) == 2]
    assert len(bad) >= 40
    assert len({_id(e) for e in ENTRIES}) == len(ENTRIES)
    commands = {e.get("args", ["evaluate"])[0] for e in ENTRIES}
    assert commands == {"evaluate", "validate", "batch", "test", "impact", "replay"}
    committed = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()} - {"manifest.yaml"}
    declared = {e["file"] for e in ENTRIES if "from_policy" not in e and "generate" not in e}
    assert committed == declared, "every file of the corpus has its expected outcome in the manifest"


def _expected_line(run: Run) -> int | None:
    line = run.entry.get("line")
    if isinstance(line, str):
        return next(n for n, text in enumerate(run.text.splitlines(), start=1) if line in text)
    return line


def _problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line and not line.startswith(" ")]


def _at(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_bad_input_is_answered_clearly(entry: dict[str, Any], runs: dict[str, Run]) -> None:
    run = runs[_id(entry)]
    expected_exit = entry.get("exit", 2)
    assert run.returncode == expected_exit, run.stderr or run.stdout[-2000:]
    assert not ENGLISH.search(run.stderr), run.stderr
    assert run.seconds < SECONDS
    if entry.get("args", ["evaluate"])[0] == "batch":
        _check_batch(run)
    elif "stderr" in entry:
        _check_reported(run)
    elif expected_exit == 2:
        _check_refusal(run)
    else:
        _check_accepted(run)


def _check_refusal(run: Run) -> None:
    entry = run.entry
    footer = FOOTER.search(run.stderr)
    assert footer is not None, run.stderr
    longest = max(len(line) for line in run.stderr.splitlines())
    assert longest <= len(run.file) + 400, f"a message line of {longest} characters is not read"
    assert int(footer[1]) == entry.get("problems", 1), run.stderr
    matching = [line for line in _problem_lines(run.stderr) if entry["message"] in line]
    assert matching, f"{entry['message']!r} not in:\n{run.stderr}"
    problem = matching[0]
    line = _expected_line(run)
    named = "<entrée standard>" if "stdin" in entry else run.file
    where = f"{named}:{line}:" if line is not None else f"{named}:"
    assert problem.startswith(where), f"expected {where!r} in:\n{run.stderr}"
    if "path" in entry:
        assert problem.endswith(f" (à {entry['path']})"), run.stderr
    if "hint" in entry:
        assert f"  conseil : {entry['hint']}\n" in run.stderr, run.stderr


def _check_reported(run: Run) -> None:
    """A command that reports each bad line and goes on (impact, replay): the line named."""
    entry = run.entry
    assert entry["stderr"].format(file=run.file) in run.stderr, run.stderr
    if "stdout" in entry:
        assert entry["stdout"].format(file=run.file) in run.stdout, run.stdout


def _check_accepted(run: Run) -> None:
    entry = run.entry
    assert run.stderr == "", run.stderr
    if "stdout" in entry:
        assert entry["stdout"] in run.stdout, run.stdout
    if "not_stdout" in entry:
        assert entry["not_stdout"] not in run.stdout, run.stdout
    if "json" in entry:
        decision = json.loads(run.stdout)
        for dotted, value in entry["json"].items():
            assert _at(decision, dotted) == value, dotted


def _check_batch(run: Run) -> None:
    entry = run.entry
    records = [json.loads(line) for line in run.stdout.splitlines()]
    expected = entry["records"]
    assert len(records) == len(expected), run.stdout
    for record, wanted in zip(records, expected, strict=True):
        if "status" in wanted:
            assert record["status"] == wanted["status"], record
            continue
        assert record["status"] == "error" and record["line"] == wanted["line"], record
        problems = record["problems"]
        assert len(problems) == wanted.get("problems", 1), problems
        assert wanted["message"] in problems[0]["message"] or any(
            wanted["message"] in p["message"] for p in problems), problems
        assert all(p["line"] == wanted["line"] and p["source"] == run.file for p in problems), problems
        if "path" in wanted:
            assert any(p["path"] == wanted["path"] for p in problems), problems
    if "message" in entry:
        assert entry["message"] in run.stderr, run.stderr
