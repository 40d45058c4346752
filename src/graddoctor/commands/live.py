"""``graddoctor live RUN.sqlite``: a live terminal view of a run being written by another process."""
from __future__ import annotations

import click

from ..present.live import REFRESH_S, WAIT_FOR_FILE_S, WINDOW


@click.command("live")
@click.argument("run", type=click.Path(dir_okay=False))
@click.option("--interval", default=REFRESH_S, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between refreshes.")
@click.option("--window", default=WINDOW, show_default=True, type=click.IntRange(min=2),
              help="Most recent recorded steps drawn per sparkline.")
@click.option("--once", is_flag=True, help="Draw one frame and exit.")
@click.option("--wait", default=WAIT_FOR_FILE_S, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for the store file to appear.")
def command(run: str, interval: float, window: int, once: bool, wait: float) -> None:
    """Watch the run store RUN while it is written: per-layer backward-signal sparklines, the latest findings,
    steps per second. Exits when the run ends or on Ctrl-C.

    Exit code: 0 the run finished (or --once, or Ctrl-C), 1 the run failed, 2 bad usage (no store at RUN
    within --wait seconds, not a run store).
    """
    from ..errors import GradDoctorError
    from ..present.live import run_live

    try:
        why = run_live(run, interval=interval, window=window, once=once, wait=wait)
    except GradDoctorError as e:
        raise click.UsageError(str(e)) from None
    if why == "failed":
        raise SystemExit(1)
