"""E5c – Saxe, McClelland & Ganguli 2014: products of random matrices and dynamical isometry.

Reads top to bottom:

1. Singular values of a product of d Gaussian N x N matrices (std 1/sqrt(N)): the mean squared singular
   value stays ~1 (the norm is preserved on average) while the spectrum collapses – most singular values
   become tiny and a few large (the table of published_results.md §5.3, computed there [C]). The largest
   one follows the Fuss-Catalan edge sqrt((d+1)^(d+1) / d^d) exactly as N -> infinity.
2. A product of random orthogonal matrices keeps every singular value at exactly 1 (dynamical isometry).
3. §4 of the paper: tanh nets with orthogonal weights and gain g: the input-output Jacobian collapses
   like g^L for g < 1 (ordered, vanishing) and keeps O(1) singular values at g >= 1 (critical g_c = 1).
4. Fig. 6A: learning time of deep *linear* nets (sklearn digits, 64 -> 64 -> ... -> 10, width 64) against
   depth, full-batch gradient descent with the learning rate tuned per depth: random orthogonal init learns
   in a depth-independent number of steps, scaled Gaussian init (std 1/sqrt(N)) needs more and more steps
   as depth grows (a modest gap at depth ~6, magnified at depth 30), and greedy layer-wise pretraining (each
   hidden layer trained in turn as a tied linear autoencoder of its input) brings the Gaussian init back to
   the orthogonal curve.
5. The doctor on the g = 0.9 tanh net; the remedy is the critical gain g = 1.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import data, doctor, figures
from ..base import Check, LabResult

NAME = "saxe"
TITLE = "Products of random matrices: Gaussian collapse vs orthogonal isometry"
SOURCE = "Saxe, McClelland & Ganguli 2014, Exact solutions to the nonlinear dynamics of learning in deep linear nets (ICLR), arXiv:1312.6120, Figs. 6-7"

#: Caption of each figure (file stem -> text) for the experiment's HTML page.
FIGURE_CAPTIONS = {
    "saxe_singular_values": "Left: histogram of log10 singular values of products of d Gaussian N x N matrices "
                            "(std 1/sqrt(N)); the spectrum collapses with depth while the mean s^2 stays 1 "
                            "(an orthogonal product has every value at exactly 1). Right: the input-output "
                            "Jacobian of depth-100 tanh nets with orthogonal weights at gain g (g_c = 1).",
    "saxe_learning_time": "Left: full-batch gradient-descent steps until the training MSE of a deep linear net "
                          "on the digits falls below the threshold, against depth (Fig. 6A): orthogonal init is "
                          "flat, scaled Gaussian init grows, greedy layer-wise pretraining of the Gaussian init "
                          "follows the orthogonal curve (median over seeds; dots: single seeds). Right: the "
                          "best learning rate of the per-depth grid, which falls like 1/depth as Saxe predicts.",
}

#: The [C] table of §5.3: depth -> (median s, fraction s < 0.1, max s, mean s^2) for Gaussian products.
TABLE: dict[int, tuple[float, float, float, float]] = {
    1: (0.81, 0.066, 1.99, 1.00), 2: (0.56, 0.175, 2.64, 1.01), 5: (0.19, 0.413, 3.88, 0.99),
    10: (3.2e-2, 0.598, 5.18, 1.00), 30: (3.1e-5, 0.816, 9.43, 0.94), 100: (1.8e-15, 0.933, 18.7, 1.16),
}
#: Fraction of singular values below 0.1: absolute tolerance per depth (finite N moves it by a few
#: hundredths; §5.3 proposes [0.75, 0.88] at d = 30 for N = 200, i.e. about +-0.065).
FRACTION_ABS_TOL = 0.065
#: The median, in decades, for d <= 30 (at d = 100 the median ~1e-15 is at float64 round-off, not checked).
MEDIAN_LOG10_TOL = 0.35
MEDIAN_MAX_DEPTH = 30
#: Largest singular value vs the Fuss-Catalan edge sqrt((d+1)^(d+1)/d^d): relative tolerance, checked up to
#: MAX_MAX_DEPTH only: at finite N the top singular value approaches the edge slowly and fluctuates more as d
#: grows (log s_max has variance ~ d/N), so at N = 200 it sits well below the edge for d >= 30.
MAX_REL_TOL = 0.25
MAX_MAX_DEPTH = 10
#: Mean s^2 relative tolerance for d <= 30 (its fluctuation also grows with d), around its expectation
#: MEAN_SQ_THEORY: E[s^2] = tr(W^T W)/N = 1 for every depth (each factor has E[W^T W] = I), which the table's single
#: computation scatters around (0.94-1.16).
MEAN_SQ_REL_TOL = 0.2
MEAN_SQ_THEORY = 1.0
#: Orthogonal products: every singular value within this of 1.
ORTHO_TOL = 1e-6
#: Matrix size and realisations, in (quick, full) mode.
SIZE = {True: 200, False: 500}
REALISATIONS = {True: 2, False: 4}
#: Tanh net of §4: width, depth, gains; g = 1 must keep its median singular value this many times above g < 1.
TANH_WIDTH, TANH_DEPTH, TANH_GAINS = 200, 100, (0.9, 1.0, 1.1)
CRITICAL_MARGIN = 100.0

# Learning time (Fig. 6A), published_results.md §5.3. Depth d = number of weight matrices
# (64 x 64 hidden layers, a 10 x 64 output layer): Saxe's N_l layers have N_l - 1 of them.
#: Depths in (quick, full) mode: §5.3 proposes 2-30; quick keeps the ~6 of large-scale practice and one deep net.
LT_DEPTHS = {True: (2, 6, 20), False: (2, 3, 4, 6, 8, 10, 14, 18, 22, 26, 30)}
#: Seeds (independent inits, the same one for every learning rate of a depth): as many as the random-matrix
#: realisations (REALISATIONS, or ``--seeds``); the median over seeds counts.
LT_WIDTH = 64
#: "Learned" = training MSE within this fraction of the way from the zero map's loss to the least-squares
#: optimum (L <= L* + 0.01 (L_0 - L*)). 1 % needs the leading ~20 input-output modes, tens of steps at best;
#: a looser 10 % is reached in ~6 steps at every depth, too few to resolve a difference.
LT_THRESHOLD = 0.01
#: Learning-rate grid per depth, lr = c / d with c log-spaced by sqrt(2) (Saxe: the optimal rate scales as
#: 1/N_l; he tuned 20 rates per depth). The best c in a first wide scan (lr = 2^-12 ... 2^4 at every depth)
#: was 2.5-8 at every depth and for both inits.
LT_LR_CONSTANTS = tuple(2.0 ** (k / 2) for k in range(1, 9))   # 1.41 ... 16
#: Steps before a run counts as not learned (counted as this many; the series says so).
LT_BUDGET = 4000
#: A learning rate whose loss exceeds this multiple of the zero map's loss (or is not finite) has diverged.
LT_DIVERGED = 100.0
#: Checks (Fig. 6A is a plot, so these are directions, not published numbers):
#: - orthogonal: "depth-independent": max/min of the step counts over the depths. One step of the lr grid
#:   (sqrt 2 = 1.41) can move a count by up to ~1.4x, so 1.5 allows grid resolution, not a trend.
LT_ORTHO_SPREAD = 1.5
#: - Gaussian at the largest depth needs at least this many times orthogonal's steps ("magnified at larger
#:   depths"); 2.5 is well above the 1.5 that grid resolution and seed noise can produce on their own.
LT_GAP_MIN = 2.5
#: - Gaussian's steps grow with depth: largest depth / depth 2, at least this (same margin argument).
LT_GROWTH_MIN = 2.5
#: - "modest for the depths of around 6": the Gaussian/orthogonal gap at depth 6 is at most this, and smaller
#:   than at the largest depth.
LT_MODEST_DEPTH, LT_MODEST_MAX = 6, 2.5
#: Greedy layer-wise pretraining (Fig. 6A's third curve): each hidden 64 x 64 layer of the scaled Gaussian init,
#: in order, is trained as a tied linear autoencoder of its own input, E||h - W^T W h||^2, by full-batch GD on
#: the input's second moments, PT_STEPS steps at lr PT_LR / (largest eigenvalue of the input covariance)
#: (0.4 diverged, 0.2 is stable); the output layer keeps its Gaussian init, as in supervised fine-tuning.
#: 4,000 steps converge the leading ~40 of the 61 input modes (the product of 29 pretrained layers has
#: singular values 1.0000 there); the weakest modes (variance down to 3e-7) are left part-way, as a finite
#: pretraining leaves them. With 1,000 steps the curve rose 1.47x from depth 2 to 30, with 4,000 1.29x.
PT_STEPS, PT_LR = 4000, 0.2
#: - pretrained: "indistinguishable" from the orthogonal curve: at most this many times the orthogonal steps at
#:   every depth (one step of the sqrt 2 grid plus seed noise; the Gaussian init is 5-6x at depth 30), and
#:   at the largest depth the Gaussian init without pretraining needs at least LT_GAP_MIN times its steps.
LT_PRETRAINED_MAX = 1.5


def orthogonal(n: int, g: torch.Generator) -> torch.Tensor:
    """A Haar-random orthogonal matrix (QR of a Gaussian with the sign fix)."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def product_singular_values(n: int, depths: list[int], kind: str, seed: int) -> dict[int, np.ndarray]:
    """Singular values of W_d ... W_1 at each depth in ``depths`` (one chain of products), float64."""
    g = torch.Generator().manual_seed(seed)
    prod, out = torch.eye(n, dtype=torch.float64), {}
    for d in range(1, max(depths) + 1):
        w = orthogonal(n, g) if kind == "orthogonal" else torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
        prod = w @ prod
        if d in depths:
            out[d] = torch.linalg.svdvals(prod).numpy()
    return out


