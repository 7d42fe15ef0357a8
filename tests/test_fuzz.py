"""The fuzz targets of ``fuzz/`` run briefly (``GUICHET_FUZZ_SECONDS``, 10 s by default) on every test
run, seeded with the examples, the bad-input corpus and the bundled policy: no input may end in
anything but a decision or an ``InputError``. A longer run is a documented command (README,
« Robustesse »)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("GUICHET_FUZZ_SECONDS", "10"))
TARGETS = {
    "fuzz_application.py": ["examples", "tests/bad-inputs/applications", "tests/bad-inputs/batch"],
    "fuzz_policy.py": ["policies/guichet-cofinancement"],
}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris n'est pas installé (pas de roue pour cette plateforme) : pip install atheris",
)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_target_finds_no_crash(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    command = [sys.executable, str(ROOT / "fuzz" / target), f"-max_total_time={SECONDS}", "-timeout=10",
               "-rss_limit_mb=2048", f"-dict={ROOT / 'fuzz' / target.replace('fuzz_', '').replace('.py', '.dict')}",
               f"-artifact_prefix={tmp_path}/", str(corpus), *(str(ROOT / seeds) for seeds in TARGETS[target])]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS + 120)
    output = result.stderr
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert result.returncode == 0 and not crashes, f"{crashes}\n{output[-5000:]}"
    done = re.search(r"Done (\d+) runs in (\d+) second", output)
    assert done is not None and int(done[1]) > 0, output[-2000:]
