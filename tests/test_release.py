"""The package as released: one version everywhere, a citation, a changelog with releases,
bounds on the dependencies whose private behaviour survsim relies on, and a ``--version``
that names the numba and numpy it runs with. (CI also builds the sdist and wheel, checks
them with twine, validates CITATION.cff with cffconvert and runs the wheel in a fresh
venv: .ci/run.)"""

from __future__ import annotations

import datetime
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import numba
import numpy as np
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

import survsim
from survsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_one_version_in_the_project_the_package_and_the_citation():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert PROJECT["version"] == version("survsim") == survsim.__version__
    assert citation["version"] == PROJECT["version"]
    assert citation["cff-version"] == "1.2.0"
    datetime.date.fromisoformat(citation["date-released"])
    assert citation["license"] == PROJECT["license"]


def test_the_changelog_has_releases_below_the_unreleased_work():
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.MULTILINE)
    assert headings[0][0] == "Unreleased"
    released = [(Version(v), rest) for v, rest in headings[1:]]
    assert released, "no release section"
    for v, rest in released:
        datetime.date.fromisoformat(rest.strip(" -"))
        assert v < Version(PROJECT["version"])
    assert [v for v, _ in released] == sorted((v for v, _ in released), reverse=True)


def test_numba_has_an_upper_bound_that_admits_the_installed_release():
    numba_req = next(Requirement(r) for r in PROJECT["dependencies"] if r.startswith("numba"))
    assert any(s.operator in ("<", "<=", "~=", "==") for s in numba_req.specifier)
    assert numba_req.specifier.contains(numba.__version__)
    assert not numba_req.specifier.contains("99.0")


def test_version_names_numba_and_numpy(capsys):
    assert main(["--version"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"survsim {survsim.__version__} ")
    assert f"numba {numba.__version__}" in line and f"numpy {np.__version__}" in line
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == line
