"""The examples run (small), as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_border_teams_example_runs_and_draws(tmp_path):
    out = tmp_path / "border.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "border_teams.py"), "--agents", "3000",
         "--steps", "40", "--seeds", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "teams of three from day 730" in result.stdout
