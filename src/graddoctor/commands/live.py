"""``graddoctor live RUN.sqlite``: a live terminal view of a run being written by another process."""
from __future__ import annotations

import os

import click

from ..present.live import REFRESH_S, STALE_AFTER_S, WAIT_FOR_FILE_S, WINDOW

#: Exit code when --exit-when-stale ended the view: the status still says running, but no step came.
EXIT_STALE = 3


@click.command("live")
@click.argument("run", type=click.Path(dir_okay=False))
@click.option("--interval", default=REFRESH_S, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between refreshes.")
@click.option("--window", default=WINDOW, show_default=True, type=click.IntRange(min=2),
              help="Most recent recorded steps drawn per sparkline.")
@click.option("--once", is_flag=True, help="Draw one frame and exit.")
@click.option("--wait", default=WAIT_FOR_FILE_S, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for the store file to appear.")
@click.option("--stale-after", default=STALE_AFTER_S, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Seconds without a new recorded step, while the status is still 'running', after which the "
                   "view says the writer may have stopped (killed or crashed).")
@click.option("--exit-when-stale", is_flag=True,
              help=f"Then exit (code {EXIT_STALE}) instead of waiting for Ctrl-C.")
def command(run: str, interval: float, window: int, once: bool, wait: float, stale_after: float,
            exit_when_stale: bool) -> None:
    """Watch the run store RUN while it is written: per-layer backward-signal sparklines, the latest findings,
    steps per second. Exits when the run ends or on Ctrl-C.

    A writer that was killed or crashed never marks its run finished: when no new step has come for
    --stale-after seconds the view says so, and with --exit-when-stale it exits.

    Exit code: 0 the run finished (or --once, or Ctrl-C), 1 the run failed, 2 bad usage (no store at RUN
    within --wait seconds, not a run store), 3 --exit-when-stale: no new step for --stale-after seconds while
    the status still said running.
    """
    from ..errors import GradDoctorError
    from ..present.live import run_live

    run = os.path.expanduser(run)  # a quoted "~/runs/x.sqlite" reaches us unexpanded
    try:
        why = run_live(run, interval=interval, window=window, once=once, wait=wait, stale_after=stale_after,
                       exit_when_stale=exit_when_stale)
    except GradDoctorError as e:
        raise click.UsageError(str(e)) from None
    if why == "failed":
        raise SystemExit(1)
    if why == "stale":
        raise SystemExit(EXIT_STALE)
