"""Ensembles and sweeps: designs, seeds, statistics, and runs on a real Dask LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from survsim.cli import main
from survsim.engine import OutputExistsError
from survsim.errors import ScenarioError, SurvsimError
from survsim.experiments import (
    ExperimentFailedError,
    prepare_ensemble,
    prepare_sweep,
    run_experiment,
)
from survsim.experiments.design import derive_seed
from survsim.experiments.stats import daily_bands, metric_stats, paired_effects
from survsim.experiments.worker import run_task

# A small civil-violence configuration with outbursts: runs differ from seed to seed.
SMALL_CV = ["width=20", "height=20"]
DATA = ("timeseries", "open_speech", "summary")


def _data_files(root: Path) -> dict[str, object]:
    """Every data file of an experiment folder, read as a table (timings excluded)."""
    files = {}
    for path in sorted(root.rglob("*.parquet")):
        files[str(path.relative_to(root))] = pq.read_table(path)
    return files


# -- designs ----------------------------------------------------------------------------


def test_seeds_depend_on_the_base_seed_and_the_index_only():
    seeds = [derive_seed(7, i) for i in range(10_000)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**63 for s in seeds)
    assert seeds[:5] == [derive_seed(7, i) for i in range(5)]  # a pure function
    assert derive_seed(8, 0) != seeds[0]
    design = prepare_ensemble("epstein_outbursts", 5, overrides=SMALL_CV, steps=3, seed=7)
    assert [r.seed for r in design.runs()] == seeds[:5]


def test_a_sweep_grid_crosses_the_values_and_shares_seeds_across_points():
    design = prepare_sweep(
        "epstein_outbursts",
        ["legitimacy=0.6:0.8:3", "max_jail_term=10,30"],
        runs=2,
        overrides=SMALL_CV,
        steps=3,
    )
    assert design.keys == ("legitimacy", "max_jail_term")
    assert design.n_runs == 3 * 2 * 2
    table = design.table().to_pandas()
    assert sorted(set(zip(table["legitimacy"], table["max_jail_term"], strict=True))) == [
        (pytest.approx(v), j) for v in (0.6, 0.7, 0.8) for j in (10, 30)
    ]
    assert table["max_jail_term"].dtype == np.int64  # an int parameter stays whole
    # Common random numbers: replicate r has the same seed at every point.
    assert table.groupby("replicate")["seed"].nunique().eq(1).all()
    assert table["seed"].nunique() == 2
    assert list(table["run"]) == list(range(12))


def test_a_latin_hypercube_puts_one_point_in_every_stratum():
    samples = 40
    design = prepare_sweep(
        "epstein_outbursts",
        ["legitimacy=0.5:0.9", "cop_density=0.02:0.06"],
        samples=samples,
        overrides=SMALL_CV,
        steps=3,
    )
    assert design.method == "lhs" and design.n_runs == samples
    points = np.array(design.points, dtype=float)
    for column, (low, high) in enumerate([(0.5, 0.9), (0.02, 0.06)]):
        strata = np.floor((points[:, column] - low) / (high - low) * samples).astype(int)
        assert sorted(strata) == list(range(samples))
    again = prepare_sweep(
        "epstein_outbursts",
        ["legitimacy=0.5:0.9", "cop_density=0.02:0.06"],
        samples=samples,
        overrides=SMALL_CV,
        steps=3,
    )
    assert again.points == design.points  # derived from the seed


@pytest.mark.parametrize(
    ("params", "samples", "message"),
    [
        (["legitimacy"], None, "expected key=lo:hi:n"),
        (["legitimacy=0.9:0.1:3"], None, "is above hi"),
        (["legitimacy=0.1:0.9:0"], None, "n = 0 is not allowed"),
        (["legitimacy=a:0.9:3"], None, "'a' is not a number"),
        (["legitimacy=0.1:nan:3"], None, "not a finite number"),
        (["legitimacy=0.1:0.9"], None, "a grid needs a count"),
        (["legitimacy=0.1:0.9:3"], 5, "a Latin hypercube takes ranges"),
        (["nonsense=1:2:2"], None, "nonsense"),
        (["max_jail_term=1:2:5"], None, "repeated whole numbers"),
        (["legitimacy=0.5:2.0:3"], None, "legitimacy"),
        (["legitimacy=0.5,0.5"], None, "repeat"),
        (["legitimacy=0.1:0.2:2", "legitimacy=0.3:0.4:2"], None, "given twice"),
        ([], None, "at least one --param"),
    ],
)
def test_bad_sweep_parameters_are_one_line_errors(params, samples, message):
    with pytest.raises(ScenarioError) as info:
        prepare_sweep("epstein_outbursts", params, samples=samples, steps=3)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_every_point_is_validated_before_anything_runs():
    # 1.5 is out of range for legitimacy (0 to 1): the third grid point fails validation.
    with pytest.raises(ScenarioError, match=r"legitimacy=1\.5"):
        prepare_sweep("epstein_outbursts", ["legitimacy=0.5:1.5:3"], steps=3)


# -- statistics -------------------------------------------------------------------------


def test_ensemble_statistics_match_numpy_across_runs():
    rng = np.random.default_rng(3)
    summary = pd.DataFrame(
        {"run": range(25), "seed": range(25), "a": rng.normal(size=25), "b": rng.poisson(5, 25)}
    )
    stats = metric_stats(summary).set_index("metric")
    for metric in ("a", "b"):
        values = summary[metric].to_numpy(dtype=float)
        row = stats.loc[metric]
        assert row["mean"] == pytest.approx(values.mean())
        assert row["sd"] == pytest.approx(values.std(ddof=1))
        assert row["p05"] == pytest.approx(np.quantile(values, 0.05))
        assert row["p95"] == pytest.approx(np.quantile(values, 0.95))
        assert row["runs"] == 25
    assert set(stats.index) == {"a", "b"}  # run and seed are not outputs
    days = pd.DataFrame(
        {"run": np.repeat(range(4), 3), "day": np.tile(range(3), 4), "x": np.arange(12.0) ** 2}
    )
    bands = daily_bands(days).set_index(["column", "day"])
    for day in range(3):
        values = days.loc[days["day"] == day, "x"].to_numpy()
        assert bands.loc[("x", day), "p95"] == pytest.approx(np.quantile(values, 0.95))
        assert bands.loc[("x", day), "mean"] == pytest.approx(values.mean())


# -- runs on Dask -----------------------------------------------------------------------


def test_paired_effects_remove_the_noise_the_arms_share():
    """A constant effect under shared seed noise: the paired interval is exactly it, while
    the arms alone vary widely; a second metric with no effect has an interval around 0."""
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 50, size=12)
    rows = []
    for value, shift in ((5, 0.0), (3, 2.0)):
        for r in range(12):
            other = rng.normal(0, 1)
            rows.append({"replicate": r, "border.team_size": value, "held": 100 + noise[r] + shift,
                         "other": other})  # fmt: skip
    table = paired_effects(pd.DataFrame(rows), "border.team_size", 5, 3, ["held", "other"])
    held = table.set_index("metric").loc["held"]
    assert held["difference"] == pytest.approx(2.0)
    assert held["ci_low"] == pytest.approx(2.0) and held["ci_high"] == pytest.approx(2.0)
    assert held["relative"] == pytest.approx(2.0 / held["baseline"])
    other = table.set_index("metric").loc["other"]
    assert other["ci_low"] < 0 < other["ci_high"]  # 12 N(0, 2) differences: 0 is covered
    assert other["runs_p05"] < other["ci_low"] and other["ci_high"] < other["runs_p95"]
    assert (table["pairs"] == 12).all()
    with pytest.raises(ValueError, match=r"no run has border\.team_size = 4"):
        paired_effects(pd.DataFrame(rows), "border.team_size", 5, 4, ["held"])
    missing = pd.DataFrame(rows).drop(index=0)
    with pytest.raises(ValueError, match="same replicates"):
        paired_effects(missing, "border.team_size", 5, 3, ["held"])


def test_an_ensemble_gives_identical_data_with_one_and_two_workers(tmp_path):
    design = prepare_ensemble("dprk", 4, agents=4000, steps=40, seed=11)
    one = run_experiment(design, tmp_path / "one", workers=1)
    two = run_experiment(design, tmp_path / "two", workers=2)
    a, b = _data_files(tmp_path / "one"), _data_files(tmp_path / "two")
    assert a.keys() == b.keys()
    # Each table compacted into one file (its per-run files gone), holding every run.
    assert {f"{name}/compacted.parquet" for name in DATA} <= a.keys()
    assert not [name for name in a if "run=" in name]
    for name in DATA:
        runs = a[f"{name}/compacted.parquet"].column("run").to_pylist()
        assert sorted(set(runs)) == [0, 1, 2, 3] and runs == sorted(runs), name
    for name in a:
        assert a[name].equals(b[name]), name
    # Not vacuous: the runs differ from one another, and something happened in them.
    summary = one.summary
    assert summary["reports"].nunique() > 1 and (summary["reports"] > 0).all()
    assert len(one.timeseries) == 4 * 41
    pd.testing.assert_frame_equal(one.stats, two.stats)
    # Each run is the single run with its derived seed.
    from survsim.api import run_scenario
    from survsim.scenario import load_scenario

    seed = derive_seed(11, 2)
    alone = run_scenario(load_scenario("dprk", ["agents=4000"], steps=40, seed=seed))
    mine = one.timeseries[one.timeseries["run"] == 2].drop(
        columns=["run", "point", "replicate", "seed"]
    )
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True), alone.timeseries().to_pandas(), check_dtype=True
    )
    # The figures and aggregates are there.
    for name in ("bands.png", "open_speech_bands.png", "stats.parquet", "bands.parquet"):
        assert (tmp_path / "one" / name).is_file()


def test_a_sweep_dataset_reads_with_pandas_and_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="the test extra installs duckdb")
    design = prepare_sweep(
        "dprk",
        ["speech.delta=0.2:0.8:2", "border.team_size=3,5"],
        runs=2,
        agents=3000,
        steps=20,
    )
    result = run_experiment(design, tmp_path / "sweep", workers=2)
    root = tmp_path / "sweep"
    frame = pd.read_parquet(root / "timeseries")
    assert len(frame) == design.n_runs * 21
    for column in ("run", "point", "replicate", "seed", "speech.delta", "border.team_size"):
        assert column in frame.columns
    query = f"""
        SELECT run, "speech.delta" AS delta, "border.team_size" AS team, count(*) AS days
        FROM read_parquet('{root}/timeseries/*.parquet')
        GROUP BY ALL ORDER BY run
    """
    rows = duckdb.sql(query).fetchall()
    expected = design.table().to_pandas()
    assert [r[0] for r in rows] == list(expected["run"])
    assert [r[1] for r in rows] == pytest.approx(list(expected["speech.delta"]))
    assert [r[2] for r in rows] == list(expected["border.team_size"])
    assert {r[3] for r in rows} == {21}
    # The API's tidy frame holds the same rows, typed.
    ts = result.timeseries
    assert ts["run"].dtype == np.int32 and ts["border.team_size"].dtype == np.int64
    assert len(ts) == len(frame)
    # Per point statistics: one row per point and metric.
    points = result.stats.groupby(["speech.delta", "border.team_size"]).size()
    assert len(points) == 4 and points.nunique() == 1
    assert (root / "sweep.png").is_file()


# Runners that fail on purpose. Workers unpickle them by value (see the fixture below),
# and count their tries in files, because each try may run in another process.


def _count_try(folder: str, run: int) -> int:
    marker = Path(folder)
    marker.mkdir(exist_ok=True)
    tries = len(list(marker.glob(f"run{run}-*"))) + 1
    (marker / f"run{run}-{tries}").touch()
    return tries


def _always_fails_on_run_1(folder):
    def runner(scenario, spec, threads):
        if spec.run == 1:
            _count_try(folder, spec.run)
            raise RuntimeError("this run always fails")
        return run_task(scenario, spec, threads)

    return runner


def _counts_its_runs(folder):
    def runner(scenario, spec, threads):
        _count_try(folder, spec.run)
        return run_task(scenario, spec, threads)

    return runner


def _fails_once_on_every_run(folder):
    def runner(scenario, spec, threads):
        if _count_try(folder, spec.run) == 1:
            raise RuntimeError("a passing fault")
        return run_task(scenario, spec, threads)

    return runner


@pytest.fixture
def by_value():
    import cloudpickle

    import tests.test_experiments as module

    cloudpickle.register_pickle_by_value(module)
    yield
    cloudpickle.unregister_pickle_by_value(module)


def test_a_failing_run_is_retried_then_reported_and_resume_finishes(tmp_path, by_value):
    design = prepare_ensemble("epstein_outbursts", 3, overrides=SMALL_CV, steps=10)
    out = tmp_path / "ens"
    runner = _always_fails_on_run_1(str(tmp_path / "tries"))
    with pytest.raises(ExperimentFailedError) as info:
        run_experiment(design, out, workers=2, retries=2, runner=runner)
    error = info.value
    assert [f.run for f in error.failures] == [1] and error.failures[0].tries == 3
    assert "this run always fails" in str(error) and "\n" not in str(error)
    assert len(list((tmp_path / "tries").glob("run1-*"))) == 3  # tried three times
    recorded = json.loads((out / "failures.json").read_text())["failed_runs"]
    assert [(f["run"], f["tries"]) for f in recorded] == [(1, 3)]
    # The other runs are kept; no aggregate is written from an incomplete experiment.
    kept = sorted(p.parent.name for p in (out / "summary").glob("run=*/part-0.parquet"))
    assert kept == ["run=0", "run=2"]
    assert not (out / "stats.parquet").exists()
    # Resume with the real runner: only run 1 runs, and the result equals a clean run.
    resumed = _counts_its_runs(str(tmp_path / "resumed"))
    done = run_experiment(design, out, workers=2, resume=True, runner=resumed)
    assert sorted(p.name for p in (tmp_path / "resumed").iterdir()) == ["run1-1"]
    assert not (out / "failures.json").exists()
    clean = run_experiment(design, tmp_path / "clean", workers=1)
    a, b = _data_files(out), _data_files(tmp_path / "clean")
    for name in b:
        assert a[name].equals(b[name]), name
    pd.testing.assert_frame_equal(done.summary, clean.summary)


def test_a_passing_fault_costs_a_retry_not_a_run(tmp_path, by_value):
    design = prepare_ensemble("epstein_outbursts", 2, overrides=SMALL_CV, steps=5)
    runner = _fails_once_on_every_run(str(tmp_path / "tries"))
    result = run_experiment(design, tmp_path / "ens", workers=2, retries=1, runner=runner)
    assert len(result.summary) == 2
    assert sorted(p.name for p in (tmp_path / "tries").iterdir()) == [
        "run0-1",
        "run0-2",
        "run1-1",
        "run1-2",
    ]


def test_an_existing_scheduler_gives_the_same_data(tmp_path):
    from distributed import LocalCluster

    design = prepare_ensemble("epstein_outbursts", 2, overrides=SMALL_CV, steps=8)
    local = run_experiment(design, tmp_path / "local", workers=1)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=50,
    ) as cluster:
        remote = run_experiment(design, tmp_path / "remote", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local.timeseries, remote.timeseries)
    assert local.timeseries["seed"].nunique() == 2


def test_experiment_folders_are_never_overwritten_or_mixed_up(tmp_path):
    design = prepare_ensemble("epstein_outbursts", 2, overrides=SMALL_CV, steps=4)
    run_experiment(design, tmp_path / "ens", workers=1)
    with pytest.raises(OutputExistsError, match="add --resume"):
        run_experiment(design, tmp_path / "ens", workers=1)
    other = prepare_ensemble("epstein_outbursts", 3, overrides=SMALL_CV, steps=4)
    with pytest.raises(SurvsimError, match=r"holds a different experiment .*replicates"):
        run_experiment(other, tmp_path / "ens", workers=1, resume=True)
    with pytest.raises(SurvsimError, match="holds no experiment"):
        run_experiment(design, tmp_path / "empty", workers=1, resume=True)
    with pytest.raises(SurvsimError, match="--workers 0"):
        run_experiment(design, tmp_path / "w0", workers=0)
    assert not (tmp_path / "w0").exists()
    # Resuming a finished experiment runs nothing and returns its tables.
    again = run_experiment(design, tmp_path / "ens", resume=True)
    assert len(again.summary) == 2


# -- the command line -------------------------------------------------------------------


def test_cli_ensemble_and_sweep_write_their_folders(tmp_path, capsys):
    out = tmp_path / "ens"
    argv = [
        "ensemble",
        "epstein_outbursts",
        "--runs",
        "3",
        "--steps",
        "6",
        "--workers",
        "2",
        "--set",
        "width=20",
        "--set",
        "height=20",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "mean_active_share" in printed and "90% interval" in printed and str(out) in printed
    assert pd.read_parquet(out / "summary")["mean_active_share"].notna().all()
    # The same command again refuses to overwrite; with --resume it has nothing to do.
    assert main(argv) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    sweep_out = tmp_path / "sweep"
    assert (
        main(
            [
                "sweep",
                "epstein_outbursts",
                "--param",
                "legitimacy=0.6,0.8",
                "--runs",
                "2",
                "--steps",
                "5",
                "--set",
                "width=20",
                "--set",
                "height=20",
                "--workers",
                "2",
                "--out",
                str(sweep_out),
            ]
        )
        == 0
    )
    assert len(pd.read_parquet(sweep_out / "summary")) == 4


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sweep", "epstein", "--param", "legitimacy=x"], "--param"),
        (["sweep", "epstein"], "at least one --param"),
        (["ensemble", "epstein", "--runs", "0"], "--runs 0"),
        (["ensemble", "epstein", "--workers", "0"], "--workers 0"),
        (["ensemble", "epstein", "--resume"], "--resume needs --out"),
        (["ensemble", "epstein", "--retries", "-1"], "--retries -1"),
        (
            ["ensemble", "epstein", "--scheduler", "tcp://127.0.0.1:9", "--workers", "2"],
            "--workers: applies to the LocalCluster",
        ),
        (["ensemble", "epstein", "--scheduler", "tcp://127.0.0.1:9"], "cannot connect"),
        (["ensemble", "epstein", "--set", "nonsense=1"], "nonsense"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, argv, expected):
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out)] if "--resume" not in argv else argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_an_ensemble_that_would_not_fit_is_refused_before_it_starts(tmp_path, capsys, monkeypatch):
    from survsim.engine import memory

    # One 1-million-person run needs about 0.44 GB: one fits in 0.8 GB, two at once do not.
    monkeypatch.setattr(memory, "available_bytes", lambda: 800_000_000)
    out = tmp_path / "big"
    argv = ["ensemble", "dprk", "--runs", "4", "--agents", "1000000", "--steps", "10"]
    assert main([*argv, "--workers", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2 runs at once of scenario 'dprk' needs about 0.9 GB, 0.8 GB available" in err, err
    assert err.count("\n") == 1 and not out.exists()
    # A sweep counts its largest point.
    design = prepare_sweep("dprk", ["agents=1000,1000000"], steps=10)
    with pytest.raises(SurvsimError, match=r"needs about 0\.9 GB"):
        run_experiment(design, tmp_path / "sweep", workers=2)


def test_without_dask_the_commands_say_how_to_install_it(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    out = tmp_path / "ens"
    assert main(["ensemble", "epstein", "--runs", "2", "--steps", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'survsim[dask]'" in err and err.count("\n") == 1
    assert not out.exists()


def test_the_python_api_returns_tidy_frames_and_keeps_nothing_without_out(tmp_path):
    import survsim

    result = survsim.ensemble("epstein_outbursts", runs=2, steps=5, overrides=SMALL_CV, workers=1)
    assert result.kind == "ensemble" and result.path is None
    assert repr(result) == "ExperimentResult(kind='ensemble', runs=2, rows=12)"
    assert len(result.timeseries) == 2 * 6 and list(result.timeseries.columns[:5]) == [
        "run",
        "point",
        "replicate",
        "seed",
        "step",
    ]
    assert set(result.bands["column"]) == {"active", "quiet", "jailed"}
    assert (result.stats["runs"] == 2).all()
    grid = survsim.sweep(
        "epstein_outbursts", {"legitimacy": [0.6, 0.8]}, steps=5, overrides=SMALL_CV, workers=2
    )
    assert grid.timeseries.groupby("legitimacy")["run"].nunique().to_dict() == {0.6: 1, 0.8: 1}
    assert grid.bands.empty and set(grid.stats["legitimacy"]) == {0.6, 0.8}
