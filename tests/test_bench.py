"""The benchmarks keep working: the toy rule written as a guichet policy gives, on every seeded
application, the grant the hand-written function gives (bench/run.py checks it before timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_toy_policy_agrees_with_the_hand_written_rule_and_is_timed():
    result = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", "toy,lines"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "toy rule, guichet (evaluate)" in result.stdout
    assert "hand-written" in result.stdout
    assert "batch line: a block (decide_block)" in result.stdout  # (and each step of a batch line)


def test_the_instruction_count_script_decides():
    """``bench/instructions.py`` (run under callgrind) decides the applications it is told to."""
    result = subprocess.run([sys.executable, "bench/instructions.py", "5"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
