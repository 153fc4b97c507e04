"""Large experiments (issue 22, item 5): statistics by DuckDB, compaction, flat memory.

The runs of a real small ensemble and sweep are made in this process (as a worker makes
them) and written into an experiment folder; finishing it compacts the folder and
computes the statistics with DuckDB, which are held to the in-memory pandas functions
(the oracle). Crashes are real kills of a process at each step of the compaction. The
memory test measures peak RSS in fresh processes on synthetic runs in the store's layout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import survsim
from survsim.api import build_sim, summary
from survsim.errors import SurvsimError
from survsim.experiments import aggregate, prepare_ensemble, prepare_sweep, run_experiment
from survsim.experiments.design import Design, scenario_for
from survsim.experiments.run import _finish
from survsim.experiments.stats import daily_bands, metric_stats
from survsim.experiments.store import COMPACTED, RUN_TABLES, ExperimentStore
from survsim.experiments.worker import RunOutput, flat_summary
from survsim.report.experiments import open_speech_rates

SMALL_CV = ["width=20", "height=20"]
#: A number blanked in one run, so that its statistics leave that run out.
BLANKED = "reports"
#: Float tolerance between DuckDB and numpy/pandas (the sums run in another order).
RTOL = 1e-12
#: A scheduler address where none listens: a resume that needed runs would fail on it.
NO_SCHEDULER = "tcp://127.0.0.1:9"


def _write_runs(design: Design, root: Path, blank: tuple[int, str] | None = None) -> Path:
    """Make every run of ``design`` here, as a worker does, and write it into ``root``."""
    store = ExperimentStore.open(root, design, resume=False)
    for spec in design.runs():
        sim = build_sim(scenario_for(design.scenario, spec))
        sim.run()
        numbers = flat_summary(summary(sim))
        if blank is not None and spec.run == blank[0]:
            numbers[blank[1]] = None
        speech = sim.open_speech() if hasattr(sim, "open_speech") else None
        store.write(spec, RunOutput(sim.timeseries(), speech, numbers))
    return root


@pytest.fixture(scope="module")
def ensemble_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Design, Path]:
    """Four dprk runs in per-run files (not finished); run 1 lacks ``BLANKED``."""
    design = prepare_ensemble(
        "dprk", 4, overrides=["beliefs.spinup_days=0"], agents=2000, steps=30, seed=5
    )
    root = tmp_path_factory.mktemp("ensemble") / "runs"
    return design, _write_runs(design, root, blank=(1, BLANKED))


def _copy(runs: tuple[Design, Path], root: Path) -> ExperimentStore:
    """A copy of the runs' folder at ``root``, to finish or break."""
    design, source = runs
    shutil.copytree(source, root)
    return ExperimentStore(root, design)


def _tables(store: ExperimentStore) -> dict[str, pd.DataFrame]:
    return {name: store.read(name) for name in RUN_TABLES}


# -- the statistics: DuckDB against pandas ----------------------------------------------


def test_duckdb_statistics_equal_pandas_on_a_real_ensemble(ensemble_runs, tmp_path):
    store = _copy(ensemble_runs, tmp_path / "exp")
    before = _tables(store)
    result = _finish(store, 0.0, "in this process")
    # The oracle: the pandas functions over every run read into memory.
    stats = metric_stats(before["summary"])
    bands = daily_bands(before["timeseries"], step="day")
    rates = open_speech_rates(before["open_speech"])
    for got, want in ((result.stats, stats), (result.bands, bands)):
        pd.testing.assert_frame_equal(got, want, rtol=RTOL)
    pd.testing.assert_frame_equal(result.open_speech_bands, rates, rtol=RTOL, check_dtype=False)
    root = store.root
    pd.testing.assert_frame_equal(pd.read_parquet(root / "stats.parquet"), stats, rtol=RTOL)
    pd.testing.assert_frame_equal(pd.read_parquet(root / "bands.parquet"), bands, rtol=RTOL)
    assert len(rates) > 10 and (root / "open_speech_bands.png").is_file()
    # Missing numbers, as pandas treats them: one run without BLANKED, and numbers a
    # 30-day run cannot estimate in any run (the steady state).
    indexed = result.stats.set_index("metric")
    assert (indexed.loc[BLANKED, "runs"], indexed.loc[BLANKED, "missing"]) == (3, 1)
    gone = indexed[indexed["missing"] == 4]
    assert "national.prisoners_steady_state" in gone.index and gone["mean"].isna().all()
    assert ((indexed["runs"] == 4) & indexed["sd"].gt(0)).sum() > 10  # not all constant


