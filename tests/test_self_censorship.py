"""The self-censorship model (Daymude, Axelrod & Forrest 2025) against its oracles.

- brute force: the closed-form action is never beaten by any action on a fine grid, for
  random individuals and settings under both punishments (a wrong rule is);
- the paper's phase boundaries, written here from its equations independently of the
  kernel, at the settings of its Fig. 3;
- the population: the trait distributions and the phase shares against their integrals;
- the outputs of ``survsim run`` and a sweep on Dask.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import integrate, stats

from survsim.cli import main
from survsim.models import self_censorship_kernels as k
from survsim.models.self_censorship import (
    SelfCensorship,
    SelfCensorshipParams,
    phase_grid,
    truncated_exponential_rate,
)
from survsim.report.self_censorship import FIGURE3, phase_map


def utility(a, d, b, tau, psi, nu, punishment):
    """The paper's expected utility, written here apart from the kernel."""
    a = np.asarray(a, dtype=np.float64)
    detected = nu + (1 - nu) * a
    cost = psi * detected * ((a - tau) if punishment == "proportional" else 1.0)
    return b * (1 - d + a) - np.where(a > tau, cost, 0.0)


def closed_form(d, b, tau, psi, nu, punishment):
    action = np.empty(len(d))
    phase = np.empty(len(d), dtype=np.uint8)
    k.optimal_actions(d, b, tau, psi, nu, punishment == "proportional", action, phase)
    return action, phase


def brute_force_gap(d, b, tau, psi, nu, punishment, rule):
    """The largest amount by which some grid action beats ``rule``'s, over individuals."""
    worst = -np.inf
    for i in range(len(d)):
        grid = np.unique(np.concatenate([np.linspace(0, d[i], 4001), [min(tau, d[i]), d[i]]]))
        best = utility(grid, d[i], b[i], tau, psi, nu, punishment).max()
        mine = utility(rule[i], d[i], b[i], tau, psi, nu, punishment)
        worst = max(worst, best - mine)
    return worst


@pytest.mark.parametrize("punishment", ["uniform", "proportional"])
def test_the_closed_form_is_never_beaten(punishment):
    rng = np.random.default_rng(2025)
    worst = 0.0
    for _ in range(60):
        tau, nu = rng.choice([0.0, 1.0, rng.random()]), rng.choice([0.0, 1.0, rng.random()])
        psi = rng.exponential(1.0) + 1e-3
        d = rng.random(40)
        b = rng.exponential(1.0, 40)
        action, phase = closed_form(d, b, tau, psi, nu, punishment)
        assert ((action >= 0) & (action <= d + 1e-15)).all()
        assert ((phase == k.COMPLIANT) == (d <= tau)).all()
        worst = max(worst, brute_force_gap(d, b, tau, psi, nu, punishment, action))
    assert worst <= 1e-12


@pytest.mark.parametrize("punishment", ["uniform", "proportional"])
def test_the_oracle_catches_a_wrong_rule(punishment):
    """Negative control: always saying exactly the tolerance is beaten by a wide margin."""
    rng = np.random.default_rng(7)
    d, b = rng.random(200), rng.exponential(2.0, 200)
    wrong = np.minimum(d, 0.25)
    assert brute_force_gap(d, b, 0.25, 0.6, 0.5, punishment, wrong) > 0.05


def test_ties_take_the_larger_action():
    d_uni = (1 * 0.25 + 0.5 * 0.6) / (1 - 0.5 * 0.6)
    action, phase = closed_form(np.array([d_uni]), np.array([1.0]), 0.25, 0.6, 0.5, "uniform")
    u = [utility(a, d_uni, 1.0, 0.25, 0.6, 0.5, "uniform") for a in (0.25, d_uni)]
    assert u[0] == pytest.approx(u[1], abs=1e-12)  # indifferent at the threshold ...
    assert action[0] == pytest.approx(d_uni) and phase[0] == k.DEFIANT  # ... and defiant
    # Proportional with perfect surveillance and boldness equal to severity: every
    # action in [tau, d] is as good; the individual says what it wants.
    action, _ = closed_form(np.array([0.8]), np.array([1.5]), 0.25, 1.5, 1.0, "proportional")
    assert action[0] == 0.8
    # Uniform with tau = nu = 0 and boldness equal to severity: every action is as good.
    action, _ = closed_form(np.array([0.7]), np.array([0.6]), 0.0, 0.6, 0.0, "uniform")
    assert action[0] == 0.7


# -- the paper's phase boundaries ---------------------------------------------------------


def d_uni(beta, nu, tau, psi):
    return (beta * tau + nu * psi) / (beta - (1 - nu) * psi)


def d_pro(beta, nu, tau, psi):
    return 0.5 * (tau + (beta - nu * psi) / ((1 - nu) * psi))


def _switch(column_phase, deltas, phase):
    """The smallest desired dissent at which a column is in ``phase``."""
    where = np.flatnonzero(column_phase == phase)
    return deltas[where[0]] if where.size else np.nan


