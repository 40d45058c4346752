"""``graddoctor report RUN.sqlite -o report.html``: the self-contained HTML report of a recorded run."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import click

from ..present.sampling import MAX_DISPLAY_STEPS

#: File stems of the figures a run report writes with --png-dir (graddoctor.present.html.run_figures).
FIGURE_KEYS = frozenset({"gradient_flow", "heatmap", "update_speed", "activations", "saturation", "time_signal",
                         "loss", "repair_curves", "repair_flow"})


def _stale_findings(run: str, view: Any, sampling: Any) -> bool:
    """True when the findings stored with the run were stored before its last recorded step: a diagnosis taken
    mid-run (``graddoctor diagnose`` while training) that cannot know what came after it."""
    from ..errors import GradDoctorError
    from ..store.sqlite import latest_findings_time

    start, wall = view.meta.get("start_time"), sampling.curves.get("wall_time")
    if not isinstance(start, (int, float)) or wall is None or not wall.size or not math.isfinite(float(wall[-1])):
        return False
    try:
        created = latest_findings_time(run)
    except GradDoctorError:
        return False
    return created is not None and created < start + float(wall[-1])


#: Layers x recorded steps up to which ``graddoctor report`` of a downsampled run diagnoses every recorded step
#: (read from the store as ``graddoctor diagnose`` reads it) rather than the displayed ones. The diagnosis of
#: 500 layers x 20,000 steps (1e7) peaks at 0.46 GB (docs/scaling.md), so 5e6 keeps it near 0.25 GB; the
#: displayed steps miss spikes between them and count a spike against the median of a sample (a 4-layer,
#: 5,200-step run showed an exploding_gradient warning that the diagnosis of every step does not give).
FULL_DIAGNOSIS_CELLS = 5_000_000


def _diagnosis(view: Any, downsampled: bool, console: Any, stale: bool = False, run: str | None = None,
               total_steps: int = 0) -> Any:
    """A fresh diagnosis of the run, or None (the report then shows the findings stored with it).

    A downsampled view is diagnosed only when the store holds no findings, or only findings stored before its
    last step (``stale``; they were shown as the run's, so a problem that began after them went unreported).
    Every recorded step is diagnosed when layers x steps is at most :data:`FULL_DIAGNOSIS_CELLS`; beyond that
    the detectors see the displayed steps, which the page says."""
    if downsampled and view.findings and not stale:
        return None
    full = downsampled and run is not None and len(view.layers) * total_steps <= FULL_DIAGNOSIS_CELLS
    if downsampled and view.findings:
        console.print("the findings stored with the run predate its last recorded steps; diagnosing the "
                      + (f"{total_steps:,} recorded steps" if full else f"{view.n_steps:,} displayed steps")
                      + " instead", style="yellow", markup=False)
    try:
        from ..diagnosis import diagnose, diagnose_run
    except ImportError:
        return None
    try:
        if full and run is not None:
            return diagnose(run, save=False)
        return diagnose_run(view)
    except Exception as e:  # the report must still be written; say why the findings are missing
        console.print(f"diagnosis failed ({type(e).__name__}: {e}); the report shows the stored findings",
                      style="yellow", markup=False)
        return None


def _read_repair(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:  # ValueError: bad JSON, or bytes that are not UTF-8 (a store, a .pt)
        raise click.BadParameter(f"cannot read repair result {path!r}: {e}; pass the JSON that "
                                 "'graddoctor repair ... --json' printed", param_hint="--repair") from None
    if not isinstance(d, dict) or "baseline" not in d:
        raise click.BadParameter(f"{path!r} is not a repair result (no 'baseline' key); pass the JSON that "
                                 "'graddoctor repair ... --json' printed", param_hint="--repair")
    wrong = [f"'{k}' is not {what}" for k, ok, what in (
        ("baseline", isinstance(d.get("baseline"), dict), "an object"),
        ("trials", isinstance(d.get("trials", []), list), "a list"),
        ("best", d.get("best") is None or isinstance(d.get("best"), dict), "an object or null")) if not ok]
    if wrong:
        raise click.BadParameter(f"{path!r} is not a repair result ({'; '.join(wrong)}); pass the JSON that "
                                 "'graddoctor repair ... --json' printed", param_hint="--repair")
    return d


@click.command("report")
@click.argument("run", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="The HTML file to write.")
@click.option("--png-dir", default=None, type=click.Path(file_okay=False),
              help="Also write every figure as a PNG into this folder.")
@click.option("--max-steps", default=MAX_DISPLAY_STEPS, show_default=True, type=click.IntRange(min=2),
              help="Most recorded steps drawn per layer (longer runs are downsampled, and the page says so).")
@click.option("--repair", "repair_json", default=None, type=click.Path(dir_okay=False),
              help="JSON of a repair result ('graddoctor repair ... --json') for the before/after section.")
@click.option("--no-diagnose", is_flag=True, help="Show the findings stored with the run instead of diagnosing.")
@click.option("--no-figures", is_flag=True, help="Findings and tables only (a small file, written quickly).")
@click.option("--title", default=None, help="Page title.")
def command(run: str, output: str, png_dir: str | None, max_steps: int, repair_json: str | None,
            no_diagnose: bool, no_figures: bool, title: str | None) -> None:
    """Write a self-contained HTML report of the run store RUN (opens offline; figures embedded).

    Exit code: 0 written, 2 bad usage (no run store at RUN, an unreadable --repair file, an output or a
    --png-dir that cannot be written).
    """
    from ..errors import GradDoctorError
    from ..present.console import make_console
    from ..present.html import check_output, render_run_report
    from ..present.sampling import load_for_display

    # "--png-dir=~/figs" reaches us unexpanded (the shell expands "~" only at the start of a word): without
    # this, a folder literally named "~" was created in the current one
    run, output = os.path.expanduser(run), os.path.expanduser(output)
    png_dir = os.path.expanduser(png_dir) if png_dir else png_dir
    repair_json = os.path.expanduser(repair_json) if repair_json else repair_json

    if no_figures and png_dir:  # it wrote no figure and said "figures: 0 PNG files in DIR"
        raise click.UsageError("--png-dir writes the figures, which --no-figures leaves out; drop one of them")
    console = make_console()
    started = time.time() - 1.0  # file times may be rounded to the second
    try:  # before the store is read and diagnosed and the figures drawn, which take seconds
        check_output(output)
    except (OSError, ValueError) as e:
        raise click.UsageError(f"cannot write the report: {e}") from None
    repair = _read_repair(repair_json)
    try:
        view, sampling = load_for_display(run, max_steps)
    except GradDoctorError as e:
        raise click.UsageError(str(e)) from None
    # before the diagnosis and the drawing: a folder under a file failed after them, as "cannot write the report"
    if png_dir:
        try:
            Path(png_dir).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise click.BadParameter(f"cannot create the figures folder {png_dir!r}: {e.strerror or e}",
                                     param_hint="--png-dir") from None
    diag = None if no_diagnose else _diagnosis(
        view, sampling.downsampled, console, stale=sampling.downsampled and _stale_findings(run, view, sampling),
        run=run, total_steps=sampling.total_steps)
    try:
        path = render_run_report(view, output, diagnosis=diag, repair=repair, png_dir=png_dir, title=title,
                                 sampling=sampling, figures=not no_figures)
    except OSError as e:
        raise click.UsageError(f"cannot write the report: {e}") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        # the output was checked above, so this is the content: with --repair, a result whose values are not
        # what 'graddoctor repair --json' writes ("could not convert string to float" read as a write error)
        if repair is None:
            if isinstance(e, ValueError):  # check_output's refusals (a folder, a database) come as ValueError
                raise click.UsageError(f"cannot write the report: {e}") from None
            raise
        raise click.BadParameter(f"cannot show the repair result {repair_json!r} ({type(e).__name__}: {e}); pass "
                                 "the JSON that 'graddoctor repair ... --json' printed", param_hint="--repair") from None
    if sampling.downsampled:
        console.print(sampling.note(), style="dim")
    if png_dir:
        # what this report wrote, not every PNG in the folder: a figure an earlier report wrote there (the
        # time_signal.png of another run) was counted and left to be taken for this run's
        pngs = list(Path(png_dir).glob("*.png"))
        written = [p for p in pngs if p.stat().st_mtime >= started]
        console.print(f"figures: {len(written)} PNG files in {png_dir}", markup=False)
        old = sorted(p.name for p in pngs if p not in written and p.stem in FIGURE_KEYS)
        if old:
            console.print(f"not from this report (an earlier one wrote them): {', '.join(old)}", style="yellow",
                          markup=False)
    console.print(f"report: {path.resolve()}", markup=False)
