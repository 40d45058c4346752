"""Property-based tests of every statistic in graddoctor.stats against an independent float64 numpy reference:
random shapes (including empty ones), dtypes, scales over 60 orders of magnitude, and NaN/Inf entries.

The references below never call graddoctor: they are written from the definitions in docs/statistics.md.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graddoctor.probe.layout import COL, K, derive, step_totals
from graddoctor.stats import activations as A
from graddoctor.stats.tensor_stats import (
    PERCENTILE_SAMPLE,
    PERCENTILES,
    activation_stats,
    memory_horizon,
    nonfinite_count,
    output_stats,
    percentiles,
    sum_sq,
    time_profile,
    units_dead,
)

# CI runs a fixed sequence of examples (no flaky CI); locally each run explores new ones.
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                   derandomize=bool(os.environ.get("CI")))
F32_MAX = float(np.finfo(np.float32).max)
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


@st.composite
def tensors(draw, *, min_dims: int = 0, max_dims: int = 4, nonfinite: bool = True, dtypes=DTYPES,
            max_exp: int = 30, min_side: int = 0) -> torch.Tensor:
    """A tensor of random shape, dtype and scale, sometimes with NaN/+Inf/-Inf entries."""
    dims = draw(st.integers(min_dims, max_dims))
    shape = tuple(draw(st.lists(st.integers(min_side, 6), min_size=dims, max_size=dims)))
    dtype = draw(st.sampled_from(dtypes))
    scale = 10.0 ** draw(st.integers(-max_exp, max_exp))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["normal", "positive", "ints", "zeros"]))
    n = int(np.prod(shape)) if shape else 1
    if kind == "normal":
        v = rng.standard_normal(n) * scale
    elif kind == "positive":
        v = rng.random(n) * scale
    elif kind == "ints":
        v = rng.integers(-3, 4, n).astype(np.float64)
    else:
        v = np.zeros(n)
    if nonfinite and n and draw(st.booleans()):
        k = draw(st.integers(1, max(1, n // 3)))
        pos = rng.choice(n, size=min(k, n), replace=False)
        v[pos] = rng.choice([np.nan, np.inf, -np.inf], size=pos.size)
    return torch.tensor(v.reshape(shape), dtype=torch.float64).to(dtype)


def as64(t: torch.Tensor) -> np.ndarray:
    """The tensor's exact values in float64 (every float16/bfloat16/float32 value is exact in float64)."""
    return t.detach().to(torch.float64).numpy()


def close(got: float, ref: float, *, rtol: float, atol: float = 0.0) -> bool:
    if math.isnan(ref):
        return math.isnan(got)
    if math.isinf(ref):
        return got == ref
    return math.isfinite(got) and abs(got - ref) <= atol + rtol * abs(ref)


