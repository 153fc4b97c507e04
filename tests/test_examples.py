"""The examples run (small), as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_border_teams_example_runs_and_draws(tmp_path):
    out = tmp_path / "border.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "border_teams.py"), "--agents", "3000",
         "--steps", "40", "--seeds", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "teams of three from day 730" in result.stdout


def _run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_policy_questions_example_writes_its_table_and_figure(tmp_path):
    small = ["--agents", "3000", "--steps", "40", "--runs", "1", "--workers", "1"]
    result = _run_example("policy_questions.py", "cameras", *small, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "effects.md").read_text()
    assert "| no cameras | 100,000 cameras bought over four years |" in table
    assert "people wrongly convicted per year" in result.stdout
    effects = pd.read_csv(tmp_path / "effects.csv")
    # A 40-day run has too few admissions for a steady state: that row has no pair and
    # says how many runs missed it; every other row has its one pair.
    paired = effects["pairs"] == 1
    assert (paired | (effects["missing"] > 0)).all()
    assert paired.sum() >= len(effects) - 1
    # The one paired difference is the change-arm value minus the baseline value.
    e = effects[paired]
    assert np.allclose(e["difference"], e["change"] - e["baseline"])
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gdr_dprk_example_compares_both_scenarios(tmp_path):
    small = ["--agents", "3000", "--steps", "40", "--runs", "1", "--workers", "1"]
    result = _run_example("compare_gdr_dprk.py", *small, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert set(table["scenario"]) == {"dprk_calibrated", "gdr1989"}
    staff = table[table["outcome"].str.startswith("staff")].set_index("scenario")["mean"]
    # (91,015 Stasi + 5,000 border staff) / 16.4 million, per 100,000 people.
    assert staff["gdr1989"] == pytest.approx(96_015 / 164, rel=1e-6)
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _example(name: str):
    """Import an example script as a module (examples/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_code_words_added_as_one_mechanism_change_only_what_they_should():
    """docs/extending.md's example: a new people-side mechanism in one file.

    With nobody using code words the model is the built-in one, bit for bit (the new
    mechanism changes nothing else); when everyone does and nothing is understood, no
    recording is evidence, and on day 1 (before any verdict can differ) the recordings
    removed are exactly those the built-in model used, while witnesses report the same.
    """
    from survsim import load_scenario, run_scenario

    example = _example("code_words")
    talk = tuple(
        f"params.conversations.topic.{c}=0.3"
        for c in ("household", "work", "neighbourhood", "friends", "phone", "letters", "public")
    )
    # No spin-up: on day 1 the coded and the built-in runs must start from the same state
    # (a spin-up with code words in use would teach people otherwise).
    busy = (*talk, "params.channels.wiretap=0.5", "params.channels.post=0.5",
            "params.beliefs.spinup_days=0")  # fmt: skip
    scenario = load_scenario("dprk", ["params.agents=6000", *busy], steps=40)
    base = run_scenario(scenario, seed=2).timeseries().to_pandas()
    none = example.run(6000, 40, 2, 0.0, overrides=busy).timeseries().to_pandas()
    for name in base.columns:
        np.testing.assert_array_equal(none[name], base[name], err_msg=name)
    assert none["recordings_misunderstood"].sum() == 0

    recordings = ["reports_microphone", "reports_wiretap", "reports_correspondence"]
    coded = example.run(6000, 40, 2, 1.0, 0.0, busy).timeseries().to_pandas()
    assert coded[recordings].to_numpy().sum() == 0
    assert base[recordings].to_numpy().sum() > 0
    day1 = base.loc[1, recordings].sum()
    assert coded.loc[1, "recordings_misunderstood"] == day1 > 0
    assert coded.loc[1, "reports_informant"] == base.loc[1, "reports_informant"]


def test_code_words_example_runs_and_draws(tmp_path):
    out = tmp_path / "code_words.png"
    result = _run_example("code_words.py", "--agents", "3000", "--steps", "30", "--seeds", "1",
                          "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| recordings used as evidence |" in result.stdout
    assert "30% use code words" in result.stdout


def test_response_table_example_pairs_every_arm_with_the_baseline(tmp_path):
    small = ["--agents", "2000", "--steps", "30", "--runs", "2", "--workers", "1"]
    page = tmp_path / "page.md"
    result = _run_example("response_table.py", *small, "--levers", "family,severity",
                          "--out", str(tmp_path), "--doc", str(page))  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("response.csv", "values.csv", "response.md"):
        assert (tmp_path / name).stat().st_size > 0
    table = pd.read_csv(tmp_path / "response.csv")
    values = pd.read_csv(tmp_path / "values.csv")
    outcomes = [c for c in values.columns if c not in ("lever", "arm", "seed")]
    assert len(outcomes) >= 10 and "sanctions_per_year" in outcomes
    # One row per lever, arm and outcome (each of these levers has one arm), in the table
    # and in its markdown.
    assert len(table) == 2 * len(outcomes)
    for lever in ("family", "severity"):
        assert list(table.loc[table["lever"] == lever, "outcome"]) == outcomes
    markdown = (tmp_path / "response.md").read_text()
    for label in table["label"]:
        assert markdown.count(f"| {label} |") == 2
    # Intervals contain their means (where the outcome has a value at all).
    for arm in ("baseline", "arm"):
        t = table.dropna(subset=[f"{arm}_mean"])
        assert (t[f"{arm}_p05"] <= t[f"{arm}_mean"] + 1e-9).all()
        assert (t[f"{arm}_mean"] <= t[f"{arm}_p95"] + 1e-9).all()
    t = table.dropna(subset=["difference"])
    assert (t["ci_low"] <= t["difference"] + 1e-9).all()
    assert (t["difference"] <= t["ci_high"] + 1e-9).all()
    # Every arm has the baseline's seeds, and the difference is the mean of the per-seed
    # differences (arm minus baseline on the same seed).
    for row in t.itertuples():
        v = values[values["lever"] == row.lever].pivot(index="seed", columns="arm",
                                                        values=row.outcome)  # fmt: skip
        assert len(v) == 2  # the same two seeds in both arms
        paired = (v[row.arm] - v["baseline"]).dropna()  # a run may miss the steady state
        assert row.pairs == len(paired)
        tolerance = 1e-9 * (1 + abs(row.baseline_mean))  # rounding, at the outcome's scale
        assert row.difference == pytest.approx(paired.mean(), rel=1e-9, abs=tolerance)
        assert row.arm_mean == pytest.approx(v[row.arm].mean(), rel=1e-9, abs=tolerance)
    text = page.read_text()
    assert "## What is assumed and what emerges" in text
    assert "every person" in text.lower() and "synthetic" in text
    assert "reduced run" in text
    assert text.count("| share speaking openly in a group of three (work, public) |") == 2


def test_what_people_learned_reads_the_risks_the_speakers_use(capsys):
    """examples/what_people_learned.py: its per-class risks are the ones the speech rule
    reads (statements.own_listener_risk, person by person), its k = 3 rates are the
    open-speech table's, and bad input is one line and exit 2."""
    from survsim.models.surveillance_state import SurveillanceState
    from survsim.scenario import load_scenario
    from survsim.society.names import CHILD, FREE
    from survsim.society.statements import own_listener_risk

    example = _example("what_people_learned")
    scenario = load_scenario(
        "dprk_calibrated", ["params.agents=3000", "params.beliefs.spinup_days=0"]
    )
    sim = SurveillanceState(scenario.params, seed=3, steps=60).run()
    found = example.learned(sim)
    s, talk = sim.pop.people, sim.talk
    adults = np.flatnonzero((s.status == FREE) & (s.role != CHILD))
    for k, key in ((2, "a2_mean"), (3, "a3_mean")):
        rule = np.mean([own_listener_risk(i, k, talk.P, talk.R) for i in adults])
        assert found[key] == pytest.approx(rule, rel=1e-5)
    assert found["heard_group"] > 0 and 0 <= found["sparse_pair"] <= 1
    t = sim.open_speech().to_pandas()
    t = t[t.group_size == 3]
    assert found["k3_observed"] == pytest.approx(t.spoke.sum() / t.present.sum())
    assert example.main(["--agents", "10"]) == 2
    assert example.main(["--set", "speech.prior_strength=-1", "--agents", "200"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "prior_strength" in err[-1]


def test_daymude_phases_example_draws_figure3_and_a_grid_of_shares(tmp_path):
    result = _run_example(
        "daymude_phases.py", "--agents", "3000", "--grid", "3", "--workers", "1",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("figure3.png", "shares.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shares = pd.read_csv(tmp_path / "shares.csv")
    assert len(shares) == 9
    total = shares[["shares.compliant", "shares.self_censoring", "shares.defiant"]].sum(axis=1)
    np.testing.assert_allclose(total, 1.0)
    # One population at every setting: the compliant share (delta <= tau) never moves.
    assert shares["shares.compliant"].nunique() == 1
