"""Runs that survive a crash: checkpoints under ``OUT/checkpoints/`` and ``resume``.

``survsim run ... --checkpoint-every N --out OUT`` creates ``OUT`` at the start with
``OUT/checkpoints/run.json`` (the scenario with every parameter resolved, the seed, the
length and N) and writes the run's whole state to ``OUT/checkpoints/day-000000120.npz``
every N steps (:mod:`survsim.engine.checkpoint`), keeping only the newest. When the run
ends, its result files are assembled in a hidden folder inside ``OUT``, moved in with
``manifest.json`` last, and the checkpoints are removed. ``survsim resume OUT`` builds
the run again from ``run.json``, restores the newest checkpoint and continues; the result
files are identical to those of an uninterrupted run, because every random draw is a pure
function of (seed, stream, step, index).

A folder's state, read from its files:

- ``manifest.json`` present: finished (it is moved in last). Checkpoints beside it, left
  by a finish cut short, are removed.
- else ``checkpoints/run.json`` present: unfinished; resume continues from the newest
  checkpoint (or from the start, if the run stopped before its first one).
- neither: not a checkpointed run; ``resume`` refuses it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from survsim import __version__
from survsim.api import build_sim, run_writers
from survsim.engine import Sim, write_json_atomic
from survsim.engine.checkpoint import CheckpointError, read_checkpoint, restore, write_checkpoint
from survsim.engine.sim import Hook
from survsim.errors import SurvsimError
from survsim.scenario import Scenario, validate

__all__ = [
    "CHECKPOINTS",
    "InterruptedRunError",
    "Resumed",
    "checkpoints",
    "finish",
    "prepare_resume",
    "read_step",
    "run_to_end",
    "start_checkpointed",
]

#: The folder inside a run folder that holds ``run.json`` and the checkpoints.
CHECKPOINTS = "checkpoints"
_RUN_FILE = "run.json"
_PARTIAL = ".results.partial"
_FORMAT = 1


class InterruptedRunError(SurvsimError):
    """Ctrl-C during a checkpointed run: where it stands and how to go on (exit 130)."""

    exit_code = 130


def checkpoints(out: Path) -> list[Path]:
    """The complete checkpoint files of a run folder, oldest first.

    Hidden ``.tmp`` files (a write cut short) are not checkpoints and are left out.
    """
    folder = out / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.npz"):
        if path.name.startswith("."):
            continue
        try:
            found.append((int(path.stem.rsplit("-", 1)[-1]), path))
        except ValueError:
            continue
    return [path for _, path in sorted(found)]


class _Checkpointer:
    """The hook that writes a checkpoint every ``every`` steps and drops the older ones."""

    def __init__(self, out: Path, every: int) -> None:
        self.out = out
        self.every = every

    def __call__(self, sim: Sim) -> None:
        if sim.t % self.every or sim.finished:
            return
        older = checkpoints(self.out)
        path = self.out / CHECKPOINTS / f"{sim.step_name}-{sim.t:09d}.npz"
        write_checkpoint(sim, path)
        for old in older:
            if old != path:
                old.unlink(missing_ok=True)


def _record(scenario: Scenario, every: int) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "survsim": __version__,
        "checkpoint_every": every,
        "scenario": {**scenario.resolved(), "path": scenario.path},
        "resumed_from": [],
    }


def start_checkpointed(sim: Sim, scenario: Scenario, out: Path, every: int) -> None:
    """Create ``out`` with its ``run.json`` and make ``sim`` checkpoint every ``every`` steps.

    The folder appears with its ``run.json`` in one rename, so a run stopped at any
    moment leaves either no folder or one that ``resume`` reads.

    Args:
        sim: the freshly built simulation (step 0).
        scenario: the scenario it runs.
        out: the run folder; it must not exist or be empty (checked by the caller).
        every: steps between checkpoints (at least 1).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        (tmp / CHECKPOINTS).mkdir()
        write_json_atomic(_record(scenario, every), tmp / CHECKPOINTS / _RUN_FILE)
        if out.exists():
            out.rmdir()  # empty, checked by the caller
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sim.add_hook(_Checkpointer(out, every))


