"""Mechanisms as modules: the engine's protocol on a toy model, the flagship's declarations.

The toy model checks what the engine builds from declarations (arrays, counters, result
columns, the plan by phase); the flagship's checks are consistency laws: every evidence
kind is produced by some mechanism and read by the cases, no two mechanisms share a
random stream or an array, every parameter group exists, and the named constants are
those stored in results.
"""

from __future__ import annotations

from collections import namedtuple
from typing import ClassVar

import numpy as np
import pytest
from pydantic import Field

from survsim.engine import Attribute
from survsim.engine.mechanism import Mechanism, Step, bundle
from survsim.engine.modular import ModularSim
from survsim.engine.params import StrictModel
from survsim.models.surveillance_params import SurveillanceStateParams
from survsim.models.surveillance_state import MECHANISMS, SurveillanceState
from survsim.society import names
from survsim.society.population import BASE_ATTRIBUTES, DRAWN

# -- a toy model ------------------------------------------------------------------------------


class ToyParams(StrictModel):
    n: int = Field(10, ge=1)
    rate: float = Field(0.5, ge=0, le=1)


class Coins(Mechanism):
    name = "coins"
    arrays = (Attribute("heads", np.int32, 0, "people", "heads so far"),)
    streams = ("flip",)
    counters = ("flipped", "_hidden")

    def steps(self):
        yield Step("flip", self.flip, "everyone flips", "late")

    def flip(self):
        u = self.sim.streams.uniform("flip", self.sim.t, self.sim.params.n)
        heads = u < self.sim.params.rate
        self.sim.people.heads[heads] += 1
        self.counts[self.counter("flipped")] += self.sim.params.n
        self.counts[self.counter("_hidden")] += 1


class Clock(Mechanism):
    name = "clock"
    columns: ClassVar[dict[str, type]] = {"heads_total": np.int64}

    def steps(self):
        yield Step("tick", lambda: None, "the clock ticks", "early")

    def record(self, t, columns):
        columns["heads_total"][t] = self.sim.people.heads.sum()


class Toy(ModularSim):
    model_name = "toy"
    mechanisms = (Coins, Clock)
    phases = ("early", "late")

    def build_people(self):
        self.people = self.allocate_people(self.params.n)


def test_the_engine_builds_state_columns_and_plan_from_declarations():
    sim = Toy(ToyParams(), seed=3, steps=4)
    assert [name for name, _ in sim.plan.describe()] == ["tick", "flip", "record"]
    assert list(sim.people) == ["heads"]
    sim.run()
    df = sim.timeseries().to_pandas()
    assert list(df.columns) == ["step", "flipped", "heads_total"]  # "_hidden" is no column
    assert df.flipped.tolist() == [0, 10, 10, 10, 10]  # zeroed before every step
    assert df.heads_total.iloc[-1] == sim.people.heads.sum() > 0
    assert sim.mechanism("coins").counts[1] == 1  # yesterday's hidden count was zeroed


def test_the_engine_refuses_a_clash_or_an_unknown_phase():
    class Twin(Coins):
        name = "twin"
        streams = ()
        counters = ()

    class Lost(Clock):
        name = "lost"
        columns: ClassVar[dict[str, type]] = {}

        def steps(self):
            yield Step("wander", lambda: None, "", "never")

    with pytest.raises(ValueError, match="'heads' is declared by 'coins' and by 'twin'"):
        type("T", (Toy,), {"mechanisms": (Coins, Twin)})(ToyParams())
    with pytest.raises(ValueError, match="names phase 'never'"):
        type("T", (Toy,), {"mechanisms": (Coins, Lost)})(ToyParams())
    with pytest.raises(KeyError, match="undeclared stream 'other'"):
        Toy(ToyParams()).mechanism("coins").stream("other")
    with pytest.raises(KeyError, match="no mechanism 'dice'"):
        Toy(ToyParams()).mechanism("dice")


def test_a_bundle_takes_each_field_by_name_whatever_the_order():
    Pair = namedtuple("Pair", "rate n extra")
    built = bundle(Pair, ToyParams(n=4), {"n": 99}, extra="x")
    assert built == Pair(0.5, 4, "x")  # the first source that has a field wins
    with pytest.raises(KeyError, match=r"Pair\.missing"):
        bundle(namedtuple("Pair", "missing"), ToyParams())


# -- the flagship -----------------------------------------------------------------------------


def test_every_evidence_kind_has_a_producer_and_the_cases_read_them_all():
    produced = [k for m in MECHANISMS for k in m.produces]
    read = {k for m in MECHANISMS for k in m.reads}
    assert set(produced) == set(names.EVIDENCE) == read
    assert all(k in names.EVIDENCE for k in produced)


def test_no_two_mechanisms_share_a_stream_an_array_a_counter_or_a_name():
    for what in ("streams", "counters", "name"):
        values = [v for m in MECHANISMS for v in np.atleast_1d(getattr(m, what))]
        assert len(values) == len(set(values)), what
    arrays = [a.name for a in BASE_ATTRIBUTES] + [a.name for m in MECHANISMS for a in m.arrays]
    assert len(arrays) == len(set(arrays))


def test_each_group_exists_with_its_class_and_drawn_arrays_agree_with_their_owners():
    fields = SurveillanceStateParams.model_fields
    for m in MECHANISMS:
        if m.group is not None:
            assert fields[m.group].annotation is m.params_class, m.name
    declared = {a.name: a.dtype for m in MECHANISMS for a in m.arrays}
    for name, dtype in DRAWN.items():
        assert declared[name] is dtype, name


def test_the_named_constants_are_the_stored_numbers():
    assert (names.FREE, names.DETAINED, names.IMPRISONED, names.DEAD) == (0, 1, 2, 3)
    assert names.Role.SENIOR == names.SENIOR == 4 and names.Status.DEAD == 3
    assert names.CONTEXTS.index("public") == names.PUBLIC == names.Context.PUBLIC
    assert [names.Evidence[k.upper()] for k in names.EVIDENCE] == list(range(12))
    assert names.EVIDENCE[names.CCTV] == "cctv" and names.EVIDENCE[names.COMPUTER] == "computer"


def test_a_model_with_one_more_mechanism_gets_its_parameter_group():
    class QuietParams(StrictModel):
        share: float = Field(0.0, ge=0, le=1)

    class Quiet(Mechanism):
        name = "quiet"
        group = "quiet"
        params_class = QuietParams

    Model = SurveillanceState.with_mechanisms(Quiet, before="cases")
    assert [m.name for m in Model.mechanisms].index("quiet") == [
        m.name for m in Model.mechanisms
    ].index("cases") - 1
    params = Model.params_class.model_validate({"agents": 300, "quiet": {"share": 0.5}})
    assert params.quiet.share == 0.5
    with pytest.raises(KeyError, match="no mechanism 'nowhere'"):
        SurveillanceState.with_mechanisms(Quiet, before="nowhere")
