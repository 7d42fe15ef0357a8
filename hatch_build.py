"""The wheel's build step: the evaluation core compiled to C by mypyc.

The modules of ``COMPILED`` are the same Python source, compiled by mypyc (the compiler of mypy)
into extension modules that Python imports before the ``.py`` files shipped beside them. Nothing is
written twice: the source is the only statement of the semantics, and ``tests/test_compiled.py``
builds the wheel and checks that it decides byte for byte as the source does.

Only a regular wheel is compiled (``pip install .``); an editable install (``pip install -e .``)
runs the source as it is edited. ``GUICHET_PURE_PYTHON=1`` builds a pure-Python wheel; so does a
machine without a C compiler or Python's headers, with a warning (``pip install -v`` shows it). On a
machine that has them, a compilation that fails fails the build, with mypyc's output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

COMPILED = (
    "evaluator/core/kinds/*.py",
    "evaluator/core/engine.py",
    "evaluator/core/findings.py",
    "evaluator/core/french.py",
    "evaluator/core/decision.py",
    "evaluator/core/application.py",
    "evaluator/core/facts.py",
    "evaluator/core/policy.py",
    "evaluator/core/summary.py",
    "evaluator/reading/formats.py",
    "evaluator/reading/validation.py",
)
"""The modules compiled, as globs from the project's root. (mypyc makes a
``functools.cached_property`` a plain property, computed at every read: what the policy model and
the facts' table derive is set when they are built, and a decision keeps the parts it builds when
they are first read in a dict of its own.) What stays Python, and why: ``core/wording.py``, because mypyc
compiles no subclass of ``str`` (``Written``); the batch (``service/batch.py``), whose
``Interrupted`` is a ``KeyboardInterrupt``."""

EXTENSIONS = (".so", ".pyd")
"""What extension modules are called (Linux and macOS, Windows)."""

GROUP = "evaluator.core.native"
"""The name of the extension that holds the compiled code the modules share (inside the package,
so that the wheel installs no top-level module of its own)."""

_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup

options = ["--config-file", "mypyc.ini"]  # this build's options alone, never those of the machine's user
setup(name="guichet-core", script_args=["build_ext", "--inplace"],
      ext_modules=mypycify([*options, *sys.argv[2:]], group_name=sys.argv[1], opt_level="3"))
"""
_OPTIONS = "[mypy]\nignore_missing_imports = True\n"
"""mypy's options for the compilation: the runtime dependencies are not in the build's environment
(their types are then ``Any``); the source's own checks are ``mypy --strict``, in the suite."""


def compile_core(root: Path, into: Path) -> list[Path]:
    """Compile the modules of ``COMPILED`` found under ``root`` in a copy made in ``into``; return
    the extension modules built, relative to ``into``. Raises ``subprocess.CalledProcessError`` with
    the compiler's output when it fails."""
    stale = shutil.ignore_patterns("__pycache__", *(f"*{suffix}" for suffix in EXTENSIONS))
    shutil.copytree(root / "evaluator", into / "evaluator", ignore=stale)
    (into / "mypyc.ini").write_text(_OPTIONS, encoding="utf-8")
    sources = sorted(str(path.relative_to(into)) for pattern in COMPILED for path in into.glob(pattern)
                     if path.name != "__init__.py")  # a package compiled by mypyc outside the top level loses its path
    subprocess.run([sys.executable, "-c", _SETUP, GROUP, *sources], cwd=into, check=True, capture_output=True,
                   text=True)
    return sorted(path.relative_to(into) for path in (into / "evaluator").rglob("*")
                  if path.name.endswith(EXTENSIONS))



def compiler_missing() -> str | None:
    """What this machine lacks to compile the core: a C compiler or Python's headers; ``None``."""
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if sys.platform != "win32" and shutil.which(compiler) is None:
        return f"pas de compilateur C ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "pas d'en-têtes de Python (Python.h)"
    return None


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]  # hatchling: the build's, not the tests'
    """Adds the compiled core to a regular wheel."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version != "standard" or os.environ.get("GUICHET_PURE_PYTHON") == "1":
            return
        missing = compiler_missing()
        if missing is not None:
            self.app.display_warning(f"guichet : cœur non compilé ({missing}), roue en Python pur")
            return
        into = Path(tempfile.mkdtemp(prefix="guichet-mypyc-"))
        try:
            built = compile_core(Path(self.root), into)
        except subprocess.CalledProcessError as error:
            shutil.rmtree(into, ignore_errors=True)
            raise RuntimeError(f"guichet : la compilation du cœur par mypyc a échoué\n{error.stdout}\n{error.stderr}\n"
                               "(GUICHET_PURE_PYTHON=1 construit une roue en Python pur)") from None
        except BaseException:
            shutil.rmtree(into, ignore_errors=True)
            raise
        self._built = into
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        for path in built:
            build_data["force_include"][str(into / path)] = path.as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        built = getattr(self, "_built", None)
        if built is not None:
            shutil.rmtree(built, ignore_errors=True)
