"""Terminal output (rich). Reads statistics and findings; never computes them.

Colour follows rich's rules: NO_COLOR and piped output give plain text.
"""
from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from ..store.run_data import RunData

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def layer_table(data: RunData, step: int | None = None, title: str | None = None) -> Table:
    """Per-layer statistics at one recorded step (the last by default), layers in forward order."""
    cols = [("signal_norm", "‖∂L/∂out‖"), ("weight_grad_norm", "‖∇W‖"), ("grad_ratio", "‖∇W‖/‖W‖"),
            ("update_ratio", "‖ΔW‖/‖W‖"), ("act_mean", "act mean"), ("act_saturated", "saturated"),
            ("act_dead", "dead")]
    shown_step = int(data.steps[-1]) if step is None and data.n_steps else step
    table = Table(title=title or f"per-layer statistics at step {shown_step}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("layer")
    table.add_column("type")
    table.add_column("act")
    for _, head in cols:
        table.add_column(head, justify="right")
    vals = {name: data.at_step(name, step) for name, _ in cols}
    for i, layer in enumerate(data.layers):
        table.add_row(str(i), layer.name, layer.type, layer.activation or "-",
                      *[_fmt(float(vals[name][i])) for name, _ in cols])
    return table


def print_layer_table(data: RunData, step: int | None = None, console: Console | None = None,
                      title: str | None = None) -> None:
    """Print :func:`layer_table`."""
    (console or Console()).print(layer_table(data, step, title))


def print_findings(findings: list[Any], console: Console | None = None) -> None:
    """Print findings (Finding objects or dicts) one block each, most severe first."""
    console = console or Console()
    if not findings:
        console.print("[green]No problems found.[/green]")
        return
    for f in findings:
        d = f.to_dict() if hasattr(f, "to_dict") else f
        style = SEVERITY_STYLE.get(d["severity"], "")
        where = ", ".join(d.get("layers") or []) or d.get("origin") or "-"
        console.print(f"[{style}]{d['severity'].upper()}[/{style}] {d['kind']}"
                      + (f" ({d['axis']})" if d.get("axis") else "") + f" at {where}"
                      + (f", first at step {d['step']}" if d.get("step") is not None else ""))
        if d.get("message"):
            console.print(f"  {d['message']}")
        if d.get("causes"):
            console.print(f"  causes: {', '.join(d['causes'])}")
        if d.get("remedies"):
            console.print(f"  remedies: {', '.join(d['remedies'])}")