def fuss_catalan_edge(d: int) -> float:
    """The N -> infinity largest singular value of a product of d Gaussian matrices: sqrt((d+1)^(d+1)/d^d)."""
    return float(np.exp(0.5 * ((d + 1) * np.log(d + 1) - d * np.log(d))))


def sv_statistics(n: int, realisations: int) -> dict[int, dict[str, float]]:
    """The §5.3 statistics of Gaussian products, pooled over ``realisations`` independent chains."""
    pooled: dict[int, list[np.ndarray]] = {d: [] for d in TABLE}
    for r in range(realisations):
        for d, s in product_singular_values(n, list(TABLE), "gaussian", seed=r).items():
            pooled[d].append(s)
    stats = {}
    for d, parts in pooled.items():
        s = np.concatenate(parts)
        stats[d] = {"median": float(np.median(s)), "frac_below_0.1": float(np.mean(s < 0.1)),
                    "max": float(np.mean([p.max() for p in parts])), "mean_sq": float(np.mean(s ** 2))}
    return stats


def tanh_net(width: int, depth: int, gain: float, seed: int) -> nn.Sequential:
    """x_{l+1} = g W_l tanh(x_l) with W_l random orthogonal (Saxe §4), as Linear(no bias) + Tanh layers."""
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for _ in range(depth):
        lin = nn.Linear(width, width, bias=False)
        with torch.no_grad():
            lin.weight.copy_(gain * orthogonal(width, g).float())
        layers += [nn.Tanh(), lin]
    return nn.Sequential(*layers)