def test_duckdb_statistics_equal_pandas_per_point_of_a_sweep(tmp_path):
    design = prepare_sweep(
        "epstein_outbursts",
        {"legitimacy": [0.8, 0.6], "max_jail_term": [5, 30]},
        runs=2,
        overrides=SMALL_CV,
        steps=6,
    )
    store = ExperimentStore(_write_runs(design, tmp_path / "sweep"), design)
    before = _tables(store)
    result = _finish(store, 0.0, "in this process")
    want = metric_stats(before["summary"], by=["legitimacy", "max_jail_term"])
    pd.testing.assert_frame_equal(result.stats, want, rtol=RTOL)  # rows in the same order
    assert len(want) == 4 * len(set(want["metric"])) and want["sd"].gt(0).any()
    assert result.bands.empty and (store.root / "sweep.png").is_file()
    pd.testing.assert_frame_equal(result.summary, before["summary"])


def test_the_duckdb_slices_give_the_same_numbers_as_one_query(ensemble_runs, tmp_path, monkeypatch):
    """The bound on the values a query holds splits the work; the numbers do not change."""
    store = _copy(ensemble_runs, tmp_path / "exp")
    whole = _finish(store, 0.0, "whole")
    # 64 values: 16 numbers of 4 runs a query; a column's 31 days in two slices of 16.
    monkeypatch.setattr(aggregate, "VALUES_PER_QUERY", 64)
    with aggregate.connect(tmp_path) as con:
        stats = aggregate.stats_of(con, store.compacted("summary"))
        bands = aggregate.bands_of(con, store.compacted("timeseries"))
        rates = aggregate.rates_of(con, store.compacted("open_speech"), 30)
    pd.testing.assert_frame_equal(stats, whole.stats, rtol=RTOL)
    pd.testing.assert_frame_equal(bands, whole.bands, rtol=RTOL)
    pd.testing.assert_frame_equal(rates, whole.open_speech_bands, rtol=RTOL)


def test_without_duckdb_the_statistics_say_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with (
        pytest.raises(SurvsimError, match=r"pip install 'survsim\[dask\]'"),
        aggregate.connect(tmp_path),
    ):
        pass


# -- compaction -------------------------------------------------------------------------


def test_a_finished_folder_is_one_file_per_table_read_alike_everywhere(
    ensemble_runs, tmp_path, monkeypatch
):
    store = _copy(ensemble_runs, tmp_path / "exp")
    before = _tables(store)
    reads = []
    monkeypatch.setattr(ExperimentStore, "read", _counting(ExperimentStore.read, reads))
    result = _finish(store, 0.0, "in this process")
    assert reads == []  # finishing read no run into memory
    root = store.root
    for name in RUN_TABLES:
        assert sorted(p.name for p in (root / name).iterdir()) == [COMPACTED], name
        # pyarrow, pandas and DuckDB read one table, with the run column, as before.
        frame = before[name]
        again = store.read(name)
        pd.testing.assert_frame_equal(again, frame)
        by_pandas = pd.read_parquet(root / name)
        assert list(by_pandas.columns) == list(frame.columns)
        pd.testing.assert_frame_equal(by_pandas.reset_index(drop=True), frame, check_like=True)
        query = f"SELECT * FROM read_parquet('{root}/{name}/*.parquet')"
        pd.testing.assert_frame_equal(duckdb.sql(query).df(), frame, check_dtype=False)
        assert reads.count(name) == 1  # the store read, not finishing
    assert store.done() == {0, 1, 2, 3}
    # The result reads its per-run tables when first asked for, then keeps them.
    assert repr(result).endswith(f"rows={len(before['timeseries'])}, path='{root}')")
    assert reads.count("timeseries") == 1  # repr read only the files' metadata
    pd.testing.assert_frame_equal(result.timeseries, before["timeseries"])
    pd.testing.assert_frame_equal(result.summary, before["summary"])
    result.timeseries  # noqa: B018 (read once)
    assert reads.count("timeseries") == 2 and reads.count("summary") == 2
    assert result.figures() == ["bands", "open_speech"]
    # A compacted folder loads back, and resuming it runs nothing: it needs no cluster
    # (the scheduler named here does not exist; asking it for a run would fail).
    (root / "manifest.json").unlink()
    again = run_experiment(store.design, root, resume=True, scheduler=NO_SCHEDULER)
    loaded = survsim.load_experiment(root)
    for name in ("timeseries", "summary", "stats", "bands", "open_speech_bands"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(again, name), obj=name)


