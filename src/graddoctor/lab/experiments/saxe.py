"""E5c – Saxe, McClelland & Ganguli 2014: products of random matrices and dynamical isometry.

Reads top to bottom:

1. Singular values of a product of d Gaussian N x N matrices (std 1/sqrt(N)): the mean squared singular
   value stays ~1 (the norm is preserved on average) while the spectrum collapses – most singular values
   become tiny and a few large (the table of published_results.md §5.3, computed there [C]). The largest
   one follows the Fuss-Catalan edge sqrt((d+1)^(d+1) / d^d) exactly as N -> infinity.
2. A product of random orthogonal matrices keeps every singular value at exactly 1 (dynamical isometry).
3. §4 of the paper: tanh nets with orthogonal weights and gain g: the input-output Jacobian collapses
   like g^L for g < 1 (ordered, vanishing) and keeps O(1) singular values at g >= 1 (critical g_c = 1).
4. The doctor on the g = 0.9 tanh net; the remedy is the critical gain g = 1.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import doctor, figures
from ..base import Check, LabResult

NAME = "saxe"
TITLE = "Products of random matrices: Gaussian collapse vs orthogonal isometry"
SOURCE = "Saxe, McClelland & Ganguli 2014, Exact solutions to the nonlinear dynamics of learning in deep linear nets (ICLR), arXiv:1312.6120, Figs. 6-7"

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
#: Mean s^2 relative tolerance for d <= 30 (its fluctuation also grows with d).
MEAN_SQ_REL_TOL = 0.2
#: Orthogonal products: every singular value within this of 1.
ORTHO_TOL = 1e-6
#: Matrix size and realisations, in (quick, full) mode.
SIZE = {True: 200, False: 500}
REALISATIONS = {True: 2, False: 4}
#: Tanh net of §4: width, depth, gains; g = 1 must keep its median singular value this many times above g < 1.
TANH_WIDTH, TANH_DEPTH, TANH_GAINS = 200, 100, (0.9, 1.0, 1.1)
CRITICAL_MARGIN = 100.0


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
            checks.append(Check(f"d={d} mean s^2 (norm preserved on average)", msq, s["mean_sq"],
                                f"+-{MEAN_SQ_REL_TOL:.0%}", abs(s["mean_sq"] - 1.0) <= MEAN_SQ_REL_TOL))
        edge = fuss_catalan_edge(d)
        if d <= MAX_MAX_DEPTH:
            checks.append(Check(f"d={d} max s (table {mx}; Fuss-Catalan edge)", round(edge, 3), s["max"],
                                f"+-{MAX_REL_TOL:.0%}", abs(s["max"] - edge) <= MAX_REL_TOL * edge))
    return checks


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
    """Run E5c (see the module docstring). ``seeds`` overrides the number of random-matrix realisations."""
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

    say("doctor")
    net = tanh_net(TANH_WIDTH, TANH_DEPTH // 2, sub, seed=0)
    x = torch.randn(64, TANH_WIDTH, generator=torch.Generator().manual_seed(1))
    target = torch.randn(64, TANH_WIDTH, generator=torch.Generator().manual_seed(2))
    doctor.attach(result, doctor.check(net, x, target, F.mse_loss),
                  f"a {TANH_DEPTH // 2}-layer tanh net with orthogonal weights at gain {sub} (gd.check)")
    result.remedy = {f"orthogonal_init at the critical gain: median Jacobian s, g={sub} -> g=1.0":
                     [med[sub], med[1.0]]}
    spectra = {d: s for d, s in product_singular_values(n, [1, 5, 30, 100], "gaussian", seed=99).items()}
    result.series = {"gaussian_stats": stats, "fuss_catalan_edge": {d: fuss_catalan_edge(d) for d in TABLE},
                     "tanh_jacobian_median": med, "orthogonal_max_dev": dev}
    plot(stats, spectra, jac, out, result.figures)
    return result
