"""The example notebooks (issue 22, item 2) run top to bottom in a real Jupyter kernel, and
what they show is the model's own output.

Each notebook is executed once per test session with nbclient, in a temporary folder
(nothing is written into the repository), with a probe cell appended that reports, as
JSON, what the notebook computed. The tests compare it with the same runs made here, in
this process: the notebooks would rot silently otherwise.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

import survsim

NOTEBOOKS = Path(__file__).resolve().parents[1] / "examples" / "notebooks"
NAMES = ["01_quick_start", "02_ensemble_bands", "03_policy_comparison"]
PROBE = "__probe__"

#: A cell appended to each notebook: what it computed, for the tests to check.
PROBES = {
    "01_quick_start": """
print("__probe__" + json.dumps({
    "summary": survsim.summary(sim),
    "run": [scenario.name, PEOPLE, DAYS, SEED],
    "out": str(out),
    "reporter": df["border_held"].tolist(),
}))
""",
    "02_ensemble_bands": """
print("__probe__" + json.dumps({
    "design": result.design.to_dict("list"),
    "summary": result.summary.to_json(orient="records", double_precision=15),
    "bands": result.bands.to_json(orient="records", double_precision=15),
    "run": [result.scenario, 3_000, 60],
}))
""",
    "03_policy_comparison": """
print("__probe__" + json.dumps({
    "coverage": {int(k): float(v) for k, v in coverage.items()},
    "effects": effects.to_json(orient="records", double_precision=15),
    "evidence": {int(k): int(v) for k, v in summary.groupby(KEY)["border_evidence"].sum().items()},
    "runs": len(result.design),
}))
""",
}


def _source(cell: Any) -> str:
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


def _outputs(cell: Any, kind: str) -> list[Any]:
    """The data of a cell's rich outputs of one MIME type (``image/png``, ``text/html``)."""
    return [o["data"][kind] for o in cell.get("outputs", []) if kind in o.get("data", {})]


def _text(data: str) -> io.StringIO:
    """JSON text as pandas reads it (a file-like object: a bare string is deprecated)."""
    return io.StringIO(data)


