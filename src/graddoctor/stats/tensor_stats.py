"""Pure statistics of tensors. No hooks, no storage: tensors in, tensors out (on the same device).

Every function returns 0-d or 1-d float32 tensors and never synchronises with the host. Each is defined in
docs/statistics.md and tested against an independent computation in tests/test_stats.py.
"""
from __future__ import annotations

import math

import torch

from .activations import DEAD_CAPABLE, derivative_from_output, saturated_mask
from .series import memory_horizon  # noqa: F401  (re-exported; torch-free for the diagnosis)

#: How many elements of an output the percentile estimate looks at (a fixed strided subsample).
PERCENTILE_SAMPLE = 1024
#: The percentiles reported for activations (Glorot & Bengio 2010 plot the 2nd and 98th).
PERCENTILES = (0.02, 0.98)

F32 = torch.float32


def sum_sq(t: torch.Tensor) -> torch.Tensor:
    """Sum of squares of ``t`` computed in float32 (no overflow for float16 inputs)."""
    if t.is_sparse:
        t = t.coalesce().values()
    if t.is_complex():
        t = t.abs()
    if not t.is_floating_point():
        t = t.to(F32)
    if t.dtype == torch.float64:  # vector_norm refuses to narrow float64 to float32: reduce first, then cast
        n64 = torch.linalg.vector_norm(t, 2)
        return (n64 * n64).to(F32)
    n = torch.linalg.vector_norm(t, 2, dtype=F32)
    return n * n


def nonfinite_count(t: torch.Tensor) -> torch.Tensor:
    """Number of NaN/Inf entries of ``t`` as a float32 0-d tensor."""
    if not (t.is_floating_point() or t.is_complex()):
        return torch.zeros((), dtype=F32, device=t.device)
    return (~torch.isfinite(t)).sum(dtype=F32) if not t.is_complex() else (~torch.isfinite(t)).sum(dtype=F32)


def output_stats(t: torch.Tensor) -> torch.Tensor:
    """``[sum, sum of squares, non-finite count, numel]`` of a layer output (float32, additive)."""
    n = torch.tensor(float(t.numel()), dtype=F32, device=t.device)
    if t.numel() == 0:
        return torch.zeros(4, dtype=F32, device=t.device)
    return torch.stack([t.sum(dtype=F32), sum_sq(t), nonfinite_count(t), n])


def units_dead(a: torch.Tensor, unit_dim: int = -1) -> tuple[torch.Tensor, int]:
    """Count units that are exactly zero for every sample of the batch.

    A unit is one feature (the last dimension of a dense output) or one channel (dimension 1 of a conv
    output, reduced over batch and spatial positions).

    Returns:
        (number of dead units as float32 0-d tensor, number of units).
    """
    if a.dim() == 0:
        return (a == 0).to(F32), 1
    if a.dim() >= 3 and unit_dim == 1:
        alive = (a != 0).transpose(0, 1).reshape(a.shape[1], -1).any(dim=1)
    else:
        alive = (a != 0).reshape(-1, a.shape[-1]).any(dim=0)
    return (~alive).sum(dtype=F32), int(alive.numel())


