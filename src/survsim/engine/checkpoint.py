"""Checkpoints: a run's whole state in one file, written atomically, read without pickle.

A checkpoint holds every array and plain value the simulation object reaches (its state
arrays, its counters, its time series so far, the parameters as they stand after policy
events) and nothing that can be rebuilt (the step plan, the random streams, which are
pure functions of the seed). To resume, the model builds the run again from its
parameters and seed, then :func:`restore` writes the saved arrays into the new arrays in
place. Arrays shared by several of the model's bundles (a named tuple of kernel
arguments and the state that owns the same array) stay shared that way.

The file is a NumPy ``.npz`` archive (a zip with a CRC per member): array ``i`` is
stored as its bytes compressed with zstd (level 1, in pieces of at most 32 MiB compressed
on all cores), members ``a{i}.0``, ``a{i}.1``, ...; a ``meta`` member holds JSON with the
arrays' paths, dtypes and shapes, every plain value, the file's format and the survsim
version that wrote it. It is read with ``allow_pickle=False``; nothing in it is executed.
A checkpoint of another format or another survsim version is refused with one line that
names both, since the state a version saves is the state its model has.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from survsim.engine.state import State

if TYPE_CHECKING:
    from survsim.engine.sim import Sim

__all__ = [
    "FORMAT",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_bytes",
    "read_checkpoint",
    "restore",
    "write_checkpoint",
]

#: The checkpoint format; a file of another format is refused. (1: uncompressed arrays.)
FORMAT = 2
#: How each array's bytes are compressed, and the largest piece compressed at once.
CODEC, LEVEL, PIECE = "zstd", 1, 32 << 20

#: Attributes of every simulation that a checkpoint does not hold: the parameters are
#: stored apart, the plan, the random streams and the hooks are rebuilt.
#: The user reporters' functions are given again to the run that resumes (their values
#: so far are state, in ``reported``).
SKIP = frozenset({"params", "plan", "streams", "_hooks", "timings", "t", "reporters"})

#: Attributes of a part of the simulation (a mechanism) that a checkpoint does not hold.
PART_SKIP = frozenset({"sim"})

_LEAVES = (np.ndarray, np.generic, bool, int, float, str, type(None), set)


class CheckpointError(Exception):
    """A checkpoint cannot be read, or does not fit the run it should continue."""


# -- walking the simulation ----------------------------------------------------------------


def _children(obj: Any) -> Iterator[tuple[str, Any]] | None:
    """The named parts of a container, or None for a leaf."""
    if isinstance(obj, State):
        return iter([("_arrays", obj._arrays), ("sizes", obj.sizes)])
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("dict keys must be strings")
        return iter(obj.items())
    if isinstance(obj, tuple):
        fields = getattr(obj, "_fields", None) or [str(i) for i in range(len(obj))]
        return iter(zip(fields, obj, strict=True))
    if isinstance(obj, list):
        return iter((str(i), x) for i, x in enumerate(obj))
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("survsim."):
        # A mechanism's link to its simulation, and what it rebuilds, are not state.
        skip = PART_SKIP | frozenset(getattr(type(obj), "checkpoint_skip", ()))
        return iter((k, v) for k, v in vars(obj).items() if k not in skip)
    return None


def _walk(sim: Sim) -> Iterator[tuple[tuple[str, ...], Any, Any, str]]:
    """Every leaf the simulation reaches: ``(path, leaf, owner container, key)``.

    Raises:
        TypeError: a leaf is neither an array nor a plain value (a model must list such
            attributes in its ``checkpoint_skip``).
    """
    skip = SKIP | frozenset(getattr(sim, "checkpoint_skip", ()))
    stack: list[tuple[tuple[str, ...], Any, Any, str]] = [
        ((name,), value, sim, name)
        for name, value in reversed(vars(sim).items())
        if name not in skip
    ]
    while stack:
        path, obj, owner, key = stack.pop()
        if isinstance(obj, _LEAVES):
            yield path, obj, owner, key
            continue
        try:
            parts = _children(obj)
        except TypeError as err:
            raise TypeError(f"{'/'.join(path)}: {err}") from None
        if parts is None:
            raise TypeError(f"{'/'.join(path)}: cannot checkpoint a {type(obj).__name__}")
        stack.extend(((*path, k), v, obj, k) for k, v in reversed(list(parts)))


def _encode(value: Any) -> Any:
    if isinstance(value, np.generic):
        return {"numpy": value.dtype.str, "value": value.item()}
    if isinstance(value, set):
        return {"set": sorted(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "numpy" in value:
        return np.dtype(value["numpy"]).type(value["value"])
    if isinstance(value, dict) and "set" in value:
        return set(value["set"])
    return value


def _snapshot(sim: Sim) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The arrays (each once) and the JSON-ready description of the whole state."""
    arrays: list[np.ndarray] = []
    index: dict[int, int] = {}
    array_paths: list[list[Any]] = []
    values: list[list[Any]] = []
    for path, leaf, _, _ in _walk(sim):
        if isinstance(leaf, np.ndarray):
            if id(leaf) not in index:
                index[id(leaf)] = len(arrays)
                arrays.append(leaf)
                array_paths.append([list(path)])
            else:
                array_paths[index[id(leaf)]].append(list(path))
        else:
            values.append([list(path), _encode(leaf)])
    meta = {
        "format": FORMAT,
        "model": sim.model_name,
        "seed": sim.seed,
        "steps": sim.n_steps,
        "t": sim.t,
        "params": sim.params.model_dump(mode="json"),
        "timings": sim.timings,
        "reporters": list(sim.reporters),
        "arrays": array_paths,
        "values": values,
    }
    return arrays, meta


