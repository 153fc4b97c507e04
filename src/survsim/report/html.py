"""The run report: one self-contained HTML file.

Figures are inlined, there are no scripts and no links out, so it opens offline and can
be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from survsim.engine.results import write_text_atomic

__all__ = ["flatten", "format_value", "write_report"]

#: The sentence every report ends with.
SYNTHETIC = (
    "Every person in this run is synthetic: survsim reads no data about real people. "
    "National figures are simulated counts times the population scale factor."
)

_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.2rem .6rem;
border-bottom:1px solid #eee;text-align:left}td.n{text-align:right;
font-variant-numeric:tabular-nums}
figure{margin:1.5rem 0}img{max-width:100%}figcaption{font-size:.9rem;color:#555}
footer{margin-top:3rem;font-size:.85rem;color:#666}
"""


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level with dotted keys.

    Args:
        data: a mapping whose values may be mappings themselves.
        prefix: put before every key (used in the recursion).

    Returns:
        ``{"a": {"b": 1}}`` as ``{"a.b": 1}``, in the order of the input.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def format_value(value: Any) -> str:
    """A value as readable, escaped text.

    Integers get thousands separators (``1,234``); floats of 10,000 or more are rounded to
    whole numbers with separators, smaller ones keep 4 significant digits; anything else is
    its ``str``.

    Args:
        value: a number (Python or numpy) or any other value.

    Returns:
        HTML-escaped text.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        return html.escape(str(value))
    if isinstance(value, Integral):
        return f"{int(value):,}"
    value = float(value)
    if not math.isfinite(value):
        return html.escape(str(value))
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _rows(data: Mapping[str, Any], estimates: bool = False) -> str:
    """Table rows of ``data``, flattened.

    With ``estimates`` (a summary), a number the run could not estimate (None or NaN)
    reads "not estimated: <note>", the note being the one under ``<key>_note``
    (:func:`~survsim.models.little.missing_shown`), and an empty note is blank.
    """
    flat = flatten(data)
    missing: dict[str, str | None] = {}
    if estimates:
        from survsim.models.little import missing_shown

        missing = missing_shown(flat)[0]
    rows = []
    for k, v in flat.items():
        if k in missing:
            note = missing[k]
            shown = html.escape("not estimated" + (f": {note}" if note else ""))
        elif estimates and k.endswith("_note") and not v:
            shown = ""
        else:
            shown = format_value(v)
        rows.append(f"<tr><td>{html.escape(str(k))}</td><td class=n>{shown}</td></tr>")
    return "\n".join(rows)


def _figure(name: str, figure: Path | tuple[Path, str]) -> str:
    png, caption = figure if isinstance(figure, tuple) else (figure, "")
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def write_report(
    path: str | Path,
    *,
    title: str,
    description: str,
    summary: Mapping[str, Any],
    figures: Mapping[str, Path | tuple[Path, str]],
    sources: Mapping[str, Any],
    parameters: Mapping[str, Any],
    note: str = "",
) -> Path:
    """Write one self-contained HTML report, atomically (a temporary file, then a rename).

    The figures are embedded as base64 data URIs; there is no script and no link out, so the
    file renders offline. All text is escaped. If anything fails (a figure cannot be read,
    the disk is full) no report file is left, and an existing one is left as it was.

    Args:
        path: where to write (the folder must exist).
        title: the heading.
        description: one paragraph on the scenario.
        summary: the run's summary (nested dicts are flattened as ``national.prisoners``).
        figures: file name -> PNG path or (PNG path, one-sentence caption), in the order
            to show them.
        sources: parameter -> source of its value.
        parameters: the resolved parameters (nested; shown flattened in a collapsed table).
        note: an optional paragraph after the summary.

    Returns:
        The written path.
    """
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(description)}</p>",
        "<h2>What this run shows</h2>",
        f"<table>{_rows(summary, estimates=True)}</table>",
    ]
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [_figure(name, figure) for name, figure in figures.items()]
    parts.append("<h2>Sources of the scenario's figures</h2><table>")
    parts += [
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in flatten(sources).items()
    ]
    parts.append(
        "</table><h2>Parameters</h2><details><summary>All resolved parameters"
        f"</summary><table>{_rows(parameters)}</table></details>"
    )
    parts.append(f"<footer>{html.escape(SYNTHETIC)}</footer></body></html>\n")
    return write_text_atomic("\n".join(parts), path)
