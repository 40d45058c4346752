"""One training run of a recipe under :func:`graddoctor.watch`, measured: validation loss and metric, the
first layer's update speed, and the gradient health (findings) after training.

Same seed -> same numbers: the model is built right after ``torch.manual_seed(seed)``, the batch order of
tensor data comes from its own generator seeded with ``seed``, and the global RNG (dropout, a DataLoader's
shuffle) is reseeded with ``seed + DATA_SEED_OFFSET`` before training, identically for every candidate. Python's
``random`` and NumPy's global generator are seeded alongside torch's (:func:`seed_everything`): a model_fn that
draws its initial weights with ``np.random`` (code ported from NumPy) or a Dataset that augments with ``random``
built or fed each trial differently, and a rerun of the same repair gave other numbers.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from ..probe.monitor import watch
from .case import TRIAL_SEED, Case, CaseError

#: Offset between the seed used to build the model and the one used for data order and dropout.
DATA_SEED_OFFSET = 10_007
#: How often (steps) the built-in loop checks the loss for NaN/Inf; a run that has diverged stops early,
#: since every later step is NaN too.
FINITE_CHECK_EVERY = 10


@dataclass
class SeedRun:
    """What one training run measured."""

    seed: int
    loss: float
    metric: float
    first_layer_speed: float
    findings: list[Any] | None
    seconds: float
    diverged: bool = False
    model: nn.Module | None = None
    data: Any = None


def diagnose_data(data: Any) -> list[Any] | None:
    """Findings of a recorded run, or ``None`` when graddoctor's diagnosis is not available."""
    try:
        from ..diagnosis import diagnose_run
    except ImportError:
        return None
    return list(diagnose_run(data).findings)


def first_layer_speed(data: Any) -> float:
    """Median update ratio ||dW||/||W|| of the first trained layer (forward order) over the recorded steps. A
    frozen layer (``requires_grad=False``: a pretrained backbone under a fine-tuned head) has no update to
    measure, so the first layer that trains stands for the model (the first layer itself when none is marked
    as trainable)."""
    try:
        u = np.asarray(data.stat("update_ratio"), dtype=float)
    except KeyError:
        return math.nan
    if u.size == 0 or not data.layers:
        return math.nan
    layers = [i for i in range(len(data.layers)) if _trains(data.layers[i])] or list(range(len(data.layers)))
    first = min(layers, key=lambda i: (data.layers[i].order is None, data.layers[i].order or 0, i))
    row = u[first]
    row = row[np.isfinite(row)]
    return float(np.median(row)) if row.size else math.nan


def _trains(layer: Any) -> bool:
    """Whether a recorded layer has trainable parameters (its ``info["trainable"]`` count; unknown: yes)."""
    n = getattr(layer, "info", {}).get("trainable")
    return not isinstance(n, (int, float)) or n > 0


def _builtin_loop(model: nn.Module, case: Case, seed: int, run: Any, opt: torch.optim.Optimizer,
                  tick: Callable[[int], None]) -> bool:
    device = next(iter(model.parameters())).device
    model.train()
    for i, (x, y) in enumerate(case.batches(seed, device)):
        loss = case.loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.step(loss=loss)
        tick(1)
        if (i + 1) % FINITE_CHECK_EVERY == 0 and not bool(torch.isfinite(loss.detach())):
            tick(case.steps - i - 1)
            return True
    return False


