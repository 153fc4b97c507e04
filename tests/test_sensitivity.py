"""Sensitivity analysis: SALib's Morris and Sobol against known indices, then on a model."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from survsim.cli import main
from survsim.errors import SurvsimError
from survsim.experiments.sensitivity import analyse, cost, sample

# Ishigami and Homma (1990), a = 7, b = 0.1 on [-pi, pi]^3: the analytic indices
# (Sobol' and Levitan 1999; Saltelli et al. 2008, section 4.6).
A, B = 7.0, 0.1
V = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
V1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
S1_TRUE = [V1 / V, V2 / V, 0.0]
ST_TRUE = [(V1 + V13) / V, V2 / V, V13 / V]
NAMES = ["x1", "x2", "x3"]


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_the_ishigami_indices_within_their_bootstrap_intervals():
    bounds = [(-np.pi, np.pi)] * 3
    points = sample("sobol", NAMES, bounds, 1024, seed=1)
    assert len(points) == cost("sobol", 1024, 3) == 1024 * (2 * 3 + 2)
    found = analyse("sobol", NAMES, bounds, points, ishigami(points), seed=1)
    assert pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4) == S1_TRUE  # the oracle itself
    for i in range(3):
        row = found.iloc[i]
        # Each estimate lies within 1.5x its own 95% bootstrap half-width of the truth.
        assert abs(row["S1"] - S1_TRUE[i]) <= 1.5 * row["S1_conf"], (NAMES[i], row.to_dict())
        assert abs(row["ST"] - ST_TRUE[i]) <= 1.5 * row["ST_conf"], (NAMES[i], row.to_dict())
    # And the conclusions: x3 acts only through its interaction with x1.
    assert found["S1"].iloc[2] < 0.05 < found["ST"].iloc[2]


def test_morris_gives_exact_effects_for_a_linear_model_and_flags_interactions():
    bounds = [(0.0, 2.0), (0.0, 1.0), (0.0, 1.0)]
    points = sample("morris", NAMES, bounds, 20, seed=3)
    assert len(points) == cost("morris", 20, 3) == 20 * (3 + 1)
    linear = analyse("morris", NAMES, bounds, points, 10 * points[:, 0] + points[:, 1], seed=3)
    # The elementary effect of a linear term is its coefficient times the range.
    assert list(linear["mu_star"]) == pytest.approx([20.0, 1.0, 0.0], abs=1e-9)
    assert list(linear["sigma"]) == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    product = analyse("morris", NAMES, bounds, points, points[:, 0] * points[:, 1], seed=3)
    assert product["sigma"].iloc[0] > 0 and product["sigma"].iloc[1] > 0
    assert product["mu_star"].iloc[2] == 0 and product["sigma"].iloc[2] == 0


@pytest.mark.parametrize(
    ("method", "size", "message"),
    [
        ("sobol", 100, "power of two"),
        ("morris", 1, "2 to 10,000 trajectories"),
        ("fast", 10, "allowed: morris, sobol"),
    ],
)
def test_bad_methods_and_sizes_are_one_line_errors(method, size, message):
    with pytest.raises(SurvsimError, match=message):
        cost(method, size, 2)


def test_morris_on_the_civil_violence_model(tmp_path):
    from survsim.experiments.analysis import sensitivity

    found = sensitivity(
        "epstein_outbursts",
        "morris",
        ["legitimacy=0.5:0.9", "cop_density=0.02:0.08"],
        "mean_active_share",
        size=4,
        steps=15,
        overrides=["width=20", "height=20"],
        workers=2,
        out=tmp_path / "sens",
    )
    assert found.runs == cost("morris", 4, 2) == 12
    indices = found.indices.set_index("parameter")
    # Epstein's model: more legitimacy, or more cops, means fewer active citizens.
    assert indices.loc["legitimacy", "mu"] < 0 and indices.loc["cop_density", "mu"] < 0
    for name in ("sensitivity.parquet", "sensitivity.csv", "sensitivity.json", "sensitivity.png"):
        assert (tmp_path / "sens" / name).is_file()


def test_cli_states_the_cost_first_and_checks_the_metric(tmp_path, capsys):
    out = tmp_path / "s"
    argv = [
        "sensitivity",
        "epstein",
        "--method",
        "sobol",
        "--size",
        "16",
        "--param",
        "legitimacy=0.5:0.9",
        "--param",
        "cop_density=0.02:0.08",
        "--metric",
        "mean_active_share",
        "--dry-run",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "sobol: N(2D + 2) = 16 x (2 x 2 + 2) = 96 points x 1 run = 96 runs" in err
    assert not out.exists()
    bad = [*argv[:-5], "--metric", "nonsense", "--out", str(out)]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "--metric nonsense: not a summary number" in err and err.count("\n") == 1
    assert main(["sensitivity", "epstein", "--param", "legitimacy=0.5:0.9:3"]) == 2
    assert "takes ranges key=lo:hi" in capsys.readouterr().err


def _sensitivity_argv(out) -> list[str]:
    # Runs of about 0.1 s, one at a time: a kill lands between runs, not after the last.
    return [
        sys.executable, "-m", "survsim", "sensitivity", "epstein_outbursts",
        "--method", "morris", "--param", "legitimacy=0.5:0.9",
        "--param", "cop_density=0.02:0.08", "--metric", "mean_active_share",
        "--size", "4", "--steps", "1000", "--set", "width=40", "--set", "height=40",
        "--workers", "1", "--no-progress", "--out", str(out),
    ]  # fmt: skip


@pytest.mark.slow
def test_a_morris_screen_killed_midway_resumes_to_identical_files(tmp_path):
    """SIGKILL after a seeded number of the 12 runs, then the same command with --resume:
    the indices are byte for byte those of an uninterrupted screen."""
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    done = subprocess.run(_sensitivity_argv(whole), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs = random.Random(20261203).randint(1, 10)
    process = subprocess.Popen(
        _sensitivity_argv(stopped),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((stopped / "summary").glob("run=*"))) >= runs:
                break
            time.sleep(0.02)
        assert process.poll() is None, f"the screen ended before {runs} runs were written"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert not (stopped / "sensitivity.json").exists()
    done = subprocess.run([*_sensitivity_argv(stopped), "--resume"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("sensitivity.parquet", "sensitivity.csv", "sensitivity.json", "stats.parquet"):
        assert (stopped / name).read_bytes() == (whole / name).read_bytes(), name
