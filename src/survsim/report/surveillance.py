"""The figures of a surveillance-state run (matplotlib's object API, no pyplot state).

Each function takes the run's tables, not the simulation, so it can redraw a saved run:
``timeseries.parquet`` (one row per day) and ``open_speech.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

__all__ = ["plot_daily_story", "plot_open_speech", "plot_prisoners", "plot_reports_by_channel"]

CHANNELS = (
    "informant",
    "ordinary",
    "defensive",
    "fabricated",
    "failure_to_report",
    "microphone",
    "wiretap",
    "correspondence",
    "border",
    "cctv",
    "computer",
)
COLOURS = {
    "household": "#1b9e77",
    "work": "#d95f02",
    "neighbourhood": "#7570b3",
    "friends": "#e7298a",
    "phone": "#66a61e",
    "letters": "#e6ab02",
    "public": "#a6761d",
    "true": "#2c3e50",
    "false": "#c0392b",
    "failure_to_report": "#8e44ad",
    "family": "#e67e22",
}


def _rolling(x: np.ndarray, days: int = 7) -> np.ndarray:
    """Trailing mean over ``days`` (shorter at the start)."""
    x = np.asarray(x, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    n = np.arange(1, x.size + 1)
    lo = np.maximum(0, n - days)
    return (c[n] - c[lo]) / (n - lo)


def _col(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def plot_daily_story(table: pa.Table, path: str | Path, title: str = "") -> Path:
    """Four panels: speech, reports, convictions by kind, the falsification gap."""
    day = _col(table, "day")[1:]
    rows = table.slice(1)
    fig = Figure(figsize=(11, 7), dpi=100, layout="constrained")
    ax = fig.subplots(2, 2, sharex=True)
    a = ax[0, 0]
    a.plot(day, _rolling(_col(rows, "spoke_openly")), color="#2980b9", label="spoke openly")
    a.set_ylabel("people per day (7-day mean)")
    a.set_title("Who says what they think")
    b = a.twinx()
    b.plot(day, _col(rows, "dissenters"), color="#7f8c8d", ls="--", label="dissenters (g > T)")
    b.set_ylabel("dissenters")
    a.legend(loc="upper left", fontsize=8)
    b.legend(loc="upper right", fontsize=8)
    a = ax[0, 1]
    total = sum(_col(rows, f"reports_{c}") for c in CHANNELS)
    a.plot(day, _rolling(total), color="#34495e", label="all evidence")
    a.plot(day, _rolling(_col(rows, "reports_defensive")), color="#c0392b", label="defensive")
    a.plot(day, _rolling(_col(rows, "cases_opened")), color="#16a085", label="cases opened")
    a.set_ylabel("per day (7-day mean)")
    a.set_title("Reports and cases")
    a.legend(fontsize=8)
    a = ax[1, 0]
    for kind in ("true", "false", "failure_to_report", "family"):
        a.plot(
            day,
            np.cumsum(_col(rows, f"convictions_{kind}")),
            color=COLOURS[kind],
            label=kind.replace("_", " "),
        )
    a.set_ylabel("convictions so far")
    a.set_xlabel("day")
    a.set_title("Convictions by kind (cumulative)")
    a.legend(fontsize=8)
    a = ax[1, 1]
    a.plot(day, _col(rows, "falsification_gap"), color="#8e44ad")
    a.set_ylim(0, 1)
    a.set_ylabel("share of dissenters never heard")
    a.set_xlabel("day")
    a.set_title("Preference falsification gap")
    for a in ax.flat:
        a.grid(alpha=0.3)
    fig.suptitle(title or "The daily story")
    fig.savefig(path, format="png")
    return Path(path)


def plot_open_speech(speech: pa.Table, path: str | Path, title: str = "") -> Path:
    """Open-speech rate by group size k per context, with 95% binomial intervals."""
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    contexts = speech.column("context").to_pylist()
    k = _col(speech, "group_size")
    present = _col(speech, "present")
    rate = _col(speech, "open_speech_rate")
    drawn = 0
    for context in dict.fromkeys(contexts):
        mask = (np.array(contexts) == context) & (present >= 30) & (k <= 12)
        if mask.sum() == 0:
            continue
        drawn += 1
        err = 1.96 * np.sqrt(rate[mask] * (1 - rate[mask]) / present[mask])
        ax.errorbar(
            k[mask],
            rate[mask],
            yerr=err,
            marker="o",
            ms=4,
            capsize=2,
            color=COLOURS.get(context),
            label=context,
        )
    ax.axvline(3, color="#555", ls=":", lw=1)
    ax.text(3.05, ax.get_ylim()[1] * 0.95, "three people", fontsize=8, va="top")
    ax.set_xlabel("people present (k)")
    ax.set_ylabel("share of those present who spoke openly")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "fewer than 30 people present in every group size",
                transform=ax.transAxes, ha="center")  # fmt: skip
    ax.set_title(title or "Open speech by group size: the 'three or more' curve")
    fig.savefig(path, format="png")
    return Path(path)


def plot_reports_by_channel(table: pa.Table, path: str | Path, title: str = "") -> Path:
    """Evidence received over the run, by channel (horizontal bars)."""
    totals = [int(_col(table, f"reports_{c}")[1:].sum()) for c in CHANNELS]
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(CHANNELS))
    ax.barh(y, totals, color="#34495e")
    ax.set_yticks(y, [c.replace("_", " ") for c in CHANNELS])
    ax.invert_yaxis()
    for yi, v in zip(y, totals, strict=True):
        ax.text(v, yi, f" {v:,}", va="center", fontsize=8)
    ax.set_xlabel("pieces of evidence over the run")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(title or "Reports by channel")
    fig.savefig(path, format="png")
    return Path(path)


def plot_prisoners(
    table: pa.Table, path: str | Path, title: str = "", steady_state: float | None = None
) -> Path:
    """Imprisoned and detained people, with the Little's-law steady state if given."""
    day = _col(table, "day")
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(day, _col(table, "imprisoned"), color="#2c3e50", label="imprisoned")
    ax.plot(day, _col(table, "detained"), color="#e67e22", label="detained")
    if steady_state is not None and np.isfinite(steady_state):
        ax.axhline(steady_state, color="#c0392b", ls="--", label="steady state (Little's law)")
    ax.set_xlabel("day")
    ax.set_ylabel("people (simulated)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Prisoners")
    fig.savefig(path, format="png")
    return Path(path)
