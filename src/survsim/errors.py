"""Errors survsim reports to a user as one line (the CLI exits with code 2)."""

from __future__ import annotations

__all__ = ["ScenarioError", "SurvsimError"]


class SurvsimError(Exception):
    """A problem with what the user asked for, explained in one line."""

    #: The CLI's exit code for this error: 2 for bad input (subclasses may differ).
    exit_code = 2


class ScenarioError(SurvsimError):
    """A scenario file, a built-in name or a ``--set`` override is not valid."""
