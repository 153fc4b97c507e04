"""Figures of ensembles and sweeps: daily bands, open speech with bands, sweep responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from survsim.models import MODELS
from survsim.report.figure import finish
from survsim.report.surveillance import COLOURS, K_TOP, MIN_PRESENT

__all__ = [
    "plot_bands",
    "plot_calibration",
    "plot_open_speech_bands",
    "plot_open_speech_rates",
    "plot_sensitivity",
    "plot_sweep",
]


def plot_bands(
    bands: pd.DataFrame, model: str, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """The ensemble's daily story: the mean of each headline column and its 90% band.

    Args:
        bands: the ensemble's ``bands`` table (column, day, mean, p05, p95, ...).
        model: the model's name; its simulation class's ``band_panels`` are drawn.
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.
    """
    panels = MODELS[model][0].band_panels if model in MODELS else ()
    step = "day" if "day" in bands.columns else "step"
    fig = Figure(figsize=(10, 2.6 * ((len(panels) + 1) // 2)), dpi=100, layout="constrained")
    for i, (column, label) in enumerate(panels):
        ax = fig.add_subplot((len(panels) + 1) // 2, 2, i + 1)
        rows = bands[bands["column"] == column].sort_values(step)
        x = rows[step].to_numpy()
        ax.fill_between(
            x, rows["p05"], rows["p95"], color="#2c3e50", alpha=0.25, lw=0, label="90% of runs"
        )
        ax.plot(x, rows["mean"], color="#2c3e50", lw=1.2, label="mean")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(step)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8, loc="best")
    runs = int(bands["runs"].max()) if len(bands) else 0
    fig.suptitle(title or f"Ensemble of {runs} runs: mean and 90% band")
    return finish(fig, path)


def open_speech_rates(open_speech: pd.DataFrame) -> pd.DataFrame:
    """Per context and group size: the mean open-speech rate over runs and its 90% band.

    Bins with fewer than ``MIN_PRESENT`` people present in a run are left out of that run.
    """
    rows = open_speech[(open_speech["present"] >= MIN_PRESENT) & (open_speech["group_size"] >= 2)]
    groups = rows.groupby(["context", "group_size"], sort=False)["open_speech_rate"]
    return pd.DataFrame(
        {
            "mean": groups.mean(),
            "p05": groups.quantile(0.05),
            "p95": groups.quantile(0.95),
            "runs": groups.count(),
        }
    ).reset_index()


def plot_open_speech_bands(
    open_speech: pd.DataFrame, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """The "three or more" curve of an ensemble: per context, the mean rate and 90% band."""
    return plot_open_speech_rates(open_speech_rates(open_speech), path, title)


def plot_open_speech_rates(
    rates: pd.DataFrame, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """:func:`plot_open_speech_bands` from the rates already computed.

    Args:
        rates: per context and group size: mean, p05, p95 (:func:`open_speech_rates`, or
            the ensemble's ``open_speech_bands.parquet``).
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.
    """
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for context in dict.fromkeys(rates["context"]):
        rows = rates[rates["context"] == context].sort_values("group_size")
        k = rows["group_size"].to_numpy()
        colour = COLOURS.get(context)
        ax.fill_between(k, rows["p05"], rows["p95"], color=colour, alpha=0.2, lw=0)
        ax.plot(k, rows["mean"], marker="o", ms=3, color=colour, label=context)
    ax.set_xlim(1.5, K_TOP + 0.5)
    ticks = np.arange(2, K_TOP + 1)
    ax.set_xticks(ticks, [f"{t}+" if t == K_TOP else str(t) for t in ticks])
    ax.set_ylim(0, None)
    ax.axvline(3, color="#555", ls=":", lw=1)
    ax.set_xlabel("people present (k)")
    ax.set_ylabel("share of those present who spoke openly")
    ax.grid(alpha=0.3)
    if len(rates):
        ax.legend(fontsize=8, title="context (band: 90% of runs)")
    ax.set_title(title or "Open speech by group size across the ensemble")
    return finish(fig, path)


def plot_sweep(
    summary: pd.DataFrame,
    keys: list[str],
    metrics: list[str],
    path: str | Path | None = None,
    title: str = "",
) -> Path | Figure:
    """Each headline metric against each swept parameter.

    Every run is a dot; where values repeat, a line joins the mean per value and a band
    holds 90% of the runs (over replicates and the other parameters) at that value. Runs
    whose metric is missing (NaN) are left out, and the panel says how many.
    """
    metrics = [m for m in metrics if m in summary.columns] or [
        c for c in summary.columns if c not in {"run", "point", "replicate", "seed", *keys}
    ][:4]
    fig = Figure(figsize=(3.6 * len(keys) + 1, 2.4 * len(metrics)), dpi=100, layout="constrained")
    for row, metric in enumerate(metrics):
        for col, key in enumerate(keys):
            ax = fig.add_subplot(len(metrics), len(keys), row * len(keys) + col + 1)
            x, y = summary[key].astype(float), summary[metric].astype(float)
            ax.scatter(x, y, s=8, color="#7f8c8d", alpha=0.6, lw=0)
            groups = y.groupby(x)
            if groups.ngroups < len(summary):  # repeated values: draw their mean and band
                values = np.asarray(groups.mean().index, dtype=float)
                low, high = groups.quantile(0.05), groups.quantile(0.95)
                ax.fill_between(values, low, high, color="#2c3e50", alpha=0.2, lw=0)
                ax.plot(values, groups.mean(), color="#2c3e50", marker="o", ms=3)
            gaps = int(y.isna().sum())
            if gaps:
                ax.text(0.01, 0.97, f"missing in {gaps} of {len(y)} runs", fontsize=7,
                        transform=ax.transAxes, va="top", color="#555")  # fmt: skip
            ax.grid(alpha=0.3)
            if row == len(metrics) - 1:
                ax.set_xlabel(key)
            if col == 0:
                ax.set_ylabel(metric.replace("national.", "national: "), fontsize=8)
    fig.suptitle(title or "Sweep: each run (dots), mean and 90% interval per value")
    return finish(fig, path)


def plot_sensitivity(
    indices: pd.DataFrame, method: str, metric: str, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """The sensitivity indices of one metric.

    Morris: mu* per parameter and mu* against sigma; Sobol: S1 and ST with their 95%
    bootstrap intervals.
    """
    fig = Figure(figsize=(9, 4), dpi=100, layout="constrained")
    names = list(indices["parameter"])
    y = np.arange(len(names))
    if method == "morris":
        bars, scatter = fig.subplots(1, 2)
        bars.barh(y, indices["mu_star"], xerr=indices["mu_star_conf"], color="#2c3e50")
        bars.set_yticks(y, names)
        bars.invert_yaxis()
        bars.set_xlabel(f"mu* (mean |elementary effect| on {metric})")
        scatter.scatter(indices["mu_star"], indices["sigma"], color="#c0392b")
        for name, mu, sigma in zip(names, indices["mu_star"], indices["sigma"], strict=True):
            scatter.annotate(
                name, (mu, sigma), fontsize=8, xytext=(3, 3), textcoords="offset points"
            )
        scatter.set_xlabel("mu* (influence)")
        scatter.set_ylabel("sigma (non-linearity, interactions)")
        for ax in (bars, scatter):
            ax.grid(alpha=0.3)
    else:
        ax = fig.add_subplot()
        ax.barh(
            y - 0.2,
            indices["S1"],
            0.4,
            xerr=indices["S1_conf"],
            label="first order S1",
            color="#2c3e50",
        )
        ax.barh(
            y + 0.2,
            indices["ST"],
            0.4,
            xerr=indices["ST_conf"],
            label="total effect ST",
            color="#c0392b",
        )
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlabel(f"share of the variance of {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or f"{method}: {metric}")
    return finish(fig, path)


def plot_calibration(match: Any, path: str | Path | None = None) -> Path | Figure:
    """The points of a history match.

    Pair by pair: ruled out (grey) or not (red), the best one starred; with a single
    parameter, each target's mean against it, the target's interval shaded, and how many
    runs lacked the target (their points are ruled out and have no mean to draw).
    """
    names = match.names
    kept = match.points["plausible"].to_numpy()
    best = match.best
    if len(names) == 1:
        targets = match.targets
        fig = Figure(figsize=(5 * len(targets), 4), dpi=100, layout="constrained")
        for i, target in enumerate(targets):
            ax = fig.add_subplot(1, len(targets), i + 1)
            x, y = match.points[names[0]], match.points[target.name]
            ax.scatter(x[~kept], y[~kept], s=10, color="#95a5a6", label="ruled out")
            ax.scatter(x[kept], y[kept], s=12, color="#c0392b", label="not ruled out")
            ax.axhspan(target.low, target.high, color="#2c3e50", alpha=0.15, label="target")
            gaps = getattr(match, "missing", {}).get(target.name, 0)
            if gaps:
                ax.set_title(f"{target.name} missing in {gaps} runs", fontsize=9)
            ax.set_xlabel(names[0])
            ax.set_ylabel(target.name)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    else:
        n = len(names)
        side = max(6.0, 3.2 * (n - 1) + 1)
        fig = Figure(figsize=(side, side - 0.5), dpi=100, layout="constrained")
        for i in range(1, n):
            for j in range(i):
                ax = fig.add_subplot(n - 1, n - 1, (i - 1) * (n - 1) + j + 1)
                x, y = match.points[names[j]], match.points[names[i]]
                ax.scatter(x[~kept], y[~kept], s=8, color="#95a5a6")
                ax.scatter(x[kept], y[kept], s=10, color="#c0392b")
                ax.scatter([best[names[j]]], [best[names[i]]], marker="*", s=120, color="black")
                ax.set_xlabel(names[j], fontsize=8)
                ax.set_ylabel(names[i], fontsize=8)
                ax.grid(alpha=0.3)
    fig.suptitle(
        "History matching: red, not ruled out by the targets;\nstar, the best point", fontsize=11
    )
    return finish(fig, path)