def survsim_version() -> str | None:
    """The installed survsim's version (None in a source tree that is not installed)."""
    try:
        return version("survsim")
    except PackageNotFoundError:
        return None


def checkpoint_bytes(sim: Sim) -> int:
    """Bytes of the arrays a checkpoint of ``sim`` holds, before compression.

    The file on disk is smaller (see docs/reliability.md); this bounds it from above.
    """
    arrays, _ = _snapshot(sim)
    return sum(a.nbytes for a in arrays)


# -- the file ----------------------------------------------------------------------------


def write_checkpoint(sim: Sim, path: str | Path) -> Path:
    """Write ``sim``'s state to ``path`` atomically (temporary file, fsync, rename).

    A process killed while writing leaves at most a hidden ``.tmp`` file beside ``path``;
    ``path`` itself is either the complete previous content or the complete new one.

    Returns:
        The written path.
    """
    path = Path(path)
    arrays, meta = _snapshot(sim)
    pieces = [(i, j, piece) for i, a in enumerate(arrays) for j, piece in enumerate(_pieces(a))]
    codec = pa.Codec(CODEC, compression_level=LEVEL)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # zstd frees the GIL
        packed = list(pool.map(lambda item: codec.compress(item[2]), pieces))
    payload = {
        f"a{i}.{j}": np.frombuffer(data, dtype=np.uint8)
        for (i, j, _), data in zip(pieces, packed, strict=True)
    }
    meta["survsim"] = survsim_version()
    meta["codec"] = CODEC
    meta["layout"] = [
        [a.dtype.str, list(a.shape), [piece.size for piece in _pieces(a)]] for a in arrays
    ]
    payload["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _pieces(array: np.ndarray) -> list[np.ndarray]:
    """An array's bytes in pieces of at most ``PIECE`` bytes (one, maybe empty, at least)."""
    raw = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return [raw[k : k + PIECE] for k in range(0, raw.size, PIECE)] or [raw]


def _unpacked(
    archive: Any, i: int, dtype: str, shape: list[int], sizes: list[int], pool: ThreadPoolExecutor
) -> np.ndarray:
    """Array ``i`` of an archive, decompressed from its pieces (in ``pool``'s threads)."""
    codec = pa.Codec(CODEC)
    pieces = [archive[f"a{i}.{j}"] for j in range(len(sizes))]
    parts = pool.map(
        lambda item: codec.decompress(pa.py_buffer(item[0]), decompressed_size=item[1]),
        zip(pieces, sizes, strict=True),
    )
    raw = np.empty(sum(sizes), dtype=np.uint8)
    at = 0
    for part in parts:
        raw[at : at + part.size] = np.frombuffer(part, dtype=np.uint8)
        at += part.size
    return raw.view(np.dtype(dtype)).reshape(shape)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class Checkpoint:
    """A checkpoint file read back: its description (``meta``) and its arrays."""

    def __init__(self, meta: dict[str, Any], arrays: list[np.ndarray], path: Path) -> None:
        self.meta = meta
        self.arrays = arrays
        self.path = path

    @property
    def t(self) -> int:
        """Steps the run had completed when the checkpoint was written."""
        return int(self.meta["t"])


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint file (no pickle), checking every array's CRC.

    Raises:
        CheckpointError: the file is missing, damaged, of another format or written by
            another survsim version.
    """
    path = Path(path)
    mine = survsim_version()
    try:
        with (
            open(path, "rb") as handle,
            np.load(handle, allow_pickle=False) as archive,
            ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool,
        ):
            meta = json.loads(bytes(archive["meta"]).decode())
            if meta.get("format") != FORMAT or meta.get("survsim") != mine:
                theirs = f"survsim {meta['survsim']}" if "survsim" in meta else "an older survsim"
                raise CheckpointError(
                    f"{path}: written by {theirs} (checkpoint format {meta.get('format')!r}), "
                    f"this is survsim {mine} (format {FORMAT}): resume it with {theirs}, "
                    "or run it again from the start with this one"
                )
            arrays = [
                _unpacked(archive, i, dtype, shape, sizes, pool)
                for i, (dtype, shape, sizes) in enumerate(meta["layout"])
            ]
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    return Checkpoint(meta, arrays, path)


# -- restoring ---------------------------------------------------------------------------


def _set(owner: Any, key: str, value: Any, path: str) -> None:
    if isinstance(owner, dict):
        owner[key] = value
    elif isinstance(owner, list):
        owner[int(key)] = value
    elif isinstance(owner, tuple):
        raise CheckpointError(f"{path}: the rebuilt run holds a different value")
    else:
        setattr(owner, key, value)


def restore(sim: Sim, checkpoint: Checkpoint) -> None:
    """Put ``checkpoint``'s state into ``sim``, a fresh build of the same run.

    The parameters come first (a policy event may have changed them), then the model's
    ``restored()`` hook derives what follows from them, then every array is copied into
    the rebuilt one in place and every plain value is set.

    Raises:
        CheckpointError: the checkpoint is of another model, seed or length, or its state
            does not have the rebuilt run's shape (another survsim version).
    """
    meta = checkpoint.meta
    for key, mine in (("model", sim.model_name), ("seed", sim.seed), ("steps", sim.n_steps)):
        if meta[key] != mine:
            raise CheckpointError(f"checkpoint of {key} {meta[key]!r}, the run has {mine!r}")
    saved_reporters = meta.get("reporters", [])
    if saved_reporters != list(sim.reporters):
        raise CheckpointError(
            f"the checkpoint records the reporters [{', '.join(saved_reporters)}], the run has "
            f"[{', '.join(sim.reporters)}]: build the run with the same reporters to resume it"
        )
    sim.t = int(meta["t"])
    sim.params = type(sim.params).model_validate(meta["params"])
    sim.timings.update(meta["timings"])
    sim.restored()
    leaves = {path: (leaf, owner, key) for path, leaf, owner, key in _walk(sim)}
    saved_paths = {tuple(p) for paths in meta["arrays"] for p in paths}
    saved_paths |= {tuple(p) for p, _ in meta["values"]}
    if saved_paths != set(leaves):
        extra = sorted(saved_paths ^ set(leaves))[0]
        raise CheckpointError(
            f"the checkpoint's state does not match this survsim's model (first difference: "
            f"{'/'.join(extra)}); resume with the version that wrote it"
        )
    for paths, saved in zip(meta["arrays"], checkpoint.arrays, strict=True):
        _restore_array([tuple(p) for p in paths], saved, leaves)
    for path, encoded in meta["values"]:
        leaf, owner, key = leaves[tuple(path)]
        value = _decode(encoded)
        if isinstance(owner, tuple):
            if leaf != value:
                raise CheckpointError(f"{'/'.join(path)}: the rebuilt run holds a different value")
            continue
        _set(owner, key, value, "/".join(path))


def _restore_array(
    paths: list[tuple[str, ...]], saved: np.ndarray, leaves: dict[tuple[str, ...], Any]
) -> None:
    where = "/".join(paths[0])
    targets = [leaves[path] for path in paths]
    if all(target.shape == saved.shape for target, _, _ in targets):
        for target, _, _ in targets:
            if target.dtype != saved.dtype:
                raise CheckpointError(
                    f"{where}: saved as {saved.dtype}, the model has {target.dtype}"
                )
            target[...] = saved
        return
    # A buffer that grew during the run: replace it, which is safe only where one name
    # holds it.
    (target, owner, key), *others = targets
    if others or isinstance(owner, tuple) or target.dtype != saved.dtype:
        raise CheckpointError(
            f"{where}: saved as {saved.dtype}{list(saved.shape)}, "
            f"the model has {target.dtype}{list(target.shape)}"
        )
    _set(owner, key, saved.copy(), where)
