"""The HTML run report: self-contained, escaped, written atomically."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from survsim.report.html import flatten, write_report


def png(path):
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    fig.savefig(path, format="png")
    return path


def test_report_is_self_contained_and_escaped(tmp_path):
    figure = png(tmp_path / "a.png")
    out = write_report(
        tmp_path / "report.html",
        title="t <b>",
        description="a <script>alert(1)</script> description",
        summary={"prisoners": 1234, "national": {"prisoners": 98765.4}},
        figures={"a.png": (figure, "caption & more")},
        sources={"agents": "seed <i>"},
        parameters={"speech": {"delta": 0.3}},
    )
    text = out.read_text()
    assert "<script" not in text and "&lt;script&gt;" in text
    assert "1,234" in text and "98,765" in text and "national.prisoners" in text
    assert "speech.delta" in text and "caption &amp; more" in text
    assert text.count("data:image/png;base64,") == 1
    assert "http://" not in text and "https://" not in text


def test_a_failed_report_leaves_no_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "report.html", title="t", description="d", summary={},
                     figures={"x": (tmp_path / "missing.png", "")}, sources={},
                     parameters={})  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_flatten_joins_nested_keys():
    assert flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}}) == {"a": 1, "b.c": 2, "b.d.e": 3}