def f32(x: float) -> float:
    """What the exact value ``x`` becomes when rounded to float32 (inf past the range, 0 below it)."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


# ---------------------------------------------------------------------------------------------- sum_sq
@PROFILE
@given(tensors())
def test_sum_sq(t):
    x = as64(t)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = float(np.sum(x * x))
    got = sum_sq(t)
    assert got.dtype == torch.float32 and got.dim() == 0
    # float32 result: underflow below ~1e-38 and overflow past ~3e38 are expected outcomes of the dtype.
    assert close(got.item(), f32(ref), rtol=1e-4, atol=1e-36), (got.item(), ref)


@PROFILE
@given(tensors(nonfinite=False, dtypes=[torch.float32, torch.float64], max_exp=10))
def test_sum_sq_complex_and_sparse(t):
    z = torch.complex(t.to(torch.float32), (t.to(torch.float32) * 0.5))
    ref = float(np.sum(np.abs(z.numpy().astype(np.complex128)) ** 2))
    assert close(sum_sq(z).item(), f32(ref), rtol=1e-4, atol=1e-36)
    if t.dim() >= 1:
        sp = t.to_sparse()
        assert close(sum_sq(sp).item(), f32(float(np.sum(as64(t) ** 2))), rtol=1e-4, atol=1e-36)


@PROFILE
@given(tensors(nonfinite=False, dtypes=[torch.float32], max_exp=3))
def test_sum_sq_integer_tensor(t):
    i = t.round().to(torch.int64)
    assert sum_sq(i).item() == pytest.approx(float(np.sum(i.numpy().astype(np.float64) ** 2)), rel=1e-6)


# ---------------------------------------------------------------------------------------------- counts
@PROFILE
@given(tensors())
def test_nonfinite_count(t):
    ref = int(np.sum(~np.isfinite(as64(t))))
    got = nonfinite_count(t)
    assert got.dtype == torch.float32 and got.item() == ref


def test_nonfinite_count_of_integer_tensor_is_zero():
    assert nonfinite_count(torch.arange(5)).item() == 0


@PROFILE
@given(tensors(max_exp=30))
def test_output_stats(t):
    x = as64(t)
    got = output_stats(t)
    assert got.shape == (4,) and got.dtype == torch.float32
    if x.size == 0:
        assert got.tolist() == [0.0, 0.0, 0.0, 0.0]
        return
    with np.errstate(over="ignore", invalid="ignore"):
        ref_sum = float(np.sum(x))
        ref_sq = float(np.sum(x * x))
        mag = float(np.sum(np.abs(x[np.isfinite(x)])))
    # the sum is accumulated in float32: allow float32 rounding relative to the sum of magnitudes
    if math.isfinite(ref_sum) and f32(mag) < F32_MAX:
        assert close(got[0].item(), ref_sum, rtol=0, atol=1e-5 * mag + 1e-37)
    elif not math.isfinite(ref_sum):
        assert close(got[0].item(), ref_sum, rtol=0)
    assert close(got[1].item(), f32(ref_sq), rtol=1e-4, atol=1e-36)
    assert got[2].item() == int(np.sum(~np.isfinite(x)))
    assert got[3].item() == x.size


# ---------------------------------------------------------------------------------------------- units_dead
@st.composite
def relu_outputs(draw):
    t = draw(tensors(min_dims=1, max_dims=4, nonfinite=False, min_side=1, dtypes=[torch.float32, torch.float16]))
    mask_seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(mask_seed)
    t = torch.relu(t)
    if t.dim() >= 1 and draw(st.booleans()):  # kill some units outright
        dead = torch.tensor(rng.random(t.shape[-1]) < 0.5)
        t = t * (~dead).to(t.dtype)
    return t


def ref_dead(x: np.ndarray, unit_dim: int) -> tuple[int, int]:
    if x.ndim == 0:
        return int(x == 0), 1
    if x.ndim >= 3 and unit_dim == 1:
        per_unit = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    else:
        per_unit = x.reshape(-1, x.shape[-1]).T
    alive = [(row != 0).any() for row in per_unit]
    return len(alive) - int(sum(alive)), len(alive)


@PROFILE
@given(relu_outputs(), st.sampled_from([-1, 1]))
def test_units_dead(a, unit_dim):
    dead, units = units_dead(a, unit_dim)
    assert (int(dead.item()), units) == ref_dead(as64(a), unit_dim)


# ---------------------------------------------------------------------------------------------- percentiles
@PROFILE
@given(tensors(max_exp=20), st.sampled_from([PERCENTILE_SAMPLE, 7, 100]))
def test_percentiles(t, sample):
    got = percentiles(t, PERCENTILES, sample)
    x = as64(t).reshape(-1)
    if x.size == 0:
        assert torch.isnan(got).all()
        return
    stride = max(1, x.size // sample)
    sub = x[::stride].astype(np.float32).astype(np.float64)
    sub = np.nan_to_num(sub[~np.isnan(sub)], posinf=F32_MAX, neginf=-F32_MAX)  # NaN left out, Inf clamped
    if sub.size == 0:
        assert torch.isnan(got).all()
        return
    ref = np.quantile(sub, PERCENTILES, method="linear")
    spread = float(np.max(sub) - np.min(sub)) if sub.size else 0.0
    for g, r in zip(got.tolist(), ref):
        assert math.isfinite(g)
        assert abs(g - r) <= 1e-5 * max(abs(r), spread) + 1e-37, (g, r)


# ---------------------------------------------------------------------------------------------- activations
KINDS = {  # kind -> (module, derivative from the output in float64, saturation threshold on that derivative)
    "sigmoid": (torch.nn.Sigmoid(), lambda a: a * (1 - a), 0.25),
    "tanh": (torch.nn.Tanh(), lambda a: 1 - a * a, 1.0),
    "softsign": (torch.nn.Softsign(), lambda a: (1 - np.abs(a)) ** 2, 1.0),
    "relu": (torch.nn.ReLU(), lambda a: (a > 0).astype(float), None),
    "relu6": (torch.nn.ReLU6(), lambda a: ((a > 0) & (a < 6)).astype(float), None),
    "hardtanh": (torch.nn.Hardtanh(-2.0, 3.0), lambda a: ((a > -2) & (a < 3)).astype(float), None),
    "leaky_relu": (torch.nn.LeakyReLU(0.2), lambda a: np.where(a > 0, 1.0, 0.2), None),
    "elu": (torch.nn.ELU(0.7), lambda a: np.where(a > 0, 1.0, a + 0.7), None),
    "gelu": (torch.nn.GELU(), None, None),
}


def ref_saturated(kind: str, a: np.ndarray) -> np.ndarray | None:
    if kind in ("sigmoid", "tanh", "softsign"):
        _, deriv, peak = KINDS[kind]
        return deriv(a) < 0.01 * peak
    if kind == "relu6":
        return a >= 6
    if kind == "hardtanh":
        return (a <= -2) | (a >= 3)
    return None


@PROFILE
@given(tensors(min_dims=1, max_dims=4, nonfinite=False, min_side=1, dtypes=[torch.float32, torch.float64],
               max_exp=2), st.sampled_from(sorted(KINDS)))
def test_activation_stats(z, kind):
    module, deriv, _ = KINDS[kind]
    a = module(z)
    x = as64(a)
    got = activation_stats(kind, a, module, -1).tolist()
    sat_count, deriv_sum, dead, units, p_lo, p_hi, n = got
    assert n == x.size
    sat = ref_saturated(kind, x)
    if sat is None:
        assert math.isnan(sat_count)
    else:
        # float32 vs float64 evaluation can disagree only for values right at the threshold
        if kind in ("sigmoid", "tanh", "softsign"):
            _, d, peak = KINDS[kind]
            borderline = int(np.sum(np.abs(d(x) - 0.01 * peak) < 1e-4 * peak))
        else:
            borderline = 0
        assert abs(sat_count - int(sat.sum())) <= borderline
    if deriv is None:
        assert math.isnan(deriv_sum)
    else:
        ref = float(np.sum(deriv(x)))
        assert abs(deriv_sum - ref) <= 1e-4 * x.size + 1e-5 * abs(ref)
    if kind in A.DEAD_CAPABLE:
        assert (int(dead), int(units)) == ref_dead(x, -1)
    else:
        assert math.isnan(dead) and math.isnan(units)
    ref_p = percentiles(a)
    assert [p_lo, p_hi] == ref_p.tolist()


def test_activation_stats_of_empty_output():
    got = activation_stats("sigmoid", torch.zeros(0, 3))
    assert got[-1].item() == 0 and torch.isnan(got[:-1]).all()


@PROFILE
@given(st.floats(-50, 50, allow_nan=False))
def test_sigmoid_saturation_matches_input_cutoff(z):
    """Independent of the output formula: sigma'(z) < 0.0025 exactly when |z| > 5.99 (approximately)."""
    a = torch.sigmoid(torch.tensor([z], dtype=torch.float64))
    mask = A.saturated_mask("sigmoid", a)
    s = 1 / (1 + math.exp(-z))
    true = s * (1 - s) < 0.0025
    assume(abs(s * (1 - s) - 0.0025) > 1e-9)
    assert bool(mask.item()) == true


