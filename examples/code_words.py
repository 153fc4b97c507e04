"""Speaking in code words: a way people cope, added to the model as one new mechanism.

Under a surveillance state people learn to say things so that only those who know can
follow: an allusion, a proverb, a nickname for the leader. This file adds that coping
to the surveillance-state model as one mechanism (docs/extending.md walks through it):

- a share ``code_words.share`` of adults speak in code words (a per-person trait drawn
  once; an assumption, no source gives it);
- a recording of what such a person said openly (a microphone, a wiretap, a letter read
  by the post) is understood by the apparatus with the chance ``code_words.understood``
  per person, channel and day (an assumption); a recording not understood is no
  evidence. People who hear them in person understand them: their reports are unchanged.

The mechanism reads the evidence events that conversations write (it is listed before
the cases, so it sees the events first) and removes the recordings it makes useless;
its counter ``recordings_misunderstood`` becomes a result column. What is assumed here
is the chance of understanding; what the run shows (fewer recordings, then fewer cases,
convictions and prisoners, and how much of that reaches the people who do not use code
words) emerges from the rest of the model.

    python examples/code_words.py                        # 50,000 people, 2 years
    python examples/code_words.py --agents 20000 --steps 200 --share 0.5 --out fig.png

Every person in these runs is synthetic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numba as nb
import numpy as np
from matplotlib.figure import Figure
from pydantic import Field

from survsim import load_scenario
from survsim.engine import Attribute
from survsim.engine.events import EVENT_KIND
from survsim.engine.mechanism import Mechanism
from survsim.engine.params import StrictModel
from survsim.engine.rng import random_block, uniform_from_words
from survsim.models import SurveillanceState
from survsim.society.names import CHILD, CORRESPONDENCE, MICROPHONE, WIRETAP


class CodeWordsParams(StrictModel):
    """Code words: who uses them, and how often a recording of them is understood."""

    share: float = Field(0.0, ge=0, le=1, description="assumption: adults using code words")
    understood: float = Field(
        0.3, ge=0, le=1, description="assumption: chance a recording is understood"
    )


@nb.njit  # not cached: a script's module name differs between runs and imports
def misunderstood(person, kind, day, n, start, code_words, seed, stream, understood):
    """Remove the recordings of code-word users that are not understood; count them.

    The table's rows lie one after another (``start[c]`` is row c's first event). One
    draw per person, channel and day: a channel that understands a person today
    understands all it records of that person today.
    """
    removed = 0
    for chunk in range(n.shape[0]):
        kept = start[chunk]
        for x in range(start[chunk], start[chunk] + n[chunk]):
            i, k, d = person[x], kind[x], day[x]
            what = k & EVENT_KIND  # the high bits carry the size class of the group
            recording = what in (MICROPHONE, WIRETAP, CORRESPONDENCE)
            if recording and code_words[i]:
                w0, w1, _, _ = random_block(seed, stream, d, i, what)
                if uniform_from_words(w0, w1) >= understood:
                    removed += 1
                    continue
            person[kept], kind[kept], day[kept] = i, k, d
            kept += 1
        n[chunk] = kept - start[chunk]
    return removed


class CodeWords(Mechanism):
    """Adults who speak in code words: recordings of them are often not understood."""

    name = "code words"
    group = "code_words"
    params_class = CodeWordsParams
    arrays = (Attribute("code_words", np.bool_, False, "people", "speaks in code words"),)
    streams = ("code_words", "code_words/understood")
    counters = ("recordings_misunderstood",)
    reads = ("microphone", "wiretap", "correspondence")

    def init(self) -> None:
        """Draw who uses code words; read the evidence events before the cases do."""
        sim = self.sim
        people = sim.pop.people
        u = sim.streams.uniform("code_words", 0, sim.params.agents)
        # Children too: they use code words once they come of age (children never speak).
        people.code_words[:] = u < self.pars.share
        sim.talk.subscribe(self.read)

    def read(self, table) -> None:
        """Remove the recordings of code-word users that are not understood."""
        sim = self.sim
        self.counts[0] += misunderstood(
            *table, sim.pop.people.code_words, sim.seed64,
            self.stream("code_words/understood"), self.pars.understood,
        )  # fmt: skip


#: The model with the new mechanism: the one registry line.
WithCodeWords = SurveillanceState.with_mechanisms(CodeWords, before="cases")


def run(agents: int, steps: int, seed: int, share: float, understood: float = 0.3,
        overrides: tuple[str, ...] = ()):  # fmt: skip
    """The dprk scenario with ``share`` of adults speaking in code words.

    ``overrides`` are ``--set`` strings of the scenario (``params.channels.post=0.5``).
    """
    scenario = load_scenario("dprk", [f"params.agents={agents}", *overrides], steps=steps)
    data = scenario.params.model_dump()
    data["code_words"] = {"share": share, "understood": understood}
    params = WithCodeWords.params_class.model_validate(data)
    return WithCodeWords(params, seed=seed, steps=steps).run()


def outcomes(sim, share: float) -> dict[str, float]:
    """What the run did to the people: recordings, convictions, prisoners, by group.

    The groups are the same people in both arms: those who use code words when
    ``share`` of adults do (the trait's draw does not depend on the arm).
    """
    table = sim.timeseries().to_pandas()
    people = sim.pop.people
    held = (people.status == 1) | (people.status == 2)
    adults = people.role != CHILD
    would = (sim.streams.uniform("code_words", 0, sim.params.agents) < share) & adults
    users, others = would, adults & ~would
    recordings = ["reports_microphone", "reports_wiretap", "reports_correspondence"]
    return {
        "recordings used as evidence": float(table[recordings].to_numpy().sum()),
        "recordings not understood": float(table["recordings_misunderstood"].sum()),
        "true convictions": float(table["convictions_true"].sum()),
        "held per 100k, code-word users": float(held[users].sum() / max(users.sum(), 1) * 1e5),
        "held per 100k, the others": float(held[others].sum() / max(others.sum(), 1) * 1e5),
        "prisoners (last day)": float(table["imprisoned"].iloc[-1]),
    }


def main() -> None:
    """Run without and with code words (same seeds), print the table, draw the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=730)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--understood", type=float, default=0.3)
    parser.add_argument("--out", type=Path, default=Path("docs/figures/code_words.png"))
    args = parser.parse_args()
    rows = {"no code words": [], f"{args.share:.0%} use code words": []}
    series = {}
    for label, share in zip(rows, (0.0, args.share), strict=True):
        for seed in range(args.seeds):
            sim = run(args.agents, args.steps, seed, share, args.understood)
            rows[label].append(outcomes(sim, args.share))
            series.setdefault(label, sim.timeseries().to_pandas())
            print(f"{label}, seed {seed}: done", flush=True)
    keys = list(next(iter(rows.values()))[0])
    print("\n| outcome | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for key in keys:
        means = [np.mean([r[key] for r in runs]) for runs in rows.values()]
        print(f"| {key} | " + " | ".join(f"{m:,.1f}" for m in means) + " |")

    fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2)
    for (label, df), colour in zip(series.items(), ("#2c3e50", "#c0392b"), strict=True):
        recorded = df[["reports_microphone", "reports_wiretap", "reports_correspondence"]]
        left.plot(df["day"], recorded.sum(axis=1).cumsum(), color=colour, label=label)
        right.plot(df["day"], df["imprisoned"], color=colour, label=label)
    left.set(title="Recordings used as evidence (cumulative)", xlabel="day")
    right.set(title="People in prison", xlabel="day")
    left.legend()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