def seed_everything(seed: int) -> None:
    """Seed torch's global RNG, Python's ``random`` and NumPy's global generator with ``seed``."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def run_seed(case: Case, seed: int, *, train_fn: Callable[[nn.Module, Case], Any] | None = None,
             watch_every: int = 1, keep_model: bool = False, diagnose: bool = True,
             tick: Callable[[int], None] = lambda n: None) -> SeedRun:
    """Build, train (under watch) and evaluate the recipe once with ``seed``."""
    t0 = time.time()
    seed_everything(seed)
    model = case.build_model()
    if not any(p.requires_grad for p in model.parameters()):
        raise CaseError("model_fn built a model with no trainable parameter; there is nothing to repair")
    seed_everything(seed + DATA_SEED_OFFSET)
    diverged = False
    user: dict[str, Any] = {}
    if train_fn is None:
        opt = case.make_optimizer(model.parameters())
        with watch(model, opt, every=watch_every, time_profile=True) as run:
            diverged = _builtin_loop(model, case, seed, run, opt, tick)
    else:
        with watch(model, None, every=watch_every) as run:
            handle = register_optimizer_step_post_hook(
                lambda o, a, k: run.step() if _covers(o, model) else None)
            token = TRIAL_SEED.set(seed)  # case.batches() without a seed: this seed's batch order
            try:
                out = train_fn(model, case)
            finally:
                TRIAL_SEED.reset(token)
                handle.remove()
        user = out if isinstance(out, dict) else ({"metric": float(out)} if out is not None else {})
        tick(case.steps)
    loss, metric = case.evaluate(model)
    loss, metric = float(user.get("loss", loss)), float(user.get("metric", metric))
    if not math.isfinite(metric):
        metric = -math.inf
    data = run.data
    findings = diagnose_data(data) if diagnose else None
    return SeedRun(seed, loss, metric, first_layer_speed(data), findings, time.time() - t0,
                   diverged or not math.isfinite(loss), model if keep_model else None, data)


def _covers(opt: torch.optim.Optimizer, model: nn.Module) -> bool:
    ids = {id(p) for p in model.parameters()}
    return any(id(p) in ids for g in opt.param_groups for p in g["params"])


@dataclass
class Trial:
    """A recipe (the baseline, or the baseline plus one remedy) trained once per seed.

    Attributes:
        remedy: the remedy code (``None`` for the baseline); ``variant`` holds e.g. ``"selu"``.
        metrics, losses, speeds: per seed (validation metric and loss, first-layer update speed).
        findings: findings of the first seed's run (``graddoctor.Finding``); ``None`` without the diagnosis.
        findings_by_seed: findings of every seed.
        skipped: why the remedy was not tried (it does not apply), else ``None``.
        failed: the error that stopped the remedy's training (``"ValueError: ..."``; the remedy broke the
            recipe, e.g. BatchNorm with one sample per batch), else ``None``. A failed trial never wins.
        fixes: whether the targeted findings are gone in the majority of seeds (``None``: nothing targeted).
        gain, margin: mean metric minus the baseline's, and the margin it had to beat.
        learns: whether the mean validation loss is below that of a constant output
            (``RepairResult.constant_loss``) or, for accuracy, the mean accuracy beats the best constant
            prediction's (``RepairResult.chance_metric``) by more than the margin; ``None`` when the loss
            reference is unknown. A trial that does not learn never wins.
        changes: readable descriptions of what the remedy changed.
    """

    remedy: str | None
    variant: str | None = None
    seeds: list[int] = field(default_factory=list)
    metrics: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    findings: list[Any] | None = None
    findings_by_seed: list[list[Any] | None] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None
    failed: str | None = None
    fixes: bool | None = None
    gain: float | None = None
    margin: float | None = None
    learns: bool | None = None
    changes: list[str] = field(default_factory=list)
    diverged: int = 0
    data: Any = field(default=None, repr=False)  # the first seed's RunData
    curves: list[list[float]] = field(default_factory=list)  # training loss at the recorded steps, per seed

    @property
    def metric(self) -> float:
        """Mean validation metric over the seeds (NaN when not run)."""
        return float(np.mean(self.metrics)) if self.metrics else math.nan

    @property
    def loss(self) -> float:
        """Mean validation loss over the seeds."""
        return float(np.mean(self.losses)) if self.losses else math.nan

    @property
    def spread(self) -> float:
        """Seed-to-seed spread of the metric: its standard deviation over the seeds (the +- band around the
        mean; half the range for two seeds; 0 for one seed)."""
        finite = [m for m in self.metrics if math.isfinite(m)]
        return float(np.std(finite)) if len(finite) > 1 else 0.0

    @property
    def first_layer_speed(self) -> float:
        """Median over seeds of the first layer's median update ratio ||dW||/||W||."""
        s = [v for v in self.speeds if math.isfinite(v)]
        return float(np.median(s)) if s else math.nan

    @property
    def name(self) -> str:
        """``"baseline"``, ``code`` or ``code:variant``."""
        if self.remedy is None:
            return "baseline"
        return self.remedy if self.variant is None else f"{self.remedy}:{self.variant}"

    def problems(self) -> list[Any]:
        """Warning/critical findings of the first seed."""
        return [f for f in (self.findings or []) if f.is_problem]

    def seed_problems(self) -> list[list[list[str | None]] | None]:
        """Per seed, ``[kind, axis]`` of each warning/critical finding (``None``: that seed was not diagnosed).
        The repair audit's findings (NaN in the data, an unsafe op in the fresh model) are the recipe's, so
        every seed's."""
        runs = self.findings_by_seed or ([self.findings] if self.findings is not None else [])
        recipe = [f for f in self.findings or [] if getattr(f, "detector", None) == "repair.audit"]
        return [None if fs is None else [[f.kind, f.axis] for f in [*recipe, *fs] if f.is_problem] for fs in runs]

    def add(self, r: SeedRun) -> None:
        self.seeds.append(r.seed)
        self.metrics.append(r.metric)
        self.losses.append(r.loss)
        self.speeds.append(r.first_layer_speed)
        self.findings_by_seed.append(r.findings)
        if len(self.seeds) == 1:
            self.findings, self.data = r.findings, r.data
        self.seconds += r.seconds
        loss = getattr(r.data, "step_stats", {}).get("loss")
        self.curves.append([float(v) for v in loss] if loss is not None else [])
        self.diverged += int(r.diverged)

    def to_dict(self) -> dict[str, Any]:
        from ..diagnosis.findings import _jsonable

        return _jsonable({
            # scalar columns first: tables show the first scalars they find
            "remedy": self.remedy, "name": self.name, "seeds": self.seeds, "metric": self.metric, "loss": self.loss,
            "first_layer_speed": self.first_layer_speed, "gain": self.gain, "margin": self.margin,
            "spread": self.spread, "fixes": self.fixes, "learns": self.learns, "seconds": self.seconds,
            "variant": self.variant or "", "skipped": self.skipped or "", "failed": self.failed or "", "diverged": self.diverged,
            "seed_metrics": self.metrics, "seed_losses": self.losses, "seed_speeds": self.speeds,
            "seed_problems": self.seed_problems(),
            "curves": {"train loss": self.curves}, "changes": self.changes,
            "findings": None if self.findings is None else [f.to_dict() for f in self.findings],
        })
