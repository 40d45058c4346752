"""Run one lab experiment: time it, print its checks table, save its JSON, its PNGs and its HTML page to
``out``."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import doctor, registry
from .base import LabResult

#: torch threads of ``python -m graddoctor.lab.experiments.NAME`` by default, as ``graddoctor lab run``'s
#: ``--threads`` default (commands/lab.py LAB_THREADS): the lab's small models run fastest on one thread.
STANDALONE_THREADS = 1


def run_experiment(name: str, *, quick: bool = True, seeds: int | None = None, out: Path | None = None,
                   progress: Callable[[str], None] | None = None) -> LabResult:
    """Run the experiment ``name`` and return its :class:`LabResult` (``<name>.json``, the PNG figures and the
    page ``<name>.html`` saved to ``out`` if given).

    Args:
        name: a key of :data:`graddoctor.lab.registry.EXPERIMENTS`.
        quick: the CI-sized version (fewer seeds and steps, qualitative checks).
        seeds: override the number of seeds (``None``: the experiment's default for the mode).
        out: folder for ``<name>.json``, the PNG figures and ``<name>.html``; ``None`` writes nothing.
        progress: called with short status lines while the experiment runs.
    """
    import torch

    module = registry.load(name)
    threads = torch.get_num_threads()  # the caller's choice (lab run --threads): an experiment leaves it as it was
    t0 = time.perf_counter()
    try:
        result: LabResult = module.run(quick=quick, seeds=seeds, out=out, progress=progress)
    finally:
        torch.set_num_threads(threads)
    result.seconds = round(time.perf_counter() - t0, 2)
    result.quick = quick
    if out is not None:
        save(result, out)
    return result


def save(result: LabResult, out: Path, index: bool = False) -> None:
    """Write ``<out>/<name>.json`` and the page ``<out>/<name>.html`` (``index``: it links ``index.html``)."""
    from .html import write_page

    result.save_json(out)
    write_page(result, out, index=index)


def fmt_value(v: object) -> str:
    """A check's published/measured value or a remedy's effect as text (numbers to 4 significant digits)."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):  # e.g. one number per cell type: "RNN: 0.000145, LSTM: 2.59", not a Python repr
        return ", ".join(f"{k}: {fmt_value(x)}" for k, x in v.items())
    if v is None:
        return "-"
    return str(v)


def render(result: LabResult, console: Console) -> None:
    """Print the checks table, the doctor's findings and the remedy's effect of one result."""
    mode = "quick" if result.quick else "full"
    table = Table(title=f"{result.name}: {result.title} ({mode}, {result.seconds:.1f} s)", title_justify="left")
    for col in ("quantity", "published", "measured", "tolerance", "result"):
        table.add_column(col, overflow="fold")
    for c in result.checks:
        verdict = "[green]pass[/green]" if c.passed else "[red]FAIL[/red]"
        table.add_row(escape(c.quantity), escape(fmt_value(c.published)), escape(fmt_value(c.measured)),
                      escape(c.tolerance), verdict)
    console.print(table)
    for c in result.checks:
        if c.note:
            console.print(f"[dim]note[/dim] {escape(c.quantity)}: {escape(c.note)}")
    console.print(f"[dim]source:[/dim] {escape(result.source)}")
    if result.diagnosed:
        if result.diagnosed.endswith("[diagnosis engine not available]"):
            console.print(f"[bold]doctor[/bold] on {escape(result.diagnosed)}")
        else:
            console.print(f"[bold]doctor[/bold] on {escape(result.diagnosed)}: {escape(doctor.summary(result.findings))}")
    for key, value in result.remedy.items():
        console.print(f"[bold]remedy[/bold] {escape(key)}: {escape(fmt_value(value))}")
    for path in result.figures:
        console.print(f"[dim]figure:[/dim] {path}")


def standalone(title: str, run: Callable[..., LabResult]) -> None:
    """``python -m graddoctor.lab.experiments.NAME [--quick] [--seeds N] [--out DIR]``: run one experiment
    module on its own, save its JSON and HTML page and print its checks table."""
    import argparse

    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--quick", action="store_true", help="the CI-sized run")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=STANDALONE_THREADS,
                        help="torch intra-op threads (default: 1, as graddoctor lab run)")
    a = parser.parse_args()
    if a.threads < 1:
        parser.error(f"--threads must be at least 1, got {a.threads}")
    if a.seeds is not None and a.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {a.seeds}")
    if a.out is not None:  # before running: a folder that cannot be written must not cost the run its result
        try:
            a.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            parser.error(f"cannot write the results folder {str(a.out)!r}: {e.strerror or e}")
    import torch

    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    res = run(quick=a.quick, seeds=a.seeds, out=a.out, progress=print)
    res.seconds = round(time.perf_counter() - t_start, 2)
    if a.out is not None:
        save(res, a.out)
    render(res, Console())
