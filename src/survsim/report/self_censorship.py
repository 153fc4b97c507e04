"""Figures of the self-censorship model: phase diagrams of one individual's optimal action.

A phase diagram shows, for desired dissent ``delta`` (vertical) against one setting
(horizontal: tolerance, surveillance, severity or boldness, the others held), whether
the individual complies, self-censors (shaded by how much of the excess over the
tolerance it still says) or defies. Every cell is the model's own kernel
(:func:`survsim.models.self_censorship_kernels.optimal_actions`), so the figures show
the rule the runs use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import Patch

from survsim.models import self_censorship_kernels as k
from survsim.report.figure import Figure, finish

__all__ = ["PANELS", "phase_map", "plot_figure3", "plot_phase_diagram", "plot_population"]

#: The settings a panel can vary, with its axis label and range (as the paper's Fig. 3).
PANELS = {
    "tau": ("tolerance τ", 1.0),
    "nu": ("surveillance $\\nu$", 1.0),
    "psi": ("severity ψ", 2.5),
    "beta": ("boldness β", 2.5),
}
#: Compliant, self-censoring (dark: says only the tolerance), defiant.
PHASE_COLOURS = LinearSegmentedColormap.from_list(
    "phases", [(0.0, "#2a6f97"), (0.5, "#e9c46a"), (0.999, "#f4e3b2"), (1.0, "#b23a48")]
)


def phase_map(
    x: str, xs: np.ndarray, deltas: np.ndarray, settings: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal actions and phase values on a grid of ``deltas`` (rows) by ``xs`` (columns).

    Args:
        x: the setting that varies along the columns: ``tau``, ``nu``, ``psi`` or ``beta``.
        xs: its values.
        deltas: desired dissents (rows).
        settings: ``tau``, ``psi``, ``nu``, ``beta`` and ``punishment`` held fixed.

    Returns:
        ``(action, value)``: the optimal action, and a value for colouring: 0 compliant,
        1 defiant, and for self-censoring ``0.5 + 0.5 (a - tau) / (delta - tau)``.
    """
    if x not in PANELS:
        raise ValueError(f"phase_map: x {x!r} is not one of {', '.join(PANELS)}")
    action = np.empty((deltas.size, xs.size))
    value = np.empty_like(action)
    phase = np.empty(deltas.size, dtype=np.uint8)
    proportional = settings["punishment"] == "proportional"
    for j, v in enumerate(xs):
        s = {**settings, x: float(v)}
        beta = np.full(deltas.size, s["beta"])
        column = np.empty(deltas.size)
        k.optimal_actions(deltas, beta, s["tau"], s["psi"], s["nu"], proportional, column, phase)
        action[:, j] = column
        excess = np.where(deltas > s["tau"], deltas - s["tau"], 1.0)
        shade = 0.5 + 0.5 * (column - s["tau"]) / excess
        value[:, j] = np.select(
            [phase == k.COMPLIANT, phase == k.DEFIANT], [0.0, 1.0], np.minimum(shade, 0.999)
        )
    return action, value


def _panel(ax: Any, x: str, settings: dict[str, Any], size: int, mark: float | None) -> None:
    label, top = PANELS[x]
    xs = np.linspace(0.0, top, size)
    xs[0] = top * 1e-4 if x in ("psi", "beta") else 0.0  # psi > 0; beta = 0 is the limit
    deltas = np.linspace(0.0, 1.0, size)
    _, value = phase_map(x, xs, deltas, settings)
    ax.pcolormesh(xs, deltas, value, cmap=PHASE_COLOURS, vmin=0, vmax=1, shading="auto")
    ax.contour(xs, deltas, value, levels=[0.25, 0.9995], colors="white", linewidths=0.8)
    if mark is not None:
        ax.axvline(mark, color="black", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1)
    ax.set_xlabel(label)
    ax.set_box_aspect(1)