def _counting(read: Any, log: list[str]) -> Any:
    def counted(self: ExperimentStore, name: str, columns: Any = None) -> pd.DataFrame:
        log.append(name)
        return read(self, name, columns)

    return counted


# A process that compacts the folder and is killed (SIGKILL) at one step of it.
_KILLED = """
import os, signal, sys, json
from pathlib import Path
from survsim.experiments import store as stores
from survsim.experiments.design import Design

root, step = Path(sys.argv[1]), sys.argv[2]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if step == "rename":  # the compacted file written under its temporary name, not renamed
    stores.os.replace = die
else:  # the compacted file in place, no per-run file removed yet
    stores.shutil.rmtree = die
design = Design.from_dict(json.loads((root / "experiment.json").read_text())["design"])
stores.ExperimentStore(root, design).compact()
"""


@pytest.mark.parametrize("step", ["rename", "remove"])
def test_a_compaction_killed_midway_loses_no_run_and_counts_none_twice(
    ensemble_runs, tmp_path, step
):
    store = _copy(ensemble_runs, tmp_path / "exp")
    before = _tables(store)
    clean = _finish(_copy(ensemble_runs, tmp_path / "clean"), 0.0, "a clean finish")
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED, str(store.root), step], capture_output=True, timeout=120
    )
    assert killed.returncode == -9, killed.stderr.decode()
    folder = store.root / "timeseries"
    leftovers = sorted(p.name for p in folder.iterdir())
    if step == "rename":
        assert store.compacted("timeseries") is None
        assert [n for n in leftovers if n.startswith(f".{COMPACTED}.")]  # the temporary file
    else:
        assert COMPACTED in leftovers and "run=0" in leftovers  # both forms at once
    # Every reader sees each run once.
    assert store.done() == {0, 1, 2, 3}
    for name, frame in before.items():
        pd.testing.assert_frame_equal(store.read(name), frame)
    pattern = "timeseries/*.parquet" if step == "remove" else "timeseries/*/*.parquet"
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{store.root}/{pattern}')").fetchall()
    assert rows == [(len(before["timeseries"]),)]
    # --resume finishes the compaction and the experiment (no run runs), to the clean result.
    done = run_experiment(store.design, store.root, resume=True, scheduler=NO_SCHEDULER)
    for name in RUN_TABLES:
        assert sorted(p.name for p in (store.root / name).iterdir()) == [COMPACTED], name
    for name in ("stats", "bands", "timeseries", "summary"):
        pd.testing.assert_frame_equal(getattr(done, name), getattr(clean, name), obj=name)


def test_an_unfinished_or_inconsistent_folder_is_not_compacted(ensemble_runs, tmp_path):
    store = _copy(ensemble_runs, tmp_path / "exp")
    shutil.rmtree(store.root / "summary" / "run=2")
    with pytest.raises(SurvsimError, match=r"1 runs have not finished \(run 2 first\)"):
        store.compact()
    assert store.compacted("timeseries") is None and store.parts("timeseries")
    # A per-run file beside a compacted file that lacks its run: refused, nothing removed.
    store = _copy(ensemble_runs, tmp_path / "other")
    store.compact()
    part = store.root / "summary" / "run=7" / "part-0.parquet"
    part.parent.mkdir()
    pq.write_table(pa.table({"x": [1.0]}), part)
    with pytest.raises(SurvsimError) as info:
        store.compact()
    assert "run 7 is in a per-run file but not in compacted.parquet" in str(info.value)
    assert "\n" not in str(info.value) and part.is_file()


# -- memory -----------------------------------------------------------------------------

DAYS, COLUMNS, METRICS, TEMPLATES = 365, 24, 40, 25
#: The bounds of survsim.experiments.aggregate and .store, scaled down to the test's runs
#: so that 50 runs already fill them (the defaults fill at a few hundred runs of a year).
SCALED = {"VALUES_PER_QUERY": 1 << 16, "GROUP_BYTES": 1 << 20, "GROUP_RUNS": 16}


