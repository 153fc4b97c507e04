"""A rich progress bar over the runs of an experiment (the commands' and ``progress=True``)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["RunsBar"]


class RunsBar:
    """``bar(finished, failed, total)`` after every run; ``with bar:`` shows it meanwhile."""

    def __init__(self, console: Console, label: str) -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            TextColumn("runs {task.completed:,}/{task.fields[of]}"),
            TextColumn("{task.fields[failed]}"),
            TextColumn("time left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("runs", total=None, failed="", of="?")

    def __enter__(self) -> RunsBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, finished: int, failed: int, total: int) -> None:
        """Show ``finished`` of ``total`` runs, and how many failed."""
        note = f"[red]{failed} failed[/red]" if failed else ""
        self.progress.update(
            self.task, completed=finished, total=total, failed=note, of=f"{total:,}"
        )
