"""Glue of the documentation site: an MkDocs hook and a Griffe extension (mkdocs.yml).

- The example notebooks live in ``examples/notebooks/``, where a user finds and runs
  them; :func:`on_files` adds them to the site as ``notebooks/NAME.ipynb``, which
  mkdocs-jupyter renders.
- survsim's docstrings follow the Google style as Napoleon reads it, which Griffe reads
  in two places differently: a doctest under ``Example:`` (Griffe's examples section is
  ``Examples:``) and Sphinx roles (``:func:`~survsim.api.load_run```), which it would
  print as they are. :class:`SurvsimDocstrings` reads both as their authors meant:
  doctests as code, roles as the name in code (the last part after ``~``, as Sphinx).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

NOTEBOOKS = Path(__file__).resolve().parents[1] / "examples" / "notebooks"

#: ``Example:`` heading a doctest (its next line starts with ``>>>``).
EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*\n(\s*>>>)", re.MULTILINE)
#: A Sphinx cross-reference role: ``:func:`~survsim.api.load_run```.
ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|exc|obj):`(~?)([\w.]+)`")


@event_priority(100)  # before mkdocs-jupyter's on_files, which wraps every notebook
def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every notebook of examples/notebooks/ to the site, under notebooks/."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(NOTEBOOKS.parent),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def _role(match: re.Match[str]) -> str:
    tilde, name = match.groups()
    return f"`{name.rsplit('.', 1)[-1] if tilde else name}`"


def as_written(text: str) -> str:
    """A docstring with its doctests under ``Examples:`` and its roles as plain code."""
    return ROLE.sub(_role, EXAMPLE.sub(r"\1Examples:\n\2", text))


class SurvsimDocstrings(griffe.Extension):
    """Griffe extension: every docstring read by :func:`as_written` before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each object as it is loaded."""
        if obj.docstring is not None:
            obj.docstring.value = as_written(obj.docstring.value)
