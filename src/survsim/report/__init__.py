"""Plots and reports of finished runs."""

from survsim.report.plots import FIGURES, plot_civil_violence

__all__ = ["FIGURES", "plot_civil_violence"]