def _legend(fig: Figure) -> None:
    """One legend for the phases (self-censoring pales as more of the excess is said)."""
    handles = [
        Patch(color=PHASE_COLOURS(value), label=label)
        for value, label in (
            (0.0, "compliant"),
            (0.5, "self-censoring to the tolerance"),
            (0.95, "self-censoring in part"),
            (1.0, "defiant"),
        )
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)


def plot_phase_diagram(
    sim: Any, path: str | Path | None = None, title: str = "", size: int = 301
) -> Path | Figure:
    """A run's individual in four phase diagrams, at the run's settings.

    Desired dissent (vertical) against tolerance, surveillance, severity and boldness;
    the others held at the run's values (boldness at the population's mean). The dashed
    line marks the run's own value.
    """
    p = sim.params
    settings = {"tau": p.tau, "psi": p.psi, "nu": p.nu, "beta": p.beta_mean}
    settings["punishment"] = p.punishment
    fig = Figure(figsize=(13, 3.8), dpi=110, layout="constrained")
    axes = fig.subplots(1, 4, sharey=True)
    for ax, x in zip(axes, PANELS, strict=True):
        _panel(ax, x, settings, size, settings[x])
    axes[0].set_ylabel("desired dissent δ")
    _legend(fig)
    shares = sim.summary()["shares"]
    fig.suptitle(
        (title or f"Phases under {p.punishment} punishment")
        + f" (population: {shares['compliant']:.0%} compliant, "
        f"{shares['self_censoring']:.0%} self-censoring, {shares['defiant']:.0%} defiant)"
    )
    return finish(fig, path)


def plot_population(
    sim: Any, path: str | Path | None = None, title: str = "", points: int = 20_000
) -> Path | Figure:
    """Expressed against desired dissent for (up to ``points``) individuals of a run."""
    p = sim.params
    take = np.linspace(0, sim.delta.size - 1, min(points, sim.delta.size)).astype(np.int64)
    fig = Figure(figsize=(6, 4.5), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    for code, label in enumerate(("compliant", "self-censoring", "defiant")):
        chosen = take[sim.phase[take] == code]
        ax.scatter(
            sim.delta[chosen], sim.action[chosen], s=3, label=label,
            color=PHASE_COLOURS(0.5 * code),
        )  # fmt: skip
    ax.axhline(p.tau, color="grey", linewidth=0.8, linestyle=":")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("desired dissent δ")
    ax.set_ylabel("expressed dissent a")
    ax.legend(loc="upper left", markerscale=4)
    ax.set_title(title or "Expressed against desired dissent")
    return finish(fig, path)


#: The paper's Fig. 3 settings: beta 1, nu 0.5, tau 0.25; psi 0.6 (uniform), 1.5 (proportional).
FIGURE3 = {
    "uniform": {"tau": 0.25, "psi": 0.6, "nu": 0.5, "beta": 1.0, "punishment": "uniform"},
    "proportional": {
        "tau": 0.25, "psi": 1.5, "nu": 0.5, "beta": 1.0, "punishment": "proportional",
    },
}  # fmt: skip


def plot_figure3(path: str | Path | None = None, size: int = 401) -> Path | Figure:
    """Daymude et al. (2025), Fig. 3, redrawn from survsim's kernel: both punishments."""
    fig = Figure(figsize=(13, 6.8), dpi=110, layout="constrained")
    axes = fig.subplots(2, 4, sharey=True)
    for row, (name, settings) in enumerate(FIGURE3.items()):
        for ax, x in zip(axes[row], PANELS, strict=True):
            _panel(ax, x, settings, size, None)
        axes[row, 0].set_ylabel(f"{name}: desired dissent δ")
    _legend(fig)
    fig.suptitle(
        "Phases of one individual (Daymude, Axelrod & Forrest 2025, Fig. 3 settings: "
        "β = 1, $\\nu$ = 0.5, τ = 0.25, ψ = 0.6 uniform / 1.5 proportional)"
    )
    return finish(fig, path)
