"""Checkpoints and resume: a stopped run continues to the same data, bit for bit.

The oracle is determinism: every random draw is a pure function of (seed, stream, step,
index), so a run restored from a checkpoint must give result files identical to an
uninterrupted run with the same seed. The negative controls show that the comparison
would notice a lost or changed piece of state.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import survsim
from survsim.api import build_sim
from survsim.cli import main
from survsim.engine.checkpoint import (
    CheckpointError,
    checkpoint_bytes,
    read_checkpoint,
    restore,
    write_checkpoint,
)
from survsim.scenario import load_scenario

#: A small surveillance state whose timeline changes parameters (day 4), brings a
#: foreign-media event (day 4) and an amnesty (day 7): state a checkpoint must carry.
EVENTS = """\
model: surveillance_state
name: events
steps: 12
params:
  agents: 6000
  policy:
    events:
      - {day: 4, set: {border.team_size: 3, speech.delta: 0.5}, foreign_media: true}
      - {day: 7, amnesty: 0.5}
"""

DATA_FILES = ("timeseries.parquet", "open_speech.parquet", "summary.json")
#: A checkpoint file is under this share of the arrays it holds (measured: see
#: docs/reliability.md).
COMPRESSED = 0.5


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "events.yaml"
    path.write_text(EVENTS)
    return str(path)


def _results(sim):
    speech = sim.open_speech() if hasattr(sim, "open_speech") else None
    return sim.timeseries(), speech, sim.summary() if hasattr(sim, "summary") else None


def _same(a, b) -> bool:
    return a[0].equals(b[0]) and (a[1] is None or a[1].equals(b[1])) and a[2] == b[2]


def _resumed(scenario, path):
    sim = build_sim(scenario)
    restore(sim, read_checkpoint(path))
    return sim


@pytest.mark.parametrize(
    ("source", "cuts"),
    [("events", [3, 4, 7]), ("epstein", [1, 17, 29])],
)
def test_a_restored_run_ends_exactly_like_an_uninterrupted_one(source, cuts, events_file, tmp_path):
    scenario = load_scenario(events_file if source == "events" else source, steps=None)
    if source == "epstein":
        scenario = load_scenario(source, steps=30)
    whole = _results(build_sim(scenario).run())
    for cut in cuts:
        first = build_sim(scenario).run(steps=cut)
        write_checkpoint(first, tmp_path / f"cut{cut}.npz")
        second = _resumed(scenario, tmp_path / f"cut{cut}.npz")
        assert second.t == cut
        assert _same(_results(second.run()), whole), f"cut at step {cut}"


def test_a_changed_byte_of_state_changes_the_continued_run(events_file, tmp_path):
    """Negative control: the comparison above sees a single changed value of the state."""
    scenario = load_scenario(events_file)
    whole = _results(build_sim(scenario).run())
    first = build_sim(scenario).run(steps=3)
    free = np.flatnonzero(first.pop.people.status == 0)
    first.pop.people.grievance[free[:200]] = 0.99  # 200 people suddenly aggrieved
    write_checkpoint(first, tmp_path / "changed.npz")
    assert not _same(_results(_resumed(scenario, tmp_path / "changed.npz").run()), whole)


def test_a_run_with_another_seed_or_length_is_refused(tmp_path):
    scenario = load_scenario("epstein", steps=10)
    write_checkpoint(build_sim(scenario).run(steps=3), tmp_path / "c.npz")
    for other in (load_scenario("epstein", steps=10, seed=1), load_scenario("epstein", steps=11)):
        with pytest.raises(CheckpointError, match=r"seed|steps"):
            restore(build_sim(other), read_checkpoint(tmp_path / "c.npz"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "not_zip"])
def test_a_damaged_checkpoint_is_refused_in_one_line(damage, tmp_path):
    path = tmp_path / "c.npz"
    write_checkpoint(build_sim(load_scenario("epstein", steps=10)).run(steps=3), path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 3] ^= 0xFF  # inside an array: the zip's CRC no longer matches
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"model: epstein\n")
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not a readable checkpoint") as err:
        read_checkpoint(path)
    assert "\n" not in str(err.value)


def test_the_checkpoint_holds_the_state_and_little_else(events_file, tmp_path):
    sim = build_sim(load_scenario(events_file)).run(steps=5)
    path = write_checkpoint(sim, tmp_path / "c.npz")
    state = sim.pop.people.nbytes
    assert state <= checkpoint_bytes(sim)  # the arrays, before compression
    # Compressed: the file is well under the arrays it holds (zstd at level 1).
    assert path.stat().st_size < COMPRESSED * checkpoint_bytes(sim)
    meta = read_checkpoint(path).meta
    assert meta["t"] == 5 and meta["params"]["speech"]["delta"] == 0.5  # after the day-4 event


def _rewritten(path: Path, **changes) -> Path:
    """The checkpoint at ``path`` with its meta changed (``None`` removes a key)."""
    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    meta = json.loads(bytes(members["meta"]).decode())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    members["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    out = path.with_name("changed.npz")
    np.savez(out, **members)
    return out


def test_a_checkpoint_of_another_survsim_or_format_is_refused_in_one_line(tmp_path):
    path = write_checkpoint(
        build_sim(load_scenario("epstein", steps=10)).run(steps=3), tmp_path / "c.npz"
    )
    mine = read_checkpoint(path).meta["survsim"]
    assert mine == survsim.__version__
    older = _rewritten(path, survsim="0.1.0")
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(older)
    message = str(err.value)
    assert f"written by survsim 0.1.0 (checkpoint format 2), this is survsim {mine}" in message
    assert "resume it with survsim 0.1.0, or run it again from the start" in message
    assert "\n" not in message
    first = _rewritten(path, format=1, survsim=None)  # the uncompressed format of 0.1.0
    with pytest.raises(
        CheckpointError, match=r"written by an older survsim \(checkpoint format 1\)"
    ):
        read_checkpoint(first)
    # Negative control: the same file rewritten without a change reads back.
    assert read_checkpoint(_rewritten(path)).t == 3


# -- the command line ---------------------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in DATA_FILES}


def test_cli_checkpointed_run_and_resume_messages(events_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", events_file, "--checkpoint-every", "5", "--out", str(out)]) == 0
    assert (out / "manifest.json").is_file() and not (out / "checkpoints").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["checkpoints"] == {"every": 5, "resumed_from": []}
    assert main(["run", events_file, "--out", str(tmp_path / "plain")]) == 0
    assert _files(out) == _files(tmp_path / "plain")  # checkpoints change nothing
    capsys.readouterr()
    (out / "checkpoints").mkdir()  # as a finish killed after its manifest leaves them
    (out / "checkpoints" / "day-000000010.npz").write_bytes(b"stale")
    for finished in (out, tmp_path / "plain"):
        assert main(["resume", str(finished)]) == 0
        assert "finished" in capsys.readouterr().out
    assert not (out / "checkpoints").exists()
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a run")
    for argv, expected in [
        (["resume", str(tmp_path / "empty")], "holds no checkpoint"),
        (["resume", str(tmp_path / "other")], "holds no checkpoint"),
        (["resume", str(tmp_path / "nowhere")], "no such folder"),
        (["resume", events_file], "not a folder"),
        (
            ["run", events_file, "--checkpoint-every", "0", "--out", str(tmp_path / "x")],
            "--checkpoint-every",
        ),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_ctrl_c_says_how_to_resume_and_resume_finishes_the_run(tmp_path, capsys, monkeypatch):
    from survsim import run_folder

    argv = ["run", "epstein", "--steps", "40", "--seed", "3"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    write = run_folder._Checkpointer.__call__

    def interrupted_after_day_20(self, sim):
        write(self, sim)
        if sim.t == 23:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_folder._Checkpointer, "__call__", interrupted_after_day_20)
    out = tmp_path / "stopped"
    capsys.readouterr()
    assert main([*argv, "--checkpoint-every", "10", "--out", str(out)]) == 130
    err = capsys.readouterr().err.splitlines()[-1]
    assert "interrupted at step 23 of 40 (newest checkpoint: step 20)" in err
    assert f"survsim resume {out}" in err
    monkeypatch.undo()
    assert main(["resume", str(out)]) == 0
    whole = {
        n: (tmp_path / "whole" / n).read_bytes() for n in ("timeseries.parquet", "summary.json")
    }
    assert whole == {n: (out / n).read_bytes() for n in whole}
    assert (
        json.loads((out / "manifest.json").read_text())["checkpoints"]["resumed_from"][0]["step"]
        == 20
    )


# -- SIGKILL at seeded points ----------------------------------------------------------------

#: The moments a kill is aimed at, each reached by watching the run folder.
PHASES = ("before_first", "writing_checkpoint", "after_checkpoint", "writing_results")


def _wait_for(condition, process, limit: float = 120.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.0005)
    raise AssertionError("the run never reached the moment to kill it")


def _steps(folder: Path) -> list[int]:
    return [int(p.stem.rsplit("-", 1)[1]) for p in folder.glob("day-*.npz")]


def _kill_at(process, out: Path, phase: str, rng: random.Random) -> None:
    ck = out / "checkpoints"
    if phase == "before_first":
        _wait_for(lambda: (ck / "run.json").exists(), process)
        time.sleep(rng.uniform(0, 0.2))
    elif phase == "writing_checkpoint":
        _wait_for(lambda: ck.is_dir() and any(p.name.startswith(".day-") for p in ck.iterdir()),
                  process)  # fmt: skip
    elif phase == "after_checkpoint":
        wanted = rng.randint(1, 3)
        _wait_for(lambda: max(_steps(ck), default=0) >= 8 * wanted, process)
        time.sleep(rng.uniform(0, 0.05))
    else:
        _wait_for(lambda: (out / ".results.partial").exists(), process)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "survsim.cli", *args]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_runs_killed_at_seeded_points_resume_to_identical_files(seed, tmp_path):
    """Each run is killed (SIGKILL) at two or three seeded moments, resumed each time."""
    rng = random.Random(seed)
    argv = ["run", "dprk", "--agents", "20000", "--steps", "40", "--seed", str(seed)]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    phases = rng.sample(PHASES, k=rng.choice([2, 3]))
    command = _command(*argv, "--checkpoint-every", "8", "--out", str(out), "--no-progress")
    for phase in phases:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _kill_at(process, out, phase, rng)
        command = _command("resume", str(out), "--no-progress")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _files(out) == _files(tmp_path / "whole"), f"phases {phases}"
    assert not (out / "checkpoints").exists() and not (out / ".results.partial").exists()
