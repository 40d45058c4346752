"""Terminal output (rich). Reads statistics and findings; never computes them.

Colour follows rich's rules: NO_COLOR and piped output give plain text.
"""
from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..stats.kinds import DEAD_CAPABLE, SATURATING
from ..store.run_data import RunData
from .explain import (
    NO_STEPS_SUMMARY,
    as_dict,
    describe_cause,
    describe_remedy,
    factorisation,
    findings_summary,
    fmt_num,
    printable,
    when,
    where,
)
from .repair_view import repair_context
from .sampling import detail_note, earlier_note, latest_values, nonfinite_note

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
#: Width of plain (uncoloured, fixed-width) output such as golden files.
PLAIN_WIDTH = 100
#: Most factorisation rows printed per finding (the last layer is always shown).
MAX_FACTOR_ROWS = 8
#: Remedies described per finding in the terminal (the rest are listed by code).
MAX_REMEDIES_SHOWN = 3
#: Widest a name column is counted when fitting a table to the terminal (longer names fold).
MAX_NAME_WIDTH = 24
#: Characters a compact table spends between columns (padding on both sides and the rule).
COLUMN_GAP = 3
#: Columns of a diagnosis's per-layer table shown in the terminal, in this order, when present.
DIAG_COLUMNS = (("signal", "‖∂L/∂out‖"), ("grad_ratio", "‖∇W‖/‖W‖"), ("update_ratio", "‖ΔW‖/‖W‖"),
                ("gain", "gain"), ("activation_factor", "σ′ fac."), ("weight_factor", "W fac."),
                ("saturated", "sat."), ("dead", "dead"), ("init_verdict", "init"))


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def compact_table(title: str | None = None) -> Table:
    """A table with light rules and narrow padding."""
    # Text, never markup: titles and cells hold user strings (module names, paths) that may contain "[...]".
    return Table(title=Text(printable(title)) if isinstance(title, str) else title, title_justify="left", box=box.SIMPLE_HEAD,
                 padding=(0, 1), pad_edge=False)


def fitted_table(title: str | None, headers: list[str], rows: list[list[str]], *, n_fixed: int,
                 width: int | None = None, numeric_from: int | None = None,
                 row_styles: list[str | None] | None = None) -> Table:
    """A compact table that keeps its first ``n_fixed`` columns and then as many of the others, in order, as fit
    in ``width`` characters (all of them when ``width`` is None). Left-out columns are named in a caption.

    Args:
        title: table title.
        headers: column headings.
        rows: cell strings, one list per row.
        n_fixed: leading columns always shown (row number, name).
        width: the console width to fit.
        numeric_from: first right-aligned (numeric) column; default ``n_fixed``.
        row_styles: a rich style per row (None for none).
    """
    numeric_from = n_fixed if numeric_from is None else numeric_from
    need = [max([len(h)] + [len(r[k]) for r in rows]) for k, h in enumerate(headers)]
    need[:n_fixed] = [min(n, MAX_NAME_WIDTH) for n in need[:n_fixed]]
    keep = list(range(min(n_fixed, len(headers))))
    used = sum(need[k] + COLUMN_GAP for k in keep) - COLUMN_GAP + 2  # gaps between columns, one space per edge
    for k in range(n_fixed, len(headers)):
        if width is not None and used + need[k] + COLUMN_GAP > width:
            break
        keep.append(k)
        used += need[k] + COLUMN_GAP
    table = compact_table(title)
    for k in keep:
        table.add_column(headers[k], justify="right" if k >= numeric_from else "left",
                         no_wrap=k >= numeric_from, overflow="fold")
    for j, r in enumerate(rows):
        table.add_row(*[Text(printable(r[k])) for k in keep], style=row_styles[j] if row_styles else None)
    dropped = [headers[k] for k in range(len(headers)) if k not in keep]
    if dropped:
        table.caption = f"not shown for width: {', '.join(dropped)} (widen the terminal or set COLUMNS)"
        table.caption_justify = "left"
    return table


