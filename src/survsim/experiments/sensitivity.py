"""Global sensitivity analysis with SALib: Morris screening and Sobol indices.

The points come from SALib's samplers and run as a sweep (every point ``runs`` times, on
Dask); the metric of each point is its mean over those runs; SALib's analysers turn the
metric into indices. The same two functions, :func:`sample` and :func:`analyse`, serve a
plain Python function too, which is how the tests check them against known indices.

Cost, stated before anything runs (:func:`cost`):

- Morris: ``trajectories x (D + 1)`` points (Morris 1991; Campolongo et al. 2007);
- Sobol (Saltelli's scheme with second-order indices): ``N x (2D + 2)`` points, N a power
  of two (Saltelli 2002; Saltelli et al. 2010);

each times ``runs``, for D parameters.

A point whose metric is missing (NaN: every run of it lacked the number) cannot enter
the indices, and neither can the rest of its group: a Morris trajectory (D + 1 points)
or a Sobol base sample's block (2D + 2 points). :func:`analyse` leaves out those groups,
analyses the complete ones and says how many it left out; with fewer than two complete
groups every index is NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from survsim.errors import SurvsimError

__all__ = ["METHODS", "analyse", "complete_groups", "cost", "sample"]

#: The methods and what their size argument means.
METHODS = {"morris": "trajectories", "sobol": "base samples N (a power of two)"}
#: Morris grid levels (SALib's default; Saltelli et al. 2008 recommend 4).
LEVELS = 4


def _salib() -> Any:
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise SurvsimError(
            "sensitivity analysis needs SALib, which is not installed: "
            "pip install 'survsim[analysis]'"
        ) from None
    from SALib.analyze import morris as morris_analyse
    from SALib.analyze import sobol as sobol_analyse
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    return morris_sample, sobol_sample, morris_analyse, sobol_analyse


def _check(method: str, size: int, dims: int) -> None:
    if method not in METHODS:
        raise SurvsimError(f"--method {method}: not allowed (allowed: {', '.join(METHODS)})")
    if dims < 1:
        raise SurvsimError("give at least one --param key=lo:hi")
    if method == "morris" and not 2 <= size <= 10_000:
        raise SurvsimError(f"--size {size}: Morris needs 2 to 10,000 trajectories")
    if method == "sobol" and (size < 2 or size & (size - 1)):
        raise SurvsimError(f"--size {size}: Sobol needs a power of two N (16, 32, 64, ...)")


def cost(method: str, size: int, dims: int, runs: int = 1) -> int:
    """How many simulation runs a method needs: points x ``runs``."""
    _check(method, size, dims)
    points = size * (dims + 1) if method == "morris" else size * (2 * dims + 2)
    return points * runs


def _problem(names: list[str], bounds: list[tuple[float, float]]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}


def sample(
    method: str, names: list[str], bounds: list[tuple[float, float]], size: int, seed: int
) -> np.ndarray:
    """The points a method evaluates: an array (points, parameters) in ``bounds``."""
    _check(method, size, len(names))
    morris_sample, sobol_sample, _, _ = _salib()
    problem = _problem(names, bounds)
    rng_seed = int(seed % 2**32)
    if method == "morris":
        return morris_sample.sample(problem, size, num_levels=LEVELS, seed=rng_seed)
    return sobol_sample.sample(problem, size, calc_second_order=True, seed=rng_seed)


def _group_size(method: str, dims: int) -> int:
    """Points per independent group: a Morris trajectory or a Sobol base sample's block."""
    return dims + 1 if method == "morris" else 2 * dims + 2


def complete_groups(method: str, dims: int, values: np.ndarray) -> np.ndarray:
    """Which points belong to a group (trajectory or block) whose metric is all finite.

    Returns:
        A boolean mask over the points, in sampling order.
    """
    y = np.asarray(values, dtype=np.float64)
    size = _group_size(method, dims)
    if y.size % size:
        raise SurvsimError(
            f"{y.size} values for {method} with {dims} parameters: expected a multiple of {size}"
        )
    whole = np.isfinite(y).reshape(-1, size).all(axis=1)
    return np.repeat(whole, size)


def analyse(
    method: str,
    names: list[str],
    bounds: list[tuple[float, float]],
    points: np.ndarray,
    values: np.ndarray,
    seed: int = 0,
) -> pd.DataFrame:
    """Sensitivity indices of ``values`` (one per point, in sampling order).

    Points with a missing (non-finite) value are left out with their whole group (see
    the module's docstring; :func:`complete_groups` says which points remain).

    Returns:
        One row per parameter. Morris: ``mu, mu_star, sigma, mu_star_conf`` (the mean,
        mean absolute value and spread of the elementary effects). Sobol: ``S1, S1_conf,
        ST, ST_conf`` (first-order and total-effect indices, 95% bootstrap half-widths).
        NaN throughout when fewer than two groups are complete.
    """
    _, _, morris_analyse, sobol_analyse = _salib()
    problem = _problem(names, bounds)
    y = np.asarray(values, dtype=np.float64)
    keep = complete_groups(method, len(names), y)
    size = _group_size(method, len(names))
    kept = int(keep.sum()) // size
    columns = (
        ["mu", "mu_star", "sigma", "mu_star_conf"]
        if method == "morris"
        else ["S1", "S1_conf", "ST", "ST_conf"]
    )
    table = pd.DataFrame({"parameter": names})
    if kept < 2:
        for column in columns:
            table[column] = np.nan
        return table
    rng_seed = int(seed % 2**32)
    if method == "morris":
        found = morris_analyse.analyze(
            problem, np.asarray(points)[keep], y[keep], num_levels=LEVELS, seed=rng_seed
        )
    else:
        found = sobol_analyse.analyze(problem, y[keep], calc_second_order=True, seed=rng_seed)
    for column in columns:
        table[column] = np.asarray(found[column], dtype=np.float64)
    return table
