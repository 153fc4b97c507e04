"""The figures of a surveillance-state run (matplotlib's object API, no pyplot state).

Each function takes the run's tables, not the simulation, so it can redraw a saved run:
``timeseries.parquet`` (one row per day) and ``open_speech.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import fill

import numpy as np
import pyarrow as pa
from matplotlib.patches import Patch

from survsim.apparatus.cases import EVIDENCE
from survsim.report.figure import Figure, finish

__all__ = [
    "CHANNELS",
    "open_speech_points",
    "plot_daily_story",
    "plot_open_speech",
    "plot_prisoners",
    "plot_reports_by_channel",
]

#: Bins with fewer people present than this are left out of the open-speech figure.
MIN_PRESENT = 30
#: The largest group-size bin of ``open_speech``: it holds groups of 16 or more.
K_TOP = 16

#: Evidence channels, in the order of the ``reports_*`` columns.
CHANNELS = EVIDENCE
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
#: Evidence that people gave (listeners, informants) and evidence that machines or
#: officials collected; the bars of the channel figure are coloured by the two.
PEOPLE = frozenset({"informant", "ordinary", "defensive", "fabricated", "failure_to_report"})
CHANNEL_COLOURS = {"people": "#c0392b", "technical": "#34495e"}


def _rolling(x: np.ndarray, days: int = 7) -> np.ndarray:
    """Trailing mean over ``days`` (shorter at the start)."""
    x = np.asarray(x, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    n = np.arange(1, x.size + 1)
    lo = np.maximum(0, n - days)
    return (c[n] - c[lo]) / (n - lo)


def _col(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def plot_daily_story(
    table: pa.Table, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """Four panels: speech, reports and files, sanctions by kind, the falsification gap.

    Daily flows are drawn from day 1 (day 0 is the starting state) as 7-day trailing means.

    Args:
        table: the run's time series (one row per day, the columns of ``sim.timeseries()``).
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.

    Returns:
        The written path, or the figure when ``path`` is None.
    """
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
    b.set_ylabel("dissenters (people)")
    a.legend(loc="upper left", fontsize=8)
    b.legend(loc="upper right", fontsize=8)
    a = ax[0, 1]
    total = sum(_col(rows, f"reports_{c}") for c in CHANNELS)
    a.plot(day, _rolling(total), color="#34495e", label="all evidence")
    a.plot(day, _rolling(_col(rows, "reports_defensive")), color="#c0392b", label="defensive")
    a.plot(day, _rolling(_col(rows, "cases_opened")), color="#16a085", label="files opened")
    if "checks" in table.column_names:
        a.plot(day, _rolling(_col(rows, "checks")), color="#d35400", label="files checked")
    a.set_ylabel("per day (7-day mean)")
    a.set_title("Reports and files")
    a.legend(fontsize=8)
    a = ax[1, 0]
    for kind in ("true", "false", "family", "failure_to_report"):
        a.plot(
            day,
            _rolling(_col(rows, f"convictions_{kind}")),
            color=COLOURS[kind],
            label=kind.replace("_", " "),
        )
    a.set_ylabel("sanctions per day (7-day mean)")
    a.set_xlabel("day")
    a.set_title("Sanctions by the evidence behind them")
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
    return finish(fig, path)


def open_speech_points(
    speech: pa.Table, min_present: int = MIN_PRESENT
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The points of the open-speech figure: per context, k, rate and 95% half-width.

    The half-width is the binomial ``1.96 * sqrt(p (1 - p) / present)``; bins with fewer
    than ``min_present`` people present are left out, and so are contexts with no bin left.

    Args:
        speech: the table of ``sim.open_speech()``.
        min_present: the fewest people present for a bin to be shown.

    Returns:
        Context -> (group sizes, open-speech rates, half-widths), in increasing group size,
        contexts in their order of first appearance in the table.
    """
    contexts = np.asarray(speech.column("context").to_pylist(), dtype=object)
    k = _col(speech, "group_size").astype(np.int64)
    present = _col(speech, "present").astype(np.int64)
    rate = _col(speech, "open_speech_rate").astype(float)
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for context in dict.fromkeys(contexts.tolist()):
        mask = (contexts == context) & (present >= min_present) & (k >= 2)
        if not mask.any():
            continue
        order = np.argsort(k[mask], kind="stable")
        p, n = rate[mask][order], present[mask][order]
        out[context] = (k[mask][order], p, 1.96 * np.sqrt(p * (1 - p) / n))
    return out


