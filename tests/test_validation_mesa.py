"""Statistical validation of the civil-violence model against Mesa 3.3.1.

Reference: ``tests/data/mesa_civil_violence_reference.csv``, Mesa's per-run statistics for
40 seeds per configuration, made by ``scripts/mesa_reference.py``.

Statistic: for each configuration and each per-run mean (active share over steps 1-10
and 50-200, jailed share over steps 50-200), Welch's two-sample t-test between survsim's
runs and Mesa's, and a two-sample Kolmogorov-Smirnov test of the two distributions.
Tolerance: agreement means every p-value is above 0.001 (six comparisons per test: a
family-wise false-alarm rate below 1%; survsim's seeds are fixed, so the outcome is
reproducible). The tolerance therefore scales with the run-to-run spread of both models.
Negative control: the paper's floor variant, compared the same way, must be rejected
(some p-value below 1e-6).
"""

from __future__ import annotations

import csv
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from survsim.models import CivilViolence, CivilViolenceParams

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "mesa_civil_violence_reference.csv"
METRICS = ("active_1_10", "active_50_200", "jailed_50_200")
AGREE_P = 1e-3
REJECT_P = 1e-6
OUR_SEEDS = range(1000, 1100)  # disjoint from Mesa's seeds; any would do


def _mesa_script():
    spec = importlib.util.spec_from_file_location(
        "mesa_reference", ROOT / "scripts" / "mesa_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> list[dict[str, str]]:
    with REFERENCE.open(newline="") as handle:
        return list(csv.DictReader(handle))


def reference() -> dict[str, dict[str, np.ndarray]]:
    rows = _rows()
    out: dict[str, dict[str, np.ndarray]] = {}
    for config in sorted({r["config"] for r in rows}):
        mine = [r for r in rows if r["config"] == config]
        out[config] = {m: np.array([float(r[m]) for r in mine]) for m in METRICS}
        out[config]["_params"] = {
            "legitimacy": float(mine[0]["legitimacy"]),
            "cop_density": float(mine[0]["cop_density"]),
            "max_jail_term": int(mine[0]["max_jail_term"]),
        }
    return out


def survsim_statistics(params: dict, seeds, steps: int = 200, **extra) -> dict[str, np.ndarray]:
    values = {m: [] for m in METRICS}
    for seed in seeds:
        sim = CivilViolence(CivilViolenceParams(**params, **extra), seed=seed, steps=steps).run()
        table = sim.timeseries()
        active = table.column("active").to_numpy() / sim.n_citizens
        jailed = table.column("jailed").to_numpy() / sim.n_citizens
        values["active_1_10"].append(active[1:11].mean())
        values["active_50_200"].append(active[50:201].mean())
        values["jailed_50_200"].append(jailed[50:201].mean())
    return {m: np.array(v) for m, v in values.items()}


def compare(ours: dict, mesa: dict) -> dict[str, tuple[float, float]]:
    """Welch t-test and KS test p-values per metric."""
    out = {}
    for m in METRICS:
        welch = stats.ttest_ind(ours[m], mesa[m], equal_var=False).pvalue
        ks = stats.ks_2samp(ours[m], mesa[m]).pvalue
        out[m] = (float(welch), float(ks))
    return out


def test_reference_data_covers_both_configurations_with_30_seeds_or_more():
    ref = reference()
    assert set(ref) == {"run2", "legitimacy07"}
    for config in ref.values():
        assert all(config[m].size >= 30 for m in METRICS)
        # The outburst configurations are not degenerate: actives are seen.
        assert config["active_1_10"].mean() > 0.01


@pytest.mark.slow
@pytest.mark.parametrize("config", ["run2", "legitimacy07"])
def test_survsim_agrees_with_mesa(config):
    mesa = reference()[config]
    ours = survsim_statistics(mesa["_params"], OUR_SEEDS)
    result = compare(ours, mesa)
    summary = {m: (ours[m].mean(), mesa[m].mean(), p) for m, p in result.items()}
    for m, (welch, ks) in result.items():
        assert welch > AGREE_P and ks > AGREE_P, f"{config} {m}: {summary}"


@pytest.mark.slow
@pytest.mark.parametrize("config", ["run2", "legitimacy07"])
def test_negative_control_floor_variant_is_told_apart(config):
    mesa = reference()[config]
    floor = survsim_statistics(mesa["_params"], OUR_SEEDS, estimate_rounding="floor")
    result = compare(floor, mesa)
    assert min(welch for welch, _ in result.values()) < REJECT_P, result


@pytest.mark.slow
@pytest.mark.mesa
def test_live_mesa_reproduces_the_stored_reference():
    pytest.importorskip("mesa", reason="needs the validation extra (pip install -e .[validation])")
    script = _mesa_script()
    rows = [r for r in _rows() if r["seed"] == "0"]
    assert rows
    for row in rows:
        live = script.run_mesa(row["config"], 0)
        for m in METRICS:
            assert live[m] == float(row[m]), (row["config"], m)


@pytest.mark.slow
@pytest.mark.mesa
def test_live_cross_check_short_runs_against_mesa():
    pytest.importorskip("mesa", reason="needs the validation extra (pip install -e .[validation])")
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence

    params = {"legitimacy": 0.7, "cop_density": 0.04, "max_jail_term": 30}
    mesa_first, mesa_jailed = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(500, 510):
            model = EpsteinCivilViolence(seed=seed, **params)
            for _ in range(20):
                model.step()
            frame = model.datacollector.get_model_vars_dataframe()
            citizens = frame.iloc[0][["active", "quiet", "arrested"]].sum()
            mesa_first.append(frame["active"].iloc[1:11].mean() / citizens)
            mesa_jailed.append(frame["arrested"].iloc[11:21].mean() / citizens)
    ours_first, ours_jailed = [], []
    for seed in OUR_SEEDS:
        sim = CivilViolence(CivilViolenceParams(**params), seed=seed, steps=20).run()
        table = sim.timeseries()
        ours_first.append(table.column("active").to_numpy()[1:11].mean() / sim.n_citizens)
        ours_jailed.append(table.column("jailed").to_numpy()[11:21].mean() / sim.n_citizens)
    for ours, theirs in [(ours_first, mesa_first), (ours_jailed, mesa_jailed)]:
        assert stats.ttest_ind(ours, theirs, equal_var=False).pvalue > AGREE_P
