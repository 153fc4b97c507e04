"""Experiments: ensembles and sweeps of many runs, executed on Dask.

docs/experiments.md is the guide. In short::

    import survsim

    result = survsim.ensemble("epstein_outbursts", runs=4, steps=20, workers=2)
    result.stats.set_index("metric").loc["mean_active_share", ["mean", "p05", "p95"]]
"""

from survsim.experiments.design import Design, derive_seed
from survsim.experiments.execute import RunFailure, SchedulerLostError
from survsim.experiments.prepare import prepare_ensemble, prepare_sweep
from survsim.experiments.run import (
    ExperimentFailedError,
    ExperimentResult,
    RunOptions,
    ensemble,
    load_experiment,
    run_experiment,
    sweep,
    tiny_sim,
)

__all__ = [
    "Design",
    "ExperimentFailedError",
    "ExperimentResult",
    "RunFailure",
    "RunOptions",
    "SchedulerLostError",
    "derive_seed",
    "ensemble",
    "load_experiment",
    "prepare_ensemble",
    "prepare_sweep",
    "run_experiment",
    "sweep",
    "tiny_sim",
]
