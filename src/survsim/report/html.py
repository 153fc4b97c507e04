"""The run report: one self-contained HTML file.

Figures are inlined, there are no scripts and no links out, so it opens offline and can
be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["flatten", "write_report"]

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


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level with dotted keys."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return html.escape(str(value))
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _rows(data: dict[str, Any]) -> str:
    return "\n".join(
        f"<tr><td>{html.escape(k)}</td><td class=n>{_number(v)}</td></tr>"
        for k, v in flatten(data).items()
    )


def write_report(
    path: str | Path,
    *,
    title: str,
    description: str,
    summary: dict[str, Any],
    figures: dict[str, tuple[Path, str]],
    sources: dict[str, str],
    parameters: dict[str, Any],
    note: str = "",
) -> Path:
    """Write ``report.html`` atomically (a temporary file in the folder, then a rename).

    Args:
        path: where to write.
        title: the heading.
        description: one paragraph on the scenario.
        summary: the run's summary (nested dicts are flattened).
        figures: name -> (PNG path, caption), in the order to show them.
        sources: parameter -> source of its value.
        parameters: the resolved parameters (nested).
        note: an optional paragraph after the summary.
    """
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(description)}</p>",
        "<h2>What this run shows</h2>",
        f"<table>{_rows(summary)}</table>",
    ]
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    parts.append("<h2>Figures</h2>")
    for name, (png, caption) in figures.items():
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        parts.append(
            f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("<h2>Sources of the scenario's figures</h2><table>")
    parts += [
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in sources.items()
    ]
    parts.append(
        "</table><h2>Parameters</h2><details><summary>All resolved parameters"
        f"</summary><table>{_rows(parameters)}</table></details>"
    )
    parts.append(
        "<footer>Every person in this run is synthetic: survsim reads no data about real "
        "people. National figures are simulated counts times the population scale factor."
        "</footer></body></html>"
    )
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".report-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(parts))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
