"""Calibration: history matching recovers known answers and names what it cannot identify."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from survsim.errors import SurvsimError
from survsim.experiments.calibration import Target, history_match, implausibility, parse_target


def _exact(function):
    """An evaluator of a deterministic function of the points (no run-to-run variance)."""

    def evaluate(points):
        y = function(points)
        return pd.DataFrame({"y": y}), pd.DataFrame({"y": np.zeros_like(y)})

    return evaluate


def test_implausibility_is_the_distance_in_standard_deviations():
    target = Target("y", 10.0, 14.0)  # centre 12, sd 1
    assert implausibility(np.array([14.0]), np.array([0.0]), 1, target) == pytest.approx([2.0])
    # Run-to-run variance widens the allowance: var 6 over 2 runs adds 3 to sd^2 = 1.
    assert implausibility(np.array([16.0]), np.array([6.0]), 2, target) == pytest.approx([2.0])


def test_history_matching_recovers_the_known_answer_of_a_small_problem():
    # y = 3x, observed y in [1.4, 1.6]: x = 0.5 (within +-3 sd of y, x in [0.45, 0.55]).
    match = history_match(
        ["x"],
        [(0.0, 1.0)],
        [Target("y", 1.4, 1.6)],
        _exact(lambda p: 3 * p[:, 0]),
        runs=1,
        waves=3,
        points_per_wave=30,
        seed=1,
    )
    assert match.best["x"] == pytest.approx(0.5, abs=0.02)
    ident = match.identification().iloc[0]
    assert ident["identified"] and 0.44 <= ident["plausible_low"] <= ident["plausible_high"] <= 0.56
    assert not match.ridges()


def test_one_target_against_two_parameters_is_reported_as_a_ridge():
    match = history_match(
        ["a", "b"],
        [(0.0, 1.0), (0.0, 1.0)],
        [Target("y", 0.95, 1.05)],
        _exact(lambda p: p[:, 0] + p[:, 1]),
        runs=1,
        waves=3,
        points_per_wave=40,
        seed=1,
    )
    ident = match.identification().set_index("parameter")
    assert not ident["identified"].any()  # each alone spans most of its range
    ((a, b, r),) = match.ridges()
    assert (a, b) == ("a", "b") and r < -0.9  # a + b = 1: a falling line
    # Every point kept does lie near the ridge a + b = 1.
    kept = match.plausible
    assert np.all(np.abs(kept["a"] + kept["b"] - 1.0) <= 3 * 0.025 + 1e-9)


@pytest.mark.parametrize("text", ["y", "y=1", "y=a:b", "y=2:1", "=1:2", "y=1:inf"])
def test_bad_targets_are_one_line_errors(text):
    with pytest.raises(SurvsimError, match="--target") as info:
        parse_target(text)
    assert "\n" not in str(info.value)


SMALL_CV = """
model: civil_violence
name: cv_small
steps: 2
seed: 0
params: {width: 20, height: 20, citizen_density: 0.5, cop_density: 0.04}
sources:
  citizen_density: "assumption: the unknown this test recovers"
