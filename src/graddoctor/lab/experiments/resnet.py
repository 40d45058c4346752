"""E5b – He, Zhang, Ren & Sun 2016, Deep Residual Learning: the degradation problem and identity shortcuts.

Reads top to bottom:

1. MLPs of 6n+2 layers on MNIST-1D (offline generator; 4,000 train / 1,000 test, length-40 signals), every
   hidden layer Linear -> BatchNorm -> ReLU, grouped in 3n blocks of two layers: *plain* (no shortcut) and
   *residual* (identity shortcut around each block, added before the block's last ReLU, as in the paper's
   Fig. 2). Depths 8/20/56 (n = 1/3/9) as in the paper's CIFAR study.
2. Every net of a seed is trained with Adam on the same batches (full mode: the learning rate divided by 10
   at 50 % and 75 % of the updates, the paper's step schedule); the claim is about *training* error: the
   deeper plain net is worse than the shallower one (degradation, not overfitting), and shortcuts remove
   the gap.
3. The doctor watches the deepest plain net. It must not call its degradation a vanishing gradient: with
   BN the backward signal reaches the first layer (He et al. 2016, §4.1: "we argue that this optimization
   difficulty is unlikely to be caused by vanishing gradients"). The first-layer/last-layer gradient ratio is
   measured too.

Set-up and tolerances: published_results.md §5.2.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import watch
from .. import doctor, figures
from ..base import Check, LabResult
from ..data import N_CLASSES, mnist1d

NAME = "resnet"
TITLE = "Plain vs residual nets at depth: degradation of training error"
SOURCE = "He, Zhang, Ren & Sun 2016, Deep Residual Learning for Image Recognition (CVPR), arXiv:1512.03385, §4.1-4.2"

#: Captions of the figures on the HTML page (figure file stem -> caption).
FIGURE_CAPTIONS = {
    "resnet-fig6": "Fig. 6 of the paper in miniature: training loss of the plain (left) and residual (right) "
                   "nets with batch normalization, one curve per depth 6n+2. The deeper plain net trains worse "
                   "than the shallower one (degradation); with identity shortcuts depth no longer hurts.",
}

#: Sizes per mode (quick, full): n of the 6n+2-layer nets, width, Adam updates (batch 128), step decay.
SIZES: dict[bool, dict[str, Any]] = {True: {"ns": (1, 3), "width": 32, "steps": 400, "lr_decay": False},
         False: {"ns": (1, 3, 9), "width": 64, "steps": 4000, "lr_decay": True}}
#: Seeds per mode (quick, full): the full run compares means over 3 seeds and reports their spread.
SEEDS = {True: 1, False: 3}
BATCH, LR = 128, 1e-3
#: Full mode: the paper's step schedule (§4.2, CIFAR-10; published_results.md §5.2: lr divided by 10 at 32k
#: and 48k of 64k iterations), i.e. at 50 % and 75 % of the updates. (Its optimiser, SGD with momentum 0.9,
#: lr 0.1 and weight decay 1e-4, left the 56-layer residual MLP at 25-37 % training error here without the
#: warm-up the paper used for its deepest nets; docs/lab/resnet.md.)
LR_DECAY_AT, LR_DECAY = (0.5, 0.75), 0.1
#: "Not vanishing": the first layer's weight-gradient norm is at least this fraction of the last layer's
#: (published_results.md §5.2: "within 10x of the last layer's").
NOT_VANISHING_MIN_RATIO = 0.1
#: "Residual removes the gap": the residual net's deep-minus-shallow training-error gap is at most this
#: fraction of the plain net's gap (a relative band; the paper's residual gap is negative).
RESIDUAL_GAP_FRACTION = 0.5


class Block(nn.Module):
    """Two Linear-BN layers with a ReLU between; with ``residual`` the input is added before the last ReLU."""

    def __init__(self, width: int, residual: bool) -> None:
        super().__init__()
        self.residual = residual
        self.fc1, self.bn1 = nn.Linear(width, width, bias=False), nn.BatchNorm1d(width)
        self.fc2, self.bn2 = nn.Linear(width, width, bias=False), nn.BatchNorm1d(width)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn2(self.fc2(self.relu1(self.bn1(self.fc1(x)))))
        return self.relu2(h + x if self.residual else h)


def net(n: int, width: int, residual: bool, n_in: int, seed: int) -> nn.Sequential:
    """A 6n+2-layer MLP: Linear-BN-ReLU stem, 3n two-layer blocks, a linear classifier (PyTorch's default init)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, width, bias=False), nn.BatchNorm1d(width), nn.ReLU(),
                         *[Block(width, residual) for _ in range(3 * n)], nn.Linear(width, N_CLASSES))