# ---------------------------------------------------------------------------------------------- time axis
@PROFILE
@given(tensors(min_dims=1, max_dims=4, min_side=1, max_exp=15), st.data())
def test_time_profile(g, data):
    tdim = data.draw(st.integers(0, g.dim() - 1))
    got = time_profile(g, tdim)
    x = as64(g)
    with np.errstate(over="ignore", invalid="ignore"):
        other = tuple(d for d in range(x.ndim) if d != tdim)
        ref = np.sum(x * x, axis=other) if other else x * x
    assert got.shape == (x.shape[tdim],)
    for gv, rv in zip(got.tolist(), np.atleast_1d(ref)):
        assert close(gv, f32(float(rv)), rtol=1e-4, atol=1e-36)


@PROFILE
@given(st.lists(st.one_of(st.floats(0, 1e6), st.just(float("nan"))), min_size=0, max_size=40),
       st.sampled_from([1e-3, 0.1, 0.5]))
def test_memory_horizon(profile, factor):
    got = memory_horizon(profile, factor)
    v = np.asarray(profile, dtype=float)
    if v.size == 0 or not np.isfinite(v[-1]) or v[-1] <= 0:
        assert got is None
        return
    back = v[::-1]  # distance from the loss
    below = [d for d in range(1, v.size) if back[d] < factor * v[-1]]
    assert got == (below[0] if below else None)