def test_uniform_boundaries_of_figure3():
    s = FIGURE3["uniform"]
    deltas = np.linspace(0, 1, 100_001)
    # Defiance exists only above (1 - nu) psi = 0.3: the threshold 0.786 at beta = 1.
    assert d_uni(1.0, 0.5, 0.25, 0.6) == pytest.approx(0.55 / 0.7)
    for x, values in (("nu", [0.0, 0.3, 0.5, 0.9]), ("tau", [0.0, 0.1, 0.25]),
                      ("psi", [0.1, 0.4, 0.6]), ("beta", [0.5, 1.0, 2.0])):  # fmt: skip
        _, value = phase_map(x, np.array(values), deltas, s)
        for j, v in enumerate(values):
            where = {**s, x: v}
            expected = d_uni(where["beta"], where["nu"], where["tau"], where["psi"])
            found = _switch(value[:, j], deltas, 1.0)
            if where["beta"] > (1 - where["nu"]) * where["psi"] and expected <= 1:
                assert found == pytest.approx(expected, abs=2e-5), (x, v)
            else:
                assert np.isnan(found), (x, v)
    # Below the threshold of boldness, nobody defies whatever it wants.
    _, value = phase_map("beta", np.array([0.29, 0.3]), deltas, s)
    assert (value < 1).all()


def test_proportional_boundaries_of_figure3():
    s = FIGURE3["proportional"]
    deltas = np.linspace(0, 1, 100_001)
    # At Fig. 3's settings the partial self-censors say d_pro = 0.2917 (> tau = 0.25).
    d = d_pro(1.0, 0.5, 0.25, 1.5)
    assert d == pytest.approx((0.25 + 1 / 3) / 2)
    action, value = phase_map("nu", np.array([0.5]), deltas, s)
    above = deltas > d
    np.testing.assert_allclose(action[above, 0], d)  # partial self-censorship at d_pro
    defiant = (deltas > 0.25) & (deltas <= d)
    assert (value[defiant, 0] == 1).all()
    # Where d_pro falls below the tolerance, everyone above it says exactly the tolerance.
    for x, v in (("psi", 2.0), ("nu", 0.7), ("tau", 0.5), ("beta", 0.5)):
        where = {**s, x: v}
        assert d_pro(where["beta"], where["nu"], where["tau"], where["psi"]) <= where["tau"]
        action, _ = phase_map(x, np.array([v]), deltas, s)
        np.testing.assert_array_equal(
            action[deltas > where["tau"], 0], where["tau"]
        )  # full self-censorship
    # Perfect surveillance: defiant iff beta >= psi.
    action, _ = phase_map("beta", np.array([1.49, 1.5]), deltas, {**s, "nu": 1.0})
    np.testing.assert_array_equal(action[deltas > 0.25, 0], 0.25)
    np.testing.assert_array_equal(action[:, 1], deltas)


# -- the population -----------------------------------------------------------------------


def test_the_truncated_exponential_rate_gives_its_mean():
    for mean in (1e-4, 0.05, 0.25, 0.4, 0.4999):
        r = truncated_exponential_rate(mean)
        assert 1 / r - math.exp(-r) / -math.expm1(-r) == pytest.approx(mean, rel=1e-9)
    with pytest.raises(ValueError, match=r"allowed 0 < mean < 0.5"):
        truncated_exponential_rate(0.5)


def test_the_traits_follow_their_distributions():
    sim = SelfCensorship(SelfCensorshipParams(agents=200_000, delta_mean=0.2, beta_mean=2.0))
    r = truncated_exponential_rate(0.2)
    cdf = lambda x: -np.expm1(-r * np.clip(x, 0, 1)) / -np.expm1(-r)  # noqa: E731
    assert stats.kstest(sim.delta, cdf).pvalue > 1e-3
    assert stats.kstest(sim.beta, stats.expon(scale=2.0).cdf).pvalue > 1e-3
    # Negative control: a mean of 0.21 is told apart.
    wrong = truncated_exponential_rate(0.21)
    wrong_cdf = lambda x: -np.expm1(-wrong * x) / -np.expm1(-wrong)  # noqa: E731
    assert stats.kstest(sim.delta, wrong_cdf).pvalue < 1e-6


def _uniform_defiant_share(p):
    """P(defiant) under uniform punishment: an integral over boldness and desired dissent."""
    r = truncated_exponential_rate(p.delta_mean)
    survival = lambda x: (math.exp(-r * x) - math.exp(-r)) / -math.expm1(-r)  # noqa: E731
    c = (1 - p.nu) * p.psi

    def given_beta(b):
        if b <= c:
            return 0.0
        threshold = max(p.tau, (b * p.tau + p.nu * p.psi) / (b - c))
        return survival(threshold) if threshold < 1 else 0.0

    density = lambda b: math.exp(-b / p.beta_mean) / p.beta_mean  # noqa: E731
    return integrate.quad(lambda b: given_beta(b) * density(b), c, np.inf, limit=200)[0]


