"""Run an experiment's runs on Dask: submit, retry failures, write each result as it comes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from survsim.experiments.design import Design, RunSpec
from survsim.experiments.store import ExperimentStore
from survsim.experiments.worker import RunOutput, run_task

__all__ = ["Progress", "RunFailure", "Runner", "run_pending"]

#: ``progress(finished, failed, total)``: called once before the first result and after each.
Progress = Callable[[int, int, int], None]
Runner = Callable[[dict[str, Any], RunSpec, int], RunOutput]


@dataclass(frozen=True)
class RunFailure:
    """A run that failed on every try."""

    run: int
    seed: int
    tries: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``failures.json``."""
        return {"run": self.run, "seed": self.seed, "tries": self.tries, "error": self.error}


def _error_text(future: Any) -> str:
    try:
        exc = future.exception()
    except BaseException as err:  # a cancelled future raises here
        exc = err
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:500]


def run_pending(
    client: Any,
    design: Design,
    store: ExperimentStore,
    *,
    retries: int = 2,
    progress: Progress | None = None,
    runner: Runner = run_task,
) -> list[RunFailure]:
    """Run every run of ``design`` that ``store`` does not hold yet.

    Each run is submitted as one task; a run whose task raises (or whose worker dies) is
    submitted again, up to ``retries`` more times, then reported. Results are written by
    this process as they arrive, so an interrupted experiment keeps every finished run.

    Returns:
        The runs that failed on every try (empty when all finished).
    """
    from distributed import as_completed

    done = store.done()
    pending = [spec for spec in design.runs() if spec.run not in done]
    total, finished, failures = design.n_runs, len(done), []
    tag = uuid.uuid4().hex[:8]
    tries: dict[int, int] = {}
    futures: dict[str, tuple[Any, RunSpec]] = {}
    queue = as_completed(loop=client.loop)

    def submit(spec: RunSpec) -> None:
        tries[spec.run] = tries.get(spec.run, 0) + 1
        key = f"survsim-{tag}-run{spec.run}-try{tries[spec.run]}"
        future = client.submit(runner, design.scenario, spec, 1, key=key, pure=False)
        futures[future.key] = (future, spec)
        queue.add(future)

    if progress is not None:
        progress(finished, 0, total)
    for spec in pending:
        submit(spec)
    try:
        for future in queue:
            spec = futures.pop(future.key)[1]
            if future.status == "finished":
                store.write(spec, future.result())
                finished += 1
            elif tries[spec.run] <= retries:
                submit(spec)
            else:
                failures.append(
                    RunFailure(spec.run, spec.seed, tries[spec.run], _error_text(future))
                )
            future.release()
            if progress is not None:
                progress(finished, len(failures), total)
    except BaseException:
        client.cancel([future for future, _ in futures.values()])
        raise
    failures.sort(key=lambda f: f.run)
    return failures
