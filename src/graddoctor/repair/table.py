"""The before/after table of a repair (rich), narrow enough for an 80-column terminal. Formatting only:
every number comes from the :class:`~graddoctor.repair.result.RepairResult`."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.markup import escape
from rich.table import Table

from ..present.repair_view import (
    HEALTHY_VERDICT,
    SHORT_KIND,
    budget_line,
    failed_applying,
    loss_cell,
    problems_cell,
    stop_note,
)

__all__ = ["SHORT_KIND", "repair_table", "print_result"]


def _num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-" if x is None or math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def _spread(x: float, metric: str) -> str:
    """The seed-to-seed spread in the notation of its metric: plain decimals beside a plain metric (0.912 ±0.001,
    not ±1.0e-03), scientific only when the metric is written so."""
    if "e" in metric or not math.isfinite(x):
        return _num(x, 2)
    return np.format_float_positional(x, precision=2, fractional=False, trim="-")


def _problems(trial: Any) -> str:
    return problems_cell(trial.seed_problems())


def _verdict(result: Any, t: Any) -> str:
    if t.remedy is None:
        return "before"
    if t.skipped:
        return "does not apply"
    if t.failed:
        return "failed (error)"
    if t is result.best:
        return "WINNER"
    if t.gain is None:  # its seeds did not all finish (Ctrl-C): measured so far, never judged
        return "interrupted (not judged)"
    if t.gain is not None and t.gain <= (t.margin or 0):
        # the margin is the seed-to-seed spread unless min_gain is larger (always with one seed: no spread)
        spread = max(result.baseline.spread, t.spread)
        return "no gain beyond spread" if t.margin is not None and spread >= t.margin else "no gain beyond min_gain"
    if t.fixes is False:
        return "finding remains"
    if t.learns is False:
        return "learns nothing"
    return "also works"


def repair_table(result: Any, title: str | None = None) -> Table:
    """Baseline, then each trial: metric (mean over seeds +- its standard deviation), loss, first-layer update speed,
    problems after training, and the verdict."""
    table = Table(title=title or f"repair: {len(result.baseline.seeds)} seed(s) per run, same data order and steps",
                  title_justify="left")
    table.add_column("run", overflow="fold")
    table.add_column(result.metric_name, justify="right")
    table.add_column("val loss", justify="right")
    table.add_column("1st-layer ‖ΔW‖/‖W‖", justify="right")
    table.add_column("problems after", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for t in [result.baseline, *result.trials]:
        # ± only when measured: one seed (or one finite metric) has no seed-to-seed spread, not a spread of 0
        spread = f" ±{_spread(t.spread, _num(t.metric))}" if sum(math.isfinite(m) for m in t.metrics) > 1 else ""
        metric = "-" if not t.metrics else f"{_num(t.metric)}{spread}"
        style = "bold green" if t is result.best else ("dim" if t.skipped else None)
        table.add_row(t.name, metric, loss_cell(t.losses, _num),
                      _num(t.first_layer_speed) if t.speeds else "-", _problems(t) if t.metrics else "-",
                      _verdict(result, t), style=style)
    return table


def print_result(result: Any, console: Any) -> None:
    """The table, the skipped remedies with their reasons, and the outcome."""
    console.print(repair_table(result))
    for t in result.trials:
        if t.skipped:
            console.print(f"[dim]  {t.name} not tried: {escape(t.skipped)}[/dim]")
        elif t.failed:
            when = "" if failed_applying(t.failed) else " while training"  # the message says "while applying"
            console.print(f"[yellow]  {t.name} failed{when}: {escape(t.failed)}[/yellow]")
    _print_outcome(result, console)
    # after the outcome, in the words and order of the report's verdict line: why the trials stopped early
    # (budget, max_trials, Ctrl-C), then what they ran under and how far they got
    d = result.to_dict()
    note = stop_note(d)
    for line, style in ((note, "yellow"), (budget_line(d) if note else None, "dim")):
        if line:
            console.print(f"[{style}]{escape(line[:1].upper() + line[1:].rstrip('.'))}.[/{style}]")


def _print_outcome(result: Any, console: Any) -> None:
    if result.best is None and result.stopped == "healthy" and not result.trials:
        console.print(f"[green]{HEALTHY_VERDICT}[/green]")
        return
    if result.best is None:
        reason = result.no_winner_reason()
        console.print(f"[yellow]{escape(reason[:1].upper() + reason[1:])}; the model is left as it was.[/yellow]")
        return
    b, w = result.baseline, result.best
    console.print(f"[bold green]{w.name}[/bold green] repairs it: {result.metric_name} {_num(b.metric)} -> "
                  f"{_num(w.metric)} (gain {w.gain:+.3g} > margin {w.margin:.3g}), first-layer speed "
                  f"{_num(b.first_layer_speed)} -> {_num(w.first_layer_speed)}")
    for c in w.changes:
        console.print(f"  change: {c}", markup=False)
