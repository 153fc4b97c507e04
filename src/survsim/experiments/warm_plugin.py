"""A Dask worker plugin: refuse a worker that runs another survsim, and warm the others.

The client registers :class:`WarmPlugin` (:func:`register`) right after it connects,
before any run is submitted. On every worker, those there already and those that join
later, its setup compares the worker's :func:`survsim.warm.fingerprint` (survsim's version
and the fingerprint of its kernel sources) with the client's:

- they differ: the worker is refused with one line naming the worker, both versions and
  both fingerprints. At registration that line is a :class:`~survsim.errors.SurvsimError`
  on the client, and nothing is submitted or written. A worker that joins later cannot
  fail a registration that is over: it keeps the line, and every run sent to it fails
  with it (:func:`check_worker`), so the experiment reports it instead of mixing results
  of two versions;
- they match: it calls :func:`survsim.warm.warm` for the experiment's model, once per
  worker process however many times the plugin is registered, in a thread, so the
  worker keeps answering its scheduler while numba compiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from distributed import WorkerPlugin

from survsim.errors import SurvsimError

__all__ = ["WarmPlugin", "check_worker", "refusal", "register", "warmed"]

#: The models warmed in this process, and how many times :func:`survsim.warm.warm` ran.
_WARMED: dict[str, int] = {}
_WARM_LOCK = threading.Lock()
#: Refusals of this worker, by plugin name (a worker that runs another survsim).
_REFUSED: dict[str, str] = {}


def _short(print_: Mapping[str, str]) -> str:
    return f"{print_.get('version', '?')} (kernels {str(print_.get('kernels', '?'))[:12]})"


def refusal(address: str, worker: Mapping[str, str], client: Mapping[str, str]) -> str:
    """The line that refuses the worker at ``address`` (its fingerprint and the client's)."""
    return (
        f"worker {address} runs survsim {_short(worker)}, this client {_short(client)}: install "
        "the same survsim on every worker"
    )


def warmed() -> dict[str, int]:
    """The models this process warmed, each with the times :func:`survsim.warm.warm` ran."""
    return dict(_WARMED)


def _warm_once(models: Sequence[str]) -> None:
    """Warm the models not warmed yet in this process (one thread at a time)."""
    from survsim.warm import warm

    with _WARM_LOCK:
        todo = [m for m in models if m not in _WARMED]
        if todo:
            warm(todo, processes=1)
            for model in todo:
                _WARMED[model] = _WARMED.get(model, 0) + 1


class WarmPlugin(WorkerPlugin):
    """Check a worker's survsim against the client's, then warm the experiment's kernels.

    Args:
        models: the models whose kernels the worker warms.
        client: the client's :func:`survsim.warm.fingerprint` (default: this process's).
    """

    idempotent = False

    def __init__(self, models: Sequence[str], client: Mapping[str, str] | None = None) -> None:
        from survsim.warm import fingerprint

        self.models = tuple(models)
        self.client = dict(fingerprint() if client is None else client)
        # One plugin per models and client: a second registration replaces the first.
        kernels = str(self.client.get("kernels", ""))[:12]
        self.name = f"survsim-warm-{'+'.join(self.models)}-{kernels}"

    async def setup(self, worker: Any) -> None:
        """Refuse a worker that runs another survsim; warm the kernels of the others.

        Raises:
            SurvsimError: the worker's version or kernel fingerprint is not the client's.
        """
        from survsim.warm import fingerprint

        mine = fingerprint()
        if mine != self.client:
            line = refusal(str(getattr(worker, "address", "?")), mine, self.client)
            _REFUSED[self.name] = line
            raise SurvsimError(line)
        _REFUSED.pop(self.name, None)
        await asyncio.to_thread(_warm_once, self.models)

    def teardown(self, worker: Any) -> None:
        """Forget this plugin's refusal (the plugin was unregistered or replaced)."""
        _REFUSED.pop(self.name, None)


def check_worker() -> None:
    """Raise the refusal of this worker, if a :class:`WarmPlugin` refused it.

    Raises:
        SurvsimError: this worker runs another survsim than the client.
    """
    if _REFUSED:
        raise SurvsimError(next(iter(_REFUSED.values())))


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _forget(client: Any, name: str) -> None:
    """Unregister a plugin that failed (so that workers joining later do not get it)."""
    with contextlib.suppress(Exception):  # the refusal on its way matters more
        client.unregister_worker_plugin(name)


def register(
    client: Any, models: Sequence[str], fingerprint: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Register :class:`WarmPlugin` on ``client``'s workers: check them and warm them.

    Args:
        client: a connected ``distributed.Client``.
        models: the models to warm.
        fingerprint: the client's fingerprint (default: this process's; tests pass another).

    Returns:
        The workers' answers, by address.

    Raises:
        SurvsimError: a worker runs another survsim than this client (one line naming
            both), or setting up a worker failed.
    """
    plugin = WarmPlugin(models, fingerprint)
    try:
        answers = client.register_plugin(plugin) or {}
    except SurvsimError:
        _forget(client, plugin.name)
        raise
    except Exception as exc:
        _forget(client, plugin.name)
        raise SurvsimError(
            f"setting up the Dask workers failed ({_one_line(exc)}): install the same "
            "survsim on every worker"
        ) from None
    for address, answer in answers.items():  # distributed raises these; in case it does not
        if isinstance(answer, Mapping) and answer.get("status") == "error":
            _forget(client, plugin.name)
            text = answer.get("exception") or answer.get("text") or "unknown error"
            if isinstance(text, BaseException):
                if isinstance(text, SurvsimError):
                    raise text
                text = _one_line(text)
            raise SurvsimError(f"setting up the Dask worker {address} failed: {text}")
    return dict(answers)