#: Per-layer columns of :func:`layer_table`: (statistic, heading).
LAYER_COLUMNS = (("signal_norm", "‖∂L/∂out‖"), ("grad_ratio", "‖∇W‖/‖W‖"), ("update_ratio", "‖ΔW‖/‖W‖"),
                 ("weight_grad_norm", "‖∇W‖"), ("act_mean", "act mean"), ("act_saturated", "saturated"),
                 ("act_dead", "dead"))


def layer_table(data: RunData, step: int | None = None, title: str | None = None,
                width: int | None = None) -> Table:
    """Per-layer statistics at one recorded step (the last by default), layers in forward order.

    Args:
        data: the run.
        step: the recorded step to show (the last one by default).
        title: table title.
        width: fit this many characters by leaving out the last columns (all columns when None).
    """
    shown_step = int(data.steps[-1]) if step is None and data.n_steps else step
    vals, came_from = latest_values(data, [name for name, _ in LAYER_COLUMNS], step)
    rows = [[str(i), layer.name, layer.activation or "-", *[_fmt(float(vals[name][i])) for name, _ in LAYER_COLUMNS],
             layer.type] for i, layer in enumerate(data.layers)]
    headers = ["#", "layer", "act", *[h for _, h in LAYER_COLUMNS], "type"]
    table = fitted_table(title or f"per-layer statistics at step {shown_step}", headers, rows, n_fixed=3,
                         width=width, numeric_from=3)
    settings = data.meta.get("settings")
    # a column of "-" with no word why (the live view says it): watch(activations=False) also turns signal off
    unrecorded = ("‖∂L/∂out‖ was not recorded (watch(signal=True) records it)"
                  if isinstance(settings, dict) and settings.get("signal") is False else "")
    note = "; ".join(x for x in (earlier_note(came_from, shown_step, dict(LAYER_COLUMNS)),
                                  detail_note(data, step, dict(LAYER_COLUMNS)), nonfinite_note(data, shown_step),
                                  unrecorded) if x)
    if note:
        table.caption = note + ("\n" + str(table.caption) if table.caption else "")
        table.caption_justify = "left"
    return table


def print_layer_table(data: RunData, step: int | None = None, console: Console | None = None,
                      title: str | None = None) -> None:
    """Print :func:`layer_table`, fitted to the console width."""
    console = console or Console()
    console.print(layer_table(data, step, title, width=console.width))


def make_console(*, width: int | None = None, stderr: bool = False, force_plain: bool = False) -> Console:
    """A rich Console for graddoctor output. Colour follows rich's rules (off for NO_COLOR and piped output);
    ``force_plain`` turns colour and markup highlighting off regardless (used for golden files)."""
    if force_plain:
        return Console(width=width or PLAIN_WIDTH, no_color=True, color_system=None, highlight=False,
                       force_terminal=False, stderr=stderr, emoji=False, soft_wrap=False)
    return Console(width=width, stderr=stderr, highlight=False)


def print_findings(findings: list[Any], console: Console | None = None) -> None:
    """Print findings (Finding objects or dicts) one block each, most severe first."""
    console = console or Console()
    if not findings:
        console.print("[green]No problems found.[/green]")
        return
    for f in findings:
        d = f.to_dict() if hasattr(f, "to_dict") else f
        style = SEVERITY_STYLE.get(d["severity"], "")
        at = where(d)  # a 300-layer finding listed all 300 names; a time-axis one lacked its memory horizon
        console.print(f"[{style}]{escape(printable(d['severity'].upper()))}[/{style}] {escape(printable(d['kind']))}"
                      + (f" ({escape(printable(d['axis']))})" if d.get("axis") else "") + f" at {escape(printable(at))}"
                      + (f", first at step {d['step']}" if d.get("step") is not None else ""))
        if d.get("message"):
            console.print(Text(printable(f"  {d['message']}")))
        if d.get("causes"):
            console.print(Text(printable(f"  causes: {', '.join(d['causes'])}")))
        if d.get("remedies"):
            console.print(Text(printable(f"  remedies: {', '.join(d['remedies'])}")))


