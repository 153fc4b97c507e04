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


def test_a_new_case_joins_its_queue_once_whatever_the_day_brings():
    sim = SurveillanceState(SurveillanceStateParams(agents=20_000), seed=5, steps=120).run()
    case, queue = sim.pop.people, sim.cases.queue
    in_queue = np.flatnonzero(sim.cases.bits & 32)
    # Walk every queue: each queued person appears once, and the lengths add up.
    seen = []
    for a in range(queue.shape[0]):
        person = queue[a, 0]
        while person >= 0:
            seen.append(person)
            person = case.next_in_queue[person]
        assert len(seen) == queue[:, 2][: a + 1].sum()
    assert sorted(seen) == sorted(in_queue.tolist())
    assert len(seen) > 0


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
