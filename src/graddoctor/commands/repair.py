"""``graddoctor repair FILE.py:FUNC``: controlled repair trials for a user's recipe.

Security note: the CLI imports (executes) only the Python file you name, exactly as ``python FILE.py``
would; nothing else is imported from your project unless that file imports it. Saved models are state
dicts; load them with ``torch.load(path, weights_only=True)``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

#: Suffixes of the descriptions ``--save`` writes beside the model file (``<stem>.json``, ``<stem>.txt``).
DESCRIPTION_SUFFIXES = (".json", ".txt")


class _UsageExit(click.ClickException):
    """A ClickException that exits 2, the code of every user error (see ``graddoctor --help``)."""

    exit_code = 2


def load_case(target: str) -> Any:
    """Import ``FILE.py`` and call ``FUNC()``; it must return a :class:`graddoctor.Case`.

    Raises:
        click.UsageError: for a malformed target, a missing file or function, or a wrong return type.
    """
    from ..repair.case import Case
    from .check import load_function, user_code_failed  # the one loader: only the named file, never shadowed

    fn = load_function(target)
    path_s, _, func = target.rpartition(":")
    try:
        case = fn() if not isinstance(fn, Case) else fn
    except Exception as e:
        raise user_code_failed(f"{target}()", e) from None
    if not isinstance(case, Case):
        raise click.UsageError(f"{path_s}:{func}() must return a graddoctor.Case, it returned {type(case).__name__}; "
                               "build one with gd.Case(model_fn=..., train=(X, y), val=..., loss_fn=..., "
                               "optimizer_fn=..., steps=...)")
    return case


def preflight(case: Any, target: str) -> None:
    """Run each part of the recipe once, in the order the trials call them, and name the first that fails:
    model_fn, optimizer_fn, a training batch through the model, loss_fn and backward, the validation data
    (and metric_fn). Costs one batch and one evaluation, and reports a broken recipe in seconds instead of
    a traceback after the baseline has trained.

    Raises:
        click.UsageError: the call that failed, with its error and where it was raised in the user's code.
    """
    import torch

    from ..repair.case import CaseError
    from .check import user_code_failed

    def attempt(what: str, call: Any) -> Any:
        try:
            return call()
        except CaseError as e:
            raise click.UsageError(f"{target}: {e}") from None
        except Exception as e:
            raise user_code_failed(f"{target}: {what}", e) from None

    model = attempt("the Case's model_fn()", case.build_model)
    attempt("the Case's optimizer_fn(model.parameters())", lambda: case.make_optimizer(model.parameters()))
    device = next(iter(model.parameters()), torch.empty(0)).device
    x, y = attempt("taking a training batch", lambda: next(iter(case.batches(0, device))))
    attempt("loss_fn(model(x), y).backward() on a training batch", lambda: case.loss_fn(model(x), y).backward())
    attempt("evaluating on the validation data (model, loss_fn and metric_fn)", lambda: case.evaluate(model))


def _raised_in_graddoctor(e: BaseException) -> bool:
    """Whether the innermost frame of ``e``'s traceback is graddoctor's own code (not torch's, not the user's)."""
    import traceback

    import graddoctor

    frames = traceback.extract_tb(e.__traceback__)
    own = str(Path(graddoctor.__file__).resolve().parent)
    return bool(frames) and str(Path(frames[-1].filename).resolve()).startswith(own)


def check_writable(path: str) -> None:
    """Fail before any training when ``--save`` cannot be written: its folder is created now and must be
    writable.

    Raises:
        click.UsageError: naming the path and the reason.
    """
    import os

    if Path(path).suffix.lower() in DESCRIPTION_SUFFIXES:
        # the descriptions are written beside the model as <stem>.json and <stem>.txt: one of them would
        # overwrite the state_dict just saved, after the whole repair had run
        stem = Path(path).with_suffix("")
        raise click.UsageError(f"--save {path!r}: the model file would be overwritten by its own description "
                               f"({stem}.json, {stem}.txt); give it another suffix, e.g. {stem}.pt")
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise click.UsageError(f"--save {path!r}: cannot create its folder ({e}); choose a writable path") from None
    if not os.access(folder, os.W_OK):
        raise click.UsageError(f"--save {path!r}: the folder {str(folder)!r} is not writable; choose a writable path")


def save_repaired(result: Any, path: str) -> list[str]:
    """Write the repaired model's state_dict to ``path`` and a readable description next to it (.json, .txt)."""
    import torch

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(result.model.state_dict(), out)
    desc = {"remedy": result.best.name, "changes": list(result.best.changes),
            "model_class": type(result.model).__name__, "model": str(result.model),
            "evidence": result.to_dict(), "load_with": f"torch.load({str(out)!r}, weights_only=True)"}
    js, txt = (out.with_suffix(suffix) for suffix in DESCRIPTION_SUFFIXES)
    js.write_text(json.dumps(desc, indent=1))
    txt.write_text(result.describe() + "\n\nrepaired model:\n" + str(result.model) + "\n")
    return [str(out), str(js), str(txt)]


