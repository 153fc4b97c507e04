"""Summary numbers a run could not estimate: every consumer counts them and goes on.

A steady state that cannot be estimated is None in a run's summary (NaN in an experiment's
tables). Calibration rules out the points whose runs lack a target, sensitivity analysis
leaves them out, ensemble statistics leave them out of the numbers they describe, and the
report, figures and CLI say "not estimated" or "n/a" with the reason. All of it is
checked here on made-up summaries: nothing is simulated.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from survsim.experiments.calibration import Target, history_match, implausibility
from survsim.experiments.sensitivity import analyse, complete_groups, sample
from survsim.experiments.stats import metric_stats, paired_effects
from survsim.experiments.worker import flat_summary

STEADY = "national.prisoners_steady_state"
WHY = "too few admissions to estimate (7 in the last 365 days, 10 needed)"


# -- calibration ----------------------------------------------------------------------------


def _with_gaps(function, gone):
    """An exact evaluator whose metric ``y`` is missing (NaN) where ``gone(points)``."""

    def evaluate(points):
        y = np.where(gone(points), np.nan, function(points))
        return pd.DataFrame({"y": y}), pd.DataFrame({"y": np.zeros_like(y)})

    return evaluate


def test_a_missing_target_has_infinite_implausibility():
    target = Target("y", 10.0, 14.0)
    found = implausibility(np.array([12.0, np.nan]), np.array([0.0, np.nan]), 2, target)
    assert found[0] == 0 and found[1] == np.inf


def test_points_whose_runs_lack_the_target_are_ruled_out_and_counted():
    # y = 3x fits at x = 0.5, but the runs above x = 0.45 never estimate y: the fit is
    # not allowed to be found there.
    match = history_match(
        ["x"],
        [(0.0, 1.0)],
        [Target("y", 1.4, 1.6)],
        _with_gaps(lambda p: 3 * p[:, 0], lambda p: p[:, 0] > 0.45),
        runs=2,
        waves=2,
        points_per_wave=20,
        seed=1,
    )
    gone = match.points["x"] > 0.45
    assert gone.any() and not match.points.loc[gone, "plausible"].any()
    assert (match.points.loc[gone, "I:y"] == np.inf).all()
    # Without a count of runs, a missing mean is every run of the point missing.
    assert match.missing == {"y": 2 * int(gone.sum())}
    assert (match.points.loc[gone, "missing:y"] == 2).all()
    assert match.best["x"] <= 0.45


def test_one_run_in_two_missing_rules_the_point_out():
    def evaluate(points):
        y = 3 * points[:, 0]
        missing = (points[:, 0] > 0.5).astype(int)  # one of the two runs lacks y
        frame = lambda v: pd.DataFrame({"y": v})  # noqa: E731
        return frame(y), frame(np.zeros_like(y)), frame(missing)

    match = history_match(
        ["x"], [(0.0, 1.0)], [Target("y", 1.4, 1.6)], evaluate, runs=2, waves=1, seed=2
    )
    partial = match.points["x"] > 0.5
    assert not match.points.loc[partial, "plausible"].any()
    assert match.missing == {"y": int(partial.sum())}


@pytest.mark.parametrize("absent", [True, False])
def test_a_target_missing_everywhere_rules_out_every_point_without_crashing(absent):
    def evaluate(points):
        if absent:  # the summary has no such number at all
            return pd.DataFrame(index=range(len(points))), pd.DataFrame()
        nan = np.full(len(points), np.nan)
        return pd.DataFrame({"y": nan}), pd.DataFrame({"y": nan})

    match = history_match(
        ["x"], [(0.0, 1.0)], [Target("y", 1.0, 2.0)], evaluate, runs=3, waves=2, seed=0
    )
    assert match.plausible.empty and match.missing == {"y": 3 * len(match.points)}
    assert match.best["max_i"] == np.inf  # a best point exists, and is ruled out
    assert len(match.identification()) == 1


def test_the_calibration_counts_runs_per_point():
    from survsim.experiments.calibrate import _per_point

    summary = pd.DataFrame(
        {"point": [0, 0, 1, 1, 2], "run": range(5), "y": [1.0, np.nan, 3.0, 5.0, np.nan]}
    )
    means, variances, missing = _per_point(summary, ["y", "z"], points=4, runs=2)
    assert means["y"][0] == 1.0 and means["y"][1] == 4.0 and np.isnan(means["y"][2])
    assert variances["y"][1] == pytest.approx(2.0) and variances["y"][0] == 0.0
    # Point 2 has one row (missing) of its two runs, point 3 none; z is nowhere.
    assert missing["y"].tolist() == [1, 0, 2, 2]
    assert missing["z"].tolist() == [2, 2, 2, 2]


SMALL_CV = """
model: civil_violence
name: cv_small
steps: 2
seed: 0
params: {width: 20, height: 20, citizen_density: 0.5, cop_density: 0.04}
sources:
  citizen_density: "assumption: what the test moves"
  cop_density: "assumption"
