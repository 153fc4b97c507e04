"""Parallel kernels: the same data files whatever the number of threads."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from survsim.engine.parallel import CHUNKS, chunk_bounds
from survsim.models.surveillance_state import SurveillanceState, SurveillanceStateParams
from survsim.society.conversations import groups_per_person

RUN = """
import sys
from survsim import load_scenario
from survsim.api import build_sim, save_run
scenario = load_scenario("dprk", ["params.agents=30000"], steps=90)
sim = build_sim(scenario)
sim.run()
save_run(sim, scenario, sys.argv[1])
"""


def _run(threads: int, out) -> None:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-c", RUN, str(out)], env=env, check=True)


def test_one_and_two_threads_write_identical_data_files(tmp_path):
    _run(1, tmp_path / "one")
    _run(2, tmp_path / "two")
    for name in ("timeseries.parquet", "open_speech.parquet"):
        one = pq.read_table(tmp_path / "one" / name)
        two = pq.read_table(tmp_path / "two" / name)
        assert one.equals(two), name
    summary = (tmp_path / "one" / "summary.json").read_bytes()
    assert summary == (tmp_path / "two" / "summary.json").read_bytes()
    # Not vacuous: the run has speech, reports, cases and prisoners to differ in.
    series = pq.read_table(tmp_path / "one" / "timeseries.parquet").to_pandas()
    assert series.statements.sum() > 0 and series.cases_opened.sum() > 0
    assert series.admissions.sum() > 0


def test_chunks_cover_every_item_once():
    for n in (0, 1, 63, 64, 65, 1000, 25_700_000):
        edges = [chunk_bounds(n, c) for c in range(CHUNKS)]
        assert edges[0][0] == 0 and edges[-1][1] == n
        assert all(edges[c][1] == edges[c + 1][0] for c in range(CHUNKS - 1))


def test_groups_per_person_is_one_over_the_mean_group_size():
    rng = np.random.default_rng(0)
    for extra, cap in ((1.5, 8), (1.0, 12), (0.0, 8), (6.0, 4)):
        sizes = np.minimum(cap, 2 + rng.poisson(extra, 400_000))
        se = sizes.std() / np.sqrt(sizes.size)
        assert 1 / groups_per_person(extra, cap) == pytest.approx(sizes.mean(), abs=5 * se + 1e-9)


@pytest.mark.parametrize("triage", ["ranked", "random"])
def test_every_file_waits_in_one_place_whatever_the_day_brings(triage):
    p = SurveillanceStateParams.model_validate({"agents": 20_000, "agencies": {"triage": triage}})
    sim = SurveillanceState(p, seed=5, steps=120).run()
    files, agencies, s = sim.mechanism("cases"), sim.mechanism("agencies"), sim.pop.people
    place = s.case_bits & 192  # 64 check heap, 128 investigation heap, 192 resting
    n = files.heap_size.shape[0] // 2
    in_heaps = []
    for h, size in enumerate(files.heap_size):
        who, keys = files.heap_who[h][:size], files.heap_key[h][:size]
        in_heaps.extend(who.tolist())
        np.testing.assert_array_equal(s.file_pos[who], np.arange(size))
        assert (place[who] == (64 if h < n else 128)).all()
        assert (s.case_agency[who] & 15 == h % n).all()
        assert (keys[(np.arange(1, size) - 1) // 2] >= keys[1:]).all()  # a max-heap
    assert sorted(in_heaps) == np.flatnonzero((place == 64) | (place == 128)).tolist()
    resting = []
    for a in range(n):  # walk each agency's resting queue
        person = agencies.rest[a, 0]
        while person >= 0:
            resting.append(int(person))
            person = s.file_pos[person]
        assert len(resting) == agencies.rest[: a + 1, 2].sum()
    assert sorted(resting) == np.flatnonzero(place == 192).tolist()
    assert agencies.rest_days.sum() == len(resting)
    assert not (s.case_bits & 32).any()  # no file is left marked new
    assert len(in_heaps) > 0 and (triage == "ranked" or len(resting) > 0)


def test_the_evidence_table_capacity_does_not_change_the_run():
    """Kernels that fill their event rows stop and go on: a table of 8 events per chunk
    (hundreds of rounds) gives the same series as the default one; the negative control
    shows the run is sensitive enough for the comparison to mean something."""
    data = {
        "agents": 6000,
        "conversations": {
            "topic": dict.fromkeys(
                ("household", "work", "neighbourhood", "friends", "phone", "letters", "public"), 0.3
            )
        },
    }
    params = SurveillanceStateParams.model_validate(data)
    roomy = SurveillanceState(params, seed=4, steps=30).run()
    tight = SurveillanceState(params, seed=4, steps=30)
    tight.talk.resize_events(8)
    tight.add_hook(lambda sim: sim.talk.resize_events(8))  # small again every day
    tight.run()
    assert tight.talk.events.rounds > 100  # many calls stopped for want of room
    assert tight.talk.serial_events.rounds > 30
    assert roomy.talk.events.rounds < tight.talk.events.rounds / 10  # rows grow, then hold
    a, b = roomy.timeseries().to_pandas(), tight.timeseries().to_pandas()
    assert a["cases_opened"].sum() > 100
    for name in a.columns:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    other = SurveillanceState(params, seed=5, steps=30).run().timeseries().to_pandas()
    assert not np.array_equal(a["cases_opened"], other["cases_opened"])
