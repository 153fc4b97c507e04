"""The Dask worker plugin: workers that run another survsim are refused, the others warmed.

The tests warm the civil-violence model (its kernels compile in seconds) on a real
LocalCluster started by survsim's own :func:`~survsim.experiments.cluster.dask_client`.
"""

from __future__ import annotations

import importlib

import pytest

from survsim.cli import main
from survsim.errors import SurvsimError
from survsim.experiments import prepare_ensemble
from survsim.experiments.cluster import dask_client
from survsim.experiments.warm_plugin import WarmPlugin, check_worker, register, warmed
from survsim.experiments.worker import run_task

MODEL = "civil_violence"
#: The fingerprint of a client that runs another survsim.
OTHER = {"version": "9.9.9", "kernels": "f" * 64}
#: survsim.warm, the module.
WARM = importlib.import_module("survsim.warm")


def _plugins(client) -> list[str]:
    """The worker plugins the scheduler holds (and gives to workers that join later)."""
    return client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.worker_plugins))


def _expected_line(address: str) -> str:
    mine = WARM.fingerprint()
    return (
        f"worker {address} runs survsim {mine['version']} (kernels {mine['kernels'][:12]}), "
        "this client 9.9.9 (kernels ffffffffffff): install the same survsim on every worker"
    )


@pytest.fixture(scope="module")
def client():
    WARM.warm([MODEL])  # as run_experiment does: the worker loads the kernels from the cache
    with dask_client(workers=1) as client:
        yield client


def test_a_worker_with_another_survsim_is_refused_in_one_line(client):
    (address,) = client.scheduler_info()["workers"]
    with pytest.raises(SurvsimError) as refused:
        register(client, [MODEL], OTHER)
    assert str(refused.value) == _expected_line(address)
    # The refused plugin is gone: workers that join later do not get it, and this worker
    # runs the runs of a client with its own survsim.
    assert not [name for name in _plugins(client) if name.startswith("survsim-warm")]
    assert client.run(check_worker) == {address: None}


def test_a_matching_worker_is_warmed_once_however_often_it_is_registered(client):
    (address,) = client.scheduler_info()["workers"]
    answers = register(client, [MODEL])
    assert answers == {address: {"status": "OK"}}
    register(client, [MODEL])  # a second experiment on the same cluster
    assert client.run(warmed) == {address: {MODEL: 1}}
    assert client.run(check_worker) == {address: None}


def test_a_worker_refused_after_the_check_fails_every_run_with_the_line(client):
    """A worker that joins after registration gets the plugin from the scheduler, and its
    failed setup does not stop the registration that is over: its runs fail instead."""
    (address,) = client.scheduler_info()["workers"]
    plugin = WarmPlugin([MODEL], OTHER)
    with pytest.raises(SurvsimError):  # what the worker says, whoever registers it
        client.register_plugin(plugin)
    try:
        design = prepare_ensemble("epstein_run2", 1, steps=2)
        (spec,) = design.runs()
        future = client.submit(run_task, design.scenario, spec, 1, pure=False)
        with pytest.raises(SurvsimError, match="install the same survsim") as refused:
            future.result()
        assert str(refused.value) == _expected_line(address)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert client.run(check_worker) == {address: None}


def test_an_ensemble_on_workers_with_another_survsim_is_one_line_and_writes_nothing(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(WARM, "fingerprint", lambda: dict(OTHER))  # this process only
    out = tmp_path / "ens"
    argv = ["ensemble", "epstein_run2", "--runs", "2", "--steps", "5", "--workers", "1"]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("survsim: error: worker tcp://") and err.count("\n") == 1
    assert "this client 9.9.9 (kernels ffffffffffff): install the same survsim" in err
    assert not out.exists()


def test_an_ensemble_on_matching_workers_runs(tmp_path, capsys):
    out = tmp_path / "ens"
    argv = ["ensemble", "epstein_run2", "--runs", "2", "--steps", "5", "--workers", "1"]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    assert (out / "manifest.json").is_file()
