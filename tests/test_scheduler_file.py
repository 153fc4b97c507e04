"""``--scheduler-file``: an existing Dask cluster named by the file its scheduler wrote."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from survsim.cli import main

SMALL_CV = ["--set", "width=20", "--set", "height=20"]


def test_an_ensemble_runs_on_the_scheduler_its_file_names(tmp_path, capsys):
    """A scheduler that writes its file (as ``dask scheduler --scheduler-file`` does) and
    a worker process: the ensemble runs there, and says so."""
    from distributed import LocalCluster

    record = tmp_path / "scheduler.json"
    out = tmp_path / "ens"
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0", "scheduler_file": str(record)},
        silence_logs=50,
    ) as cluster:
        address = json.loads(record.read_text())["address"]
        assert address == cluster.scheduler_address
        argv = ["ensemble", "epstein_outbursts", "--runs", "2", "--steps", "4", *SMALL_CV]
        code = main([*argv, "--scheduler-file", str(record), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"2 runs of 4 steps on scheduler {address}; results in {out}" in err
    assert sorted(pd.read_parquet(out / "summary")["run"]) == [0, 1]


@pytest.mark.parametrize(
    ("command", "given", "expected"),
    [
        (["ensemble", "epstein"], "missing", "missing/scheduler.json: no such file"),
        (
            ["sweep", "epstein", "--param", "legitimacy=0.5,0.6"],
            "not json",
            'not a Dask scheduler file (a JSON object with an "address")',
        ),
        (
            ["sensitivity", "epstein", "--param", "legitimacy=0.5:0.6"],
            "no address",
            'not a Dask scheduler file (a JSON object with an "address")',
        ),
        (["calibrate", "epstein"], "a folder", "cannot be read (Is a directory)"),
        (
            ["ensemble", "epstein", "--scheduler", "tcp://127.0.0.1:9"],
            "both",
            "--scheduler and --scheduler-file: give one of them",
        ),
    ],
)
def test_a_bad_scheduler_file_is_one_line_exit_2_and_nothing_written(
    tmp_path, capsys, command, given, expected
):
    path = {
        "missing": tmp_path / "missing" / "scheduler.json",
        "not json": tmp_path / "scheduler.json",
        "no address": tmp_path / "scheduler.json",
        "a folder": tmp_path,
        "both": tmp_path / "scheduler.json",
    }[given]
    if given == "not json":
        path.write_text("tcp://127.0.0.1:8786\n")
    elif given in ("no address", "both"):
        path.write_text(json.dumps({"type": "Scheduler", "address": ""}))
    out = tmp_path / "out"
    code = main([*command, "--scheduler-file", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    if given != "both":
        assert f"--scheduler-file {path}: " in err  # the file is named
    assert not out.exists()
