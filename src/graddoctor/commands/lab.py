"""``graddoctor lab``: list and run the classic experiments next to their published numbers."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

#: Default torch threads for ``lab run``: on the 2-core CI machine with other jobs running, the default of one
#: thread per core made the small per-layer ops of the quick runs 5-50x slower (measured: nielsen --quick 77 s
#: vs 10 s wall) through thread oversubscription.
LAB_THREADS = 1


class _SetupError(click.ClickException):
    """Exit status 2: the lab cannot run as installed, or was pointed at nothing it can use (exit 1 is kept for a
    failed check)."""

    exit_code = 2


@click.group("lab")
def command() -> None:
    """Reproduce the classic vanishing/exploding-gradient experiments next to their published numbers."""


@command.command("list")
def list_cmd() -> None:
    """List the experiments with their sources."""
    import importlib

    from ..lab.registry import EXPERIMENTS

    for name, mod in EXPERIMENTS.items():
        m = importlib.import_module(mod)
        click.echo(f"{name:15s} {m.TITLE}  [{m.SOURCE}]")


@command.command("run")
@click.argument("name")
@click.option("--quick", is_flag=True, help="CI-sized run: fewer seeds and steps, qualitative checks.")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Number of seeds (default: per experiment).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for <name>.json, the PNG figures and the page <name>.html (default: lab-results/); "
                   "'all' also writes index.html.")
@click.option("--threads", type=click.IntRange(min=1), default=LAB_THREADS, show_default=True,
              help="torch intra-op threads. The lab's models are small: one thread is fastest, and more threads "
                   "thrash on a busy machine.")
def run_cmd(name: str, quick: bool, seeds: int | None, out: Path | None, threads: int) -> None:
    """Run experiment NAME (or 'all'); exits with status 1 when a check fails (or, with 'all', an experiment
    crashes: the others still run), 2 when an experiment cannot run because a package its data comes from is
    not installed (the others still run)."""
    import torch
    from rich.console import Console

    torch.set_num_threads(threads)

    from rich.markup import escape

    from ..lab import registry
    from ..lab.data import DataUnavailable
    from ..lab.runner import render, run_experiment

    console = Console()
    names = registry.names() if name == "all" else [name]
    unknown = [n for n in names if n not in registry.EXPERIMENTS]
    if unknown:
        raise click.BadParameter(f"unknown experiment {unknown[0]!r}; known: all, {', '.join(registry.names())}",
                                 param_hint="NAME")
    # "--out=~/results" or a quoted "~/results" reaches us unexpanded: no folder named "~" in the current one
    out = Path(os.path.expanduser(str(out))) if out is not None else Path("lab-results")
    try:  # before any experiment runs: a folder that cannot be written must not cost a finished run its result
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".graddoctor-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise click.BadParameter(f"cannot write the results folder {str(out)!r}: {e.strerror or e}; choose another "
                                 "folder", param_hint="'--out'") from None
    failed, results, unavailable, crashed = [], [], [], []
    for n in names:
        torch.manual_seed(0)
        with console.status(f"running {n}...") as status:
            def progress(msg: str, n: str = n, status: Any = status) -> None:
                status.update(f"{n}: {msg}")

            try:
                result = run_experiment(n, quick=quick, seeds=seeds, out=out, progress=progress)
            except DataUnavailable as e:  # a missing optional package: say which, run the others
                console.print(f"[red]{n}: cannot run: {escape(str(e))}[/red]\n")
                unavailable.append(n)
                continue
            except Exception as e:
                if name != "all":
                    raise
                # 'all' runs for half an hour in full mode: one experiment that breaks must not take the
                # others' results (and the index) with it. Its traceback is shown; the exit status is 1.
                console.print_exception()
                console.print(f"[red]{n}: crashed ({escape(type(e).__name__)}: {escape(str(e))}); "
                              "running the others[/red]\n")
                crashed.append(n)
                continue
        render(result, console)
        if seeds is not None and result.seeds != seeds:
            console.print(f"[yellow]note:[/yellow] {n} ran with {result.seeds} seed(s); it does not take --seeds")
        console.print(f"[dim]results:[/dim] {out / (n + '.json')}, {out / (n + '.html')}\n")
        results.append(result)
        if not result.passed:
            failed.append(n)
    if name == "all":
        from ..lab.html import write_index, write_page

        for result in results:                       # the pages again, now linking back to the index
            write_page(result, out, index=True)
        console.print(f"[dim]index:[/dim] {write_index(results, out)}")
    elif results and (out / "index.html").exists():
        # one experiment re-run into a folder of 'lab run all': its row of the index must not keep the old
        # result's verdict, and its page keeps the link back to the index
        from ..lab.html import load_results, write_index, write_page

        write_page(results[0], out, index=True)
        console.print(f"[dim]index:[/dim] {write_index(load_results(out), out)}")
    if failed:
        console.print(f"[red]checks failed in: {', '.join(failed)}[/red]")
    if crashed:
        console.print(f"[red]crashed (no result): {', '.join(crashed)}[/red]")
    if unavailable:
        raise _SetupError(f"{', '.join(unavailable)} could not run: their data needs a package that is not "
                          "installed (pip install 'graddoctor[lab]')")
    if failed or crashed:
        sys.exit(1)


@command.command("report")
@click.argument("folder", type=click.Path(path_type=Path))
@click.argument("names", nargs=-1)
def report_cmd(folder: Path, names: tuple[str, ...]) -> None:
    """Re-render the HTML pages of the results saved in FOLDER (by 'lab run --out FOLDER') from their JSON,
    without re-running: <name>.html for each result (or only NAMES) and index.html when FOLDER holds more than
    one. The figures are embedded from the PNG files in FOLDER."""
    from ..lab.html import render_folder, unreadable_results

    folder = Path(os.path.expanduser(str(folder)))  # a quoted "~/results" reaches us unexpanded
    if not folder.exists():
        raise click.BadParameter(f"Directory {str(folder)!r} does not exist.", param_hint="'FOLDER'")
    if not folder.is_dir():
        raise click.BadParameter(f"Directory {str(folder)!r} is a file.", param_hint="'FOLDER'")

    # the experiment's name, also when given as its file (shell completion offers 'results/nielsen.json')
    stems = [Path(n).name.removesuffix(".json").removesuffix(".html") for n in names]
    try:
        written = render_folder(folder, stems or None)
    except FileNotFoundError as e:
        raise click.BadParameter(str(e), param_hint="NAMES") from None
    damaged = [] if names else unreadable_results(folder)
    if damaged:
        click.echo(f"warning: {', '.join(damaged)} in {folder} is not a lab result (not valid JSON, or not what "
                   "'graddoctor lab run' writes; re-run the experiment): left out", err=True)
    if not written:
        raise _SetupError(f"no lab results (<name>.json from 'graddoctor lab run') in {folder}")
    for path in written:
        click.echo(str(path))
