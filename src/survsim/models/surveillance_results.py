"""What the surveillance-state model measures (docs/odd.md 6).

The daily series, the open-speech table and the headline numbers with their
national-scale estimates.

National estimates multiply simulated counts by ``national_population / agents``. The
prison stock is reported twice: as simulated on the last day, and as the steady state
that Little's law implies (admissions per day over the last year times the mean days a
prisoner serves, deaths included), which does not depend on the initial stock. The
steady state comes with its standard error, or is ``None`` with a note saying why it
cannot be estimated (:mod:`survsim.models.little`); it never exceeds the population.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from survsim.apparatus.agencies import AGENCIES, STAGES
from survsim.apparatus.punishment import FLOWS, PRISON_COUNTS, expected_days_served
from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.models.little import scaled, steady_state
from survsim.society.beliefs import current
from survsim.society.bundles import K_BINS
from survsim.society.names import (
    CHILD,
    CONTEXTS,
    DEAD,
    DETAINED,
    EVIDENCE,
    FREE,
    IMPRISONED,
    REGIONS,
)

if TYPE_CHECKING:
    from survsim.models.surveillance_state import SurveillanceState

__all__ = ["CENSUS", "DAILY", "open_speech", "record_census", "summary"]

_INT = np.int64
#: The columns the model counts itself each day (the census).
CENSUS: dict[str, type] = {
    "population": _INT,
    "free": _INT,
    "detained": _INT,
    "imprisoned": _INT,
    "dissenters": _INT,
    "informants": _INT,
    "falsification_gap": np.float64,
    "banned_media_users": _INT,
    "file_holders": _INT,
    "file_holders_statements_mean": np.float64,
    "file_holders_score_mean": np.float64,
    "population_statements_mean": np.float64,
}
#: Every daily column after ``day``, in the order of the time series (pinned by the
#: golden baseline, tests/data/golden_dprk.csv).
DAILY: tuple[str, ...] = (
    "population",
    "free",
    "detained",
    "imprisoned",
    "dead_in_prison_total",
    "dissenters",
    "spoke_openly",
    "statements",
    *(f"reports_{kind}" for kind in EVIDENCE),
    "silent_witnesses",
    "cases_opened",
    "file_holders",
    *FLOWS,
    "queue_checks",
    "queue_investigations",
    "resting_files",
    "utilisation_checks",
    "utilisation_investigations",
    *PRISON_COUNTS,
    "births",
    "deaths_natural",
    "came_of_age",
    "recruited",
    "informants",
    "cameras",
    "cctv_coverage",
    "border_coverage",
    "falsification_gap",
    "mean_perceived_risk",
    "banned_media_users",
    "sanctioned_statements",
    "sanctioned_score",
    "file_holders_statements_mean",
    "file_holders_score_mean",
    "population_statements_mean",
)


@nb.njit(cache=True)
def _census_chunk(chunk, t, status, role, grievance, grievance0, belief_day,
                  informant, banned_media, decay, threshold, file_key, said, log_rho,
                  found):  # fmt: skip
    lo, hi = chunk_bounds(status.shape[0], chunk)
    row = found[chunk]
    for i in range(lo, hi):
        s = status[i]
        if s == DEAD:
            continue
        row[s] += 1  # free, detained, imprisoned
        if s == FREE and informant[i]:
            row[5] += 1
        if banned_media[i]:
            row[6] += 1
        g, g0 = grievance[i], grievance0[i]
        if role[i] == CHILD:
            continue
        if s == FREE:
            row[7] += 1
            row[8] += said[i]
            if file_key[i] != -np.inf:
                row[9] += 1
                row[10] += said[i]
                row[11] += math.exp(np.float64(file_key[i]) + t * log_rho)
        # g decays from its stored value toward g0: only a value on each side of T needs
        # the decay computed.
        if (g > threshold) == (g0 > threshold):
            above = g0 > threshold
        else:
            above = current(g, g0, t - belief_day[i], decay) > threshold
        if above:
            row[3] += 1
            if said[i] == 0:
                row[4] += 1


@nb.njit(cache=True, parallel=True)
def _census(
    t,
    status,
    role,
    grievance,
    grievance0,
    belief_day,
    informant,
    banned_media,
    decay,
    threshold,
    file_key,
    said,
    log_rho,
):
    """One parallel pass over the people: status counts, dissenters, media, files.

    Returns free, detained, imprisoned, dissenters, the silent ones, informants, media
    users; then over free adults: their number, their open statements, and the number,
    open statements and file scores of those who hold a file.

    Dissenters are living adults with g > T; the silent ones never spoke openly.
    """
    found = np.zeros((CHUNKS, 12))
    for chunk in nb.prange(CHUNKS):
        _census_chunk(np.int64(chunk), t, status, role, grievance, grievance0, belief_day,
                      informant, banned_media, decay, threshold, file_key, said,
                      log_rho, found)  # fmt: skip
    return found.sum(axis=0)


def record_census(sim: SurveillanceState, t: int, cols: dict) -> None:
    """Write the census of row ``t``: the status counts, dissenters, informants, media.

    ``population`` is kept from the flows (yesterday's, plus births, minus deaths and
    crossings of the border), not from the status field, so that ``free + detained +
    imprisoned = population`` is a real check of the books.
    """
    s = sim.pop.people
    found = _census(
        t,
        s.status,
        s.role,
        s.grievance,
        s.grievance0,
        s.belief_day,
        s.informant,
        s.banned_media,
        sim.params.beliefs.grievance_decay,
        sim.params.speech.threshold,
        s.file_key,
        s.said,
        math.log(sim.params.cases.rho),
    )
    free, detained, imprisoned, n_dissenters, silent, informants, media = (
        int(x) for x in found[:7]
    )
    adults, said, holders, holders_said, holders_score = found[7:]
    if t == 0:
        sim.population = free + detained + imprisoned
    else:
        n, slot = sim.counts, sim.counter_slot
        sim.population += int(
            n[slot["births"]] - n[slot["deaths_natural"]] - n[slot["deaths_in_prison"]]
        )
        if "crossings" in slot:  # people who left across the border (society/exit.py)
            sim.population -= int(n[slot["crossings"]])
    cols["population"][t] = sim.population
    cols["free"][t] = free
    cols["detained"][t] = detained
    cols["imprisoned"][t] = imprisoned
    cols["dissenters"][t] = n_dissenters
    cols["informants"][t] = informants
    cols["falsification_gap"][t] = silent / max(n_dissenters, 1)
    cols["banned_media_users"][t] = media
    cols["file_holders"][t] = int(holders)
    cols["file_holders_statements_mean"][t] = holders_said / max(holders, 1)  # 0: none
    cols["file_holders_score_mean"][t] = holders_score / max(holders, 1)
    cols["population_statements_mean"][t] = said / max(adults, 1)


def open_speech(tally):
    """Open speech by context and group size from the tally (see ``sim.open_speech``).

    ``null_open_speech_rate`` is the rate expected if every listener were as risky as in
    a pair (each present person's own ``a_i,2`` in place of ``a_i,s(k)``: MODEL.md 8.5),
    with ``null_variance`` the sum of its Bernoulli variances; ``expected_spoke`` and
    ``variance`` are the same for the rule as it is.
    """
    import pyarrow as pa

    rows = [
        (c, k) for c in range(len(CONTEXTS)) for k in range(2, K_BINS) if tally.present[c, k] > 0
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
            "null_open_speech_rate": np.array([tally.null_expected[c, k] for c, k in rows])
            / np.maximum(present, 1),
            "null_variance": np.array([tally.null_variance[c, k] for c, k in rows]),
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
    last_population = int(col["population"][-1])
    steady = steady_state(col["admissions"][window], served, last_population)
    scale = p.national_population / p.agents
    national_steady = scaled(steady, scale, population=p.national_population)
    convictions = {
        k: total(f"convictions_{k}") for k in ("true", "false", "failure_to_report", "family")
    }
    judged = convictions["true"] + convictions["false"] + convictions["failure_to_report"]
    speech = speech_by_group_size(sim.tally, ("work", "public"))
    capacity = sim.capacity
    done = {(stage, a): total(f"{stage}_{a}") for stage in STAGES for a in AGENCIES}
    years = max(days, 1) / 365.25
    last = {name: int(col[name][-1]) for name in ("population", "imprisoned", "detained")}
    personnel = sum(getattr(p.agencies, a).personnel for a in AGENCIES) + p.border.personnel
    exits = [name for name in _EXIT if name in col]
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
        "prisoners_steady_state_simulated": _maybe(steady["value"]),
        "prisoners_steady_state_simulated_se": _maybe(steady["se"]),
        "prisoners_steady_state_note": steady["note"],
        "deaths_in_prison": total("deaths_in_prison"),
        **{name: total(name) for name in exits},
        "queue_longest": int(max(col[f"queue_{stage}"].max() for stage in STAGES)),
        **{flow: total(flow) for flow in FLOWS[:7]},
        "sanctions": total("detentions") + total("prison_sentences"),
        "warned_people": int(np.count_nonzero(sim.pop.people.warned)),
        "checked_share_of_files_opened": _share(total("checks"), total("cases_opened")),
        "investigated_share_of_files_opened": _share(
            total("investigations"), total("cases_opened")
        ),
        **_who_is_sanctioned(col),
        **{
            f"utilisation_{stage}_{a}": _round(done[stage, a] / (capacity[st, i] * max(days, 1)))
            if capacity[st, i] > 0
            else 0.0
            for st, stage in enumerate(STAGES)
            for i, a in enumerate(AGENCIES)
        },
    }
    out["regions"] = _held_by_region(sim)
    out["national"] = {
        "scale_factor": _round(scale),
        "population": p.national_population,
        "prisoners": _round(last["imprisoned"] * scale),
        "prisoners_steady_state": _maybe(national_steady["value"]),
        "prisoners_steady_state_se": _maybe(national_steady["se"]),
        "prisoners_steady_state_note": national_steady["note"],
        "detained": _round(last["detained"] * scale),
        "admissions_per_year": _round(admissions * 365.25 * scale),
        "convictions_per_year": _round(judged / years * scale),
        "convictions_false_per_year": _round(convictions["false"] / years * scale),
        "convictions_failure_to_report_per_year": _round(
            convictions["failure_to_report"] / years * scale
        ),
        "convictions_family_per_year": _round(convictions["family"] / years * scale),
        "deaths_in_prison_per_year": _round(total("deaths_in_prison") / years * scale),
        **{f"{name}_per_year": _round(total(name) / years * scale) for name in exits},
        "people_speaking_openly_per_day": _round(float(col["spoke_openly"][window].mean()) * scale),
        "informants": _round(int(col["informants"][-1]) * scale),
        "surveillance_personnel": _round(personnel),
        "cameras": _round(float(col["cameras"][-1])),
    }
    return out


#: The exit counts (society/exit.py): attempts to cross, crossings, attempts seen.
_EXIT = ("crossing_attempts", "crossings", "crossings_detected")


def _maybe(x: float | None) -> float | None:
    return None if x is None else _round(x)


def _share(part: float, whole: float) -> float | None:
    return _round(part / whole) if whole else None


def _who_is_sanctioned(col: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Open statements and file scores of the sanctioned against file holders and everyone.

    The sanctioned are counted at their sanction (statements made before it); file holders
    and the population (free adults) on the same days, each day weighted by its sanctions.
    """
    sanctions = (col["detentions"] + col["prison_sentences"])[1:].astype(np.float64)
    n = sanctions.sum()
    if n == 0:
        return {
            "sanctioned_prior_statements_mean": None,
            "file_holders_prior_statements_mean": None,
            "population_prior_statements_mean": None,
            "sanctioned_file_score_mean": None,
            "file_holders_file_score_mean": None,
        }

    def weighted(name: str) -> float:
        values = col[name][1:].astype(np.float64)
        return _round(float((values * sanctions).sum() / n))

    return {
        "sanctioned_prior_statements_mean": _round(col["sanctioned_statements"][1:].sum() / n),
        "file_holders_prior_statements_mean": weighted("file_holders_statements_mean"),
        "population_prior_statements_mean": weighted("population_statements_mean"),
        "sanctioned_file_score_mean": _round(col["sanctioned_score"][1:].sum() / n),
        "file_holders_file_score_mean": weighted("file_holders_score_mean"),
    }


def _held_by_region(sim: SurveillanceState) -> dict[str, float]:
    """Detained or imprisoned people per 100,000 living residents of each region, last day."""
    people = sim.pop.people
    held = (people.status == DETAINED) | (people.status == IMPRISONED)
    out = {}
    for code, region in enumerate(REGIONS):
        living = (people.region == code) & (people.status != DEAD)
        residents = int(living.sum())
        out[f"{region}_held_per_100k"] = _round(int(held[living].sum()) / max(residents, 1) * 1e5)
    return out
