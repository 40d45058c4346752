"""Progress bars for long jobs (demo, repair trials, lab experiments, reports of big runs).

One helper for everyone::

    from graddoctor.present.progress import progress, track

    with progress("repair trials", total=len(trials)) as bar:
        for t in trials:
            run(t)
            bar.advance()            # or bar.update(description=f"trial {t}")

    for x in track(items, "training"):
        ...

Bars are drawn only on an interactive terminal, on stderr, and vanish when done; piped output, CI logs and
``GRADDOCTOR_PROGRESS=0`` get nothing (so text output and golden files stay clean).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

#: Environment variable that turns progress bars off (``0``) or forces them on (``1``).
PROGRESS_ENV = "GRADDOCTOR_PROGRESS"


def enabled(console: Console | None = None) -> bool:
    """Whether bars are drawn: ``GRADDOCTOR_PROGRESS`` when set, otherwise only on an interactive terminal."""
    flag = os.environ.get(PROGRESS_ENV)
    if flag is not None:
        return flag.strip().lower() not in ("0", "false", "no", "off", "")
    console = console or Console(stderr=True)
    return console.is_terminal and not console.is_dumb_terminal


class Bar:
    """A handle on one running bar; every method is a no-op when bars are off."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task
        self.completed = 0.0

    def advance(self, n: float = 1) -> None:
        """Move the bar ``n`` units forward."""
        self.completed += n
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, *, description: str | None = None, total: float | None = None,
               completed: float | None = None) -> None:
        """Change the text, the total or the position."""
        if completed is not None:
            self.completed = completed
        if self._progress is not None:
            kw: dict[str, Any] = {}
            if description is not None:
                kw["description"] = description
            if total is not None:
                kw["total"] = total
            if completed is not None:
                kw["completed"] = completed
            self._progress.update(self._task, **kw)


@contextmanager
def progress(description: str, total: float | None = None, *, console: Console | None = None,
             transient: bool = True, disable: bool | None = None) -> Iterator[Bar]:
    """A progress bar for a block of work.

    Args:
        description: what is running, shown left of the bar.
        total: number of units (None: an indeterminate bar).
        console: where to draw (default: stderr).
        transient: remove the bar when the block ends.
        disable: force bars off (True) or on (False); default :func:`enabled`.

    Yields:
        A :class:`Bar` to advance.
    """
    console = console or Console(stderr=True)
    on = enabled(console) if disable is None else not disable
    if not on:
        yield Bar(None, None)
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=transient) as prog:
        task = prog.add_task(description, total=total)
        yield Bar(prog, task)


def track(items: Iterable[T], description: str = "working", total: float | None = None, *,
          console: Console | None = None, disable: bool | None = None) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar (``total`` defaults to ``len(items)`` when it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(description, total, console=console, disable=disable) as bar:
        for item in items:
            yield item
            bar.advance()
