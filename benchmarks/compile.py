"""Where numba's cold compile of survsim's kernels goes, kernel by kernel.

Each model is compiled in a fresh process with an empty numba cache (a temporary
``NUMBA_CACHE_DIR``), the way a new user's first run does it. numba's event API reports
every compile (``numba:compile``) and the time under the LLVM lock (``numba:llvm_lock``);
nested compiles (a kernel compiling the kernels it calls) are subtracted from their caller,
so each row is the kernel's own time:

- ``front`` = its own time outside LLVM (bytecode analysis, type inference, numba's
  rewrites, parfor analysis, lowering to LLVM IR),
- ``llvm`` = its own time in LLVM (optimisation and machine code),
- ``total`` = both.

The same process then loads everything again from the cache it just wrote (a warm start).
The table (markdown) goes into docs/performance.md.

Usage:
    python benchmarks/compile.py                       # both models, a table each
    python benchmarks/compile.py --model surveillance_state --top 25
    python benchmarks/compile.py --json compile.json   # the raw records too
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("surveillance_state", "civil_violence")


def _child(model: str) -> None:
    """Compile ``model`` in this process (its cache is empty) and print the records."""
    t0 = time.perf_counter()
    from numba.core import event

    stack: list[dict] = []
    records: list[dict] = []
    llvm_depth = [0, 0.0]

    class Listener(event.Listener):
        def on_start(self, ev):
            if ev.kind == "numba:compile":
                disp = ev.data["dispatcher"]
                py = disp.py_func
                name = f"{py.__module__.removeprefix('survsim.')}.{py.__qualname__}"
                stack.append(
                    {"kernel": name, "start": time.perf_counter(), "children": 0.0, "llvm": 0.0}
                )
            elif ev.kind == "numba:llvm_lock":
                llvm_depth[0] += 1
                if llvm_depth[0] == 1:
                    llvm_depth[1] = time.perf_counter()

        def on_end(self, ev):
            if ev.kind == "numba:compile":
                frame = stack.pop()
                inclusive = time.perf_counter() - frame["start"]
                own = inclusive - frame["children"]
                if stack:
                    stack[-1]["children"] += inclusive
                records.append(
                    {
                        "kernel": frame["kernel"],
                        "inclusive": inclusive,
                        "total": own,
                        "llvm": min(frame["llvm"], own),
                        "front": max(0.0, own - frame["llvm"]),
                    }
                )
            elif ev.kind == "numba:llvm_lock":
                llvm_depth[0] -= 1
                if llvm_depth[0] == 0:
                    spent = time.perf_counter() - llvm_depth[1]
                    if stack:
                        stack[-1]["llvm"] += spent

    listener = Listener()
    event.register("numba:compile", listener)
    event.register("numba:llvm_lock", listener)
    import survsim.models as models

    imported = time.perf_counter()
    sim_class, _ = models.MODELS[model]
    sim_class.compile_kernels()
    compiled = time.perf_counter()
    print(
        json.dumps(
            {
                "model": model,
                "import_s": imported - t0,
                "compile_s": compiled - imported,
                "records": records,
            }
        )
    )


def _parallel(model: str) -> float:
    """Seconds for ``survsim.warm.warm([model])`` on an empty cache (its processes)."""
    from survsim.warm import warm

    start = time.perf_counter()
    warm([model])
    return time.perf_counter() - start


def _warm(model: str) -> float:
    """Seconds to load ``model``'s kernels from a warm cache (this process)."""
    import survsim.models as models

    start = time.perf_counter()
    models.MODELS[model][0].compile_kernels()
    return time.perf_counter() - start


def run_child(model: str, cache: str, mode: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), f"--{mode}", model],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"compile.py: the {mode} run of {model} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def merge(records: list[dict]) -> list[dict]:
    """One row per kernel (several signatures of a kernel add up), by total, largest first."""
    rows: dict[str, dict] = {}
    for r in records:
        row = rows.setdefault(
            r["kernel"], {"kernel": r["kernel"], "n": 0, "front": 0.0, "llvm": 0.0, "total": 0.0}
        )
        row["n"] += 1
        for key in ("front", "llvm", "total"):
            row[key] += r[key]
    return sorted(rows.values(), key=lambda r: -r["total"])


def table(result: dict, top: int) -> str:
    rows = merge(result["records"])
    front = sum(r["front"] for r in rows)
    llvm = sum(r["llvm"] for r in rows)
    lines = [
        f"**{result['model']}**: {len(rows)} kernels, {sum(r['n'] for r in rows)} compiles; "
        f"cold compile {result['compile_s']:.1f} s (front end {front:.1f} s, LLVM {llvm:.1f} s), "
        f"warm load {result['warm_s']:.2f} s"
        + (
            f"; `survsim warm` on {os.cpu_count()} cores {result['parallel_s']:.1f} s"
            if "parallel_s" in result
            else ""
        ),
        "",
        "| kernel | signatures | front end (s) | LLVM (s) | total (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows[:top]:
        cells = f"{r['n']} | {r['front']:.2f} | {r['llvm']:.2f} | {r['total']:.2f}"
        lines.append(f"| `{r['kernel']}` | {cells} |")
    rest = rows[top:]
    if rest:
        lines.append(
            f"| {len(rest)} others | {sum(r['n'] for r in rest)} | "
            f"{sum(r['front'] for r in rest):.2f} | {sum(r['llvm'] for r in rest):.2f} | "
            f"{sum(r['total'] for r in rest):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--top", type=int, default=20, help="rows per table (default 20)")
    parser.add_argument("--json", type=Path, help="write the raw records here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--warm", help=argparse.SUPPRESS)
    parser.add_argument("--parallel-child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-parallel", action="store_true", help="skip the parallel compile (survsim warm)"
    )
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    if args.warm:
        print(json.dumps({"warm_s": _warm(args.warm)}))
        return
    if args.parallel_child:
        print(json.dumps({"parallel_s": _parallel(args.parallel_child)}))
        return
    models = MODELS if args.model == "all" else (args.model,)
    results = []
    for model in models:
        with tempfile.TemporaryDirectory(prefix="survsim-compile-") as cache:
            start = time.perf_counter()
            result = run_child(model, cache, "child")
            result["process_s"] = time.perf_counter() - start
            result["warm_s"] = run_child(model, cache, "warm")["warm_s"]
        if not args.no_parallel:
            with tempfile.TemporaryDirectory(prefix="survsim-compile-") as cache:
                result["parallel_s"] = run_child(model, cache, "parallel-child")["parallel_s"]
        results.append(result)
        print(table(result, args.top), flush=True)
        print(flush=True)
    print(
        "total cold compile: "
        + ", ".join(f"{r['model']} {r['compile_s']:.1f} s" for r in results)
        + f" (one process each, numba {_numba_version()})"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _numba_version() -> str:
    import numba

    return numba.__version__


if __name__ == "__main__":
    main()