def train(n: int, residual: bool, seed: int, size: dict[str, Any], x: torch.Tensor, y: torch.Tensor,
          diagnose: bool = False) -> dict[str, Any]:
    """Train one net under ``gd.watch``; returns its final training error/loss and the gradient ratio."""
    model = net(n, size["width"], residual, x.shape[1], seed)
    steps = size["steps"]
    opt = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    milestones = [int(f * steps) for f in LR_DECAY_AT] if size["lr_decay"] else []
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, LR_DECAY)
    gen = torch.Generator().manual_seed(seed)  # the same batches for every net of this seed
    stride = max(1, steps // 100)
    with watch(model, opt, every=lambda s: s < 10 or s % stride == 0) as run:
        for _ in range(steps):
            idx = torch.randint(0, len(y), (BATCH,), generator=gen)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run.step(loss=loss)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    data = run.data
    gw = data.stat("weight_grad_norm")
    linears = [i for i, layer in enumerate(data.layers) if layer.type == "Linear"]
    first_last = gw[linears[0]] / gw[linears[-1]]  # per recorded step
    return {"n": n, "depth": 6 * n + 2, "residual": residual, "seed": seed,
            "train_err": float((logits.argmax(1) != y).float().mean()), "train_loss": float(F.cross_entropy(logits, y)),
            "loss_curve": data.step_stats["loss"].tolist(), "steps": data.steps.tolist(),
            "first_last_grad": float(np.nanmedian(first_last)), "first_last_grad_init": float(first_last[0]),
            "findings": doctor.diagnose(run) if diagnose else None}


def run(quick: bool = True, seeds: int | None = None, out: Path | None = None,
        progress: Callable[[str], None] | None = None) -> LabResult:
    """Run E5b (see the module docstring). ``seeds`` overrides the number of training seeds."""
    say = progress or (lambda msg: None)
    size = SIZES[quick]
    n_seeds = seeds or SEEDS[quick]
    result = LabResult(NAME, TITLE, SOURCE, quick=quick, seeds=n_seeds)
    data = mnist1d()
    mu, sd = data.x_train.mean(), data.x_train.std()
    x, y = (data.x_train - mu) / sd, data.y_train

    ns = size["ns"]
    runs: list[dict[str, Any]] = []
    for n in ns:
        for residual in (False, True):
            for seed in range(n_seeds):
                say(f"{'residual' if residual else 'plain'}-{6 * n + 2}, seed {seed} ({size['steps']} updates)")
                t0 = time.process_time()
                diag = n == max(ns) and not residual and seed == 0
                runs.append(train(n, residual, seed, size, x, y, diagnose=diag))
                runs[-1]["cpu_seconds"] = round(time.process_time() - t0, 2)

    def per_seed(n: int, residual: bool, key: str = "train_err") -> list[float]:
        return [r[key] for r in runs if r["n"] == n and r["residual"] == residual]

    def err(n: int, residual: bool, key: str = "train_err") -> float:
        return float(np.mean(per_seed(n, residual, key)))

    lo, hi = min(ns), max(ns)
    d_lo, d_hi = 6 * lo + 2, 6 * hi + 2
    plain_gap, res_gap = err(hi, False) - err(lo, False), err(hi, True) - err(lo, True)
    result.checks += [
        Check(f"training error plain-{d_hi} vs plain-{d_lo}", "deeper plain is worse (Fig. 6 left; Table 2: "
              "plain-34 28.54 vs plain-18 27.94 top-1 val.)", [err(hi, False), err(lo, False)],
              f"plain-{d_hi} > plain-{d_lo}", plain_gap > 0),
        Check(f"training error residual-{d_hi} vs plain-{d_hi}", "residual lower (Fig. 6; ResNet-34 25.03)",
              [err(hi, True), err(hi, False)], f"residual-{d_hi} < plain-{d_hi}", err(hi, True) < err(hi, False)),
        Check(f"depth gap {d_lo}->{d_hi} in training error, residual vs plain", "reversed by shortcuts (Fig. 6)",
              [res_gap, plain_gap], f"residual gap <= {RESIDUAL_GAP_FRACTION:g} x plain gap",
              res_gap <= RESIDUAL_GAP_FRACTION * plain_gap),
    ]
    if len(ns) > 2:  # the full run: the paper's strict claim, deeper residual no worse than the mid depth
        mid = sorted(ns)[1]
        d_mid = 6 * mid + 2
        for key, what in (("train_err", "training error"), ("train_loss", "final training loss")):
            deep, shallow = err(hi, True, key), err(mid, True, key)
            result.checks.append(Check(
                f"{what} residual-{d_hi} vs residual-{d_mid} (mean of {n_seeds} seeds)",
                "deeper residual is better (Fig. 6 middle; §5.2 target: residual-56 <= residual-20)",
                [deep, shallow], f"mean residual-{d_hi} <= mean residual-{d_mid}", deep <= shallow,
                note=_spread_note(per_seed(hi, True, key), per_seed(mid, True, key), d_hi, d_mid)))
    deep_plain = next(r for r in runs if r["n"] == hi and not r["residual"] and r["seed"] == 0)
    ratio = deep_plain["first_last_grad"]
    findings = deep_plain.pop("findings")
    not_vanishing = "vanishing_gradient" not in doctor.kinds(findings)
    result.checks += [
        Check(f"plain-{d_hi} with BN: first/last layer ||dL/dW|| (median over training)",
              "not vanishing (§4.1: BN keeps the signals healthy)", ratio, f">= {NOT_VANISHING_MIN_RATIO:g}",
              ratio >= NOT_VANISHING_MIN_RATIO, note=f"at init {deep_plain['first_last_grad_init']:.3g}"),
        Check(f"doctor on plain-{d_hi}: not called vanishing_gradient", "not vanishing (§4.1)",
              sorted(doctor.kinds(findings)) if findings is not None else "(diagnosis not available)",
              "no vanishing_gradient finding", not_vanishing),
    ]
    doctor.attach(result, findings, f"the plain-{d_hi} BN net (gd.watch)")
    result.remedy = {f"add_residual: training error plain-{d_hi} -> residual-{d_hi}": [err(hi, False), err(hi, True)]}
    result.series = {"runs": runs, "train_err": {f"{'res' if r else 'plain'}-{6 * n + 2}": err(n, r)
                                                 for n in ns for r in (False, True)}}
    plot(runs, ns, out, result.figures)
    return result


def _spread_note(deep: list[float], shallow: list[float], d_hi: int, d_mid: int) -> str:
    """Per-seed values, their standard deviations, and the paired (same batches) differences deep - shallow."""
    diff = np.subtract(deep, shallow)

    def sd(v: Any) -> float:
        return float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")

    return (f"per seed {d_hi}: {', '.join(f'{v:.4g}' for v in deep)} (sd {sd(deep):.2g}); {d_mid}: "
            f"{', '.join(f'{v:.4g}' for v in shallow)} (sd {sd(shallow):.2g}); paired difference "
            f"{d_hi} - {d_mid}: {', '.join(f'{v:+.3g}' for v in diff)}, {int((diff <= 0).sum())}/{len(diff)} seeds <= 0")


def plot(runs: list[dict[str, Any]], ns: tuple[int, ...], out: Path | None, written: list[str]) -> None:
    """Fig. 6 of the paper in miniature: training loss of plain (left) and residual (right) nets by depth."""
    if out is None:
        return
    fig, axes = figures.figure(2)
    for ax, residual, title in ((axes[0], False, "plain"), (axes[1], True, "residual")):
        for n in ns:
            r = next(r for r in runs if r["n"] == n and r["residual"] == residual)
            ax.plot(r["steps"], r["loss_curve"], label=f"{6 * n + 2} layers")
        ax.set(title=f"{title} (BN): training loss", xlabel="update", ylabel="cross-entropy", yscale="log")
        ax.legend()
    figures.save(fig, out, "resnet-fig6", written)


if __name__ == "__main__":
    from ..runner import standalone

    standalone(TITLE, run)
