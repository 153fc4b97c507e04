"""User reporters: extra time-series columns computed from the state after every record.

The oracle is the model's own bookkeeping: a reporter that counts from the state what the
model also counts (jailed citizens, people in prison) must give the model's column at
every step, row 0 included; reporters only read, so the model's columns are identical
with and without them; they survive a checkpoint and travel to Dask workers.
"""

from __future__ import annotations

import numpy as np
import pytest

from survsim.api import build_sim, load_run, save_run
from survsim.engine import ReporterError
from survsim.engine.checkpoint import CheckpointError, read_checkpoint, restore, write_checkpoint
from survsim.errors import SurvsimError
from survsim.experiments import ensemble, load_experiment
from survsim.models import CivilViolence
from survsim.scenario import load_scenario
from survsim.society.names import STATUSES

SMALL_CV = ["width=20", "height=20"]
JAILED = 2  # civil violence: 0 quiet, 1 active, 2 jailed
IMPRISONED = STATUSES.index("imprisoned")


def jailed(sim) -> int:
    return int(np.count_nonzero(sim.state.status[: sim.n_citizens] == JAILED))


def imprisoned(sim) -> int:
    return int(np.count_nonzero(sim.pop.people.status == IMPRISONED))


def _epstein(steps: int = 30):
    return load_scenario("epstein_outbursts", SMALL_CV, steps=steps)


def test_a_reporter_gives_what_the_model_counts_at_every_step():
    sim = build_sim(_epstein(), reporters={"jailed_again": jailed}).run()
    frame = sim.to_df()
    assert list(frame.columns[-1:]) == ["jailed_again"]
    assert len(frame) == 31
    assert frame["jailed"].max() > 0  # the comparison is not between zeros
    np.testing.assert_array_equal(frame["jailed_again"], frame["jailed"])


def test_a_surveillance_state_reporter_reads_the_people():
    scenario = load_scenario("dprk", ["agents=4000"], steps=20)
    sim = build_sim(scenario, reporters={"in_prison": imprisoned}).run()
    frame = sim.to_df()
    assert frame["imprisoned"].iloc[0] > 0  # the stationary start holds prisoners
    np.testing.assert_array_equal(frame["in_prison"], frame["imprisoned"])


def test_reporters_only_read_the_state():
    plain = build_sim(_epstein()).run().timeseries()
    reported = build_sim(_epstein(), reporters={"j": jailed, "n": lambda s: s.t}).run()
    assert reported.timeseries().select(plain.column_names).equals(plain)
    np.testing.assert_array_equal(reported.to_df()["n"], np.arange(31))


@pytest.mark.parametrize(
    ("reporters", "message"),
    [
        ({"jailed": jailed}, "reporter 'jailed': the time series already has a column"),
        ({"step": jailed}, "reporter 'step': the time series already has a column"),
        ({"two words": jailed}, "reporter name 'two words': a Python identifier"),
        ({"x": 3}, "reporter 'x': int is not callable"),
        ([("x", jailed)], "reporters: a mapping of name to function is needed, not a list"),
    ],
)
def test_a_bad_reporter_is_refused_before_the_run(reporters, message, monkeypatch):
    with pytest.raises(ReporterError) as caught:
        build_sim(_epstein(), reporters=reporters)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    if "already has a column" not in message:  # known before the build: none is made
        built = []
        monkeypatch.setattr(CivilViolence, "build", lambda self: built.append(1))
        with pytest.raises(ReporterError):
            build_sim(_epstein(), reporters=reporters)
        assert built == []


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda s: 1 / (s.t - 3), "reporter 'r' failed at step 3: ZeroDivisionError: division"),
        (lambda s: [1, 2] if s.t == 2 else 0, "reporter 'r' returned a list at step 2"),
        (lambda s: np.zeros(3), "reporter 'r' returned a ndarray of shape (3,) at step 0"),
    ],
)
def test_a_reporter_that_fails_stops_the_run_with_one_line(fn, message):
    with pytest.raises(ReporterError) as caught:
        build_sim(_epstein(), reporters={"r": fn}).run()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_one_element_array_or_a_numpy_scalar_is_a_number():
    sim = build_sim(
        _epstein(3), reporters={"a": lambda s: np.array([s.t]), "b": lambda s: np.bool_(True)}
    ).run()
    assert sim.to_df()["a"].tolist() == [0, 1, 2, 3]
    assert sim.to_df()["b"].tolist() == [1.0] * 4


