"""The run report of surveillance_state: its figures and one self-contained HTML file.

Built against synthetic tables with the model's schema, so the report is tested apart from
the model.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import survsim.engine.results as results
from survsim.api import save_run
from survsim.report.html import flatten, format_value, write_report
from survsim.report.plots import CAPTIONS, FIGURES
from survsim.report.surveillance import CHANNELS, open_speech_points

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CONTEXTS = ("household", "work", "neighbourhood", "friends", "phone", "letters", "public")
INT_COLUMNS = [
    "population",
    "free",
    "detained",
    "imprisoned",
    "dead_in_prison_total",
    "dissenters",
    "spoke_openly",
    "statements",
    "silent_witnesses",
    "cases_opened",
    "queue_checks_ssd",
    "queue_investigations_ssd",
    "checks",
    "warnings",
    "investigations",
    "detentions",
    "prison_sentences",
    "convictions_true",
    "convictions_false",
    "convictions_family",
    "convictions_failure_to_report",
    "acquittals",
    "purges",
    "admissions",
    "releases",
    "deaths_in_prison",
    "informants",
    "cameras",
]
SURVEILLANCE_FIGURES = ["daily_story.png", "open_speech.png", "reports_by_channel.png",
                        "prisoners.png"]  # fmt: skip


def timeseries(days: int = 60, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {"day": np.arange(days + 1, dtype=np.int32)}
    for name in INT_COLUMNS + [f"reports_{c}" for c in CHANNELS]:
        columns[name] = rng.integers(0, 50, days + 1).astype(np.int64)
    columns["falsification_gap"] = rng.uniform(0.5, 0.9, days + 1)
    columns["mean_perceived_risk"] = rng.uniform(0, 1, days + 1)
    columns["a_column_from_tomorrow"] = np.zeros(days + 1)  # extras must not break anything
    return pa.table(columns)


def open_speech(seed: int = 2) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = [(c, k) for c in CONTEXTS for k in range(2, 17)]
    present = rng.integers(0, 400, len(rows)).astype(np.int64)
    present[0] = 29  # household, k = 2: just under the cut
    present[1] = 30  # household, k = 3: just at it
    spoke = rng.binomial(present, 0.3).astype(np.int64)
    return pa.table(
        {
            "context": pa.array([c for c, _ in rows], type=pa.string()),
            "group_size": np.array([k for _, k in rows], dtype=np.int32),
            "present": present,
            "spoke": spoke,
            "open_speech_rate": spoke / np.maximum(present, 1),
            "expected_spoke": present * 0.3,
            "variance": present * 0.21,
        }
    )


SUMMARY = {
    "agents": 3000,
    "days": 60,
    "prisoners": 1234,
    "falsification_gap": 0.712345,
    "prisoners_steady_state_simulated": 40.5,
    "national": {"prisoners": 98765.4, "convictions_false_per_year": 1234.56, "scale": 8566.67},
}


def fake_sim(days: int = 60, model_summary: dict | None = None) -> SimpleNamespace:
    table, speech = timeseries(days), open_speech()
    facts = SUMMARY if model_summary is None else model_summary
    return SimpleNamespace(
        model_name="surveillance_state",
        seed=7,
        t=days,
        n_steps=days,
        timeseries=lambda: table,
        open_speech=lambda: speech,
        summary=lambda: dict(facts),
        timings={"build_s": 0.1, "jit_s": 0.2, "run_s": 0.3},
        plan=SimpleNamespace(describe=lambda: [("speak", "people talk")]),
        plan_timings=lambda: {"speak": 0.01},
    )


def fake_scenario(description: str = "A <b>bold</b> scenario & more.") -> SimpleNamespace:
    return SimpleNamespace(
        name="dprk",
        path=None,
        description=description,
        sources={"agents": "seed article, table 2", "speech.delta": "assumption"},
        params=SimpleNamespace(model_dump=lambda: {"agents": 3000, "speech": {"delta": 0.3}}),
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# The figures -----------------------------------------------------------------------------


def test_the_flagship_model_has_its_four_figures_with_captions():
    assert [name for name, _ in FIGURES["surveillance_state"]] == SURVEILLANCE_FIGURES
    assert all(CAPTIONS[name].endswith(".") for name in SURVEILLANCE_FIGURES)


@pytest.mark.parametrize("days", [60, 0])
def test_every_figure_is_a_png(tmp_path, days):
    sim = fake_sim(days)
    for name, draw in FIGURES["surveillance_state"]:
        out = draw(sim, tmp_path / name, "dprk <seed 7>")
        assert out == tmp_path / name
        width, height = png_size(out)
        assert width >= 600 and height >= 300  # a real figure, not an empty canvas


def test_prisoners_figure_without_a_steady_state(tmp_path):
    sim = fake_sim(model_summary={k: v for k, v in SUMMARY.items() if "steady" not in k})
    draw = dict(FIGURES["surveillance_state"])["prisoners.png"]
    png_size(draw(sim, tmp_path / "prisoners.png", "no steady state"))


def test_open_speech_points_keep_bins_with_30_present_and_binomial_intervals():
    speech = open_speech()
    points = open_speech_points(speech)
    rows = speech.to_pylist()
    for context in CONTEXTS:
        kept = {r["group_size"]: r for r in rows if r["context"] == context and r["present"] >= 30}
        k, rate, half = points[context]
        assert list(k) == sorted(kept)
        for ki, p, h in zip(k, rate, half, strict=True):
            row = kept[int(ki)]
            assert p == row["spoke"] / row["present"]
            assert h == pytest.approx(1.96 * np.sqrt(p * (1 - p) / row["present"]), rel=1e-12)
    assert 2 not in points["household"][0] and 3 in points["household"][0]


def test_open_speech_points_leave_out_a_context_with_too_few_people():
    speech = open_speech()
    few = pa.table({**{n: speech.column(n) for n in speech.column_names},
                    "present": pa.array(np.full(speech.num_rows, 10, dtype=np.int64))})  # fmt: skip
    assert open_speech_points(few) == {}
    assert set(open_speech_points(speech)) == set(CONTEXTS)


# The HTML file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """The four figures with their captions, drawn once for the module."""
    folder = tmp_path_factory.mktemp("figures")
    sim = fake_sim()
    return {
        name: (draw(sim, folder / name, "t"), CAPTIONS[name])
        for name, draw in FIGURES["surveillance_state"]
    }


def report(tmp_path: Path, figures: dict, **changes) -> Path:
    arguments = {
        "title": "survsim: dprk <seed 7>",
        "description": "Shows <b>who</b> speaks & who does not.",
        "summary": SUMMARY,
        "figures": figures,
        "sources": {"agents": "seed article <i>", "speech.delta": "assumption"},
        "parameters": {"agents": 3000, "speech": {"delta": 0.3, "k_max": 16}},
    } | changes
    return write_report(tmp_path / "report.html", **arguments)


def test_report_is_self_contained(tmp_path, drawn):
    text = report(tmp_path, drawn).read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 4
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert " src='data:" in text and text.count(" src=") == 4  # nothing else is fetched


def test_report_shows_every_summary_key_and_every_parameter(tmp_path, drawn):
    text = report(tmp_path, drawn).read_text(encoding="utf-8")
    for key in flatten(SUMMARY):
        assert f"<td>{key}</td>" in text
    assert "<td>national.prisoners</td>" in text and "98,765" in text and "1,234" in text
    assert "<details>" in text and "<td>speech.delta</td>" in text
    assert "<td>speech.k_max</td>" in text
    assert "What this run shows" in text and "synthetic" in text.split("<footer>")[1]
    for name in SURVEILLANCE_FIGURES:
        assert CAPTIONS[name].replace("'", "&#x27;") in text


def test_report_escapes_all_text(tmp_path, drawn):
    text = report(tmp_path, drawn, note="a <i>note</i>").read_text(encoding="utf-8")
    assert "<b>" not in text and "&lt;b&gt;who&lt;/b&gt; speaks &amp; who" in text
    assert "<i>" not in text and "seed article &lt;i&gt;" in text and "a &lt;i&gt;note" in text
    assert "dprk &lt;seed 7&gt;" in text


def test_report_accepts_figures_without_captions(tmp_path, drawn):
    figures = {name: png for name, (png, _) in drawn.items()}
    text = report(tmp_path, figures).read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 4


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567, "1,234,567"),
        (np.int64(98765), "98,765"),
        (98765.4, "98,765"),
        (0.712345, "0.7123"),
        (np.float32(0.5), "0.5"),
        (3.0e-6, "3e-06"),
        (float("nan"), "nan"),
        (True, "True"),
        (None, "None"),
        ("<x>", "&lt;x&gt;"),
    ],
)
def test_numbers_are_formatted_readably(value, text):
    assert format_value(value) == text


def test_flatten_joins_nested_keys():
    assert flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}}) == {"a": 1, "b.c": 2, "b.d.e": 3}


# Atomicity -------------------------------------------------------------------------------


def test_a_missing_figure_leaves_no_report(tmp_path, drawn):
    figures = {**drawn, "gone.png": (tmp_path / "gone.png", "never drawn")}
    with pytest.raises(FileNotFoundError):
        report(tmp_path, figures)
    assert list(tmp_path.iterdir()) == []  # no report.html, no temporary file


def test_a_failed_write_keeps_the_old_report_and_leaves_no_temporary_file(
    tmp_path, drawn, monkeypatch
):
    old = tmp_path / "report.html"
    old.write_text("the old report")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        report(tmp_path, drawn)
    assert old.read_text() == "the old report"
    assert list(tmp_path.iterdir()) == [old]


# The run folder --------------------------------------------------------------------------


def test_save_run_writes_the_report_after_its_figures(tmp_path):
    out = save_run(fake_sim(), fake_scenario(), tmp_path / "run")
    for name in SURVEILLANCE_FIGURES:
        png_size(out / name)
    assert pq.read_table(out / "open_speech.parquet").equals(open_speech())
    facts = json.loads((out / "summary.json").read_text())
    assert facts["national"] == SUMMARY["national"] and facts["model"] == "surveillance_state"
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 4
    assert "A &lt;b&gt;bold&lt;/b&gt; scenario &amp; more." in text
    assert "seed article, table 2" in text
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert files.index("report.html") > max(files.index(n) for n in SURVEILLANCE_FIGURES)
    assert sorted(p.name for p in out.iterdir()) == sorted(files)


def test_a_failing_figure_leaves_no_run_folder(tmp_path, monkeypatch):
    def broken(sim, path, title=""):
        Path(path).write_bytes(b"\x89PNG half")
        raise RuntimeError("figure failed")

    entries = [*FIGURES["surveillance_state"][:2], ("broken.png", broken)]
    monkeypatch.setitem(FIGURES, "surveillance_state", entries)
    with pytest.raises(RuntimeError, match="figure failed"):
        save_run(fake_sim(), fake_scenario(), tmp_path / "run")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its hidden partial twin