# ---------------------------------------------------------------------------------------------- derive()
@PROFILE
@given(st.lists(tensors(min_dims=1, max_dims=3, min_side=1, dtypes=[torch.float32], max_exp=5),
                min_size=1, max_size=4))
def test_derived_output_statistics_are_those_of_all_calls_together(calls):
    """A module called several times: additive sums folded into one row give the statistics of the union."""
    raw = np.zeros((1, 1, K))
    for t in calls:
        v = output_stats(t).double().numpy()
        with np.errstate(invalid="ignore", over="ignore"):
            for name, val in zip(("o_sum", "o_sumsq", "o_nonfinite", "o_n"), v):
                raw[0, 0, COL[name]] += val
            raw[0, 0, COL["o_n2"]] += t.numel()  # on detail steps the sum of squares is taken too
        raw[0, 0, COL["sig_sq"]] += sum_sq(t).item()
        raw[0, 0, COL["sig_n"]] += t.numel()
    allx = np.concatenate([as64(t).reshape(-1) for t in calls])
    out = derive(raw)
    fin = allx[np.isfinite(allx)]
    # out_nonfinite is an exact indicator: 1 when any call's output held a NaN/Inf
    assert out["out_nonfinite"][0, 0] == float((~np.isfinite(allx)).any())
    if fin.size == allx.size:
        assert out["out_rms"][0, 0] == pytest.approx(math.sqrt(np.mean(allx ** 2)), rel=1e-4, abs=1e-30)
        assert out["signal_norm"][0, 0] == pytest.approx(math.sqrt(np.sum(allx ** 2)), rel=1e-4, abs=1e-30)
        assert abs(out["out_mean"][0, 0] - np.mean(allx)) <= 1e-5 * np.mean(np.abs(allx)) + 1e-30
    else:
        assert not math.isfinite(out["out_rms"][0, 0])


