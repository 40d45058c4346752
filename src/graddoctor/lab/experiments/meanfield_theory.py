"""Mean-field theory of signal propagation in random tanh nets (Poole et al. 2016; Schoenholz et al. 2017).

Weights W ~ N(0, sigma_w^2 / N), biases b ~ N(0, sigma_b^2). Gaussian expectations are computed with
Gauss-Hermite quadrature (probabilists' weights; QUAD_POINTS nodes per dimension), exact to round-off for
the smooth integrands here:

* length map  q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2, fixed point q*;
* chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] – the per-layer factor of the gradient's mean square;
* correlation map  c -> (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q*, u1, u2 with correlation c; fixed
  point c* (1 in the ordered phase chi_1 < 1);
* xi_q = -1 / ln(sigma_w^2 E[phi'(u)^2 + phi(u) phi''(u)]),  xi_c = -1 / ln(sigma_w^2 E[phi'(u1) phi'(u2)] at c*).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.optimize import brentq

#: Quadrature nodes per dimension (the integrands are smooth; 101 nodes give ~1e-12 accuracy for q <~ 5).
QUAD_POINTS = 101

_Z, _W = np.polynomial.hermite_e.hermegauss(QUAD_POINTS)
_W = _W / _W.sum()


def phi(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def dphi(x: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(x) ** 2


def d2phi(x: np.ndarray) -> np.ndarray:
    t = np.tanh(x)
    return -2.0 * t * (1.0 - t ** 2)


def gauss(f, q: float) -> float:
    """E[f(sqrt(q) z)], z ~ N(0, 1)."""
    return float(np.sum(_W * f(np.sqrt(q) * _Z)))


def gauss2(f, g, q: float, c: float) -> float:
    """E[f(u1) g(u2)] with u1, u2 ~ N(0, q) of correlation c."""
    z1, z2 = _Z[:, None], _Z[None, :]
    u1 = np.sqrt(q) * z1
    u2 = np.sqrt(q) * (c * z1 + np.sqrt(max(1.0 - c * c, 0.0)) * z2)
    return float(np.sum(_W[:, None] * _W[None, :] * f(u1) * g(u2)))


def q_star(sw2: float, sb2: float) -> float:
    """Fixed point of the length map."""
    return float(brentq(lambda q: sw2 * gauss(lambda x: phi(x) ** 2, q) + sb2 - q, 1e-12, 100.0, xtol=1e-15))


def c_star(sw2: float, sb2: float, q: float, chi1: float) -> float:
    """Stable fixed point of the correlation map (1 when chi_1 <= 1)."""
    if chi1 <= 1.0:
        return 1.0
    f = lambda c: (sw2 * gauss2(phi, phi, q, c) + sb2) / q - c  # noqa: E731
    hi = 1.0 - 1e-9
    if f(hi) >= 0.0:  # chi_1 so close to 1 that the non-trivial fixed point is within 1e-9 of 1
        return 1.0
    return float(brentq(f, 0.0, hi, xtol=1e-14))


@functools.lru_cache(maxsize=4096)
def theory(sw2: float, sb2: float) -> dict[str, float]:
    """q*, chi_1, c*, xi_q and xi_c for tanh at (sigma_w^2, sigma_b^2)."""
    q = q_star(sw2, sb2)
    chi1 = sw2 * gauss(lambda x: dphi(x) ** 2, q)
    c = c_star(sw2, sb2, q, chi1)
    chi_q = sw2 * gauss(lambda x: dphi(x) ** 2 + phi(x) * d2phi(x), q)
    chi_c = chi1 if c == 1.0 else sw2 * gauss2(dphi, dphi, q, c)
    xi_c = -1.0 / np.log(chi_c) if chi_c != 1.0 else float("inf")
    return {"q*": q, "chi_1": chi1, "c*": c, "xi_q": float(-1.0 / np.log(chi_q)), "xi_c": float(xi_c)}


def critical_sigma_w2(sb2: float) -> float:
    """The sigma_w^2 where chi_1 = 1 (the edge of chaos) at this sigma_b^2."""
    def chi1(sw2: float) -> float:
        return sw2 * gauss(lambda x: dphi(x) ** 2, q_star(sw2, sb2)) - 1.0

    return float(brentq(chi1, 1.0, 4.0, xtol=1e-12))


def critical_line_point(q: float) -> tuple[float, float]:
    """The (sigma_w^2, sigma_b^2) on the critical line chi_1 = 1 whose fixed point is q* = q."""
    sw2 = 1.0 / gauss(lambda x: dphi(x) ** 2, q)
    return float(sw2), float(q - sw2 * gauss(lambda x: phi(x) ** 2, q))
