"""Writing results: tidy Parquet tables, a JSON manifest, all-or-nothing run folders.

Every file is written to a temporary name and renamed into place; a run folder is
assembled in a hidden sibling folder and renamed at the end, so a crash or bad input never
leaves a half-written result behind.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "OutputExistsError",
    "check_output_dir",
    "environment",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_run_dir",
    "write_text_atomic",
]


class OutputExistsError(FileExistsError):
    """The output folder exists and is not empty: survsim never overwrites results."""


def _atomic_target(path: Path) -> tuple[int, Path]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    return fd, Path(tmp)


def write_parquet_atomic(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` to ``path`` as Parquet (zstd), atomically."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``data`` to ``path`` as indented JSON, atomically."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(text: str, path: str | Path) -> Path:
    """Write ``text`` to ``path`` as UTF-8, atomically.

    Args:
        text: the whole content of the file.
        path: where to write; the folder must exist.

    Returns:
        The written path.
    """
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def check_output_dir(out: str | Path) -> Path:
    """Return ``out`` as a Path if a run may be written there.

    Raises:
        OutputExistsError: ``out`` exists and is a file or a non-empty folder.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(f"--out {out} already exists and is not an empty folder")
    return out


def write_run_dir(out: str | Path, writers: Mapping[str, Callable[[Path], object]]) -> Path:
    """Create the folder ``out`` holding one file per writer, all or nothing.

    Args:
        out: the folder to create; it must not exist or be empty.
        writers: file name -> function that writes that file at the path it is given.

    Returns:
        The created folder.

    Raises:
        OutputExistsError: ``out`` exists and is not empty.
    """
    out = check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions and machine facts for a manifest."""
    return {
        "survsim": _version("survsim"),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "pyarrow": _version("pyarrow"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