def _synthetic(root: Path, runs: int) -> Path:
    """``runs`` runs of DAYS days in the store's layout, hard links to TEMPLATES of them.

    Memory depends on the sizes, not on the values; linking keeps writing 3,000 files
    cheap. (A linked run's point, replicate and seed columns are its template's; no
    statistic reads them.)
    """
    design = prepare_ensemble("dprk", runs, agents=1000, steps=DAYS, seed=1)
    store = ExperimentStore.open(root, design, resume=False)
    contexts = np.repeat(["home", "work", "market"], 10)
    for spec in design.runs()[:TEMPLATES]:
        rng = np.random.default_rng(spec.run)
        series = {"day": np.arange(DAYS + 1)} | {
            f"c{i}": rng.random(DAYS + 1) for i in range(COLUMNS)
        }
        speech = {
            "context": contexts,
            "group_size": np.tile(np.arange(1, 11), 3),
            "present": rng.integers(0, 100, 30),
            "open_speech_rate": rng.random(30),
        }
        numbers = {f"m{i}": float(v) for i, v in enumerate(rng.random(METRICS))}
        store.write(spec, RunOutput(pa.table(series), pa.table(speech), numbers))
    for spec in design.runs()[TEMPLATES:]:
        for name in RUN_TABLES:
            folder = root / name / f"run={spec.run}"
            folder.mkdir(parents=True)
            template = root / name / f"run={spec.run % TEMPLATES}" / "part-0.parquet"
            os.link(template, folder / "part-0.parquet")
    return root


# Peak RSS of the end of an experiment in a fresh process: the kernel's high-water mark,
# reset (/proc/self/clear_refs) once everything is imported and the folder is open.
_MEASURED = """
import json, sys
from pathlib import Path
import duckdb, matplotlib.figure, pandas
from survsim.experiments import aggregate, store as stores
from survsim.experiments.design import Design
from survsim.experiments.run import _finish
from survsim.experiments.stats import daily_bands, metric_stats
from survsim.report.experiments import open_speech_rates

mode, root, scaled = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
aggregate.VALUES_PER_QUERY = scaled["VALUES_PER_QUERY"]
stores.GROUP_BYTES, stores.GROUP_RUNS = scaled["GROUP_BYTES"], scaled["GROUP_RUNS"]

def kib(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])

design = Design.from_dict(json.loads((root / "experiment.json").read_text())["design"])
store = stores.ExperimentStore(root, design)
Path("/proc/self/clear_refs").write_text("5")
before = kib("VmRSS")
if mode == "duckdb":  # this survsim: compaction, statistics by DuckDB, figures
    _finish(store, 0.0, "measured")
else:  # the negative control: every run read into pandas, as survsim did before
    series, speech, numbers = (store.read(name) for name in stores.RUN_TABLES)
    metric_stats(numbers)
    daily_bands(series)
    open_speech_rates(speech)
print((kib("VmHWM") - before) / 1024)
"""


def _peak_mib(mode: str, root: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, mode, str(root), json.dumps(SCALED)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads /proc (Linux)")
def test_the_end_of_an_experiment_needs_memory_flat_in_the_number_of_runs(tmp_path):
    """50 runs against 1,000: this survsim's peak does not grow; reading every run into
    pandas (the negative control) grows by at least the time series itself.

    The 950 runs added hold DATA_MIB of float64 time series. The pandas path must hold
    them at least once, so it grows by at least that much. The DuckDB path holds, by
    construction, a bounded slice (SCALED) plus a few bytes per run (the run numbers and
    the design table): its growth must stay under a quarter of it, a margin far above
    the noise of the allocators (a few MiB between repeated measurements).
    """
    data_mib = (1000 - 50) * (DAYS + 1) * COLUMNS * 8 / 2**20  # 64 MiB
    small, large = _synthetic(tmp_path / "r50", 50), _synthetic(tmp_path / "r1000", 1000)
    # This survsim first: it compacts the folders, which the control then reads whole.
    duck = {n: _peak_mib("duckdb", root) for n, root in ((50, small), (1000, large))}
    assert _compacted(large)
    pandas = {n: _peak_mib("pandas", root) for n, root in ((50, small), (1000, large))}
    assert pandas[1000] - pandas[50] > data_mib, pandas  # the control grows with the runs
    assert abs(duck[1000] - duck[50]) < data_mib / 4, (duck, data_mib)
    assert duck[1000] < pandas[1000] - data_mib / 2, (duck, pandas)


def _compacted(root: Path) -> bool:
    return all(sorted(p.name for p in (root / n).iterdir()) == [COMPACTED] for n in RUN_TABLES)