def jacobian_singular_values(gain: float, seed: int = 0) -> np.ndarray:
    """Singular values of the input-output Jacobian of the tanh net at a random unit-variance input."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(TANH_WIDTH, generator=g, dtype=torch.float64)
    jac = torch.eye(TANH_WIDTH, dtype=torch.float64)
    for _ in range(TANH_DEPTH):
        w = gain * orthogonal(TANH_WIDTH, g)
        jac = w @ (jac * (1 - torch.tanh(x) ** 2)[:, None])
        x = w @ torch.tanh(x)
    return torch.linalg.svdvals(jac).numpy()


def gaussian_checks(stats: dict[int, dict[str, float]]) -> list[Check]:
    checks = []
    for d, (med, frac, mx, msq) in TABLE.items():
        s = stats[d]
        checks.append(Check(f"d={d} fraction of s < 0.1", frac, s["frac_below_0.1"], f"+-{FRACTION_ABS_TOL}",
                            abs(s["frac_below_0.1"] - frac) <= FRACTION_ABS_TOL))
        if d <= MEDIAN_MAX_DEPTH:
            ok = abs(np.log10(s["median"]) - np.log10(med)) <= MEDIAN_LOG10_TOL
            checks.append(Check(f"d={d} median s", med, s["median"], f"+-{MEDIAN_LOG10_TOL} decades", bool(ok)))
            # the band is around E[s^2] = 1 (the norm preserved on average), so that is the number shown beside
            # it; the table's single computation (0.94 at d = 30) goes in the note, not in the published column
            checks.append(Check(f"d={d} mean s^2 (norm preserved on average)", MEAN_SQ_THEORY, s["mean_sq"],
                                f"+-{MEAN_SQ_REL_TOL:.0%}",
                                abs(s["mean_sq"] - MEAN_SQ_THEORY) <= MEAN_SQ_REL_TOL * MEAN_SQ_THEORY,
                                note=f"the table of published_results.md §5.3: {msq:g}"))
        edge = fuss_catalan_edge(d)
        if d <= MAX_MAX_DEPTH:
            checks.append(Check(f"d={d} max s (table {mx}; Fuss-Catalan edge)", round(edge, 3), s["max"],
                                f"+-{MAX_REL_TOL:.0%}", abs(s["max"] - edge) <= MAX_REL_TOL * edge))
    return checks


class LinearProblem:
    """Least squares on sklearn digits (inputs and one-hot targets centred, inputs scaled to E||x||^2 = 1;
    the nets have no biases), through its second moments.

    The training MSE of a linear net (squared error summed over the 10 outputs, mean over the 1,797 digits)
    depends on the data only through Sxx = X^T X / n, Syx = Y^T X / n and tr Syy:
    MSE(P) = tr(P Sxx P^T) - 2 tr(P Syx^T) + tr Syy for the end-to-end map P = W_d ... W_1. Gradient descent
    on that expression is exactly full-batch gradient descent on the digits, ~30x cheaper per step.
    """

    def __init__(self) -> None:
        x, y = data.digits()
        xd = x.double() - x.double().mean(0)
        yd = F.one_hot(y, data.N_CLASSES).double()
        yd = yd - yd.mean(0)
        xd = xd / xd.pow(2).sum(1).mean().sqrt()
        n = len(xd)
        self.x, self.y = xd, yd
        self.sxx, self.syx, self.syy = xd.T @ xd / n, yd.T @ xd / n, float(yd.pow(2).sum(1).mean())
        best = (torch.linalg.pinv(xd) @ yd).T          # the least-squares optimum (rank-deficient inputs)
        self.optimum = float(self.mse(best))
        self.zero = self.syy                           # the loss of the zero map
        self.threshold = self.optimum + LT_THRESHOLD * (self.zero - self.optimum)

    def mse(self, p: torch.Tensor) -> torch.Tensor:
        """Training MSE of end-to-end maps ``p`` (10 x 64, or a batch G x 10 x 64 -> G values)."""
        sxx, syx = self.sxx.to(p.dtype), self.syx.to(p.dtype)
        return ((p @ sxx) * p).sum((-2, -1)) - 2 * (p * syx).sum((-2, -1)) + self.syy


def linear_init(depth: int, kind: str, seed: int) -> list[torch.Tensor]:
    """Weights W_1 .. W_d (64 x 64, the last 10 x 64): random orthogonal (the last = 10 rows of one) or
    scaled Gaussian with std 1/sqrt(64) (norm-preserving on average, Saxe's "scaled random")."""
    g = torch.Generator().manual_seed(seed)
    ws = []
    for layer in range(depth):
        rows = data.N_CLASSES if layer == depth - 1 else LT_WIDTH
        if kind == "orthogonal":
            ws.append(orthogonal(LT_WIDTH, g)[:rows])
        else:
            ws.append(torch.randn(rows, LT_WIDTH, generator=g, dtype=torch.float64) / LT_WIDTH ** 0.5)
    return ws


def pretrain_hidden(problem: LinearProblem, n_hidden: int, seeds: int) -> list[list[torch.Tensor]]:
    """Greedy layer-wise pretraining of the first ``n_hidden`` hidden layers of the scaled Gaussian init of
    each seed (a tied linear autoencoder per layer, see PT_STEPS), all seeds at once. Pretraining layer l
    depends only on the layers below it and :func:`linear_init` draws the hidden layers of every depth in the
    same order, so the first d - 1 layers returned here are the pretrained hidden layers of depth d."""
    if n_hidden == 0:
        return [[] for _ in range(seeds)]
    # linear_init(n_hidden + 1, ...)[:n_hidden]: every layer drawn before the (10-row) output layer
    # float32, as the fine-tuning runs (steps_to_learn); float64 doubles the time for no visible difference
    ws = torch.stack([torch.stack(linear_init(n_hidden + 1, "gaussian", s)[:n_hidden]) for s in range(seeds)]).float()
    sxx = problem.sxx.float().unsqueeze(0).repeat(seeds, 1, 1)
    out = []
    for layer in range(n_hidden):
        w = ws[:, layer].clone()
        lr = (PT_LR / torch.linalg.eigvalsh(sxx.double())[:, -1]).float()[:, None, None]
        for _ in range(PT_STEPS):
            # d/dW of tr S - 2 tr(M S) + tr(M S M), M = W^T W, S symmetric: 2 W (S M + M S - 2 S), and
            # M S = (S M)^T since both are symmetric
            sm = sxx @ (w.transpose(1, 2) @ w)
            w = w - (2 * lr) * (w @ (sm + sm.transpose(1, 2) - 2 * sxx))
        out.append(w)
        sxx = w @ sxx @ w.transpose(1, 2)   # second moments of this layer's output: the next layer's input
    return [[out[layer][s].double() for layer in range(n_hidden)] for s in range(seeds)]


def steps_to_learn(problem: LinearProblem, depth: int, kind: str, seed: int,
                   budget: int = LT_BUDGET, init: list[torch.Tensor] | None = None) -> tuple[int | None, float | None]:
    """Full-batch GD from one init with every rate of the grid at once (a batch of nets, float32):
    ``(steps, lr)`` of the first rate whose training MSE reaches the threshold, ``(None, None)`` when none
    does within ``budget`` steps. All rates move in lockstep, so the first to cross is the fastest."""
    lrs = torch.tensor([c / depth for c in LT_LR_CONSTANTS])
    ws = [w.float().unsqueeze(0).repeat(len(lrs), 1, 1).requires_grad_(True)
          for w in (init if init is not None else linear_init(depth, kind, seed))]
    step = 0
    while step <= budget:
        p = ws[-1]
        for w in reversed(ws[:-1]):
            p = p @ w
        loss = problem.mse(p)
        with torch.no_grad():
            hit = loss <= problem.threshold
            if hit.any():
                return step, float(lrs[int(torch.nonzero(hit)[0])])
            alive = torch.isfinite(loss) & (loss < LT_DIVERGED * problem.zero)
        if not alive.all():                  # drop the rates that diverged and redo this step without them
            if not alive.any():
                return None, None
            lrs = lrs[alive]
            ws = [w.detach()[alive].requires_grad_(True) for w in ws]
            continue
        if step == budget:
            break
        grads = torch.autograd.grad(loss.sum(), ws)
        with torch.no_grad():
            for w, gw in zip(ws, grads):
                w.sub_(lrs[:, None, None] * gw)
        step += 1
    return None, None


def learning_times(depths: tuple[int, ...], seeds: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Per init and depth: the steps of each seed (``None`` = not learned in LT_BUDGET), their median (not
    learned counts as LT_BUDGET), and the best learning rate of each seed."""
    problem = LinearProblem()
    out: dict[str, Any] = {"optimum_mse": problem.optimum, "zero_mse": problem.zero,
                            "threshold_mse": problem.threshold}
    say(f"greedy layer-wise pretraining: {max(depths) - 1} hidden layers, {seeds} seeds")
    pretrained = pretrain_hidden(problem, max(depths) - 1, seeds)
    for kind in ("orthogonal", "gaussian", "pretrained"):
        rows = {}
        for d in depths:
            say(f"learning time: {kind} init, depth {d}")
            runs = [steps_to_learn(problem, d, kind, seed, init=None if kind != "pretrained" else
                                   pretrained[seed][:d - 1] + linear_init(d, "gaussian", seed)[-1:])
                    for seed in range(seeds)]
            steps = [s for s, _ in runs]
            rows[d] = {"steps": steps, "lr": [lr for _, lr in runs],
                       "median": float(np.median([LT_BUDGET if s is None else s for s in steps]))}
        out[kind] = rows
    return out


def learning_checks(lt: dict[str, Any]) -> list[Check]:
    """Fig. 6A as directions: orthogonal flat in depth, Gaussian growing, the gap modest at ~6, magnified deep."""
    ortho = {d: r["median"] for d, r in lt["orthogonal"].items()}
    gauss = {d: r["median"] for d, r in lt["gaussian"].items()}
    deepest, shallowest = max(ortho), min(ortho)
    spread = max(ortho.values()) / min(ortho.values())
    gap = {d: gauss[d] / ortho[d] for d in ortho}
    growth = gauss[deepest] / gauss[shallowest]
    depths = f"depths {', '.join(str(d) for d in ortho)}"
    runs = [(d, lr) for kind in ("orthogonal", "gaussian", "pretrained") if kind in lt for d, r in lt[kind].items()
            for lr in r["lr"]]
    lo, hi = min(LT_LR_CONSTANTS), max(LT_LR_CONSTANTS)
    edge = sum(lr is not None and (math.isclose(lr * d, lo, rel_tol=1e-5) or math.isclose(lr * d, hi, rel_tol=1e-5))
               for d, lr in runs)
    checks = [
        Check(f"learning time, orthogonal init: max/min steps over {depths}", "depth-independent (Fig. 6A)",
              spread, f"<= {LT_ORTHO_SPREAD:g}", spread <= LT_ORTHO_SPREAD,
              "steps: " + ", ".join(f"d={d}: {s:g}" for d, s in ortho.items())),
        Check(f"learning time, Gaussian init: steps at depth {deepest} / depth {shallowest}",
              "grows with depth (Fig. 6A)", growth, f">= {LT_GROWTH_MIN:g}", growth >= LT_GROWTH_MIN,
              "steps: " + ", ".join(f"d={d}: {s:g}" for d, s in gauss.items())),
        Check(f"learning time at depth {deepest}: Gaussian / orthogonal steps", "gap magnified at large depth",
              gap[deepest], f">= {LT_GAP_MIN:g}", gap[deepest] >= LT_GAP_MIN,
              f"best learning rate at an edge of the grid in {edge} of {len(runs)} runs"),
    ]
    if "pretrained" in lt:
        pre = {d: r["median"] for d, r in lt["pretrained"].items()}
        ratio = {d: pre[d] / ortho[d] for d in ortho}
        worst = max(ratio, key=lambda d: ratio[d])
        rescue = gauss[deepest] / pre[deepest]
        checks += [
            Check(f"learning time, greedy layer-wise pretraining / orthogonal: largest ratio over {depths}",
                  "curves indistinguishable (Fig. 6A)", ratio[worst], f"<= {LT_PRETRAINED_MAX:g}",
                  ratio[worst] <= LT_PRETRAINED_MAX,
                  f"largest at d={worst}; pretrained steps: " + ", ".join(f"d={d}: {s:g}" for d, s in pre.items())),
            Check(f"learning time at depth {deepest}: Gaussian / Gaussian after greedy pretraining",
                  "pretraining removes the depth penalty (Fig. 6A)", rescue, f">= {LT_GAP_MIN:g}",
                  rescue >= LT_GAP_MIN),
        ]
    if LT_MODEST_DEPTH in gap:
        modest = gap[LT_MODEST_DEPTH]
        checks.append(Check(f"learning time at depth {LT_MODEST_DEPTH}: Gaussian / orthogonal steps",
                            "gap modest at depth ~6", modest, f"<= {LT_MODEST_MAX:g} and < the depth-{deepest} gap",
                            modest <= LT_MODEST_MAX and modest < gap[deepest]))
    return checks


def plot_learning_times(lt: dict[str, Any], out: Path | None, written: list[str]) -> None:
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    fig, (ax0, ax1) = figures.figure(2)
    for kind, colour in (("orthogonal", "tab:green"), ("gaussian", "tab:red"), ("pretrained", "tab:blue")):
        if kind not in lt:
            continue
        rows = lt[kind]
        depths = list(rows)
        label = "Gaussian init + greedy pretraining" if kind == "pretrained" else f"{kind} init"
        ax0.plot(depths, [rows[d]["median"] for d in depths], "o-", color=colour, label=label)
        for d in depths:
            ax0.plot([d] * len(rows[d]["steps"]), [LT_BUDGET if s is None else s for s in rows[d]["steps"]],
                     ".", color=colour, alpha=0.4)
        lrs = [float(np.median([lr for lr in rows[d]["lr"] if lr is not None] or [np.nan])) for d in depths]
        ax1.plot(depths, lrs, "o-", color=colour, label=label)
    depths = list(lt["orthogonal"])
    ax0.set(xlabel="depth (weight matrices)", ylabel="full-batch GD steps to threshold", ylim=(0, None),
            title="Learning time, deep linear nets on digits (Fig. 6A)")
    ax0.set_xticks(depths)  # the depths trained (the default ticks put depths 2.5, 7.5, ...)
    ax0.legend(fontsize=8)
    ax1.plot(depths, [4.0 / d for d in depths], "--", color="grey", label="4 / depth")
    ax1.set(xlabel="depth (weight matrices)", ylabel="best learning rate (median over seeds)", xscale="log",
            yscale="log", title="Tuned learning rate (Saxe: optimal ~ 1/depth)")
    ax1.set_xticks([d for d in (2, 4, 6, 10, 20, 30) if d <= max(depths)])
    ax1.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    for axis in (ax1.xaxis, ax1.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax1.legend(fontsize=8)
    figures.save(fig, out, "saxe_learning_time", written)


def plot(stats: dict, spectra: dict, jac: dict, out: Path | None, written: list[str]) -> None:
    fig, (ax0, ax1) = figures.figure(2)
    for d, s in spectra.items():
        ax0.hist(np.log10(np.maximum(s, 1e-18)), bins=60, histtype="step", density=True, label=f"d={d}")
    ax0.set(xlabel="log10 singular value", ylabel="density", title="Gaussian products (orthogonal: all at 0)")
    ax0.legend(fontsize=8)
    for gain, s in jac.items():
        ax1.hist(np.log10(np.maximum(s, 1e-18)), bins=60, histtype="step", density=True, label=f"g={gain}")
    ax1.set(xlabel="log10 singular value", title=f"tanh + orthogonal, depth {TANH_DEPTH}: Jacobian")
    ax1.legend(fontsize=8)
    figures.save(fig, out, "saxe_singular_values", written)


def run(quick: bool = True, seeds: int | None = None, out: Path | None = None,
        progress: Callable[[str], None] | None = None) -> LabResult:
    """Run E5c (see the module docstring). ``seeds`` overrides the number of random-matrix realisations and
    of learning-time seeds."""
    say = progress or (lambda msg: None)
    n, reps = SIZE[quick], seeds or REALISATIONS[quick]
    result = LabResult(NAME, TITLE, SOURCE, quick=quick, seeds=reps)

    say(f"Gaussian products, N={n}, {reps} realisations")
    stats = sv_statistics(n, reps)
    result.checks += gaussian_checks(stats)
    say("orthogonal products")
    ortho = product_singular_values(n, list(TABLE), "orthogonal", seed=0)
    dev = max(float(np.abs(s - 1).max()) for s in ortho.values())
    result.checks.append(Check("orthogonal products d=1..100: max |s - 1|", 0.0, dev, f"<= {ORTHO_TOL:g}",
                               dev <= ORTHO_TOL))

    say("tanh + orthogonal Jacobians")
    jac = {gain: jacobian_singular_values(gain) for gain in TANH_GAINS}
    med = {gain: float(np.median(s)) for gain, s in jac.items()}
    sub = TANH_GAINS[0]
    result.checks.append(Check(f"tanh depth {TANH_DEPTH}, g={sub}: median s (collapses like g^L)",
                               f"~{sub ** TANH_DEPTH:.1e}", med[sub], "< 1e-3", med[sub] < 1e-3))
    for gain in TANH_GAINS[1:]:
        ratio = med[gain] / med[sub]
        result.checks.append(Check(f"tanh depth {TANH_DEPTH}: median s at g={gain} / at g={sub}", "g_c = 1",
                                   ratio, f">= {CRITICAL_MARGIN:g}", ratio >= CRITICAL_MARGIN))

    depths = LT_DEPTHS[quick]
    lt = learning_times(depths, reps, say)
    result.checks += learning_checks(lt)

    say("doctor")
    net = tanh_net(TANH_WIDTH, TANH_DEPTH // 2, sub, seed=0)
    x = torch.randn(64, TANH_WIDTH, generator=torch.Generator().manual_seed(1))
    target = torch.randn(64, TANH_WIDTH, generator=torch.Generator().manual_seed(2))
    doctor.attach(result, doctor.check(net, x, target, F.mse_loss),
                  f"a {TANH_DEPTH // 2}-layer tanh net with orthogonal weights at gain {sub} (gd.check)")
    result.remedy = {f"orthogonal_init at the critical gain: median Jacobian s, g={sub} -> g=1.0":
                     [med[sub], med[1.0]],
                     f"orthogonal_init of a depth-{max(depths)} linear net: GD steps to threshold, Gaussian -> "
                     "orthogonal": [lt["gaussian"][max(depths)]["median"], lt["orthogonal"][max(depths)]["median"]]}
    spectra = {d: s for d, s in product_singular_values(n, [1, 5, 30, 100], "gaussian", seed=99).items()}
    result.series = {"gaussian_stats": stats, "fuss_catalan_edge": {d: fuss_catalan_edge(d) for d in TABLE},
                     "tanh_jacobian_median": med, "orthogonal_max_dev": dev,
                     "learning_time": lt}
    plot(stats, spectra, jac, out, result.figures)
    plot_learning_times(lt, out, result.figures)
    return result


if __name__ == "__main__":
    from ..runner import standalone

    standalone(TITLE, run)