def findings_table(findings: list[Any], title: str | None = None, source: str | None = None) -> Table:
    """One row per finding: severity (in words, coloured), kind, first step, where (causes and remedies are
    printed under the table by :func:`print_diagnosis`). ``source``: the diagnosis's (``check``, ``run``), for
    the step cell of findings without a step."""
    table = compact_table(title)
    rows = []
    for f in findings:
        d = as_dict(f)
        kind = d["kind"] + (f" ({d['axis']})" if d.get("axis") else "")
        step = when(d, source, short=True)
        rows.append((Text(printable(d["severity"].upper()), style=SEVERITY_STYLE.get(d["severity"], "")),
                     Text(printable(kind)), printable(step), Text(printable(where(d)))))
    # Severity and step keep their full width (a narrow terminal cut "190" to "1" and CRITICAL to "CRITI");
    # kind and where fold onto more lines instead.
    for k, head in enumerate(("severity", "kind", "step", "where")):
        whole = head in ("severity", "step")
        table.add_column(head, overflow="fold", no_wrap=whole,
                         min_width=max([len(head)] + [len(str(r[k])) for r in rows]) if whole else None)
    for r in rows:
        table.add_row(*r)
    return table


def _finding_details(d: dict[str, Any], console: Console) -> None:
    style = SEVERITY_STYLE.get(d["severity"], "")
    console.print(Text.assemble((printable(d["severity"].upper()), style), " ", (printable(d["kind"]), "bold"), ": ",
                                printable(d.get("message") or "")))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for code in d.get("causes") or []:
        grid.add_row("  why", Text(printable(f"{code}: {describe_cause(code)}")))
    rows = factorisation(d.get("evidence") or {})
    if rows:
        dom = (d.get("evidence") or {}).get("dominant_factor")
        shown = rows if len(rows) <= MAX_FACTOR_ROWS else rows[: MAX_FACTOR_ROWS - 1] + rows[-1:]
        lines = [f"{r['layer']}: activation {fmt_num(r['activation'])} x weight {fmt_num(r['weight'])} = gain "
                 f"{fmt_num(r['gain'])}" for r in shown]
        if len(rows) > MAX_FACTOR_ROWS:
            lines.insert(-1, f"... ({len(rows) - len(shown)} more layers)")
        head = "per-layer backward gain (Nielsen)" + (f", dominant factor: {dom}" if dom else "")
        grid.add_row("  gain", Text(printable(head + "\n" + "\n".join(lines), newlines=True)))
    remedies = d.get("remedies") or []
    for code in remedies[:MAX_REMEDIES_SHOWN]:
        grid.add_row("  fix", Text(printable(f"{code}: {describe_remedy(code)}")))
    if len(remedies) > MAX_REMEDIES_SHOWN:
        grid.add_row("  also", Text(printable(", ".join(remedies[MAX_REMEDIES_SHOWN:]))))
    console.print(grid)


def print_diagnosis(diag: Any, console: Console | None = None, *, layers: bool = True,
                    details: bool = True) -> None:
    """Print a :class:`~graddoctor.Diagnosis` (or its dict): the findings table, the reasons and fixes of each
    problem, and the per-layer table.

    Args:
        diag: the diagnosis.
        console: where to print (default: a new Console on stdout).
        layers: also print the per-layer table.
        details: print cause, factorisation and remedy lines under the table for each problem.
    """
    console = console or Console(highlight=False)
    d = diag.to_dict() if hasattr(diag, "to_dict") else dict(diag)
    findings = [as_dict(f) for f in d.get("findings", [])]
    meta = d.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    if not findings and d.get("source") == "run" and meta.get("n_steps") == 0:  # no all-clear about no steps
        console.print(Text(f"graddoctor run: {NO_STEPS_SUMMARY}", style="yellow"))
        return
    console.print(Text(f"graddoctor {d.get('source', 'check')}: {findings_summary(findings)}",
                       style="bold" if findings else "green"))
    if findings:
        console.print(findings_table(findings, source=d.get("source")))
    if details:
        for f in findings:
            if f["severity"] in ("warning", "critical"):
                _finding_details(f, console)
    rows = d.get("layers") or []
    if layers and rows:
        console.print(diagnosis_layer_table(rows, width=console.width))
        note = diagnosis_nonfinite_note(rows)
        if note:
            console.print(Text(note))


