"""PNG figures of a run, drawn with matplotlib's object API (no global pyplot state)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from survsim.engine.sim import FIGURES
from survsim.models.little import is_missing, note_of
from survsim.report import self_censorship as sc
from survsim.report import surveillance as sv
from survsim.report.figure import Figure, finish, titled

__all__ = ["CAPTIONS", "FIGURES", "plot_civil_violence"]


def plot_civil_violence(
    table: pa.Table, citizens: int, path: str | Path | None = None, title: str = ""
) -> Path | Figure:
    """Active and jailed citizens over time, as shares of all citizens.

    Args:
        table: the run's time series (``step, active, quiet, jailed``).
        citizens: the number of citizens (the denominator of the shares).
        path: where to write the PNG; None: return the figure instead.
        title: the figure's title.
    """
    steps = table.column("step").to_numpy()
    denominator = max(citizens, 1)
    fig = Figure(figsize=(8, 4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(steps, table.column("active").to_numpy() / denominator, label="active", color="#c0392b")
    ax.plot(steps, table.column("jailed").to_numpy() / denominator, label="jailed", color="#2c3e50")
    ax.set_xlabel("step")
    ax.set_ylabel("share of citizens")
    ax.set_ylim(0, 1)
    ax.set_xlim(steps[0], max(steps[-1], 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    ax.set_title(title or "Civil violence: active and jailed citizens")
    return finish(fig, path)


def _plot_prisoners(sim, path: str | Path | None = None, title: str = "") -> Path | Figure:
    """The prisoners figure; the steady-state line only when the run could estimate it."""
    facts = sim.summary()
    key = "prisoners_steady_state_simulated"
    steady = facts.get(key)
    return sv.plot_prisoners(
        sim.timeseries(),
        path,
        titled("Prisoners", title),
        None if is_missing(steady) else steady,
        note_of(facts, key) if key in facts else None,
    )


#: Model name -> (file name, function(sim, path, title)) for the figures of a run; the
#: engine's registry, which :meth:`survsim.engine.Sim.plot` reads.
FIGURES.update(
    {
        "civil_violence": [
            (
                "active_jailed.png",
                lambda sim, path, title="": plot_civil_violence(
                    sim.timeseries(), sim.n_citizens, path, title
                ),
            )
        ],
        "self_censorship": [
            ("phase_diagram.png", sc.plot_phase_diagram),
            ("population.png", sc.plot_population),
        ],
        "surveillance_state": [
            (
                "daily_story.png",
                lambda sim, path, title="": sv.plot_daily_story(
                    sim.timeseries(), path, titled("The daily story", title)
                ),
            ),
            (
                "open_speech.png",
                lambda sim, path, title="": sv.plot_open_speech(
                    sim.open_speech(), path, titled("Open speech by group size", title)
                ),
            ),
            (
                "reports_by_channel.png",
                lambda sim, path, title="": sv.plot_reports_by_channel(
                    sim.timeseries(), path, titled("Reports by channel", title)
                ),
            ),
            (
                "prisoners.png",
                lambda sim, path, title="": _plot_prisoners(sim, path, title),
            ),
        ],
    }
)

#: One-sentence captions of the figures in the HTML report.
CAPTIONS = {
    "active_jailed.png": "Active and jailed citizens as shares of all citizens.",
    "daily_story.png": "People who spoke openly each day, the evidence and cases it "
    "produced, convictions by kind, and the share of dissenters never heard.",
    "open_speech.png": "Of the people present when a sensitive topic came up, the share "
    "who spoke openly, by the number present and the context (95% intervals).",
    "reports_by_channel.png": "Every piece of evidence the apparatus received, by channel.",
    "phase_diagram.png": "Whether an individual complies, self-censors or defies, by its "
    "desired dissent and one setting (the others at the run's values, boldness at the "
    "population's mean); the dashed line marks the run's value.",
    "population.png": "Each individual's expressed dissent against its desired dissent, "
    "by phase; the dotted line is the tolerance.",
    "prisoners.png": "Imprisoned and detained people; the dashed line is the stock that "
    "today's admissions imply in the long run (Little's law), when they allow an estimate.",
}
