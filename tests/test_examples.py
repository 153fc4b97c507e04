"""The examples run (small), as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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


def _run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_policy_questions_example_writes_its_table_and_figure(tmp_path):
    small = ["--agents", "3000", "--steps", "40", "--runs", "1", "--workers", "1"]
    result = _run_example("policy_questions.py", "cameras", *small, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "effects.md").read_text()
    assert "| no cameras | 100,000 cameras bought over four years |" in table
    assert "people wrongly convicted per year" in result.stdout
    effects = pd.read_csv(tmp_path / "effects.csv")
    assert (effects["pairs"] == 1).all()
    # The one paired difference is the change-arm value minus the baseline value.
    assert np.allclose(effects["difference"], effects["change"] - effects["baseline"])
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gdr_dprk_example_compares_both_scenarios(tmp_path):
    small = ["--agents", "3000", "--steps", "40", "--runs", "1", "--workers", "1"]
    result = _run_example("compare_gdr_dprk.py", *small, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert set(table["scenario"]) == {"dprk_calibrated", "gdr1989"}
    staff = table[table["outcome"].str.startswith("staff")].set_index("scenario")["mean"]
    # (91,015 Stasi + 5,000 border staff) / 16.4 million, per 100,000 people.
    assert staff["gdr1989"] == pytest.approx(96_015 / 164, rel=1e-6)
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