def finish(sim: Sim, scenario: Scenario, out: Path) -> Path:
    """Write a checkpointed run's result files into ``out``, then drop its checkpoints.

    The files are written into a hidden folder inside ``out`` and moved in one by one,
    ``manifest.json`` last; the checkpoints go only once the manifest is in place, so a
    crash at any point leaves a folder that ``resume`` completes.
    """
    record = _read_record(out)
    extra = {
        "checkpoints": {
            "every": record["checkpoint_every"],
            "resumed_from": record["resumed_from"],
        }
    }
    partial = out / _PARTIAL
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    writers = run_writers(sim, scenario, extra)
    for name, write in writers.items():
        write(partial / name)
    for name in writers:
        os.replace(partial / name, out / name)
    partial.rmdir()
    shutil.rmtree(out / CHECKPOINTS)
    return out


@dataclass
class Resumed:
    """What ``resume`` found in a run folder.

    Attributes:
        out: the run folder.
        sim: the simulation, restored and ready to continue (None if finished).
        scenario: the scenario it runs (None if finished).
        from_step: the step it continues from (0 if no checkpoint was written yet).
        steps: the run's planned steps.
    """

    out: Path
    sim: Sim | None
    scenario: Scenario | None
    from_step: int
    steps: int

    @property
    def finished(self) -> bool:
        """True if the folder holds a finished run: nothing to resume."""
        return self.sim is None


def _read_record(out: Path) -> dict[str, Any]:
    path = out / CHECKPOINTS / _RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SurvsimError(
            f"{out}: holds no checkpoint (start a resumable run with "
            f"'survsim run SCENARIO --checkpoint-every N --out {out}')"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SurvsimError(f"{path}: not readable ({err})") from None
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        raise SurvsimError(f"{path}: not a run record this survsim reads")
    return record


def prepare_resume(out: str | Path, warm: Callable[[str], object] | None = None) -> Resumed:
    """Read a run folder and, if it is unfinished, rebuild and restore its simulation.

    ``warm(model)``, if given, is called before the rebuild (the CLI compiles the model's
    kernels there, in parallel processes, when numba's cache is cold).

    Raises:
        SurvsimError: ``out`` is not a folder, holds no checkpoint, or its checkpoint is
            damaged or was written by another version of the model (one line each).
    """
    out = Path(out)
    if not out.is_dir():
        what = "no such folder" if not out.exists() else "not a folder"
        raise SurvsimError(f"{out}: {what} (resume takes the --out folder of a run)")
    if (out / "manifest.json").is_file():
        # The manifest is moved in last: the results are complete. Checkpoints beside it
        # are those of a finish cut short before it removed them.
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
        with open(out / "manifest.json", encoding="utf-8") as handle:
            done = json.load(handle)
        return Resumed(out, None, None, int(done.get("steps", 0)), int(done.get("steps", 0)))
    record = _read_record(out)
    try:
        saved = record["scenario"]
        keys = ("model", "name", "description", "steps", "seed", "params", "sources")
        scenario = validate(
            {k: saved[k] for k in keys}, f"{out / CHECKPOINTS / _RUN_FILE}", saved.get("path")
        )
    except (KeyError, TypeError) as err:
        raise SurvsimError(f"{out / CHECKPOINTS / _RUN_FILE}: damaged (missing {err})") from None
    if warm is not None:
        warm(scenario.model)
    sim = build_sim(scenario)
    found = checkpoints(out)
    if found:
        try:
            restore(sim, read_checkpoint(found[-1]))
        except CheckpointError as err:
            raise SurvsimError(str(err)) from None
    record["resumed_from"].append(
        {"step": sim.t, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    write_json_atomic(record, out / CHECKPOINTS / _RUN_FILE)
    for stale in (out / CHECKPOINTS).glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    sim.add_hook(_Checkpointer(out, int(record["checkpoint_every"])))
    return Resumed(out, sim, scenario, sim.t, sim.n_steps)


def run_to_end(sim: Sim, out: Path, progress: Hook | None = None) -> None:
    """Run ``sim`` to its planned end; Ctrl-C becomes :class:`InterruptedRunError`."""
    try:
        sim.run(progress=progress)
    except KeyboardInterrupt:
        found = checkpoints(out)
        newest = f"{sim.step_name} {read_step(found[-1]):,}" if found else "none yet"
        raise InterruptedRunError(
            f"interrupted at {sim.step_name} {sim.t:,} of {sim.n_steps:,} (newest checkpoint: "
            f"{newest}); continue with 'survsim resume {out}'"
        ) from None


def read_step(path: Path) -> int:
    """The step a checkpoint file holds, from its name."""
    return int(path.stem.rsplit("-", 1)[-1])
