"""The engine: state allocation, the plan, the step API, atomic results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from survsim.engine import (
    Attribute,
    OutputExistsError,
    Plan,
    State,
    write_json_atomic,
    write_parquet_atomic,
    write_run_dir,
)
from tests.conftest import make_sim


def test_state_allocates_declared_arrays():
    state = State.allocate(
        [
            Attribute("age", np.uint8, 3, "agents"),
            Attribute("occupant", np.int32, -1, "cells"),
        ],
        agents=4,
        cells=6,
    )
    assert state.age.dtype == np.uint8 and state.age.tolist() == [3, 3, 3, 3]
    assert state.occupant.tolist() == [-1] * 6
    assert state.nbytes == 4 + 24
    assert set(state) == {"age", "occupant"}
    with pytest.raises(ValueError, match="twice"):
        State.allocate([Attribute("a", np.int8), Attribute("a", np.int8)], agents=1)


def test_plan_runs_steps_in_order_and_times_them():
    calls = []
    plan = Plan.of(
        [("a", lambda: calls.append("a"), "first"), ("b", lambda: calls.append("b"), "")]
    )
    plan.execute()
    plan.execute()
    assert calls == ["a", "b", "a", "b"]
    assert list(plan.timings()) == ["a", "b"]
    assert all(s.calls == 2 and s.seconds >= 0 for s in plan.steps)
    with pytest.raises(ValueError, match="unique"):
        Plan.of([("a", lambda: None, ""), ("a", lambda: None, "")])


def test_step_api_hooks_progress_and_stop():
    sim = make_sim(steps=10)
    seen = []
    sim.add_hook(lambda s: seen.append(("hook", s.t)))
    sim.step()
    assert sim.t == 1 and seen == [("hook", 1)]
    progress = []
    sim.run(steps=3, progress=lambda s: progress.append(s.t))
    assert sim.t == 4 and progress == [2, 3, 4]
    sim.run(should_stop=lambda s: s.t >= 6)
    assert sim.t == 6 and not sim.finished
    sim.run()
    assert sim.finished and sim.t == 10
    with pytest.raises(RuntimeError, match="finished"):
        sim.step()
    assert [t for _, t in seen] == list(range(1, 11))
    assert sim.timeseries().num_rows == 11
    assert set(sim.plan_timings()) == {"activate", "record"}
    assert sim.timings["build_s"] > 0 and sim.timings["run_s"] > 0
    assert sim.describe_plan().startswith("1. activate:")


def test_stepwise_and_whole_runs_agree():
    a = make_sim(steps=15, seed=4, legitimacy=0.7, cop_density=0.04, max_jail_term=30)
    b = make_sim(steps=15, seed=4, legitimacy=0.7, cop_density=0.04, max_jail_term=30)
    a.run()
    for _ in range(15):
        b.step()
    assert a.timeseries().equals(b.timeseries())


def test_parquet_and_json_writes_are_atomic(tmp_path):
    table = pa.table({"step": [0, 1], "x": [1.0, 2.0]})
    path = write_parquet_atomic(table, tmp_path / "t.parquet")
    assert pq.read_table(path).equals(table)
    write_json_atomic({"a": 1}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "t.parquet"]


def test_run_dir_is_all_or_nothing(tmp_path):
    out = tmp_path / "run"

    def broken(path):
        path.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_run_dir(out, {"a.txt": lambda p: p.write_text("ok"), "b.txt": broken})
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a temporary one
    write_run_dir(out, {"a.txt": lambda p: p.write_text("ok")})
    assert (out / "a.txt").read_text() == "ok"
    with pytest.raises(OutputExistsError):
        write_run_dir(out, {"a.txt": lambda p: p.write_text("again")})
    assert (out / "a.txt").read_text() == "ok"


def test_memory_check_names_need_and_availability():
    from survsim.engine.memory import InsufficientMemoryError, available_bytes, check_fits

    assert available_bytes() is None or available_bytes() > 0
    check_fits(10, "a tiny run", available=100)
    with pytest.raises(InsufficientMemoryError, match=r"needs about 2\.0 GB, 1\.0 GB available"):
        check_fits(2_000_000_000, "a run", available=1_000_000_000)


def test_memory_estimate_is_close_to_the_arrays_allocated():
    from survsim.models import CivilViolence, CivilViolenceParams
    from survsim.models.civil_violence import BASE_BYTES, estimate_bytes

    p = CivilViolenceParams(width=300, height=300)
    sim = CivilViolence(p, seed=1, steps=10)
    arrays = sim.state.nbytes + sum(
        a.nbytes for a in (sim._torus_of, *sim._grid[:2], sim._move_words)
    )
    estimate = estimate_bytes(p, 10) - BASE_BYTES
    assert arrays <= estimate <= 2 * arrays


def test_a_stale_kernel_cache_is_flushed_once_and_a_fresh_one_kept(tmp_path):
    from survsim.engine.jit_cache import refresh, refresh_stale_cache, source_fingerprint

    class Kernel:
        def __init__(self):
            self.flushed = 0
            self._cache = self

        def flush(self):
            self.flushed += 1

    kernels = [Kernel(), Kernel()]
    stamp = tmp_path / "cache" / "stamp"
    assert refresh(kernels, stamp, "a") and [k.flushed for k in kernels] == [1, 1]
    assert not refresh(kernels, stamp, "a") and [k.flushed for k in kernels] == [1, 1]
    assert refresh(kernels, stamp, "b") and [k.flushed for k in kernels] == [2, 2]
    # The fingerprint follows any change of any source file.
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.py").write_text("x = 1\n")
    (src / "sub" / "b.py").write_text("y = 2\n")
    before = source_fingerprint(src)
    assert source_fingerprint(src) == before
    (src / "sub" / "b.py").write_text("y = 3\n")
    assert source_fingerprint(src) != before
    # Limited to some packages, it ignores the files outside them.
    only_sub = source_fingerprint(src, ("sub",))
    (src / "a.py").write_text("x = 2\n")
    assert source_fingerprint(src, ("sub",)) == only_sub
    (src / "sub" / "b.py").write_text("y = 4\n")
    assert source_fingerprint(src, ("sub",)) != only_sub
    # Every module that defines a kernel lies in a package the real fingerprint covers.
    import survsim
    from survsim.engine.jit_cache import KERNEL_PACKAGES

    package = Path(survsim.__file__).parent
    with_kernels = {
        p.relative_to(package).parts[0]
        for p in package.rglob("*.py")
        if "nb.njit" in p.read_text(encoding="utf-8")
    }
    assert with_kernels and with_kernels <= set(KERNEL_PACKAGES)
    # The modules left out of the fingerprint import no numba (nor anything with kernels).
    from survsim.engine.jit_cache import ORCHESTRATION

    for name in ORCHESTRATION:
        text = (package / name).read_text(encoding="utf-8")
        assert "import numba" not in text and "njit" not in text, name
    # The real cache: once checked (and flushed if stale), it is fresh.
    refresh_stale_cache.__wrapped__()
    assert not refresh_stale_cache.__wrapped__()