def _stream(cell: Any, name: str = "stdout") -> str:
    return "".join(o["text"] for o in cell.get("outputs", []) if o.get("name") == name)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every notebook executed once in a fresh kernel: {name: (notebook, probe data)}.

    The kernel runs in a temporary folder, with temporary files and the spin-up cache
    under it too; it inherits NUMBA_CACHE_DIR, so the kernels load from numba's cache.
    """
    root = tmp_path_factory.mktemp("notebooks")
    done = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SURVSIM_CACHE_DIR", str(root / "spinup-cache"))
        env.setenv("TMPDIR", str(root / "tmp"))
        env.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's own advice (no warning)
        (root / "tmp").mkdir()
        for name in NAMES:
            nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell("import json\n" + PROBES[name]))
            cwd = root / name
            cwd.mkdir()
            NotebookClient(
                nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
            ).execute()  # raises CellExecutionError, naming the cell, if any cell fails
            probe = _stream(nb.cells[-1]).split(PROBE, 1)[1]
            done[name] = (nb, json.loads(probe), cwd)
        yield done, root


def test_the_stored_notebooks_have_no_outputs_and_say_what_is_assumed():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), name
        text = "\n".join(_source(c) for c in nb.cells if c.cell_type == "markdown")
        assert "Every person here is synthetic" in text, name
        assert "What is assumed and what emerges" in text, name
        assert "**Assumed**" in text and "**Emergent**" in text, name


@pytest.mark.slow
def test_every_notebook_runs_cleanly_and_shows_its_figures(executed):
    notebooks, root = executed
    for name, (nb, _, cwd) in notebooks.items():
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            assert cell.execution_count is not None, name
            assert not _stream(cell, "stderr"), f"{name}: {_stream(cell, 'stderr')[:300]}"
            last = _source(cell).strip().splitlines()[-1]
            if re.search(r"\.plot\(|^fig$", last):  # a cell that ends with a figure shows it
                images = _outputs(cell, "image/png")
                assert len(images) == 1, f"{name}: no image from {last!r}"
                assert len(images[0]) > 10_000, f"{name}: {last!r} drew an empty image"
        # Nothing was written where the kernel ran but the runs' own folders (none here).
        assert not any(cwd.iterdir()), f"{name} wrote {sorted(p.name for p in cwd.iterdir())}"
    # ... and the runs' folders went to the temporary directory the kernel was given.
    assert any((root / "tmp").iterdir())


@pytest.mark.slow
def test_the_quick_start_shows_the_numbers_of_the_same_run_made_here(executed):
    nb, probe, _ = executed[0]["01_quick_start"]
    name, people, days, seed = probe["run"]
    scenario = survsim.load_scenario(name, [f"params.agents={people}"], steps=days, seed=seed)
    sim = survsim.run_scenario(scenario)
    facts = json.loads(json.dumps(survsim.summary(sim)))
    assert probe["summary"] == facts  # the kernel's run and this one are the same run
    cells = {c.id: c for c in nb.cells}
    shown = next(c for c in nb.cells if _source(c).strip() == "sim.run()")
    html = _outputs(shown, "text/html")[0]
    assert f"{people:,}" in html and f"{days} of {days}" in html and "surveillance_state" in html
    printed = "".join(_stream(c) for c in cells.values())
    k2, k3 = facts["open_speech_k2_work_public"], facts["open_speech_k3_work_public"]
    assert f"{k2:.1%} in a pair, {k3:.1%} in a group of three" in printed
    assert f"{facts['national']['prisoners']:,.0f})" in printed
    assert "census adds up every day: True" in printed
    # The user reporter's column is a count of people, at most the population.
    held = np.array(probe["reporter"])
    assert len(held) == days + 1 and np.all((held >= 0) & (held <= people))
    loaded = next(c for c in nb.cells if "survsim.load_run(" in _source(c))
    assert loaded.outputs[-1]["data"]["text/plain"] == "True"  # the folder loads back equal


@pytest.mark.slow
def test_the_ensemble_bands_hold_the_runs_and_a_run_repeats_here(executed):
    nb, probe, _ = executed[0]["02_ensemble_bands"]
    name, people, days = probe["run"]
    design = pd.DataFrame(probe["design"])
    summary = pd.read_json(_text(probe["summary"]), orient="records")
    bands = pd.read_json(_text(probe["bands"]), orient="records")
    assert len(design) == len(summary) == 4 and design["seed"].nunique() == 4
    # A band runs from the 5th to the 95th percentile of the runs: it holds their mean
    # and median on every day, for every column.
    assert (bands["runs"] == 4).all() and bands["day"].max() == days
    tol = 1e-9 * (1 + bands["mean"].abs())
    assert (bands["p05"] <= bands["median"] + tol).all()
    assert (bands["median"] <= bands["p95"] + tol).all()
    assert ((bands["p05"] <= bands["mean"] + tol) & (bands["mean"] <= bands["p95"] + tol)).all()
    spoke = bands[bands["column"] == "spoke_openly"]
    assert (spoke["p95"] > spoke["p05"]).any()  # the runs differ: the seeds are distinct
    # Run 0, made here in one process, is the run a Dask worker made for the notebook.
    run0 = summary.set_index("run").loc[0]
    seed = int(design.set_index("run").loc[0, "seed"])
    scenario = survsim.load_scenario(name, [f"params.agents={people}"], steps=days, seed=seed)
    facts = survsim.run_scenario(scenario).summary()
    for key in ("spoke_openly_per_day", "falsification_gap", "reports", "prisoners"):
        assert run0[key] == pytest.approx(facts[key], rel=1e-9), key
    loaded = next(c for c in nb.cells if "survsim.load_experiment(" in _source(c))
    assert loaded.outputs[-1]["data"]["text/plain"] == "True"


@pytest.mark.slow
def test_the_policy_comparison_pairs_its_runs_and_shows_the_assumed_ratio(executed):
    _, probe, _ = executed[0]["03_policy_comparison"]
    assert probe["runs"] == 8
    # Assumed: the same personnel in teams of three make 5/3 as many teams, each watching
    # the same households a day (docs/odd.md 4.7), so the watched share rises by 5/3.
    coverage = {int(k): v for k, v in probe["coverage"].items()}
    assert coverage[3] / coverage[5] == pytest.approx(5 / 3, rel=1e-9)
    # Emergent, but bounded by it: more households watched, more recorded.
    evidence = {int(k): v for k, v in probe["evidence"].items()}
    assert evidence[3] > evidence[5] > 0
    effects = pd.read_json(_text(probe["effects"]), orient="records")
    assert len(effects) == 8 and (effects["pairs"] == 4).all()
    inside = (effects["ci_low"] <= effects["difference"] + 1e-12) & (
        effects["difference"] <= effects["ci_high"] + 1e-12
    )
    assert inside.all()
    border = effects.set_index("metric").loc["border_evidence"]
    assert border["difference"] == pytest.approx((evidence[3] - evidence[5]) / 4)
