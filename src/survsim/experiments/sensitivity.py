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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from survsim.errors import SurvsimError

__all__ = ["METHODS", "analyse", "cost", "sample"]

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


def analyse(
    method: str,
    names: list[str],
    bounds: list[tuple[float, float]],
    points: np.ndarray,
    values: np.ndarray,
    seed: int = 0,
) -> pd.DataFrame:
    """Sensitivity indices of ``values`` (one per point, in sampling order).

    Returns:
        One row per parameter. Morris: ``mu, mu_star, sigma, mu_star_conf`` (the mean,
        mean absolute value and spread of the elementary effects). Sobol: ``S1, S1_conf,
        ST, ST_conf`` (first-order and total-effect indices, 95% bootstrap half-widths).
    """
    _, _, morris_analyse, sobol_analyse = _salib()
    problem = _problem(names, bounds)
    y = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise SurvsimError("the metric is not finite at every point; choose another metric")
    rng_seed = int(seed % 2**32)
    if method == "morris":
        found = morris_analyse.analyze(
            problem, np.asarray(points), y, num_levels=LEVELS, seed=rng_seed
        )
        columns = ["mu", "mu_star", "sigma", "mu_star_conf"]
    else:
        found = sobol_analyse.analyze(problem, y, calc_second_order=True, seed=rng_seed)
        columns = ["S1", "S1_conf", "ST", "ST_conf"]
    table = pd.DataFrame({"parameter": names})
    for column in columns:
        table[column] = np.asarray(found[column], dtype=np.float64)
    return table