@PROFILE
@given(st.integers(1, 5), st.integers(1, 6), st.data())
def test_derived_parameter_statistics(n_steps, n_layers, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    raw = np.zeros((n_steps, n_layers, K))
    has = rng.random((n_steps, n_layers)) < 0.7
    wg, bg, w = (rng.random((n_steps, n_layers)) * 10.0 ** rng.integers(-12, 4) for _ in range(3))
    raw[..., COL["w_grad_sq"]] = np.where(has, wg, 0)
    raw[..., COL["b_grad_sq"]] = np.where(has, bg, 0)
    raw[..., COL["w_sq"]] = w
    raw[..., COL["has_grad"]] = has
    raw[..., COL["w_has_grad"]] = has
    raw[..., COL["grad_nonfinite"]] = np.where(has, rng.integers(0, 3, (n_steps, n_layers)), 0)
    out = derive(raw)
    for s in range(n_steps):
        for li in range(n_layers):
            if has[s, li]:
                assert out["weight_grad_norm"][s, li] == pytest.approx(math.sqrt(wg[s, li]), rel=1e-6)
                assert out["grad_ratio"][s, li] == pytest.approx(math.sqrt(wg[s, li] / w[s, li]), rel=1e-5)
            else:
                assert math.isnan(out["weight_grad_norm"][s, li]) and math.isnan(out["grad_ratio"][s, li])
                assert math.isnan(out["grad_nonfinite"][s, li])
    tot = step_totals(raw)
    for s in range(n_steps):
        if has[s].any():
            ref = math.sqrt(float(np.sum(np.where(has[s], wg[s] + bg[s], 0))))
            assert tot["total_grad_norm"][s] == pytest.approx(ref, rel=1e-9)
        else:
            assert math.isnan(tot["total_grad_norm"][s])


# ---------------------------------------------------------------------------------------------- hot-path helpers
# The monitor's one-kernel statistics (watch() calls these from its hooks); same references as above.
hot = pytest.importorskip("graddoctor.stats.tensor_stats")


@PROFILE
@given(tensors())
def test_norm32_and_sum32(t):
    if not hasattr(hot, "norm32"):
        pytest.skip("norm32/sum32 not in this version")
    x = as64(t)
    with np.errstate(over="ignore", invalid="ignore"):
        ref_n = float(np.sqrt(np.sum(x * x)))
        ref_s = float(np.sum(x))
        mag = float(np.sum(np.abs(x[np.isfinite(x)])))
    n, s = hot.norm32(t), hot.sum32(t)
    assert n.dtype == s.dtype == torch.float32
    if math.isfinite(ref_n) and ref_n * ref_n >= F32_MAX:
        # Known limit (docs/robustness.md): the float32 sum of squares overflows for norms past ~1.8e19.
        assert n.item() == math.inf or close(n.item(), f32(ref_n), rtol=1e-4)
    elif math.isfinite(ref_n) and ref_n < 1e-15:
        # and its squares of entries below ~1e-19 are float32 subnormals or zero: only the order of magnitude
        assert 0 <= n.item() <= 2 * ref_n + 1e-22
    else:
        assert close(n.item(), f32(ref_n), rtol=1e-4, atol=1e-30), (n.item(), ref_n)
    if math.isfinite(ref_s) and f32(mag) < F32_MAX:
        assert close(s.item(), ref_s, rtol=0, atol=1e-5 * mag + 1e-37)
    elif not math.isfinite(ref_s):
        assert not math.isfinite(s.item())  # NaN/Inf anywhere is visible in the sum


@PROFILE
@given(tensors(max_dims=3, nonfinite=False), st.integers(1, 300), st.sampled_from([None, 1, 4, 6, 32]))
def test_strided_sample(t, n, period):
    if not hasattr(hot, "strided_sample"):
        pytest.skip("strided_sample not in this version")
    import inspect

    has_period = "period" in inspect.signature(hot.strided_sample).parameters
    got = as64(hot.strided_sample(t, n, period) if has_period else hot.strided_sample(t, n))
    flat = as64(t).reshape(-1)
    if flat.size <= n:
        np.testing.assert_array_equal(got, flat)  # small outputs: exact, every element
        return
    assert 1 <= got.size <= n  # at most n elements, a regular stride from the first
    stride = -(-flat.size // got.size) if got.size > 1 else flat.size
    candidates = [s for s in range(max(1, stride - 40), stride + 40) if flat[::s].size == got.size
                  and np.array_equal(flat[::s], got)]
    assert candidates, "not a strided sample"
    if has_period and period and period > 1 and len(set(flat.tolist())) == flat.size:
        assert any(math.gcd(s, period) == 1 for s in candidates)  # cycles through every feature


@PROFILE
@given(relu_outputs(), st.sampled_from([-1, 1]))
def test_dead_units_fast(a, unit_dim):
    if not hasattr(hot, "dead_units_fast"):
        pytest.skip("dead_units_fast not in this version")
    dead, units = hot.dead_units_fast(a, unit_dim)
    assert (int(dead.item()), units) == ref_dead(as64(a), unit_dim)


@PROFILE
@given(tensors(min_dims=1, max_dims=4, min_side=1, dtypes=[torch.float32, torch.float16], max_exp=2),
       st.sampled_from(sorted(KINDS) + [None]))
def test_activation_sample_stats(z, kind):
    """Outputs up to 6**4 elements with a 4096-element sample: exact (the sampling is tested on its own)."""
    sample = 4096
    if not hasattr(hot, "activation_sample_stats"):
        pytest.skip("activation_sample_stats not in this version")
    module = KINDS[kind][0] if kind else None
    a = module(z) if module is not None else z
    vals, n, units = hot.activation_sample_stats(kind, a, module, -1, sample)
    xs = as64(a).reshape(-1).astype(np.float32).astype(np.float64)
    assert n == xs.size
    fin = np.isfinite(xs)
    got = vals.tolist()
    assert got[2] == int((~fin).sum())
    if not fin.any():  # nothing finite: no mean, fraction or percentile (NaN, not the 0 a NaN was once taken as)
        assert all(math.isnan(v) for i, v in enumerate(got) if i not in (2, 5))
        return
    # over the finite entries, scaled by n / finite so that / n (as the monitor divides) gives their mean
    xz = xs[fin]
    scale = xs.size / xz.size
    assert abs(got[0] - scale * xz.sum()) <= 1e-5 * scale * np.abs(xz).sum() + 1e-30
    assert got[1] == pytest.approx(float(scale * (xz * xz).sum()), rel=1e-4, abs=1e-30)
    sat = ref_saturated(kind, xz) if kind else None
    if sat is None:
        assert math.isnan(got[3])
    elif kind in ("sigmoid", "tanh", "softsign"):
        _, d, peak = KINDS[kind]
        border = int(np.sum(np.abs(d(xz) - 0.01 * peak) < 1e-3 * peak))
        assert abs(got[3] - scale * int(sat.sum())) <= scale * border + 1e-3
    else:
        assert got[3] == pytest.approx(scale * int(sat.sum()), rel=1e-6)
    deriv = KINDS[kind][1] if kind else None
    if deriv is None:
        assert math.isnan(got[4])
    else:
        assert abs(got[4] - scale * float(deriv(xz).sum())) <= 2e-3 * xs.size
    if kind in A.DEAD_CAPABLE:
        assert (int(got[5]), units) == ref_dead(as64(a), -1)
    else:
        assert math.isnan(got[5]) and units == 0
    for q, g in zip(PERCENTILES, got[6:8]):
        if xs.size <= hot.PCT_SAMPLE:  # every element sorted: the nearest-rank percentile of the finite ones
            p = np.sort(xz)
            assert g == pytest.approx(p[min(p.size - 1, int(q * (p.size - 1) + 0.5))], rel=1e-6, abs=1e-30)
        else:  # a subsample: within the 10-point band around the percentile of all finite elements
            lo, hi = np.quantile(xz, max(q - 0.1, 0.0)), np.quantile(xz, min(q + 0.1, 1.0))
            assert lo - 1e-6 * abs(lo) <= g <= hi + 1e-6 * abs(hi)
