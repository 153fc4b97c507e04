"""Dissent and self-censorship: Daymude, Axelrod & Forrest (2025), its individuals.

Each synthetic individual ``i`` has a desired dissent ``delta_i`` in [0, 1] and a boldness
``beta_i`` >= 0, and expresses ``a_i`` in [0, delta_i], the exact maximum of its expected
utility under an authority with tolerance ``tau``, severity ``psi`` and surveillance ``nu``
that punishes expression above the tolerance uniformly or in proportion to the excess
(:mod:`survsim.models.self_censorship_kernels`; derivation in docs/self_censorship.md).
Individuals are compliant (``delta <= tau``), self-censoring (``a < delta``: to the
tolerance or partly) or defiant (``a = delta > tau``).

The paper's authority also adapts its settings to cut dissent and the cost of punishing.
That part is left out on purpose: survsim measures what given settings do to people and
ships no search for the settings that silence them. With a fixed authority the model has
no dynamics, so a run is its initial state (``steps: 0``); a step repeats the same optimum.

Source: J. J. Daymude, R. Axelrod and S. Forrest, "Strategic Analysis of Dissent and
Self-Censorship", arXiv:2509.03731 (2025).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from survsim.engine import Plan, Sim
from survsim.engine.params import StrictModel
from survsim.engine.sim import Reporter
from survsim.models import self_censorship_kernels as k

__all__ = [
    "SelfCensorship",
    "SelfCensorshipParams",
    "estimate_bytes",
    "phase_grid",
    "truncated_exponential_rate",
]

#: The phase labels of ``agents.parquet`` (index = the kernels' phase codes).
PHASE_LABELS = ("compliant", "self-censoring", "defiant")


class SelfCensorshipParams(StrictModel):
    """Parameters of the self-censorship model, named as in the paper."""

    agents: int = Field(
        100_000, ge=1, le=500_000_000, description="N: individuals (paper's simulations: 100,000)"
    )
    tau: float = Field(0.25, ge=0, le=1, description="tau: the authority's tolerance")
    psi: float = Field(
        0.6, gt=0, le=1_000, description="psi: severity of punishment (> 0; paper's Fig. 3: 0.6)"
    )
    nu: float = Field(0.5, ge=0, le=1, description="nu: surveillance, the base detection chance")
    punishment: Literal["uniform", "proportional"] = Field(
        "uniform", description="uniform: psi for any excess; proportional: psi times the excess"
    )
    delta_distribution: Literal["truncated_exponential", "constant"] = Field(
        "truncated_exponential",
        description="desired dissent: exponential truncated to [0, 1] (paper), or all equal",
    )
    delta_mean: float = Field(
        0.25, ge=0, le=1, description="mean desired dissent (truncated exponential: in (0, 0.5))"
    )
    beta_distribution: Literal["exponential", "constant"] = Field(
        "exponential", description="boldness: exponential (paper), or all equal"
    )
    beta_mean: float = Field(1.0, gt=0, le=1_000, description="mean boldness (> 0)")

    @model_validator(mode="after")
    def _check_means(self) -> SelfCensorshipParams:
        if self.delta_distribution == "truncated_exponential" and not 0 < self.delta_mean < 0.5:
            raise ValueError(
                f"delta_mean {self.delta_mean:g}: an exponential truncated to [0, 1] has a "
                "mean in (0, 0.5) (allowed: 0 < delta_mean < 0.5, or delta_distribution: "
                "constant)"
            )
        return self


#: Resident memory of the interpreter with numpy, numba, pyarrow and matplotlib loaded.
BASE_BYTES = 300_000_000


def estimate_bytes(p: SelfCensorshipParams, steps: int) -> int:
    """Peak memory of a run: traits, actions and phases (25 B), the draws and the table."""
    return int(80 * p.agents + 40 * (steps + 1) + BASE_BYTES)


def truncated_exponential_rate(mean: float) -> float:
    """The rate ``r`` of the exponential on [0, 1] with mean ``mean`` in (0, 0.5).

    The mean of the exponential with rate ``r`` truncated to [0, 1] is
    ``1/r - 1/(e^r - 1)``, falling from 0.5 (``r -> 0``) to 0 (``r -> inf``); it is
    inverted by bisection on ``log r`` to machine precision.

    Raises:
        ValueError: ``mean`` is not in (0, 0.5).
    """
    if not 0 < mean < 0.5:
        raise ValueError(f"mean {mean!r}: allowed 0 < mean < 0.5")

    def mean_of(r: float) -> float:
        if r < 1e-6:  # the series near 0: 1/2 - r/12
            return 0.5 - r / 12
        if r > 700:  # 1/(e^r - 1) is below 1e-300
            return 1 / r
        return 1 / r - 1 / math.expm1(r)

    low, high = -30.0, 60.0  # log r: means from 0.5 - 1e-14 to 1e-26
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mean_of(math.exp(mid)) > mean:
            low = mid
        else:
            high = mid
    return math.exp(0.5 * (low + high))


def draw_traits(p: SelfCensorshipParams, uniforms_delta, uniforms_beta) -> tuple[Any, Any]:
    """Desired dissent and boldness from uniforms in [0, 1) (inverse distribution functions)."""
    if p.delta_distribution == "constant":
        delta = np.full(uniforms_delta.size, p.delta_mean)
    else:
        rate = truncated_exponential_rate(p.delta_mean)
        delta = -np.log1p(uniforms_delta * np.expm1(-rate)) / rate
        np.clip(delta, 0.0, 1.0, out=delta)  # rounding at the top end
    if p.beta_distribution == "constant":
        beta = np.full(uniforms_beta.size, p.beta_mean)
    else:
        beta = -p.beta_mean * np.log1p(-uniforms_beta)
    return delta, beta


class SelfCensorship(Sim):
    """A population of the self-censorship model under one authority.

    Example:
        >>> sim = SelfCensorship(SelfCensorshipParams(agents=1000), seed=1, steps=0)
        >>> sorted(sim.summary()["shares"])
        ['compliant', 'defiant', 'self_censoring']
    """

    model_name = "self_censorship"
    params_class = SelfCensorshipParams
    step_name = "round"
    headline: ClassVar[tuple[str, ...]] = (
        "shares.self_censoring",
        "shares.defiant",
        "expressed_share",
    )
    band_panels: ClassVar[tuple[tuple[str, str], ...]] = (
        ("self_censoring", "self-censoring individuals"),
        ("defiant", "defiant individuals"),
    )

    def __init__(
        self,
        params: Any,
        *,
        seed: int = 0,
        steps: int = 0,
        compile: bool = True,
        reporters: Mapping[str, Reporter] | None = None,
    ) -> None:
        super().__init__(params, seed=seed, steps=steps, compile=compile, reporters=reporters)

    @classmethod
    def estimate_bytes(cls, params: Any, steps: int) -> int:
        """Peak bytes of a run (see :func:`estimate_bytes`)."""
        return estimate_bytes(params, steps)

    @classmethod
    def compile_kernels(cls, group: str | None = None) -> None:
        """Compile (or load from numba's cache) the two kernels."""
        if group not in (None, *cls.compile_groups()):
            raise ValueError(f"unknown compile group {group!r}: {cls.compile_groups()}")
        k.warm_up()

    def build(self) -> None:
        """Draw every individual's traits, then its optimal action and phase."""
        p = self.params
        n = p.agents
        self.delta, self.beta = draw_traits(
            p, self.streams.uniform("delta", 0, n), self.streams.uniform("beta", 0, n)
        )
        self.action = np.empty(n)
        self.phase = np.empty(n, dtype=np.uint8)
        self._choose()

    def _choose(self) -> None:
        p = self.params
        k.optimal_actions(
            self.delta, self.beta, p.tau, p.psi, p.nu, p.punishment == "proportional",
            self.action, self.phase,
        )  # fmt: skip

    def result_columns(self) -> dict[str, type]:
        """Individuals in each phase, and the mean action."""
        return {
            "compliant": np.int64,
            "self_censoring": np.int64,
            "defiant": np.int64,
            "mean_action": np.float64,
        }

    def make_plan(self) -> Plan:
        """One round: every individual takes its optimal action, then the census."""
        return Plan.of(
            [
                (
                    "choose",
                    self._choose,
                    "each individual expresses the dissent that maximises its expected "
                    "utility (the same every round: neither side adapts)",
                ),
                ("record", self.record, "count the individuals in each phase"),
            ]
        )

    def record(self) -> None:
        """Counts by phase and the mean action into row ``t``."""
        counts = np.bincount(self.phase, minlength=3)
        c = self.results.columns
        c["compliant"][self.t] = counts[k.COMPLIANT]
        c["self_censoring"][self.t] = counts[k.SELF_CENSORING]
        c["defiant"][self.t] = counts[k.DEFIANT]
        c["mean_action"][self.t] = float(self.action.mean())

    def summary(self) -> dict[str, Any]:
        """Shares in each phase, the mean action and how much of the desired dissent is said.

        ``expressed_share`` is the population's expressed dissent over its desired dissent;
        ``silenced`` is the mean of ``delta - a`` over the individuals who want more than
        the tolerance; ``self_censoring_full`` and ``self_censoring_partial`` split the
        self-censoring share into those who say exactly the tolerance and those who say
        more (proportional punishment only).
        """
        p = self.params
        n = p.agents
        counts = np.bincount(self.phase, minlength=3)
        censoring = self.phase == k.SELF_CENSORING
        full = int(np.count_nonzero(censoring & (self.action == p.tau)))
        above = self.delta > p.tau
        desired = float(self.delta.sum())
        return {
            "agents": n,
            "punishment": p.punishment,
            "shares": {name: counts[code] / n for code, name in enumerate(k.PHASES)},
            "self_censoring_full": full / n,
            "self_censoring_partial": (int(counts[k.SELF_CENSORING]) - full) / n,
            "mean_action": float(self.action.mean()),
            "mean_desired": desired / n,
            "expressed_share": float(self.action.sum()) / desired if desired > 0 else None,
            "silenced": float((self.delta - self.action)[above].mean()) if above.any() else 0.0,
        }

    def tables(self) -> dict[str, pa.Table]:
        """``agents``: one row per individual (``delta``, ``beta``, ``action``, ``phase``)."""
        phase = pa.DictionaryArray.from_arrays(
            pa.array(self.phase.astype(np.int8)), pa.array(PHASE_LABELS)
        )
        return {
            "agents": pa.table(
                {"delta": self.delta, "beta": self.beta, "action": self.action, "phase": phase}
            )
        }


def phase_grid(
    params: SelfCensorshipParams,
    settings: Mapping[str, Any],
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """The phase shares of one population under many authority settings at once.

    The population is drawn once from ``params`` (as a run with ``seed`` draws it) and
    every setting is applied to the same individuals, so two settings differ only by
    the settings (common random numbers).

    Args:
        params: the population and the default authority.
        settings: ``{"tau": values, "psi": values, "nu": values}``, each an array of one
            length (one entry per setting) or a scalar; a missing key keeps ``params``'s.
        seed: the population's seed.

    Returns:
        ``tau``, ``psi``, ``nu`` per setting, the shares ``compliant``,
        ``self_censoring``, ``defiant`` and ``mean_action``.

    Raises:
        ValueError: an unknown key, arrays of different lengths, or a value outside its
            range (tau and nu in [0, 1], psi > 0).
    """
    unknown = sorted(set(settings) - {"tau", "psi", "nu"})
    if unknown:
        raise ValueError(f"phase_grid: unknown setting {unknown[0]!r} (allowed: tau, psi, nu)")
    columns = {
        key: np.atleast_1d(np.asarray(settings.get(key, getattr(params, key)), dtype=np.float64))
        for key in ("tau", "psi", "nu")
    }
    size = max(c.size for c in columns.values())
    for key, values in columns.items():
        if values.size not in (1, size):
            raise ValueError(f"phase_grid: {key} has {values.size} values, the others {size}")
        columns[key] = np.broadcast_to(values, size).copy()
    for key, low in (("tau", 0.0), ("nu", 0.0)):
        if ((columns[key] < low) | (columns[key] > 1)).any():
            raise ValueError(f"phase_grid: {key} must be in [0, 1]")
    if (columns["psi"] <= 0).any():
        raise ValueError("phase_grid: psi must be > 0")
    sim = SelfCensorship(params, seed=seed, steps=0)
    counts = np.empty((size, 3), dtype=np.int64)
    expressed = np.empty(size)
    k.phase_shares(
        sim.delta, sim.beta, params.punishment == "proportional",
        columns["tau"], columns["psi"], columns["nu"], counts, expressed,
    )  # fmt: skip
    n = params.agents
    return {
        **columns,
        "compliant": counts[:, k.COMPLIANT] / n,
        "self_censoring": counts[:, k.SELF_CENSORING] / n,
        "defiant": counts[:, k.DEFIANT] / n,
        "mean_action": expressed / n,
    }
