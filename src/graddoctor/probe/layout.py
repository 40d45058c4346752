"""Column layout of the on-device statistics buffer, and turning raw sums into statistics on the host.

The buffer holds *additive* quantities only (sums, sums of squares, counts), so that micro-batches,
repeated calls of a module and, under torch.distributed, ranks can be combined by summation before the
statistics are derived once per flush.
"""
from __future__ import annotations

import numpy as np

GROUPS: dict[str, tuple[str, ...]] = {
    "param": ("w_grad_sq", "b_grad_sq", "w_sq", "grad_nonfinite", "has_grad", "w_has_grad"),
    "upd": ("upd_sq", "upd_ref_sq", "w_sq_est"),
    "sig": ("sig_sq", "sig_n"),
    "insig": ("in_sq", "in_n"),
    "out": ("o_sum", "o_n", "o_nonfinite"),
    "out2": ("o_sumsq", "o_n2"),  # detail steps only
    "act": ("a_sum", "a_sumsq", "a_nonfinite", "sat", "deriv", "dead", "p_lo", "p_hi", "a_n", "units", "calls"),
}
#: How many leading columns of each group hooks compute on the device; the rest are counts known on the host
#: (element numbers, calls), added to the buffer row once per step.
DEVICE_WIDTH: dict[str, int] = {"param": 6, "upd": 3, "sig": 1, "insig": 1, "out": 1, "out2": 1, "act": 8}
#: Groups whose hooks push norms; their squares are what is summed (sums of squares are additive).
SQUARED: frozenset[str] = frozenset({"sig", "insig", "out2"})
COLUMNS: tuple[str, ...] = tuple(c for cols in GROUPS.values() for c in cols)
COL: dict[str, int] = {c: i for i, c in enumerate(COLUMNS)}
SPAN: dict[str, tuple[int, int]] = {}
_start = 0
for _g, _cols in GROUPS.items():
    SPAN[_g] = (_start, _start + len(_cols))
    _start += len(_cols)
K = len(COLUMNS)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def derive(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics (see store.run_data.LAYER_STATS) from raw sums of shape (steps, layers, K)."""
    c = {name: raw[..., i] for name, i in COL.items()}
    has_grad = c["has_grad"] > 0
    nan = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        # a layer whose only parameter with a gradient is a bias has no weight gradient (NaN, not 0)
        wg = np.where(c["w_has_grad"] > 0, np.sqrt(c["w_grad_sq"]), nan)
        # exact when a subclass filled w_sq; otherwise the estimate from the update sample
        wn = np.sqrt(np.where(c["w_sq"] > 0, c["w_sq"], c["w_sq_est"]))
        out = {
            "weight_grad_norm": wg,
            # NaN for a layer without a bias with a gradient (has_grad - w_has_grad counts the biases present)
            "bias_grad_norm": np.where(c["has_grad"] - c["w_has_grad"] > 0, np.sqrt(c["b_grad_sq"]), nan),
            "weight_norm": np.where(wn > 0, wn, nan),
            "grad_ratio": _div(wg, wn),
            "update_ratio": _div(np.sqrt(c["upd_sq"]), np.sqrt(c["upd_ref_sq"])),
            "signal_norm": np.where(c["sig_n"] > 0, np.sqrt(c["sig_sq"]), nan),
            "signal_rms": np.sqrt(_div(c["sig_sq"], c["sig_n"])),
            "in_signal_norm": np.where(c["in_n"] > 0, np.sqrt(c["in_sq"]), nan),
            "out_mean": _div(c["o_sum"], c["o_n"]),
            "out_rms": np.sqrt(_div(c["o_sumsq"], c["o_n2"])),
            # a NaN/Inf anywhere in an output makes its sum non-finite (+Inf and -Inf entries: NaN), and sums are
            # additive; not the sum of squares, which overflows the float32 buffer for finite |y| above ~1.8e19
            "out_nonfinite": np.where(c["o_n"] > 0, ((c["o_nonfinite"] > 0) | ~np.isfinite(c["o_sum"])
                                                     ).astype(np.float64), nan),
            "act_mean": _div(c["a_sum"], c["a_n"]),
            "act_rms": np.sqrt(_div(c["a_sumsq"], c["a_n"])),
            "act_nonfinite": _div(c["a_nonfinite"], c["a_n"]),
            "act_saturated": _div(c["sat"], c["a_n"]),
            "act_dead": _div(c["dead"], c["units"]),
            "act_deriv": _div(c["deriv"], c["a_n"]),
            "act_p02": _div(c["p_lo"], c["calls"]),
            "act_p98": _div(c["p_hi"], c["calls"]),
            "grad_nonfinite": np.where(has_grad, c["grad_nonfinite"], nan),
        }
    return {k: v.astype(np.float32) for k, v in out.items()}


def step_totals(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Per-step totals over layers: total gradient norm and non-finite gradient count."""
    any_grad = (raw[..., COL["has_grad"]] > 0).any(axis=1)
    tot = np.sqrt(raw[..., COL["w_grad_sq"]].sum(axis=1) + raw[..., COL["b_grad_sq"]].sum(axis=1))
    nf = raw[..., COL["grad_nonfinite"]].sum(axis=1)
    return {"total_grad_norm": np.where(any_grad, tot, np.nan), "nonfinite_grads": np.where(any_grad, nf, np.nan)}