def plot_open_speech(
    speech: pa.Table, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """Open-speech rate by group size k, one line per context, with 95% binomial intervals.

    Only bins with at least ``MIN_PRESENT`` people present are drawn; the last bin, k = 16,
    holds groups of 16 or more. A dotted line marks k = 3, where "three or more" begins.

    Args:
        speech: the table of ``sim.open_speech()``.
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.

    Returns:
        The written path, or the figure when ``path`` is None.
    """
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    points = open_speech_points(speech)
    for context, (k, rate, half_width) in points.items():
        ax.errorbar(
            k,
            rate,
            yerr=half_width,
            marker="o",
            ms=4,
            capsize=2,
            color=COLOURS.get(context),
            label=context,
        )
    ax.set_xlim(1.5, K_TOP + 0.5)
    ticks = np.arange(2, K_TOP + 1)
    ax.set_xticks(ticks, [f"{t}+" if t == K_TOP else str(t) for t in ticks])
    ax.set_ylim(0, 1.05 * max([1e-9, *(float(np.max(r + h)) for _, r, h in points.values())]))
    ax.axvline(3, color="#555", ls=":", lw=1)
    ax.text(3.1, 0.97, "three or more", transform=ax.get_xaxis_transform(), fontsize=8,
            va="top")  # fmt: skip
    ax.set_xlabel("people present (k)")
    ax.set_ylabel("share of those present who spoke openly")
    ax.grid(alpha=0.3)
    if points:
        ax.legend(fontsize=8, title="context")
    else:
        ax.text(0.5, 0.5, f"fewer than {MIN_PRESENT} people present in every bin",
                transform=ax.transAxes, ha="center")  # fmt: skip
    ax.set_title(title or "Open speech by group size: the 'three or more' curve")
    return finish(fig, path)


def plot_reports_by_channel(
    table: pa.Table, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """Evidence received over the run (day 1 on), by channel, as horizontal bars.

    Bars of evidence that people gave are red, those of technical channels dark blue.

    Args:
        table: the run's time series (the ``reports_<channel>`` columns are used).
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.

    Returns:
        The written path, or the figure when ``path`` is None.
    """
    totals = [int(_col(table, f"reports_{c}")[1:].sum()) for c in CHANNELS]
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(CHANNELS))
    colours = [CHANNEL_COLOURS["people" if c in PEOPLE else "technical"] for c in CHANNELS]
    ax.barh(y, totals, color=colours)
    ax.set_yticks(y, [c.replace("_", " ") for c in CHANNELS])
    ax.invert_yaxis()
    for yi, v in zip(y, totals, strict=True):
        ax.text(v, yi, f" {v:,}", va="center", fontsize=8)
    ax.set_xlim(0, max(totals, default=0) * 1.15 or 1)
    ax.set_xlabel("pieces of evidence over the run (simulated)")
    ax.grid(alpha=0.3, axis="x")
    handles = [Patch(color=c, label=f"{k} channels") for k, c in CHANNEL_COLOURS.items()]
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    ax.set_title(title or "Reports by channel")
    return finish(fig, path)


def plot_prisoners(
    table: pa.Table,
    path: str | Path | None = None,
    title: str = "",
    steady_state: float | None = None,
    note: str | None = None,
) -> Path | Figure:
    """Imprisoned and detained people over time, with the Little's-law steady state if known.

    Args:
        table: the run's time series (``day, imprisoned, detained``).
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.
        steady_state: the long-run number of prisoners that the admissions imply (admissions
            per day times mean days served); no line when None or not finite.
        note: why the steady state is not known; written in the figure when there is no
            line ("steady state not estimated: <note>").

    Returns:
        The written path, or the figure when ``path`` is None.
    """
    day = _col(table, "day")
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(day, _col(table, "imprisoned"), color=COLOURS["true"], label="imprisoned")
    ax.plot(day, _col(table, "detained"), color=COLOURS["family"], label="detained")
    if steady_state is not None and np.isfinite(steady_state):
        ax.axhline(steady_state, color=COLOURS["false"], ls="--",
                   label="steady state (Little's law)")  # fmt: skip
    elif note:
        ax.text(0.01, 0.98, fill(f"steady state not estimated: {note}", 90),
                transform=ax.transAxes, va="top", fontsize=8, color="#555")  # fmt: skip
    ax.set_xlabel("day")
    ax.set_ylabel("people (simulated)")
    ax.set_xlim(day[0], max(day[-1], 1))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Prisoners")
    return finish(fig, path)
