"""``graddoctor check FILE.py:FUNCTION [--json] [--device cpu|cuda]``."""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import click

#: Per-layer columns of the text view: (table key, header).
COLUMNS = [("signal", "‖∂L/∂out‖"), ("gain", "gain"), ("activation_factor", "act factor"),
           ("weight_factor", "weight factor"), ("grad_ratio", "‖∇W‖/‖W‖"), ("init_factor", "init/ref"),
           ("saturated", "saturated"), ("dead", "dead")]


def load_function(spec: str) -> Any:
    """Import ``path.py`` and return its function named after the colon.

    Only that file is imported (its directory is put first on ``sys.path``, as ``python path.py`` would, so
    that it can import its neighbours).

    Raises:
        click.UsageError: bad spec, missing file, import error or missing function (exit code 2).
    """
    if ":" not in spec:
        raise click.UsageError(f"expected FILE.py:FUNCTION, got {spec!r}; e.g. examples/check_example.py:case")
    path_s, _, func = spec.rpartition(":")
    path = Path(os.path.expanduser(path_s))  # a quoted "~/net.py:case" reaches us unexpanded
    if path.suffix != ".py" or not path.is_file():
        raise click.UsageError(f"file {path_s!r} does not exist or is not a Python file; give the path of a .py "
                               "file, e.g. my_net.py:case")
    if not func.isidentifier():
        raise click.UsageError(f"{func!r} is not a function name; write FILE.py:FUNCTION")
    mod_name = f"_graddoctor_user_{uuid.uuid4().hex[:8]}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise click.UsageError(f"cannot import {path_s!r}: not a Python source file")
    module = importlib.util.module_from_spec(loader_spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        loader_spec.loader.exec_module(module)
    except Exception as e:
        raise click.UsageError(f"importing {path_s!r} failed: {type(e).__name__}: {e}") from None
    finally:
        # Keep the folder importable for the function's own lazy imports, but behind the installed packages:
        # a neighbour named rich.py or jinja2.py must never replace what graddoctor imports later.
        sys.path.remove(folder)
        sys.path.append(folder)
    fn = getattr(module, func, None)
    if fn is None or not callable(fn):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise click.UsageError(f"{path_s!r} has no function {func!r}; functions there: {', '.join(names) or 'none'}")
    return fn


def _location(e: BaseException) -> str:
    """`` (at FILE:LINE in FUNC)`` for the innermost traceback frame in the user's code (outside graddoctor and
    torch), else ``""``."""
    import traceback

    import torch

    libs = tuple(str(Path(m.__file__).resolve().parent) for m in (sys.modules["graddoctor"], torch) if m.__file__)
    # Frames of generated code (a dataclass's __init__, exec'd strings) have a filename like "<string>": not a
    # line the user can open.
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith("<")
              and not str(Path(f.filename).resolve()).startswith(libs)]
    return f" (at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""


def user_code_failed(what: str, e: BaseException) -> click.UsageError:
    """The exit-2 error for an exception raised by the user's own code (``what`` names the call)."""
    return click.UsageError(f"{what} raised {type(e).__name__}: {e}{_location(e)}; fix it and run "
                            "again")


def plain_failure(model: Any, x: Any, y: Any, loss_fn: Any) -> BaseException | None:
    """The exception ``loss_fn(model(x), y)`` raises without graddoctor attached, or None when it runs.

    Called only after a graddoctor command failed, to tell the user's error from graddoctor's own. Run in train
    mode, as the check runs it (a model may fail only there), and left exactly as it was afterwards."""
    import torch

    from ..probe.check import _call, _Snapshot

    try:
        snap = _Snapshot(torch.nn.ModuleList([model, loss_fn]) if isinstance(loss_fn, torch.nn.Module) else model,
                         (x, y))
    except Exception as e:
        return e
    try:
        model.train()
        with torch.no_grad():
            loss_fn(_call(model, x), y)  # as the check calls it: model(**x) for a dict, model(*x) for a tuple
    except Exception as e:
        return e
    finally:
        snap.restore()
    return None