def percentiles(t: torch.Tensor, qs: tuple[float, ...] = PERCENTILES, sample: int = PERCENTILE_SAMPLE) -> torch.Tensor:
    """Percentiles of ``t`` estimated on a fixed strided subsample of at most ``sample`` elements.

    NaN entries are left out (NaN when the subsample holds nothing else): a NaN has no place in the
    distribution, and counting it as 0 would report a value the output never took. +-Inf is clamped to the
    float32 range, so that one Inf does not turn every percentile infinite.
    """
    flat = t.detach().reshape(-1)
    if flat.numel() == 0:
        return torch.full((len(qs),), float("nan"), dtype=F32, device=t.device)
    stride = max(1, flat.numel() // sample)
    sub = flat[::stride].to(F32)
    sub = torch.nan_to_num(sub, nan=float("nan"))  # clamps +-Inf, keeps NaN for nanquantile to leave out
    # Interpolate in float64: between values near +-3.4e38 (clamped Inf) float32 interpolation overflows to Inf.
    q = torch.tensor(qs, dtype=torch.float64, device=t.device)
    return torch.nanquantile(sub.to(torch.float64), q).to(F32)


#: Columns of :func:`activation_stats`.
ACT_COLUMNS = ("sat_count", "deriv_sum", "dead_units", "units", "p_lo", "p_hi", "act_n")


def activation_stats(kind: str, a: torch.Tensor, module: torch.nn.Module | None = None,
                     unit_dim: int = -1) -> torch.Tensor:
    """Activation-specific additive statistics of an activation output ``a``; columns :data:`ACT_COLUMNS`.

    ``sat_count``: finite units in the flat region (NaN when ``kind`` is not saturating); ``deriv_sum``: sum of
    the derivative over the finite elements (NaN when it cannot be computed from the output); ``dead_units``/
    ``units``: see :func:`units_dead` (NaN for activations that cannot die); ``p_lo``/``p_hi``: 2nd/98th
    percentiles (:func:`percentiles`); ``act_n``: the number of *finite* elements, the denominator of the
    saturated fraction and the mean derivative (a NaN/Inf entry has no derivative and is not saturated; it is
    counted by the non-finite statistics). All-NaN outputs give ``act_n`` 0, so those fractions are undefined.
    """
    nan = torch.full((), float("nan"), dtype=F32, device=a.device)
    if a.numel() == 0:
        return torch.stack([nan, nan, nan, nan, nan, nan, torch.zeros((), dtype=F32, device=a.device)])
    x = a.detach()
    fin = torch.isfinite(x)
    xs = torch.where(fin, x, torch.zeros((), dtype=x.dtype, device=x.device))
    sat = saturated_mask(kind, xs, module)
    sat_count = (sat & fin).sum(dtype=F32) if sat is not None else nan
    d = derivative_from_output(kind, xs, module)
    deriv_sum = torch.where(fin, d, torch.zeros((), dtype=d.dtype, device=d.device)).sum(dtype=F32) \
        if d is not None else nan
    if kind in DEAD_CAPABLE:
        dead, units = units_dead(x, unit_dim)
        dead = torch.where(fin.any(), dead, nan)  # no finite entry: nothing to call dead or alive
        units_t = torch.tensor(float(units), dtype=F32, device=a.device)
    else:
        dead, units_t = nan, nan
    p = percentiles(x)
    return torch.stack([sat_count, deriv_sum, dead, units_t, p[0], p[1], fin.sum(dtype=F32)])


def time_profile(grad: torch.Tensor, time_dim: int) -> torch.Tensor:
    """Sum of squares of ``grad`` per time step (all other dimensions reduced), float32 of length T."""
    g = grad.detach()
    if g.dim() == 1:
        return (g.to(F32) ** 2)
    dims = [d for d in range(g.dim()) if d != time_dim]
    return (g.to(F32) ** 2).sum(dim=dims)


# --------------------------------------------------------------------------------------------------------------
# The hot path. watch() calls these on every recorded step (output_sums, sum_sq) or on detail steps
# (activation_sample_stats). They launch as few kernels as possible; counts (element numbers) are known on the
# host and are not computed here.

#: Elements of an activation output looked at for the per-unit statistics on detail steps (a fixed strided
#: subsample: exact when the output is smaller). Saturation fractions, mean derivatives and percentiles are
#: averages over units, so 4096 units estimate them to about +-1.6 % (1/sqrt(4096)).
ACT_SAMPLE = 4096
#: Elements sorted for the 2nd/98th percentile estimate.
PCT_SAMPLE = 512


def strided_sample(t: torch.Tensor, n: int, period: int | None = None) -> torch.Tensor:
    """A strided view of at most ``n`` elements of ``t`` (all of it when smaller), as a flat tensor.

    With ``period`` (the number of elements per sample, e.g. the features of a dense output or C*H*W of a conv
    output), the stride is made coprime with it, so the sample cycles through every feature instead of
    landing on the same few (a stride of 2 on 32 features would only ever see the even ones).
    """
    flat = t.detach().reshape(-1)
    stride = sample_stride(flat.numel(), n, period)
    return flat[::stride] if stride > 1 else flat


def sample_stride(numel: int, n: int, period: int | None = None) -> int:
    """The stride of :func:`strided_sample`: at most ``n`` of ``numel`` elements, coprime with ``period``."""
    stride = max(1, -(-numel // n))
    if stride > 1 and period and period > 1:
        while math.gcd(stride, period) != 1:
            stride += 1
    return stride


def _real(t: torch.Tensor) -> torch.Tensor:
    x = t.detach()
    if x.is_sparse:
        x = x.coalesce().values()
    if x.is_complex():
        return x.abs()
    return x if x.is_floating_point() else x.to(F32)


def norm32(t: torch.Tensor) -> torch.Tensor:
    """The L2 norm of ``t`` as float32, in one kernel (float64 reduced in float64; sparse, complex, int ok)."""
    x = _real(t)
    if x.dtype == torch.float64:
        return torch.linalg.vector_norm(x, 2).to(F32)
    return torch.linalg.vector_norm(x, 2, dtype=F32)


def sum32(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` as float32, in one kernel. Non-finite when any entry is NaN/Inf (or it overflows)."""
    x = _real(t)
    return x.sum().to(F32) if x.dtype == torch.float64 else x.sum(dtype=F32)


def output_sums(t: torch.Tensor) -> torch.Tensor:
    """``[sum, sum of squares, any non-finite (0 or 1)]`` of ``t`` in float32, with two full passes.

    A NaN or Inf anywhere in ``t`` makes the sum of squares non-finite, so the third entry is exact.
    """
    x = t.detach()
    if x.is_complex():
        x = x.abs()
    elif not x.is_floating_point():
        x = x.to(F32)
    s = x.sum(dtype=F32) if x.dtype != torch.float64 else x.sum().to(F32)
    ss = sum_sq(x)
    return torch.stack([s, ss, (~torch.isfinite(ss + s)).to(F32)])


def dead_units_fast(a: torch.Tensor, unit_dim: int = -1) -> tuple[torch.Tensor, int]:
    """Units of a ReLU/ReLU6 output (values >= 0) that are zero for every sample: max over the batch is 0.

    Same result as :func:`units_dead` for non-negative outputs, with one reduction.
    """
    if a.dim() <= 1:
        return (a.detach().reshape(-1) == 0).sum(dtype=F32), int(a.numel())
    x = a.detach()
    if x.dim() >= 3 and unit_dim == 1:
        dims = tuple(d for d in range(x.dim()) if d != 1)
        units = x.shape[1]
    else:
        dims = tuple(range(x.dim() - 1))
        units = x.shape[-1]
    return (x.amax(dim=dims) <= 0).sum(dtype=F32), int(units)


def activation_sample_stats(kind: str | None, a: torch.Tensor, module: torch.nn.Module | None = None,
                            unit_dim: int = -1, sample: int = ACT_SAMPLE) -> tuple[torch.Tensor, int, int]:
    """Statistics of an activation output on a strided sample, for the detail steps of watch().

    Returns:
        (values, n_sample, units): ``values`` = float32 ``[sum, sum of squares, non-finite count, saturated
        count, derivative sum, dead units, 2nd percentile, 98th percentile]`` where the first five are over the
        ``n_sample`` sampled elements (NaN where they do not apply to ``kind``), dead units are counted over
        the whole output (``units`` of them; NaN and 0 units when the activation cannot die).

        NaN/Inf entries are not values of the distribution: the sum, sum of squares, saturated count and
        derivative sum are taken over the *finite* sampled entries and scaled by ``n_sample / finite`` (exactly
        1 when all are finite), so that divided by ``n_sample`` (as the monitor does) they give the mean,
        saturated fraction and mean derivative of the finite entries; NaN when no entry is finite. The
        percentiles are those of the finite entries (NaN when none). The non-finite count is unscaled.
    """
    dev = a.device
    nan = torch.full((), float("nan"), dtype=F32, device=dev)
    if a.numel() == 0:
        return torch.stack([nan] * 8), 0, 0
    period = a.numel() // a.shape[0] if a.dim() >= 2 and a.shape[0] else None
    x = strided_sample(a, sample, period).to(F32)
    finite = torch.isfinite(x)
    zero = torch.zeros((), dtype=F32, device=dev)
    xs = torch.where(finite, x, zero)
    sat = saturated_mask(kind, xs, module) if kind else None
    d = derivative_from_output(kind, xs, module) if kind else None
    if kind in DEAD_CAPABLE:
        dead, units = dead_units_fast(a, unit_dim)
    else:
        dead, units = nan, 0
    lo, hi = finite_percentiles(strided_sample(x, PCT_SAMPLE, period).reshape(1, -1))[0].unbind(0)
    nonfinite = (~finite).sum(dtype=F32)
    dead = torch.where(nonfinite < x.numel(), dead, nan)  # no finite sampled entry: no dead-unit count
    means = torch.stack([
        xs.sum(), (xs * xs).sum(),
        (sat & finite).sum(dtype=F32) if sat is not None else nan,
        torch.where(finite, d, zero).sum(dtype=F32) if d is not None else nan,
    ]) * finite_scale(nonfinite, x.numel())
    vals = torch.stack([means[0], means[1], nonfinite, means[2], means[3], dead, lo, hi])
    return vals, int(x.numel()), units


def finite_scale(nonfinite: torch.Tensor, n: int) -> torch.Tensor:
    """``n / (n - nonfinite)``: what turns a sum over the finite entries of an ``n``-element sample into one
    that, divided by ``n``, is their mean; exactly 1 when all are finite. When none is, it is Inf and the sums
    it scales are 0, so their product is NaN (no mean)."""
    return torch.reciprocal(nonfinite.neg().add_(n)).mul_(n)


#: A percentile whose rank lies within this fraction of a row's end (the 2nd and 98th of PERCENTILES: 1-2 % of
#: the row) is read from a partial selection, ``torch.topk`` of the few smallest or largest entries, instead of
#: a sort of the whole row; the values are identical (the same entries at the same ranks). On this CPU two topk
#: calls over a 12 x 1024 sample took 103 us against 857 us for the sort (2026-11-23), the largest part of
#: a detail step's activation statistics.
TOPK_MAX_FRACTION = 0.25


def finite_percentiles(p: torch.Tensor, qs: tuple[float, ...] = PERCENTILES) -> torch.Tensor:
    """Per row of ``p`` (R, m), the nearest-rank ``qs`` percentiles of its *finite* entries; (R, len(qs)),
    NaN for a row without a finite entry. On the device, without a host sync: the rank, ``int(q * (count - 1)
    + 0.5)`` among the ``count`` finite ones, is computed in float64 as Python computes it (the all-finite rank
    of the former kthvalue path). A rank near either end (see TOPK_MAX_FRACTION) is read from ``topk`` of the
    row with its non-finite entries moved past that end; otherwise from the row sorted with its non-finite
    entries past the end."""
    r, m = p.shape
    fin = torch.isfinite(p)
    count = fin.sum(dim=1)
    q = torch.tensor(qs, dtype=torch.float64, device=p.device)
    idx = (count.sub(1).clamp_(min=0).to(torch.float64)[:, None] * q).add_(0.5).floor_().long()
    if m == 0:
        return torch.full((r, len(qs)), float("nan"), dtype=p.dtype, device=p.device)
    # the largest ascending rank a low percentile can have, and the largest descending position of a high one
    # (count <= m), plus a margin of one
    need = [int(x * (m - 1) + 0.5) + 2 if x <= 0.5 else int((1 - x) * (m - 1) + 0.5) + 2 for x in qs]
    if max(need) > TOPK_MAX_FRACTION * m:
        srt = p.masked_fill(~fin, float("inf")).sort(dim=1).values
        vals = srt.gather(1, idx.clamp_(max=m - 1))
    else:
        k_lo = min(m, max((k for k, x in zip(need, qs) if x <= 0.5), default=1))
        k_hi = min(m, max((k for k, x in zip(need, qs) if x > 0.5), default=1))
        small = big = None
        cols = []
        for j, x in enumerate(qs):
            if x <= 0.5:
                if small is None:
                    small = p.masked_fill(~fin, float("inf")).topk(k_lo, dim=1, largest=False).values
                cols.append(small.gather(1, idx[:, j:j + 1].clamp(max=k_lo - 1)))
            else:  # descending position of ascending rank idx among the count finite entries: count - 1 - idx
                if big is None:
                    big = p.masked_fill(~fin, float("-inf")).topk(k_hi, dim=1, largest=True).values
                pos = (count[:, None] - 1 - idx[:, j:j + 1]).clamp_(min=0, max=k_hi - 1)
                cols.append(big.gather(1, pos))
        vals = torch.cat(cols, dim=1)
    return vals.masked_fill_((count == 0)[:, None], float("nan"))


def sample_period(a: torch.Tensor) -> int | None:
    """Elements per sample of an output (features, or C*H*W): the period a strided sample must not alias."""
    return a.numel() // a.shape[0] if a.dim() >= 2 and a.shape[0] else None


def activation_sample(a: torch.Tensor, sample: int = ACT_SAMPLE) -> tuple[torch.Tensor, int | None]:
    """The strided sample of :func:`activation_sample_stats`, copied as float32 (so later in-place changes of
    the output cannot alter it), and the period it was taken with."""
    period = sample_period(a)
    return strided_sample(a, sample, period).to(F32, copy=True), period


def activation_config(kind: str | None, module: torch.nn.Module | None) -> object:
    """What, besides the kind, the saturation and derivative of an activation depend on (hashable)."""
    from .activations import hardtanh_bounds

    if kind == "hardtanh":
        return hardtanh_bounds(module)
    if kind == "leaky_relu":
        return float(getattr(module, "negative_slope", 0.01))
    if kind == "elu":
        return float(getattr(module, "alpha", 1.0))
    return None


def _count_positive(t: torch.Tensor) -> torch.Tensor:
    """Per row, how many entries of ``t`` are > 0, with arithmetic kernels only (in place on ``t``): on CPU a
    comparison plus a bool sum costs ~5x a vectorised sign + clamp + sum."""
    return t.sign_().clamp_(min=0).sum(dim=1)


def activation_batch_stats(kind: str | None, x: torch.Tensor, dead: torch.Tensor,
                           module: torch.nn.Module | None = None, period: int | None = None) -> torch.Tensor:
    """:func:`activation_sample_stats` for R outputs at once: ``x`` is (R, n), R samples of equal length
    taken with the same ``period`` from activations of the same kind and configuration; ``dead`` is (R,)
    (NaN where the activation cannot die). Returns (R, 8) in the same column order. One set of kernels for
    all R layers instead of ~20 small ones per layer; sigmoid, tanh and ReLU (the common kinds) take
    arithmetic-only paths (their derivative sums follow from the sums: sigma' = a - a^2, tanh' = 1 - a^2)."""
    from .activations import SATURATION_DERIV_FRACTION

    xs = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)  # non-finite entries as 0, then taken out below
    nonfinite = torch.sub(x, x).nan_to_num_(nan=1.0).sum(dim=1)  # x - x is NaN exactly where x is not finite
    s1 = xs.sum(dim=1)
    s2 = torch.mul(xs, xs).sum(dim=1)
    n = x.shape[1]
    nan = torch.full((x.shape[0],), float("nan"), dtype=F32, device=x.device)
    if kind == "sigmoid":  # saturated: a(1-a) < 1 % of 1/4; each non-finite entry (as 0) counts once: taken off
        sat = _count_positive(torch.mul(xs, 1 - xs).sub_(SATURATION_DERIV_FRACTION * 0.25).neg_()) - nonfinite
        dsum = s1 - s2
    elif kind == "tanh":  # saturated: 1 - a^2 < 1 % (0 is not); derivative 1 - a^2 summed over finite entries
        sat = _count_positive(torch.mul(xs, xs).sub_(1 - SATURATION_DERIV_FRACTION))
        dsum = (n - nonfinite) - s2
    elif kind == "relu":
        sat = nan
        dsum = _count_positive(xs.clone())
    else:
        fin = torch.isfinite(x)
        m_sat = saturated_mask(kind, xs, module) if kind else None
        d = derivative_from_output(kind, xs, module) if kind else None
        sat = (m_sat & fin).sum(dim=1, dtype=F32) if m_sat is not None else nan
        dsum = torch.where(fin, d, torch.zeros((), dtype=F32, device=x.device)).sum(dim=1, dtype=F32) \
            if d is not None else nan
    stride = sample_stride(n, PCT_SAMPLE, period)  # each row's percentile sample, as strided_sample takes it
    pct = finite_percentiles(x[:, ::stride] if stride > 1 else x)
    # over the finite entries, scaled so that / n gives their mean (see activation_sample_stats)
    means = torch.stack([s1, s2, sat, dsum], dim=1) * finite_scale(nonfinite, n)[:, None]
    dead = torch.where(nonfinite < n, dead, nan)  # no finite sampled entry: no dead-unit count
    return torch.stack([means[:, 0], means[:, 1], nonfinite, means[:, 2], means[:, 3], dead, pct[:, 0], pct[:, 1]],
                       dim=1)