@click.command("repair")
@click.argument("target", metavar="FILE.py:FUNCTION")
@click.option("--budget", default=120.0, show_default=True, type=click.FloatRange(min=0),
              help="Time budget for the trials, in seconds.")
@click.option("--seeds", default=2, show_default=True, type=click.IntRange(min=1), help="Seeds per trial.")
@click.option("--max-trials", type=click.IntRange(min=0), default=None,
              help="Stop after this many remedies have trained (default: only --budget limits them).")
@click.option("--remedy", "remedies", multiple=True, metavar="CODE",
              help="Try these remedy codes (repeatable, CODE or CODE:VARIANT) instead of the diagnosis' ranking.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (RepairResult.to_dict()).")
@click.option("--save", type=click.Path(dir_okay=False), default=None,
              help="Write the repaired model's state_dict here, plus a .json and .txt description of the changes.")
def command(target: str, budget: float, seeds: int, max_trials: int | None, remedies: tuple[str, ...], as_json: bool,
            save: str | None) -> None:
    """Try the remedies the diagnosis ranks in controlled trials (same seeds, data order and steps) and keep
    the one that measurably fixes the run. FILE.py defines FUNCTION() returning a graddoctor.Case.

    Only the file you name is imported (executed, as `python FILE.py` would). The repaired model is
    saved as a state_dict (load it with torch.load(path, weights_only=True)).

    Exit code: 0 done (with or without a winning remedy), 2 bad usage (FILE.py, FUNCTION or the recipe fails,
    an unknown --remedy, a --save file that cannot be written).
    """
    from rich.console import Console

    from ..repair import repair
    from ..repair.case import CaseError
    from ..repair.remedies import get_remedy
    from ..repair.table import print_result
    from .check import user_code_failed

    # a quoted "~/my_net.py:case" or "--save=~/x.pt" reaches us unexpanded (the shell expands "~" only at the
    # start of a word): no folder named "~" in the current one
    path_part, sep, func_part = target.rpartition(":")
    target = f"{os.path.expanduser(path_part)}{sep}{func_part}" if sep else os.path.expanduser(target)
    save = os.path.expanduser(save) if save else save
    if remedies:  # usage first: a wrong --remedy is reported before FILE.py runs
        try:
            [get_remedy(r) for r in remedies]
        except ValueError as e:
            raise click.UsageError(str(e)) from e
        twice = [r for i, r in enumerate(remedies) if get_remedy(r).name in {get_remedy(q).name for q in remedies[:i]}]
        if twice:
            raise click.UsageError(f"--remedy {twice[0]} is given more than once; give each remedy once")
    case = load_case(target)
    if save:
        check_writable(save)
    preflight(case, target)
    console = Console(stderr=as_json)
    from ..present.progress import enabled

    # bars only where they can move (a terminal, or GRADDOCTOR_PROGRESS=1): piped into a log (CI, | tee) each
    # trial's finished bar was printed as a line of bars
    try:
        result = repair(case, budget_s=budget, seeds=seeds, remedies=list(remedies) or None, max_trials=max_trials,
                        progress=not as_json and enabled(console), console=console)
    except CaseError as e:
        raise click.UsageError(f"{target}: {e}") from None
    except Exception as e:
        # The baseline is the recipe as given: an error while training it (past the preflight's one batch, e.g.
        # a DataLoader's last batch of one sample under BatchNorm) is the recipe's, reported like the preflight's.
        # An error raised in graddoctor's own code is a graddoctor bug and keeps its traceback.
        if _raised_in_graddoctor(e):
            raise
        raise user_code_failed(f"{target}: training the baseline (the recipe as given, before any remedy)",
                               e) from None
    written: list[str] = []
    save_error = None
    if save and result.model is not None:
        try:
            written = save_repaired(result, save)
        except OSError as e:  # the trials' results are still printed below; only the file is missing
            save_error = _UsageExit(f"could not save the repaired model to {save!r}: {e}")
    if as_json:
        d = result.to_dict()
        d["saved"] = written
        click.echo(json.dumps(d, indent=1))
    else:
        print_result(result, console)
        if save and written:
            console.print(f"saved: {', '.join(written)}", markup=False)
        elif save and save_error is None:
            why = "the baseline is healthy, no remedy was tried" if result.stopped == "healthy" and not result.trials \
                else "no remedy applies to the baseline's problem" if result.stopped == "no_remedy" \
                else "no remedy won"
            console.print(f"[yellow]nothing saved: {why}[/yellow]")
    if save_error is not None:
        raise save_error
