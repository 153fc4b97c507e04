"""Keep numba's on-disk cache of survsim's kernels in step with the sources.

numba keys a cached kernel by the timestamp of the file that defines it, but the machine
code it stores also holds every kernel it calls. When a callee's file changes and the
caller's does not, numba loads the caller with the old callee inside: a silent, wrong
result (an editable install after ``git pull`` is the usual way to get there). So once per
process, before the first kernel runs, :func:`refresh_stale_cache` compares a fingerprint
of the source files of survsim's kernel layers (engine, society, apparatus, models) with
the one stored beside the cache, and if they
differ, empties the cache index of every survsim kernel: they compile afresh, once. The
kernels are found on disk (every index file of the kernel packages' cache folders) and
among the modules imported so far: the engine imports no model to find them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import sys
from pathlib import Path

__all__ = [
    "KERNEL_PACKAGES",
    "ORCHESTRATION",
    "cache_folder",
    "refresh",
    "refresh_stale_cache",
    "source_fingerprint",
]

_STAMP = "survsim-sources.blake2b"


#: The subpackages whose modules hold kernels, or constants and types kernels read. A change
#: elsewhere (the CLI, scenarios, experiments, reports) cannot change compiled code, so it
#: does not cost a recompile.
KERNEL_PACKAGES = ("engine", "society", "apparatus", "models")

#: Modules of those packages that only orchestrate: they import no numba and define
#: nothing a kernel reads (tests/test_engine.py checks the first), so editing them does
#: not cost a recompile either.
ORCHESTRATION = (
    "engine/checkpoint.py",
    "engine/jit_cache.py",
    "engine/memory.py",
    "engine/plan.py",
    "engine/results.py",
    "engine/sim.py",
    "engine/spinup.py",
)


def source_fingerprint(root: Path | None = None, packages: tuple[str, ...] | None = None) -> str:
    """A hash of the ``.py`` files of ``packages`` under ``root``.

    Args:
        root: a source folder (default: the survsim package).
        packages: subfolders to hash (default: :data:`KERNEL_PACKAGES` for the survsim
            package, every file for another root); empty: every file under ``root``.
    """
    if root is None:
        root = Path(__file__).resolve().parents[1]
        packages = KERNEL_PACKAGES if packages is None else packages
    root = Path(root)
    digest = hashlib.blake2b(digest_size=16)
    files = (
        [f for p in packages for f in (root / p).rglob("*.py")] if packages else root.rglob("*.py")
    )
    skipped = set(ORCHESTRATION) if packages == KERNEL_PACKAGES else set()
    for path in sorted(files):
        if path.relative_to(root).as_posix() in skipped:
            continue
        digest.update(str(path.relative_to(root)).encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _kernels() -> list:
    """The cached numba kernels of every survsim module imported so far."""
    found = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("survsim.") or module is None:
            continue
        for value in vars(module).values():
            cache = getattr(value, "_cache", None)
            if callable(getattr(cache, "flush", None)) and hasattr(cache, "_cache_path"):
                found.append(value)
    return found


def _cached_indexes() -> list[Path]:
    """The index files of numba's cache of survsim's kernel packages, found on disk.

    numba keeps a source folder's kernels in ``__pycache__`` beside it, or under
    ``NUMBA_CACHE_DIR`` in a folder named by numba's rule for that source folder; the
    engine's kernels show which of the two holds.
    """
    from numba.core.caching import _CacheLocator

    folder = cache_folder()
    root = Path(__file__).resolve().parents[1]
    found: list[Path] = []
    for package in KERNEL_PACKAGES:
        if folder.name == "__pycache__":
            where = root / package / "__pycache__"
        else:
            source = str(root / package / "__init__.py")
            where = folder.parent / _CacheLocator.get_suitable_cache_subpath(source)
        found += sorted(where.glob("*.nbi"))
    return found


class _IndexFile:
    """A kernel's cache index on disk: flushing it removes it (numba compiles again)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def flush(self) -> None:
        """Remove the index."""
        with contextlib.suppress(OSError):
            self.path.unlink()


def refresh(kernels: list, stamp: Path, fingerprint: str) -> bool:
    """Flush every kernel's cache index unless ``stamp`` holds ``fingerprint``; store it.

    Returns:
        True if the kernels were flushed.
    """
    try:
        if stamp.read_text(encoding="ascii") == fingerprint:
            return False
    except OSError:
        pass
    for kernel in kernels:
        cache = getattr(kernel, "_cache", kernel)
        cache.flush()
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint, encoding="ascii")
    except OSError:  # a read-only cache: numba then compiles in memory anyway
        pass
    return True


def cache_folder() -> Path:
    """The folder of numba's cache for survsim's kernels (``NUMBA_CACHE_DIR`` or beside them)."""
    from survsim.engine import rng

    return Path(rng.philox4x32._cache._cache_path)


@functools.cache
def refresh_stale_cache() -> bool:
    """Empty the cache index of survsim's kernels if any source file changed since.

    Runs once per process (later calls return the first answer).

    Returns:
        True if the cache was stale and was emptied.
    """
    stamp = cache_folder() / _STAMP
    kernels = _kernels() + [_IndexFile(path) for path in _cached_indexes()]
    return refresh(kernels, stamp, source_fingerprint())
