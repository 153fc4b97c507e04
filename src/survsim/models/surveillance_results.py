"""What the surveillance-state model measures (docs/odd.md 6).

The daily series, the open-speech table and the headline numbers with their
national-scale estimates.

National estimates multiply simulated counts by ``national_population / agents``. The
prison stock is reported twice: as simulated on the last day, and as the steady state
that Little's law implies (admissions per day over the last year times the mean days a
prisoner serves, deaths included), which does not depend on the initial stock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from survsim.apparatus.agencies import AGENCIES, LENGTH
from survsim.apparatus.cases import EVIDENCE
from survsim.apparatus.punishment import COUNT as K
from survsim.apparatus.punishment import COUNTS, expected_days_served
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.society import conversations as conv
from survsim.society.beliefs import current
from survsim.society.population import REGIONS
from survsim.society.speech import CONTEXTS

if TYPE_CHECKING:
    from survsim.models.surveillance_state import SurveillanceState

__all__ = ["DAILY", "open_speech", "record_day", "summary"]

_INT = np.int64
#: The daily columns after ``day``, in order.
DAILY: dict[str, type] = {
    "population": _INT,
    "free": _INT,
    "detained": _INT,
    "imprisoned": _INT,
    "dead_in_prison_total": _INT,
    "dissenters": _INT,
    "spoke_openly": _INT,
    "statements": _INT,
    **{f"reports_{kind}": _INT for kind in EVIDENCE},
    "silent_witnesses": _INT,
    "cases_opened": _INT,
    **{f"queue_{a}": _INT for a in AGENCIES},
    **{f"closed_{a}": _INT for a in AGENCIES},
    **{name: _INT for name in COUNTS if name not in ("closed",)},
    "informants": _INT,
    "cameras": np.float64,
    "cctv_coverage": np.float64,
    "border_coverage": np.float64,
    "falsification_gap": np.float64,
    "mean_perceived_risk": np.float64,
    "banned_media_users": _INT,
}


@nb.njit(cache=True)
def _census_chunk(chunk, t, status, role, grievance, grievance0, belief_day, ever_spoke,
                  informant, banned_media, decay, threshold, found):  # fmt: skip
    lo, hi = chunk_bounds(status.shape[0], chunk)
    row = found[chunk]
    for i in range(lo, hi):
        s = status[i]
        if s == 3:
            continue
        row[s] += 1  # free, detained, imprisoned
        if s == 0 and informant[i]:
            row[5] += 1
        if banned_media[i]:
            row[6] += 1
        g, g0 = grievance[i], grievance0[i]
        if role[i] == 0:
            continue
        # g decays from its stored value toward g0: only a value on each side of T needs
        # the decay computed.
        if (g > threshold) == (g0 > threshold):
            above = g0 > threshold
        else:
            above = current(g, g0, t - belief_day[i], decay) > threshold
        if above:
            row[3] += 1
            if not ever_spoke[i]:
                row[4] += 1


@nb.njit(cache=True, parallel=True)
def _census(
    t,
    status,
    role,
    grievance,
    grievance0,
    belief_day,
    ever_spoke,
    informant,
    banned_media,
    decay,
    threshold,
):
    """One parallel pass over the people: status counts, dissenters, informants, media.

    Returns free, detained, imprisoned, dissenters, the silent ones, informants, media
    users.

    Dissenters are living adults with g > T; the silent ones never spoke openly.
    """
    found = np.zeros((CHUNKS, 7), dtype=np.int64)
    for chunk in nb.prange(CHUNKS):
        _census_chunk(np.int64(chunk), t, status, role, grievance, grievance0, belief_day,
                      ever_spoke, informant, banned_media, decay, threshold, found)  # fmt: skip
    return found.sum(axis=0)


def record_day(sim: SurveillanceState) -> None:
    """Write row ``sim.t``: today's counts, and the census counted from the status field.

    ``population`` is kept from the flows (yesterday's, plus births, minus deaths), not
    from the status field, so that ``free + detained + imprisoned = population`` is a
    real check of the books.
    """
    t, cols, s, tally = sim.t, sim.results.columns, sim.pop.people, sim.tally
    free, detained, imprisoned, n_dissenters, silent, informants, media = (
        int(x)
        for x in _census(
            t,
            s.status,
            s.role,
            s.grievance,
            s.grievance0,
            s.belief_day,
            s.ever_spoke,
            s.informant,
            s.banned_media,
            sim.params.beliefs.grievance_decay,
            sim.params.speech.threshold,
        )
    )
    n = sim.counts
    if t == 0:
        sim.population = free + detained + imprisoned
    else:
        sim.population += int(n[K["births"]] - n[K["deaths_natural"]] - n[K["deaths_in_prison"]])
    cols["population"][t] = sim.population
    cols["free"][t] = free
    cols["detained"][t] = detained
    cols["imprisoned"][t] = imprisoned
    cols["dead_in_prison_total"][t] = sim.dead_total
    cols["dissenters"][t] = n_dissenters
    before = sim._previous
    statements = int(tally.statements.sum())
    cols["spoke_openly"][t] = tally.speakers[0] - before["speakers"]
    cols["statements"][t] = statements - before["statements"]
    cols["silent_witnesses"][t] = tally.silent[0] - before["silent"]
    sim._previous = {
        "speakers": int(tally.speakers[0]),
        "statements": statements,
        "silent": int(tally.silent[0]),
    }
    evidence = sim.cases.counts.sum(axis=0)
    for k, kind in enumerate(EVIDENCE):
        cols[f"reports_{kind}"][t] = evidence[k]
    if not sim.params.apparatus:  # no cases: count the listeners' reports themselves
        for k in range(tally.reports.shape[0]):
            cols[f"reports_{EVIDENCE[k]}"][t] = tally.reports[k] - before.get(f"r{k}", 0)
            sim._previous[f"r{k}"] = int(tally.reports[k])
    cols["cases_opened"][t] = evidence[-1]
    for a, name in enumerate(AGENCIES):
        cols[f"queue_{name}"][t] = sim.queue[a, LENGTH]
        cols[f"closed_{name}"][t] = sim.closed[a]
    for k, name in enumerate(COUNTS):
        if name != "closed":
            cols[name][t] = sim.counts[k]
    cols["informants"][t] = informants
    cols["cameras"][t] = sim.cameras
    cols["cctv_coverage"][t] = sim.watch.cctv[0]
    cols["border_coverage"][t] = sim.watch.border[0]
    cols["falsification_gap"][t] = silent / max(n_dissenters, 1)
    cols["mean_perceived_risk"][t] = tally.risk[0] / tally.risk[1] if tally.risk[1] else 0.0
    cols["banned_media_users"][t] = media
    tally.risk[:] = 0.0


def open_speech(tally):
    """Open speech by context and group size from the tally (see ``sim.open_speech``)."""
    import pyarrow as pa

    rows = [
        (c, k)
        for c in range(len(CONTEXTS))
        for k in range(2, conv.K_BINS)
        if tally.present[c, k] > 0
    ]
    present = np.array([tally.present[c, k] for c, k in rows], dtype=np.int64)
    spoke = np.array([tally.spoke[c, k] for c, k in rows], dtype=np.int64)
    return pa.table(
        {
            "context": pa.array([CONTEXTS[c] for c, _ in rows], type=pa.string()),
            "group_size": np.array([k for _, k in rows], dtype=np.int32),
            "present": present,
            "spoke": spoke,
            "open_speech_rate": spoke / np.maximum(present, 1),
            "expected_spoke": np.array([tally.expected[c, k] for c, k in rows]),
            "variance": np.array([tally.variance[c, k] for c, k in rows]),
        }
    )


def speech_by_group_size(tally, contexts=None) -> dict[int, float]:
    """Open-speech rate at k = 2, 3, 4 pooled over ``contexts`` (names; default all)."""
    chosen = range(len(CONTEXTS)) if contexts is None else [CONTEXTS.index(c) for c in contexts]
    out = {}
    for k in (2, 3, 4):
        present = sum(int(tally.present[c, k]) for c in chosen)
        spoke = sum(int(tally.spoke[c, k]) for c in chosen)
        out[k] = spoke / present if present else float("nan")
    return out


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def summary(sim: SurveillanceState) -> dict[str, Any]:
    """Headline numbers and national estimates of a finished (or running) simulation."""
    p = sim.params
    table = sim.timeseries()
    col = {name: table.column(name).to_numpy() for name in table.column_names}
    days = sim.t
    window = slice(max(1, days - 364), days + 1) if days > 0 else slice(0, 1)
    n_window = max(1, len(range(*window.indices(days + 1))))
    per_day = lambda name: float(col[name][window].sum() / n_window)  # noqa: E731
    total = lambda name: int(col[name][1:].sum())  # noqa: E731
    served = expected_days_served(p.punishment)
    admissions = per_day("admissions")
    steady = admissions * served
    scale = p.national_population / p.agents
    convictions = {
        k: total(f"convictions_{k}") for k in ("true", "false", "failure_to_report", "family")
    }
    judged = convictions["true"] + convictions["false"] + convictions["failure_to_report"]
    speech = speech_by_group_size(sim.tally, ("work", "public"))
    capacity = sim.capacity
    closed = {a: total(f"closed_{a}") for a in AGENCIES}
    years = max(days, 1) / 365.25
    last = {name: int(col[name][-1]) for name in ("population", "imprisoned", "detained")}
    personnel = sum(getattr(p.agencies, a).personnel for a in AGENCIES) + p.border.personnel
    out: dict[str, Any] = {
        "agents": p.agents,
        "days": days,
        "population": last["population"],
        "dissenter_share": _round(col["dissenters"][-1] / max(last["population"], 1)),
        "spoke_openly_per_day": _round(float(col["spoke_openly"][window].mean())),
        "falsification_gap": _round(float(col["falsification_gap"][-1])),
        "open_speech_k2_work_public": _round(speech[2]),
        "open_speech_k3_work_public": _round(speech[3]),
        "open_speech_k4_work_public": _round(speech[4]),
        "reports": sum(total(f"reports_{kind}") for kind in EVIDENCE),
        "cases_opened": total("cases_opened"),
        "convictions": judged,
        "convictions_false_share": _round(convictions["false"] / judged) if judged else 0.0,
        **{f"convictions_{k}": v for k, v in convictions.items()},
        "acquittals": total("acquittals"),
        "prisoners": last["imprisoned"],
        "detained": last["detained"],
        "admissions_per_day": _round(admissions),
        "mean_days_served": _round(served),
        "prisoners_steady_state_simulated": _round(steady),
        "deaths_in_prison": total("deaths_in_prison"),
        "queue_longest": int(max(col[f"queue_{a}"].max() for a in AGENCIES)),
        **{
            f"utilisation_{a}": _round(closed[a] / (capacity[i] * max(days, 1)))
            if capacity[i] > 0
            else 0.0
            for i, a in enumerate(AGENCIES)
        },
    }
    out["regions"] = _held_by_region(sim)
    out["national"] = {
        "scale_factor": _round(scale),
        "population": p.national_population,
        "prisoners": _round(last["imprisoned"] * scale),
        "prisoners_steady_state": _round(steady * scale),
        "detained": _round(last["detained"] * scale),
        "admissions_per_year": _round(admissions * 365.25 * scale),
        "convictions_per_year": _round(judged / years * scale),
        "convictions_false_per_year": _round(convictions["false"] / years * scale),
        "convictions_failure_to_report_per_year": _round(
            convictions["failure_to_report"] / years * scale
        ),
        "convictions_family_per_year": _round(convictions["family"] / years * scale),
        "deaths_in_prison_per_year": _round(total("deaths_in_prison") / years * scale),
        "people_speaking_openly_per_day": _round(float(col["spoke_openly"][window].mean()) * scale),
        "informants": _round(int(col["informants"][-1]) * scale),
        "surveillance_personnel": _round(personnel),
        "cameras": _round(float(col["cameras"][-1])),
    }
    return out


def _held_by_region(sim: SurveillanceState) -> dict[str, float]:
    """Detained or imprisoned people per 100,000 living residents of each region, last day."""
    people = sim.pop.people
    held = (people.status == 1) | (people.status == 2)
    out = {}
    for code, region in enumerate(REGIONS):
        living = (people.region == code) & (people.status != 3)
        residents = int(living.sum())
        out[f"{region}_held_per_100k"] = _round(int(held[living].sum()) / max(residents, 1) * 1e5)
    return out