@pytest.mark.parametrize("psi", [0.3, 0.6, 1.2])
def test_the_shares_agree_with_their_integrals(psi):
    p = SelfCensorshipParams(agents=400_000, psi=psi, beta_mean=2.0)
    facts = SelfCensorship(p, seed=3).summary()
    r = truncated_exponential_rate(p.delta_mean)
    compliant = -math.expm1(-r * p.tau) / -math.expm1(-r)
    defiant = _uniform_defiant_share(p)
    for share, expected in ((facts["shares"]["compliant"], compliant),
                            (facts["shares"]["defiant"], defiant)):  # fmt: skip
        se = math.sqrt(expected * (1 - expected) / p.agents)
        assert abs(share - expected) < 4 * se, (share, expected, se)
    # Negative control: the integral at a severity 10% higher is more than 4 SE away.
    other = _uniform_defiant_share(p.model_copy(update={"psi": psi * 1.1}))
    se = math.sqrt(defiant * (1 - defiant) / p.agents)
    assert abs(facts["shares"]["defiant"] - other) > 4 * se


def test_the_phase_grid_is_the_runs_at_each_setting():
    p = SelfCensorshipParams(agents=20_000, punishment="proportional", psi=1.5)
    psis, nus = np.meshgrid([0.5, 1.5, 3.0], [0.0, 0.5, 1.0])
    grid = phase_grid(p, {"psi": psis.ravel(), "nu": nus.ravel()}, seed=4)
    for g in range(psis.size):
        one = p.model_copy(update={"psi": float(psis.flat[g]), "nu": float(nus.flat[g])})
        facts = SelfCensorship(one, seed=4).summary()
        assert grid["defiant"][g] == facts["shares"]["defiant"]
        assert grid["self_censoring"][g] == facts["shares"]["self_censoring"]
        assert grid["mean_action"][g] == pytest.approx(facts["mean_action"], rel=1e-12)
    with pytest.raises(ValueError, match="unknown setting 'beta'"):
        phase_grid(p, {"beta": [1.0]})
    with pytest.raises(ValueError, match="psi must be > 0"):
        phase_grid(p, {"psi": [0.0, 1.0]})


def test_more_severity_never_makes_anyone_defiant():
    """Common random numbers: one population, a rising severity; defiance only falls."""
    p = SelfCensorshipParams(agents=50_000)
    grid = phase_grid(p, {"psi": np.linspace(0.05, 3.0, 40)}, seed=1)
    assert (np.diff(grid["defiant"]) <= 0).all()
    assert grid["defiant"][0] > 0.2 and grid["defiant"][-1] < grid["defiant"][0] / 100
    np.testing.assert_allclose(grid["compliant"], grid["compliant"][0])  # tau fixed


# -- outputs ------------------------------------------------------------------------------


def test_survsim_run_writes_the_individuals_and_the_figures(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "daymude2025", "--agents", "5000", "--out", str(out)]) == 0
    agents = pq.read_table(out / "agents.parquet").to_pandas()
    assert list(agents.columns) == ["delta", "beta", "action", "phase"]
    assert len(agents) == 5000
    assert set(agents["phase"].astype(str)) == {"compliant", "self-censoring", "defiant"}
    facts = json.loads((out / "summary.json").read_text())
    shares = facts["shares"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["defiant"] == pytest.approx((agents["phase"] == "defiant").mean())
    assert facts["mean_action"] == pytest.approx(agents["action"].mean())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["psi"] == 0.6 and manifest["model"] == "self_censorship"
    for name in ("phase_diagram.png", "population.png", "report.html", "timeseries.parquet"):
        assert (out / name).stat().st_size > 0, name
    assert "self_censoring" in capsys.readouterr().out.replace(" ", "_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "delta_mean=0.6"], "delta_mean 0.6: an exponential truncated to [0, 1]"),
        (["--set", "punishment=linear"], "punishment"),
        (["--set", "psi=0"], "psi"),
    ],
)
def test_bad_settings_are_one_line_errors(args, message, tmp_path, capsys):
    code = main(["run", "daymude2025", *args, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_a_sweep_of_severity_on_dask(tmp_path):
    out = tmp_path / "sweep"
    code = main(
        ["sweep", "daymude2025", "--param", "psi=0.2,0.6,2.0", "--runs", "2",
         "--agents", "20000", "--out", str(out), "--workers", "2", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    summary = pq.read_table(out / "summary").to_pandas()
    defiant = summary.pivot_table(index="replicate", columns="psi", values="shares.defiant")
    assert (defiant[0.2] > defiant[0.6]).all() and (defiant[0.6] > defiant[2.0]).all()
    # The same replicate at each point is the same population (common random numbers).
    compliant = summary.pivot_table(index="replicate", columns="psi", values="shares.compliant")
    assert (compliant.nunique(axis=1) == 1).all()
