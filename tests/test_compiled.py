"""The wheel's compiled core (``hatch_build.py``: the kinds, the engine, the findings, the decision and
the application model… compiled by mypyc) decides as the source does: the wheel is built as
``pip install .`` builds it, and, run from it, the golden cases and seeded random applications give
the same bytes as the source, and the suite holds (the property tests among it: random applications
under the bundled policy, random well-typed policies against simpleeval's reading)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import policy_directory

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

CORE = {"evaluator.core.engine", "evaluator.core.findings", "evaluator.core.decision", "evaluator.core.application",
        "evaluator.core.kinds.base", "evaluator.core.kinds.checks", "evaluator.core.kinds.expenses",
        "evaluator.core.policy"}
"""Modules the wheel must hold compiled, at least (``hatch_build.COMPILED`` lists them all)."""

DECIDE_ALL = """
import sys
from pathlib import Path

sys.path.append(sys.argv[1] + "/bench")
from generate import applications

import evaluator.core.engine
from evaluator import InputError, Registry
from evaluator.testing.cases import collect

print("core" + Path(evaluator.core.engine.__file__).suffix, file=sys.stderr)  # which decides: .so compiled, .py source

registry = Registry.from_directory(Path(sys.argv[2]), drafts="allow")
cases, problems = collect([Path(path) for path in sys.argv[4:]])
assert not problems, problems
out = sys.stdout.buffer
for case in cases:
    try:
        out.write(registry.decide(case.application, case.policy_version, case.as_of).to_bytes() + b"\\n")
    except InputError as error:
        out.write(repr([problem.render() for problem in error.problems]).encode() + b"\\n")
for mapping in applications(int(sys.argv[3]), seed=12):
    out.write(registry.evaluate(mapping).to_bytes() + b"\\n")
"""


def _python(path: Path, *arguments: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Python run with ``evaluator`` read from ``path`` first (the unpacked wheel, or the source),
    the current directory not added to its path (``-P``); the suite's conftest then checks that the
    core it tests is the compiled one, when it is the wheel's."""
    compiled = "1" if path != ROOT else ""
    return subprocess.run([sys.executable, "-P", *arguments], capture_output=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(path), "PYTHONDONTWRITEBYTECODE": "1",
                               "GUICHET_EXPECT_COMPILED": compiled})


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip install .`` installs, built here (its build requirements from the index), and
    unpacked."""
    built = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(built), str(ROOT)],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "GUICHET_PURE_PYTHON": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    (archive,) = built.glob("guichet-*.whl")
    assert "-none-any" not in archive.name, f"pure-Python wheel: the core was not compiled\n{result.stderr[-3000:]}"
    unpacked = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(archive) as content:
        content.extractall(unpacked)
    return unpacked


def test_the_wheel_imports_the_compiled_core(wheel: Path) -> None:
    built = {".".join((*path.relative_to(wheel).parts[:-1], path.name.split(".")[0]))
             for path in (wheel / "evaluator").rglob("*.so") if not path.name.startswith("native__mypyc")}
    assert built >= CORE, CORE - built
    script = f"import importlib\nfor name in {sorted(built)!r}:\n    print(importlib.import_module(name).__file__)"
    result = _python(wheel, "-c", script, cwd=ROOT, timeout=120)  # as the suite is run below
    assert result.returncode == 0, result.stderr.decode()
    files = [Path(line) for line in result.stdout.decode().splitlines()]
    assert len(files) == len(built)
    assert all(path.suffix == ".so" and path.is_relative_to(wheel) for path in files), files


def test_the_compiled_core_decides_byte_for_byte_as_the_source(wheel: Path, tmp_path: Path) -> None:
    amendment = HERE / "amendment" / "amounts"
    directory = policy_directory(tmp_path, {"1.2.yaml": (amendment / "1.2.yaml").read_text(encoding="utf-8")})
    arguments = [str(ROOT), str(directory), "3000", str(HERE / "cases"), str(amendment / "cases.yaml")]
    outputs = []
    for path in (wheel, ROOT):
        result = _python(path, "-c", DECIDE_ALL, *arguments, cwd=tmp_path, timeout=600)
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        assert ("core.py" if path == ROOT else "core.so") in result.stderr.decode().split()
        outputs.append(result.stdout)
    compiled, source = outputs
    assert compiled.count(b"\n") > 3000 + 200 and compiled.count(b'"status":"eligible"') > 100
    assert compiled == source


def test_the_suite_holds_compiled(wheel: Path) -> None:
    """The whole suite, run with the wheel's ``evaluator`` first on the path (a test that runs
    ``cli.py`` in a subprocess runs the source), but for what does not test the core: ruff and mypy
    on the source, the browser, the benchmarks, the fuzzers and this file."""
    left_out = ["test_quality.py", "test_workbench_browser.py", "test_bench.py", "test_fuzz.py", "test_compiled.py"]
    result = _python(wheel, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "pythonpath=", "-o", "addopts=",
                     str(HERE), *(f"--ignore={HERE / name}" for name in left_out), cwd=ROOT, timeout=1200)
    output = result.stdout.decode()
    assert result.returncode == 0, output[-5000:]
    assert " passed" in output and " failed" not in output