"""


@pytest.mark.parametrize("screen", [False, True])
def test_calibrate_reports_the_runs_that_lacked_a_target(tmp_path, monkeypatch, screen):
    """The whole command on fake runs: density below 0.4 never yields the target."""
    import survsim.experiments.calibrate as calibrate_module

    def fake_runs(base, params, points, runs, out, options):
        rows = []
        for point, values in enumerate(points):
            for replicate in range(runs):
                density = values[0]
                value = np.nan if density < 0.4 else 400 * density + replicate
                rows.append({"point": point, "replicate": replicate, "citizens": value})
        return pd.DataFrame(rows)

    monkeypatch.setattr(calibrate_module, "_runs_of", fake_runs)
    monkeypatch.setattr(calibrate_module, "check_metric", lambda model, name: None)
    path = tmp_path / "cv_small.yaml"
    path.write_text(SMALL_CV)
    free = ["citizen_density=0.2:0.9"] + (["cop_density=0.01:0.1"] if screen else [])
    found = calibrate_module.calibrate(
        str(path),
        ["citizens=270:290"],
        free,
        fit=1,
        runs=2,
        waves=2,
        points=12,
        screen_size=3,
        out=tmp_path / "cal",
    )
    gone = int((found.match.points["citizen_density"] < 0.4).sum())
    assert gone and found.match.missing == {"citizens": 2 * gone}
    assert found.best["citizen_density"] == pytest.approx(0.7, abs=0.05)
    total = 2 * len(found.match.points)
    assert f"Target citizens missing in {2 * gone} of {total} runs" in found.report
    written = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    assert written["targets"][0]["name"] == "citizens"
    assert written["targets"][0]["missing"] == 2 * gone and written["runs"] == total
    assert (tmp_path / "cal" / "calibration.png").is_file()
    if screen:
        assert found.screening_missing["citizens"] > 0
        assert list(found.screening["parameter"]) == ["citizen_density", "cop_density"]
        assert written["targets"][0]["screening_missing"] == found.screening_missing["citizens"]
        assert "Screening: target citizens missing in" in found.report


# -- sensitivity analysis -------------------------------------------------------------------

NAMES = ["a", "b", "c"]
BOUNDS = [(0.0, 2.0), (0.0, 1.0), (0.0, 1.0)]


def _linear(points):
    return 10 * points[:, 0] + points[:, 1]


def test_morris_leaves_out_the_trajectories_with_a_missing_point():
    points = sample("morris", NAMES, BOUNDS, 20, seed=3)
    y = _linear(points)
    y[[5, 17, 18]] = np.nan  # in trajectories 1 and 4 (4 points each)
    keep = complete_groups("morris", 3, y)
    assert keep.sum() == 18 * 4 and not keep[4:8].any() and not keep[16:20].any()
    found = analyse("morris", NAMES, BOUNDS, points, y, seed=3)
    alone = analyse("morris", NAMES, BOUNDS, points[keep], y[keep], seed=3)
    pd.testing.assert_frame_equal(found, alone)
    assert list(found["mu_star"]) == pytest.approx([20.0, 1.0, 0.0], abs=1e-9)


def test_sobol_leaves_out_the_blocks_with_a_missing_point():
    points = sample("sobol", NAMES, [(-np.pi, np.pi)] * 3, 64, seed=1)
    y = np.sin(points[:, 0]) + 7 * np.sin(points[:, 1]) ** 2
    y[[0, 9, 300]] = np.nan  # blocks of 8: 0, 1 and 37
    keep = complete_groups("sobol", 3, y)
    assert keep.sum() == 61 * 8
    found = analyse("sobol", NAMES, [(-np.pi, np.pi)] * 3, points, y, seed=1)
    assert np.isfinite(found[["S1", "ST"]].to_numpy()).all()
    assert found["ST"].iloc[2] == pytest.approx(0.0, abs=0.05)  # c does nothing


def test_too_few_complete_groups_give_nan_indices_not_an_error():
    points = sample("morris", NAMES, BOUNDS, 4, seed=0)
    y = np.full(len(points), np.nan)
    y[:4] = 1.0  # one trajectory is complete: too few
    found = analyse("morris", NAMES, BOUNDS, points, y)
    assert list(found["parameter"]) == NAMES and found["mu_star"].isna().all()


def test_run_sensitivity_counts_the_missing_runs(tmp_path, monkeypatch):
    import survsim.experiments.analysis as analysis

    params = ["legitimacy=0.5:0.9", "cop_density=0.02:0.08"]
    design = analysis.prepare_sensitivity("epstein", "morris", params, 4, runs=2)

    def fake_experiment(design, **options):
        rows = []
        for point in range(len(design.points)):
            for replicate in range(2):
                # Point 1 never has the metric; point 6 has it in one run of two.
                lost = point == 1 or (point == 6 and replicate == 0)
                value = np.nan if lost else float(point)
                rows.append({"point": point, "replicate": replicate, "m": value})
        return SimpleNamespace(summary=pd.DataFrame(rows), path=tmp_path)

    monkeypatch.setattr(analysis, "run_experiment", fake_experiment)
    monkeypatch.setattr(analysis, "check_metric", lambda model, metric: None)
    found = analysis.run_sensitivity(design, params, "m", 4)
    assert found.missing == 3 and found.points_dropped == 3  # point 1's trajectory
    assert "missing=3" in repr(found)
    written = json.loads((tmp_path / "sensitivity.json").read_text())
    assert written["missing"] == 3 and written["points_dropped"] == 3
    assert (tmp_path / "sensitivity.png").is_file()


def test_a_metric_missing_from_every_run_gives_nan_indices_and_valid_json(tmp_path, monkeypatch):
    import survsim.experiments.analysis as analysis

    params = ["legitimacy=0.5:0.9", "cop_density=0.02:0.08"]
    design = analysis.prepare_sensitivity("epstein", "morris", params, 3)
    summary = pd.DataFrame({"point": range(len(design.points))})  # no such column at all
    monkeypatch.setattr(
        analysis, "run_experiment", lambda d, **o: SimpleNamespace(summary=summary, path=tmp_path)
    )
    monkeypatch.setattr(analysis, "check_metric", lambda model, metric: None)
    found = analysis.run_sensitivity(design, params, "m", 3)
    assert found.missing == design.n_runs and found.points_dropped == len(design.points)
    assert found.indices["mu_star"].isna().all()
    written = json.loads((tmp_path / "sensitivity.json").read_text())  # strict JSON: no NaN
    assert written["indices"][0]["mu_star"] is None


# -- ensembles --------------------------------------------------------------------------------


def test_a_none_in_a_summary_keeps_its_column_as_a_null_float(tmp_path):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from survsim.experiments.store import summary_table

    flat = flat_summary({"x": 1, "note": "text", "national": {STEADY.split(".")[1]: None}})
    assert flat == {"x": 1, STEADY: None}  # the column stays; the note (text) does not
    # Written as a null float64, so runs with and without it read as one table (the
    # run without it first: a dataset takes its schema from its first file).
    for run, value in ((0, None), (1, 96_000.5)):
        folder = tmp_path / f"run={run}"
        folder.mkdir()
        pq.write_table(summary_table({**flat, STEADY: value}), folder / "part-0.parquet")
    assert summary_table(flat).equals(summary_table(flat))  # nulls compare equal
    frame = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table().to_pandas()
    frame = frame.sort_values("run")
    assert np.isnan(frame[STEADY].iloc[0]) and frame[STEADY].iloc[1] == 96_000.5


def test_ensemble_statistics_leave_out_and_count_missing_runs():
    values = [100.0, np.nan, 300.0, np.nan, 200.0]
    summary = pd.DataFrame({"run": range(5), "seed": range(5), STEADY: values, "b": range(5)})
    stats = metric_stats(summary).set_index("metric")
    assert stats.loc[STEADY, "mean"] == pytest.approx(200.0)
    assert stats.loc[STEADY, "sd"] == pytest.approx(100.0)
    assert stats.loc[STEADY, "runs"] == 3 and stats.loc[STEADY, "missing"] == 2
    assert stats.loc["b", "runs"] == 5 and stats.loc["b", "missing"] == 0
    gone = metric_stats(summary.assign(**{STEADY: np.nan})).set_index("metric")
    assert gone.loc[STEADY, "runs"] == 0 and np.isnan(gone.loc[STEADY, "mean"])


def test_paired_effects_leave_out_pairs_with_a_missing_side():
    rows = []
    for replicate in range(6):
        for size in (5, 3):
            held = 10.0 + replicate + (2.0 if size == 3 else 0.0)
            lost = replicate == 1 and size == 3
            rows.append(
                {
                    "replicate": replicate,
                    "border.team_size": size,
                    "held": np.nan if lost else held,
                    "gone": np.nan,
                }
            )
    table = paired_effects(pd.DataFrame(rows), "border.team_size", 5, 3, ["held", "gone"])
    held, gone = table.iloc[0], table.iloc[1]
    assert held["pairs"] == 5 and held["missing"] == 1
    assert held["difference"] == pytest.approx(2.0) and held["ci_low"] == pytest.approx(2.0)
    assert gone["pairs"] == 0 and gone["missing"] == 6 and np.isnan(gone["difference"])


# -- reports, figures and the CLI ---------------------------------------------------------


FACTS = {
    "agents": 3000,
    "prisoners": 12,
    "prisoners_steady_state_simulated": None,
    "prisoners_steady_state_simulated_se": None,
    "prisoners_steady_state_note": WHY,
    "national": {
        "prisoners": 102_800.0,
        "prisoners_steady_state": None,
        "prisoners_steady_state_se": None,
        "prisoners_steady_state_note": WHY,
    },
}


def _series(days=30):
    rng = np.random.default_rng(0)
    return pa.table(
        {
            "day": np.arange(days + 1),
            "imprisoned": rng.integers(0, 20, days + 1),
            "detained": rng.integers(0, 5, days + 1),
        }
    )


def test_the_report_says_not_estimated_and_why(tmp_path):
    from survsim.report.html import write_report

    text = write_report(
        tmp_path / "report.html",
        title="t",
        description="d",
        summary=FACTS,
        figures={},
        sources={},
        parameters={"optional": None},
    ).read_text()
    assert f"<td>national.prisoners_steady_state</td><td class=n>not estimated: {WHY}" in text
    assert f"<td>prisoners_steady_state_simulated</td><td class=n>not estimated: {WHY}" in text
    assert "<td>national.prisoners_steady_state_se</td><td class=n>not estimated<" in text
    assert "<td>optional</td><td class=n>None</td>" in text  # parameters are not estimates
    assert "<td>national.prisoners</td><td class=n>102,800</td>" in text


def test_the_prisoners_figure_draws_no_line_and_gives_the_reason(tmp_path):
    from survsim.report.plots import FIGURES

    sim = SimpleNamespace(timeseries=_series, summary=lambda: dict(FACTS))
    draw = dict(FIGURES["surveillance_state"])["prisoners.png"]
    with_reason = draw(sim, tmp_path / "a.png", "missing")
    assert with_reason.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nan = SimpleNamespace(
        timeseries=_series, summary=lambda: {"prisoners_steady_state_simulated": float("nan")}
    )
    assert draw(nan, tmp_path / "b.png", "nan").is_file()


def test_the_cli_prints_n_a_with_the_note():
    from survsim.cli import _summary_sections
    from survsim.cli_output import shown

    sections = dict(_summary_sections(FACTS))
    run = dict(sections["run"])
    assert run["prisoners steady state simulated"] == f"n/a: {WHY}"
    assert run["prisoners steady state simulated se"] == "n/a"  # the note once
    assert "prisoners steady state note" not in run  # shown with its value
    national = dict(sections["national-scale estimates"])
    assert national["prisoners steady state"] == f"n/a: {WHY}"
    assert shown(None) == "n/a"


def test_the_cli_ensemble_table_says_how_many_runs_missed_an_output(capsys, tmp_path):
    from survsim.cli_experiments import _print_stats

    summary = pd.DataFrame(
        {"run": range(4), STEADY: [1e5, np.nan, 1.2e5, np.nan], "convictions_false": range(4)}
    )
    gone = pd.DataFrame({"run": range(4), STEADY: np.nan, "convictions_false": range(4)})
    for frame, expected in ((summary, "2 of 4"), (gone, "n/a")):
        result = SimpleNamespace(
            stats=metric_stats(frame),
            kind="ensemble",
            design=pd.DataFrame({"run": range(4)}),
            seconds=1.0,
            path=tmp_path,
        )
        _print_stats(result, "surveillance_state", [])
        out = capsys.readouterr().out
        assert "runs missing it" in out and expected in out


def test_sweep_and_calibration_figures_draw_with_missing_values(tmp_path):
    from survsim.report.experiments import plot_calibration, plot_sweep

    summary = pd.DataFrame(
        {
            "run": range(6),
            "point": [0, 0, 1, 1, 2, 2],
            "k": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            STEADY: [1.0, np.nan, 2.0, 3.0, np.nan, np.nan],
            "all_gone": np.nan,
        }
    )
    assert plot_sweep(summary, ["k"], [STEADY, "all_gone"], tmp_path / "s.png").is_file()
    match = history_match(
        ["x"],
        [(0.0, 1.0)],
        [Target("y", 1.4, 1.6)],
        _with_gaps(lambda p: 3 * p[:, 0], lambda p: p[:, 0] > 0.7),
        runs=1,
        waves=1,
        points_per_wave=10,
    )
    assert plot_calibration(match, tmp_path / "c.png").is_file()