def diagnosis_layer_table(rows: list[dict[str, Any]], title: str = "per-layer table",
                          width: int | None = None) -> Table:
    """A diagnosis's per-layer rows as a table (the columns of :data:`DIAG_COLUMNS` that are present), fitted
    to ``width``."""
    cols = [(k, h) for k, h in DIAG_COLUMNS if any(fmt_num(r.get(k)) != "-" for r in rows)]
    headers = ["#", "layer", "act", *[h for _, h in cols]]
    cells = [[str(i), str(r.get("layer", r.get("name", i))), str(r.get("activation") or "-"),
              *[fmt_num(r.get(k)) for k, _ in cols]] for i, r in enumerate(rows)]
    return fitted_table(title, headers, cells, n_fixed=3, width=width, numeric_from=3)


#: Per-layer columns measured only after these activations: the saturated fraction after a saturating one, the
#: dead fraction after a ReLU.
ACTIVATION_COLUMNS = {"saturated": SATURATING, "dead": DEAD_CAPABLE}


def diagnosis_nonfinite_note(rows: list[dict[str, Any]]) -> str:
    """What :func:`diagnosis_layer_table` gave no word of: a run whose outputs were NaN/Inf at its last step got
    a table of layer names alone, every statistic column left out for holding no finite value."""
    cols = {k for k, _ in DIAG_COLUMNS if any(fmt_num(r.get(k)) != "-" for r in rows)}
    bad = sum(1 for r in rows if isinstance(r.get("nonfinite"), (int, float)) and r["nonfinite"] > 0)
    # a column that no layer of this model can fill (sat. of a ReLU net) was said to be empty for NaN/Inf
    empty = [h for k, h in DIAG_COLUMNS if k not in cols and any(k in r for r in rows)
             and (k not in ACTIVATION_COLUMNS or any(r.get("activation") in ACTIVATION_COLUMNS[k] for r in rows))]
    if not bad or not empty:
        return ""
    return (f"NaN/Inf outputs in {bad} of {len(rows)} layers at this step: no finite value for {', '.join(empty)}, "
            "so those columns are not shown")


def print_repair(result: Any, console: Console | None = None) -> None:
    """Print a repair result (``RepairResult`` or its ``to_dict()``): the before/after table and the verdict."""
    console = console or Console(highlight=False)
    d = result.to_dict() if hasattr(result, "to_dict") else result
    ctx = repair_context(d)
    if ctx is None:
        console.print("No repair result.")
        return
    cells = [list(r["cells"]) for r in ctx["rows"]]
    for c, r in zip(cells, ctx["rows"]):
        if r["winner"]:
            c[0] += " (winner)"
    styles = ["bold green" if r["winner"] else None for r in ctx["rows"]]
    console.print(fitted_table("repair: baseline and trials", ctx["headers"], cells, n_fixed=1,
                               width=console.width, row_styles=styles))
    console.print(Text(ctx["verdict"], style="bold green" if ctx["best"] else "yellow"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for code, text in ctx["best_descriptions"]:
        grid.add_row("  remedy", Text(f"{code}: {text}"))
    for change in ctx["changes"]:
        grid.add_row("  change", Text(change))
    console.print(grid)
