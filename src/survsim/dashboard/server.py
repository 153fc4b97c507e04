"""Serve the dashboard: Solara's Starlette app under uvicorn, all assets local.

It listens on 127.0.0.1 (this machine only) unless told otherwise: the page has no login
and no encryption, and whoever reaches it can start simulations on this machine.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import socket

from survsim.dashboard.admission import set_budget
from survsim.errors import SurvsimError

__all__ = ["MODEL", "is_local", "prepare_simulator", "serve"]


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise SurvsimError(
                f"--port {port}: cannot listen on {host}:{port} ({err.strerror}); choose "
                "another port"
            ) from None


def is_local(host: str) -> bool:
    """Whether ``host`` is a loopback address (only this machine can connect)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


#: The model of every scenario the dashboard offers (:func:`.controls.scenario_names`).
MODEL = "surveillance_state"


def prepare_simulator(say=print) -> None:
    """Compile the simulator's kernels into numba's cache if they are not there yet.

    The server does this before it listens, so the page is never served while the kernels
    compile, and every run's worker process loads them from the cache in a second. With a
    warm cache (every start but the first, until survsim changes) it says nothing.

    Args:
        say: prints a line for the user (the reason for the wait, then the progress).
    """
    # survsim.warm, the module (a ``survsim.warm`` function would shadow it in ``from``).
    warm = importlib.import_module("survsim.warm")
    if warm.is_warm(MODEL):
        return
    say("preparing the simulator (first start only): compiling its kernels")
    warm.warm([MODEL], say=say)


def serve(
    host: str = "127.0.0.1", port: int = 8765, say=print, memory_budget: float | None = None
) -> None:
    """Run the dashboard until interrupted (first compiling the simulator if need be).

    Args:
        host: the address to listen on; anything but a loopback address lets other
            machines start simulations here (a warning says so).
        port: the port to listen on.
        say: prints a line for the user.
        memory_budget: GB that all runs together may hold (each its estimate, from start
            to end); a run that does not fit what is left waits its turn. Default: 80% of
            the memory available when the server starts.

    Raises:
        SurvsimError: Solara is not installed, the port is taken, the web assets are
            missing and cannot be fetched, or compiling the simulator failed.
    """
    try:
        import solara  # noqa: F401
        import uvicorn
    except ImportError:
        raise SurvsimError("the dashboard needs Solara: pip install 'survsim[dashboard]'") from None
    from survsim.dashboard.assets import ensure

    if not 0 < port < 65536:
        raise SurvsimError(f"--port {port}: not allowed (allowed: 1 to 65535)")
    if memory_budget is not None and not 0.01 <= memory_budget <= 1e6:  # NaN fails too
        raise SurvsimError(
            f"--memory-budget {memory_budget:g}: not allowed (GB, 0.01 to 1,000,000)"
        )
    _check_port(host, port)
    root = ensure(say=say)
    # Read when solara.server is first imported: set them before.
    os.environ["SOLARA_APP"] = "survsim.dashboard.app"
    os.environ["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(root)
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    os.environ.setdefault("SOLARA_MODE", "production")
    prepare_simulator(say)
    import uvicorn

    budget = set_budget(None if memory_budget is None else int(memory_budget * 1e9)).budget
    say(f"survsim dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    say(
        f"memory budget: {budget / 1e9:.1f} GB for all runs together (--memory-budget); a run "
        "that does not fit what is left waits its turn"
    )
    if not is_local(host):
        say(
            f"warning: listening on {host}: anyone who can reach this machine on port {port} "
            "can run simulations on it (no login, no encryption); only on a network you trust"
        )
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning")
