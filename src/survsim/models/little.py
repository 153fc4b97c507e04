"""The steady-state prison stock by Little's law, with the cases where it cannot be known.

Little's law says that a system in equilibrium holds, on average, its arrival rate times
the mean time each arrival stays. For a prison that is the daily admissions times the mean
days a prisoner serves (deaths included). The estimate is only as good as the admissions
behind it: a handful of admissions gives no rate, admissions that would hold more people
than are alive are not an equilibrium (the rate must fall), and a prison whose life
prisoners neither leave nor die has no finite stock. :func:`steady_state` reports those cases
as a missing value with a sentence that says why, never as a number.

The other helpers are for the consumers of summaries (reports, the CLI, calibration and
ensembles): :func:`is_missing` says whether a summary number is missing (``None`` or NaN),
:func:`note_of` finds the sentence that explains it and :func:`missing_shown` pairs each
missing number of a listing with its note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["is_missing", "missing_shown", "note_of", "scaled", "steady_state"]


def _estimate(value: float | None, se: float | None, note: str | None) -> dict[str, Any]:
    return {"value": value, "se": se, "note": note}


def steady_state(
    admissions: np.ndarray,
    served_days: float,
    living: float,
    min_admissions: int = 10,
    batches: int = 10,
) -> dict[str, Any]:
    """The long-run prison stock that the admissions of a window imply (Little's law).

    The rules, in the order they are applied:

    1. ``served_days`` not finite (no deaths in prison and life terms, so a life prisoner
       is never released): no estimate; ``value`` and ``se`` are None and ``note`` says so.
    2. Fewer than ``min_admissions`` admissions in the whole window (an empty window has
       none): no estimate, with a note such as "too few admissions to estimate (7 in the
       last 365 days, 10 needed)".
    3. Otherwise ``value = mean(admissions) * served_days``.
    4. ``value`` above ``living``: the admissions cannot go on (they would hold more
       prisoners than there are people), so the run is not at equilibrium and there is
       no estimate: value and se None, and a note "not at equilibrium: the admissions of
       the last N days would hold X people, more than the Y living". The value returned
       is therefore never above ``living``.
    5. ``se`` is the standard error of ``value`` by batch means: the window is cut into
       ``b`` contiguous batches of ``m = n // b`` days each (``b = min(batches, n // 2)``,
       so a batch has at least two days; the ``n - b * m`` oldest days are left out of
       the batches, though not out of the mean), and ``se = sd(batch means, ddof=1) /
       sqrt(b) * served_days``. A window of fewer than 4 days cannot make two batches:
       the value is kept, ``se`` is None and ``note`` says the standard error is not
       estimated.

    ``note`` is None exactly when both ``value`` and ``se`` are numbers.

    Args:
        admissions: the daily admissions over the estimation window (the caller slices
            it), finite and non-negative.
        served_days: mean days served per admission, deaths included (may be inf).
        living: the living (simulated) population the stock must fit in.
        min_admissions: the fewest admissions in the window for an estimate.
        batches: the number of batches for the standard error (at least 2).

    Returns:
        ``{"value": float | None, "se": float | None, "note": str | None}``.

    Raises:
        ValueError: ``admissions`` is not a finite, non-negative 1-D series, or
            ``batches`` is below 2.
    """
    series = np.asarray(admissions, dtype=np.float64).reshape(-1)
    if not (np.all(np.isfinite(series)) and np.all(series >= 0)):
        raise ValueError("steady_state: admissions must be finite and non-negative")
    if batches < 2:
        raise ValueError("steady_state: batches must be at least 2")
    n = series.size
    if not math.isfinite(served_days):
        return _estimate(
            None,
            None,
            "no steady state: with life terms and no deaths in prison the mean time "
            "served is unbounded",
        )
    total = float(series.sum())
    if total < min_admissions:
        return _estimate(
            None,
            None,
            f"too few admissions to estimate ({total:,.0f} in the last {n:,} days, "
            f"{min_admissions:,} needed)",
        )
    value = float(series.mean()) * float(served_days)
    if not value <= living:
        return _estimate(
            None,
            None,
            f"not at equilibrium: the admissions of the last {n:,} days would hold "
            f"{value:,.0f} people, more than the {living:,.0f} living",
        )
    used = min(batches, n // 2)
    if used < 2:
        return _estimate(
            value,
            None,
            f"standard error not estimated: {n:,} days are too few for two batches of "
            "at least two days",
        )
    size = n // used
    means = series[n - used * size :].reshape(used, size).mean(axis=1)
    se = float(means.std(ddof=1) / math.sqrt(used)) * float(served_days)
    return _estimate(value, se, None)


def scaled(
    estimate: Mapping[str, Any], scale: float, population: float | None = None
) -> dict[str, Any]:
    """An estimate of :func:`steady_state` at another scale (the national one).

    ``value`` and ``se`` are multiplied by ``scale`` (None stays None) and the note is
    kept. With ``population``, a scaled value above it is refused as in rule 4 of
    :func:`steady_state`: value and se None, and a note that says so.
    """
    value, se, note = estimate.get("value"), estimate.get("se"), estimate.get("note")
    value = None if value is None else float(value) * scale
    se = None if se is None else float(se) * scale
    if value is not None and population is not None and not value <= population:
        return _estimate(
            None,
            None,
            f"not at equilibrium: the admissions would hold {value:,.0f} people, more "
            f"than the population of {population:,.0f}",
        )
    return _estimate(value, se, note)


def is_missing(value: Any) -> bool:
    """Whether a summary number is missing: None, or a float that is NaN."""
    if value is None:
        return True
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def note_of(facts: Mapping[str, Any], key: str) -> str | None:
    """The note that explains a missing ``facts[key]``, or None.

    Looks for ``<key>_note`` in ``facts``; for ``<stem>_se`` and ``<stem>_simulated``
    also for the stem's note (``prisoners_steady_state_simulated_se`` finds
    ``prisoners_steady_state_simulated_note`` or ``prisoners_steady_state_note``). Keys
    may be dotted (``national.prisoners_steady_state``) when ``facts`` is flat; a nested
    mapping is looked up level by level.
    """
    found = _note_key(facts, key)
    return None if found is None else _lookup(facts, found)


def missing_shown(facts: Mapping[str, Any]) -> tuple[dict[str, str | None], set[str]]:
    """How to show the missing numbers of one level (or a flattened whole) of a summary.

    Returns:
        For each key whose value is missing (:func:`is_missing`), the note to show with
        it, or None: a note goes with the first missing key it explains only, so a value
        and its standard error do not both repeat it. And the ``_note`` keys to leave out
        of a listing: those shown with a missing value, and empty ones.
    """
    shown: dict[str, str | None] = {}
    used: set[str] = set()
    for key, value in facts.items():
        if key.endswith("_note") or isinstance(value, Mapping) or not is_missing(value):
            continue
        found = _note_key(facts, key)
        shown[key] = None if found is None or found in used else _lookup(facts, found)
        if found is not None:
            used.add(found)
    empty = {k for k, v in facts.items() if k.endswith("_note") and not v}
    return shown, used | empty


def _note_key(facts: Mapping[str, Any], key: str) -> str | None:
    stems = [key]
    for suffix in ("_se", "_simulated"):
        if stems[-1].endswith(suffix):
            stems.append(stems[-1].removesuffix(suffix))
    for stem in stems:
        note = _lookup(facts, f"{stem}_note")
        if isinstance(note, str) and note:
            return f"{stem}_note"
    return None


def _lookup(facts: Mapping[str, Any], key: str) -> Any:
    if key in facts:
        return facts[key]
    head, dot, rest = key.partition(".")
    inner = facts.get(head) if dot else None
    return _lookup(inner, rest) if isinstance(inner, Mapping) else None
