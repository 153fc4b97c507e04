"""At a notebook (issue 22, item 1 in part): figures as objects, the time series as a
DataFrame, and rich HTML for a run and an experiment."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.figure import Figure

import survsim
from survsim.engine.sim import FIGURES

SMALL_CV = ["width=20", "height=20"]


@pytest.fixture(scope="module")
def run():
    scenario = survsim.load_scenario(
        "dprk", ["params.agents=2000", "params.beliefs.spinup_days=0"], steps=20
    )
    return survsim.run_scenario(scenario)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_every_figure_of_a_run_is_the_png_the_report_writes(run, tmp_path):
    names = run.figures()
    assert names == ["daily_story", "open_speech", "reports_by_channel", "prisoners"]
    for (file, draw), name in zip(FIGURES[run.model_name], names, strict=True):
        written = draw(run, tmp_path / file, "dprk")
        fig = run.plot(name, title="dprk")
        assert isinstance(fig, Figure)
        assert _png(fig) == written.read_bytes(), name
    assert run.plot().axes[0].get_title() == run.plot("daily_story").axes[0].get_title()
    with pytest.raises(ValueError, match="not one of: daily_story, open_speech"):
        run.plot("histogram")


def test_a_figure_shows_itself_in_a_fresh_kernel_with_a_plain_title(run):
    """Jupyter calls ``_repr_png_`` (no ``%matplotlib inline`` needed); no dangling colon."""
    fig = run.plot("prisoners")
    assert fig._repr_png_() == _png(fig)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in run.figures():
        titles = [ax.get_title() for ax in run.plot(name).axes] + [run.plot(name).get_suptitle()]
        assert not any(t.rstrip().endswith(":") for t in titles), (name, titles)


def test_the_time_series_as_a_dataframe_and_the_run_as_html(run):
    df = run.to_df()
    assert isinstance(df, pd.DataFrame) and len(df) == run.t + 1
    assert df.equals(run.timeseries().to_pandas())
    html = run._repr_html_()
    assert "surveillance_state" in html and "2,000" in html and "20 of 20" in html
    assert all(key in html for key in type(run).headline)


def test_an_ensemble_and_a_sweep_plot_themselves():
    result = survsim.ensemble("epstein_outbursts", runs=2, steps=5, overrides=SMALL_CV, workers=1)
    assert result.figures() == ["bands"]
    fig = result.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == len(survsim.CivilViolence.band_panels)
    assert "epstein_outbursts: 2 runs" in fig.get_suptitle()
    with pytest.raises(ValueError, match="not one of: bands"):
        result.plot("sweep")
    html = result._repr_html_()
    assert "<b>ensemble</b> of <b>epstein_outbursts</b>: 2 runs" in html and "<table" in html
    grid = survsim.sweep(
        "epstein_outbursts", {"legitimacy": [0.6, 0.8]}, steps=5, overrides=SMALL_CV, workers=1
    )
    assert grid.figures() == ["sweep"] and grid.keys == ("legitimacy",)
    assert "sweep of legitimacy" in grid.plot().get_suptitle()
    # The HTML shows the model's headline numbers (not the run's steps), then says how
    # many rows it left to .stats.
    html = grid._repr_html_()
    for key in survsim.CivilViolence.headline:
        assert f"<td>{key}</td>" in html, key
    assert "<td>steps</td>" not in html and "more rows in <code>.stats</code>" in html


def test_a_finished_experiment_reads_back_as_the_result_its_run_returned(tmp_path):
    out = tmp_path / "ens"
    result = survsim.ensemble(
        "epstein_outbursts", runs=2, steps=5, overrides=SMALL_CV, workers=1, out=out
    )
    loaded = survsim.load_experiment(out)
    assert (loaded.kind, loaded.model, loaded.scenario, loaded.keys, loaded.path) == (
        "ensemble", "civil_violence", "epstein_outbursts", (), out
    )  # fmt: skip
    for name in ("design", "timeseries", "open_speech", "summary", "stats", "bands"):
        pd.testing.assert_frame_equal(
            getattr(loaded, name), getattr(result, name), check_dtype=False, obj=name
        )
    assert _png(loaded.plot()) == _png(result.plot())
    with pytest.raises(survsim.SurvsimError, match="holds no experiment"):
        survsim.load_experiment(tmp_path)
    (out / "manifest.json").unlink()
    with pytest.raises(survsim.SurvsimError, match=r"has not finished .* --resume"):
        survsim.load_experiment(out)


def test_a_run_folder_loads_back_as_the_same_run_and_an_edited_one_is_refused(run, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    scenario = survsim.load_scenario(
        "dprk", ["params.agents=2000", "params.beliefs.spinup_days=0"], steps=20
    )
    out = survsim.save_run(run, scenario, tmp_path / "run")
    loaded = survsim.load_run(out)
    assert type(loaded) is type(run) and (loaded.t, loaded.seed) == (run.t, run.seed)
    assert loaded.timeseries().equals(run.timeseries())
    assert loaded.open_speech().equals(run.open_speech())
    assert loaded.summary() == run.summary()
    # The negative control: one number of the stored time series changed.
    table = pq.read_table(out / "timeseries.parquet")
    column = table.column("spoke_openly").to_numpy().copy()
    column[-1] += 1
    index = table.column_names.index("spoke_openly")
    pq.write_table(table.set_column(index, "spoke_openly", pa.array(column)),
                   out / "timeseries.parquet")  # fmt: skip
    with pytest.raises(survsim.SurvsimError, match="does not reproduce its time series"):
        survsim.load_run(out)
    with pytest.raises(survsim.SurvsimError, match="holds no finished run"):
        survsim.load_run(tmp_path)