def _first_rows(data: Any, n: int) -> tuple[Any, Any]:
    """The first ``n`` rows of a Case's train data: a tuple (X, y) of tensors, or a DataLoader's first batch."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        return x[:n], y[:n]
    try:
        batch = next(iter(data))
    except Exception as e:
        raise click.UsageError(f"cannot take a batch from the Case's train data ({type(data).__name__}): {e}") from None
    if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
        raise click.UsageError("the Case's train DataLoader must yield (inputs, targets) pairs")
    return batch[0], batch[1]


def case_to_batch(result: Any, where: str) -> tuple[Any, Any, Any, Any]:
    """(model, inputs, targets, loss_fn) from what the user's function returned (a 4-tuple or a gd.Case)."""
    import torch

    if hasattr(result, "model_fn") and hasattr(result, "train"):
        try:
            model = result.model_fn()
        except Exception as e:
            raise user_code_failed(f"{where}: the Case's model_fn()", e) from None
        x, y = _first_rows(result.train, int(getattr(result, "batch_size", 64) or 64))
        model_loss = (model, x, y, result.loss_fn)
    elif isinstance(result, (tuple, list)) and len(result) == 4:
        model_loss = tuple(result)  # type: ignore[assignment]
    else:
        raise click.UsageError(f"{where} must return (model, inputs, targets, loss_fn) or a gd.Case; it returned "
                               f"{type(result).__name__}" + (f" of length {len(result)}"
                                                              if isinstance(result, (tuple, list)) else ""))
    model, x, y, loss_fn = model_loss
    if not isinstance(model, torch.nn.Module):
        raise click.UsageError(f"{where}: the model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise click.UsageError(f"{where}: loss_fn must be callable, got {type(loss_fn).__name__}")
    return model, x, y, loss_fn


def _fmt(v: Any) -> str:
    """A cell as ``graddoctor diagnose``, ``stats`` and the report write it. The check wrote values below 0.01 in
    scientific notation ("2.35e-03") where the other views write "0.00235", so one signal read two ways."""
    from ..present.explain import fmt_num

    return fmt_num(v)


def print_diagnosis(diag: Any, title: str) -> None:
    """The rich text view: the per-layer table, then the findings. The table fits the terminal (or COLUMNS, or
    rich's default width when piped) by leaving out its last columns and naming them, as ``graddoctor diagnose``
    does; a fixed-width table squeezed every cell to "2…" in a narrow terminal."""
    from rich.text import Text

    from ..present.console import fitted_table, make_console, print_findings

    console = make_console()
    headers = ["#", "layer", "type", "act", *[head for _, head in COLUMNS]]
    cells = [[str(i), row["layer"], row.get("type", ""), row.get("activation") or "-",
              *[_fmt(row.get(k)) for k, _ in COLUMNS]] for i, row in enumerate(diag.layers)]
    console.print(fitted_table(title, headers, cells, n_fixed=4, width=console.width, numeric_from=4))
    print_findings(diag.findings, console)
    for f in diag.problems:
        ev = f.evidence
        # Only with its numbers: a finding may carry another finding's verdict without the logs behind it.
        if ev.get("dominant_factor") and ev.get("log10_activation") is not None and ev.get("log10_weight") is not None:
            console.print(Text(f"  {f.kind}: the {ev['dominant_factor']} factor dominates (log10 of the product "
                               f"over the layers: activation {ev.get('log10_activation')}, weight "
                               f"{ev.get('log10_weight')})"))


@click.command("check", help="""Check a model from one batch, before training.

SPEC is FILE.py:FUNCTION. graddoctor imports only the file you name (its folder goes first on sys.path, as
`python FILE.py` would) and calls FUNCTION(), which must return (model, inputs, targets, loss_fn) or a
gd.Case (then model_fn() is built and the first batch_size rows of train are used).

Exit code: 0 healthy, 1 problems found (a warning or critical finding), 2 bad usage.""")
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print exactly Diagnosis.to_dict() as JSON.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Run the check on this device (default: where the model is).")
def command(spec: str, as_json: bool, device: str | None) -> None:
    fn = load_function(spec)
    try:
        result = fn()
    except Exception as e:
        raise user_code_failed(f"{spec}()", e) from None
    model, x, y, loss_fn = case_to_batch(result, spec)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.UsageError("--device cuda: no CUDA device is available here; use --device cpu")
    from ..errors import ModelError
    from ..probe.check import check

    try:
        diag = check(model, x, y, loss_fn, device=device)
    except ModelError as e:
        raise click.UsageError(str(e)) from None
    except Exception:
        failure = plain_failure(model, x, y, loss_fn)
        if failure is None:
            raise  # the model runs without graddoctor: this is graddoctor's failure, keep its traceback
        raise user_code_failed(f"{spec}: loss_fn(model(inputs), targets)", failure) from None
    if as_json:
        click.echo(json.dumps(diag.to_dict(), indent=2))
    else:
        print_diagnosis(diag, f"graddoctor check {spec}: per-layer statistics of one batch")
    sys.exit(0 if diag.healthy else 1)