def test_reporters_survive_a_checkpoint(tmp_path):
    whole = build_sim(_epstein(), reporters={"j": jailed}).run().timeseries()
    first = build_sim(_epstein(), reporters={"j": jailed}).run(steps=12)
    write_checkpoint(first, tmp_path / "cut.npz")
    second = build_sim(_epstein(), reporters={"j": jailed})
    restore(second, read_checkpoint(tmp_path / "cut.npz"))
    assert second.run().timeseries().equals(whole)
    # Negative control: the values before the cut come from the checkpoint, not again
    # from the reporter; a resumed run with a reporter giving another value differs there.
    third = build_sim(_epstein(), reporters={"j": lambda s: -1})
    restore(third, read_checkpoint(tmp_path / "cut.npz"))
    column = third.run().to_df()["j"]
    assert (column[:13] == whole.column("j").to_numpy()[:13]).all()
    assert (column[13:] == -1).all()


def test_a_checkpoint_with_other_reporters_is_refused_in_one_line(tmp_path):
    first = build_sim(_epstein(), reporters={"j": jailed}).run(steps=5)
    write_checkpoint(first, tmp_path / "cut.npz")
    with pytest.raises(CheckpointError, match=r"records the reporters \[j\], the run has \[\]"):
        restore(build_sim(_epstein()), read_checkpoint(tmp_path / "cut.npz"))


def test_a_saved_run_with_reporters_loads_back_with_them(tmp_path):
    scenario = _epstein(8)
    sim = build_sim(scenario, reporters={"j": jailed}).run()
    save_run(sim, scenario, tmp_path / "run")
    loaded = load_run(tmp_path / "run", reporters={"j": jailed})
    assert loaded.timeseries().equals(sim.timeseries())
    with pytest.raises(SurvsimError, match=r"made with the reporters \[j\], \[\] given"):
        load_run(tmp_path / "run")
    with pytest.raises(SurvsimError, match="does not reproduce its time series"):
        load_run(tmp_path / "run", reporters={"j": lambda s: 0})


@pytest.mark.slow
def test_reporters_flow_through_an_ensemble_to_its_bands_and_resume(tmp_path):
    def share_jailed(sim):  # a local function: Dask pickles it by value
        return jailed(sim) / sim.n_citizens

    out = tmp_path / "ens"
    result = ensemble(
        "epstein_outbursts", 3, overrides=SMALL_CV, steps=10, seed=5,
        out=out, workers=2, reporters={"share_jailed": share_jailed},
    )  # fmt: skip
    series = result.timeseries
    citizens = series["jailed"] / series["share_jailed"]  # each run's own citizens
    per_run = citizens[series["jailed"] > 0].groupby(series["run"])
    np.testing.assert_allclose(per_run.min(), per_run.max())
    np.testing.assert_allclose(per_run.min(), np.round(per_run.min()))
    assert (series.loc[series["jailed"] == 0, "share_jailed"] == 0).all()
    assert series.groupby("run")["share_jailed"].sum().nunique() > 1  # the runs differ
    bands = result.bands
    assert set(bands.loc[bands.column == "share_jailed", "step"]) == set(range(11))
    back = load_experiment(out)
    assert back.timeseries["share_jailed"].equals(series["share_jailed"])
    with pytest.raises(SurvsimError, match="holds a different experiment"):
        ensemble(
            "epstein_outbursts", 3, overrides=SMALL_CV, steps=10, seed=5,
            out=out, workers=2, resume=True,
        )  # fmt: skip
    with pytest.raises(ReporterError, match="reporter 'active': the time series already has"):
        ensemble("epstein_outbursts", 2, overrides=SMALL_CV, steps=2, reporters={"active": len})