"""


def test_calibrating_a_model_run_recovers_a_known_density(tmp_path):
    from survsim.experiments.calibrate import calibrate

    path = tmp_path / "cv_small.yaml"
    path.write_text(SMALL_CV)
    # The truth: density 0.7 on 400 cells, so about 280 citizens; the target 270 to 290.
    found = calibrate(
        str(path),
        ["citizens=270:290"],
        ["citizen_density=0.3:0.9"],
        runs=2,
        waves=2,
        points=12,
        seed=9,
        workers=2,
        out=tmp_path / "cal",
    )
    assert found.best["citizen_density"] == pytest.approx(0.7, abs=0.03)
    ident = found.match.identification().iloc[0]
    assert ident["plausible_low"] <= 0.7 <= ident["plausible_high"] and ident["identified"]
    assert ident["share_of_prior"] < 0.25
    written = yaml.safe_load((tmp_path / "cal" / "cv_small_calibrated.yaml").read_text())
    # Four significant digits of the best value, and only what the base file set.
    assert written["params"]["citizen_density"] == float(f"{found.best['citizen_density']:.4g}")
    assert set(written["params"]) == set(yaml.safe_load(path.read_text())["params"])
    assert written["sources"]["citizen_density"].startswith("calibrated (assumption)")
    from survsim.scenario import load_scenario

    assert load_scenario(str(tmp_path / "cal" / "cv_small_calibrated.yaml")).model
    report = (tmp_path / "cal" / "calibration.md").read_text()
    assert "citizens" in report and "identified" in report
    for name in ("calibration.parquet", "identification.csv", "calibration.png", "wave-1"):
        assert (tmp_path / "cal" / name).exists()


def test_a_sourced_figure_is_never_calibrated():
    from survsim.experiments.calibrate import calibrate

    with pytest.raises(SurvsimError, match="--free cop_density: the scenario gives it a source"):
        calibrate("epstein_outbursts", ["mean_active_share=0.1:0.2"], ["cop_density=0.02:0.08"])


def test_cli_calibrate_screens_then_fits_and_refuses_bad_input(tmp_path, capsys):
    from survsim.cli import main

    path = tmp_path / "cv_small.yaml"
    path.write_text(
        SMALL_CV.replace(
            '  citizen_density: "', '  cop_density: "assumption"\n  citizen_density: "'
        )
    )
    out = tmp_path / "cal"
    argv = [
        "calibrate",
        str(path),
        "--target",
        "citizens=270:290",
        "--free",
        "citizen_density=0.3:0.9",
        "--free",
        "cop_density=0.01:0.1",
        "--fit",
        "1",
        "--screen-size",
        "3",
        "--waves",
        "1",
        "--points",
        "10",
        "--runs",
        "1",
        "--workers",
        "2",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    # Screening ranks citizen_density first (cops do not change the number of citizens),
    # so it is the one fitted.
    assert "## Screening (Morris)" in printed and "Best point: citizen_density" in printed
    assert (out / "screening" / "stats.parquet").is_file()
    assert main([*argv[:-1], str(tmp_path / "x"), "--target", "citizens"]) == 2
    err = capsys.readouterr().err
    assert "--target 'citizens': expected name=lo:hi" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


# -- resume -------------------------------------------------------------------------------

RESULT_FILES = (
    "calibration.json",
    "calibration.parquet",
    "identification.csv",
    "calibration.md",
    "cv_small_calibrated.yaml",
)


def _calibrate_argv(path, out) -> list[str]:
    return [
        sys.executable, "-m", "survsim", "calibrate", str(path),
        "--target", "citizens=270:290",
        "--free", "citizen_density=0.3:0.9", "--free", "cop_density=0.01:0.1",
        "--fit", "1", "--screen-size", "3", "--waves", "2", "--points", "8",
        "--runs", "1", "--workers", "2", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def _killed_when(argv, out, stage: str, runs: int) -> None:
    """Start ``argv`` and SIGKILL its process group once ``stage`` holds ``runs`` runs."""
    process = subprocess.Popen(
        argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((out / stage / "summary").glob("run=*"))) >= runs:
                break
            time.sleep(0.02)
        assert process.poll() is None, f"the calibration ended before {stage} had {runs} runs"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_a_calibration_killed_in_its_screening_and_its_second_wave_resumes_identically(
    tmp_path,
):
    """SIGKILL at seeded moments (in the Morris screening, then in wave 1), --resume each time."""
    path = tmp_path / "cv_small.yaml"
    path.write_text(
        SMALL_CV.replace(
            '  citizen_density: "', '  cop_density: "assumption"\n  citizen_density: "'
        )
    )
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    done = subprocess.run(_calibrate_argv(path, whole), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rng = random.Random(20261202)
    # The screening has 3 x (2 + 1) = 9 runs, a wave 8: kill after a seeded number of each.
    _killed_when(_calibrate_argv(path, stopped), stopped, "screening", rng.randint(1, 8))
    assert not (stopped / "calibration.json").exists()
    resumed = [*_calibrate_argv(path, stopped), "--resume"]
    _killed_when(resumed, stopped, "wave-1", rng.randint(1, 7))
    done = subprocess.run(resumed, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in RESULT_FILES:
        assert (stopped / name).read_bytes() == (whole / name).read_bytes(), name


def test_resume_refuses_another_calibration_or_a_folder_without_one(tmp_path, capsys):
    from survsim.cli import main

    path = tmp_path / "cv_small.yaml"
    path.write_text(SMALL_CV)
    out = tmp_path / "cal"
    out.mkdir()
    (out / "calibrate.json").write_text(
        '{"calibration": {"scenario": {}, "targets": ["citizens=1:2"]}}'
    )
    argv = ["calibrate", str(path), "--target", "citizens=270:290",
            "--free", "citizen_density=0.3:0.9", "--out", str(out), "--resume"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--resume: " in err and "holds a different calibration (" in err
    assert err.count("\n") == 1
    assert main([*argv[:-3], "--out", str(tmp_path / "empty"), "--resume"]) == 2
    assert "holds no calibration (no calibrate.json)" in capsys.readouterr().err
    assert main([*argv[:-3], "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err
