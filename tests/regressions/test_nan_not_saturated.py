"""Regression (QA): NaN activations were counted as saturated. The monitor replaced NaN/Inf entries of an
activation sample by 0 before testing the flat region, and a sigmoid at 0 has derivative 0: a layer whose
outputs had all turned NaN recorded act_saturated = 1.0 (act_deriv 0, act_mean and percentiles 0), and the
diagnosis reported a CRITICAL `saturation` finding beside the `non_finite` one. The per-entry activation
statistics now take only the finite entries (the non-finite ones are counted by act_nonfinite): a layer with
no finite entry has no saturated fraction, mean derivative, mean or percentile (NaN)."""
import math

import numpy as np
import torch
from torch import nn

import graddoctor as gd
from graddoctor.stats.activations import SATURATION_DERIV_FRACTION
from graddoctor.stats.tensor_stats import (
    activation_batch_stats,
    activation_sample,
    activation_sample_stats,
    activation_stats,
)

from . import watched_sgd


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 4) -> gd.RunData:
    return watched_sgd(model, x, y, steps=steps, detail_every=1).data


def test_nan_layers_are_not_reported_saturated():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    x, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    x[:, 0] = float("nan")  # every output of every layer is NaN
    data = _train(model, x, y)
    stats = data.layer_stats
    assert (stats["act_nonfinite"][:2] == 1).all()
    for key in ("act_saturated", "act_deriv", "act_mean", "act_rms", "act_p02", "act_p98"):
        assert np.isnan(stats[key][:2]).all(), (key, stats[key][:2])  # no value the output never took
    kinds = {f.kind for f in gd.diagnose(data, save=False).findings}
    assert "non_finite" in kinds
    assert "saturation" not in kinds, kinds


def _sigmoid_mix() -> torch.Tensor:
    """Sigmoid outputs: a third far in the flat region (|z| > 6), a third near 0, a third NaN."""
    g = torch.Generator().manual_seed(1)
    z = torch.randn(16, 30, generator=g)  # 480 entries: every one sampled and sorted
    z[:, 0::3] = z[:, 0::3].sign() * (7 + z[:, 0::3].abs())
    a = torch.sigmoid(z)
    a[:, 2::3] = float("nan")
    a[5, 1] = float("inf")  # an Inf too (not a sigmoid value, but the statistic must not count it)
    return a


def _reference(a: torch.Tensor) -> dict[str, float]:
    """Independent float64 computation over the finite entries."""
    v = a.double().numpy().reshape(-1)
    f = v[np.isfinite(v)]
    d = f * (1 - f)
    s = np.sort(f)
    return {"saturated": float(np.mean(d < SATURATION_DERIV_FRACTION * 0.25)), "deriv": float(d.mean()),
            "mean": float(f.mean()), "nonfinite": float(np.mean(~np.isfinite(v))),
            "p02": float(s[int(0.02 * (s.size - 1) + 0.5)]), "p98": float(s[int(0.98 * (s.size - 1) + 0.5)])}


def test_saturated_fraction_of_a_mix_matches_an_independent_computation():
    a = _sigmoid_mix()
    ref = _reference(a)
    assert 0.4 < ref["saturated"] < 0.6 and ref["nonfinite"] > 0.3
    # the per-layer path and the batched path of the monitor: the column sums divided by the sample size
    vals, n, _ = activation_sample_stats("sigmoid", a, nn.Sigmoid())
    x, period = activation_sample(a)
    batched = activation_batch_stats("sigmoid", x[None], torch.tensor([float("nan")]), nn.Sigmoid(), period)[0]
    for v in (vals, batched):
        v = v.double().tolist()
        assert v[3] / n == ref_approx(ref["saturated"]), v
        assert v[4] / n == ref_approx(ref["deriv"])
        assert v[0] / n == ref_approx(ref["mean"])
        assert v[2] / n == ref_approx(ref["nonfinite"])
        assert (v[6], v[7]) == (ref_approx(ref["p02"]), ref_approx(ref["p98"]))
    # the check()/functional path: its own denominator (act_n) is the finite count
    sat, deriv, _, _, _, _, n_fin = activation_stats("sigmoid", a, nn.Sigmoid()).double().tolist()
    assert sat / n_fin == ref_approx(ref["saturated"]) and deriv / n_fin == ref_approx(ref["deriv"])


def test_watched_run_records_the_saturated_fraction_of_the_finite_entries():
    """End to end through watch(): half the rows of the batch are NaN; act_saturated is the fraction of the
    finite sigmoid outputs in the flat region, computed here from the module's output."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Sigmoid(), nn.Linear(16, 2))
    with torch.no_grad():
        model[0].weight.mul_(8)  # many units in the flat region
    x = torch.randn(32, 4) * 2
    x[::2, 1] = float("nan")  # NaN rows: every unit of those rows
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
    data = _train(model, x, torch.randint(0, 2, (32,)), steps=1)
    ref = _reference(seen[0])
    assert 0.1 < ref["saturated"] < 0.9
    got = float(data.layer_stats["act_saturated"][0, 0])
    assert got == ref_approx(ref["saturated"]) and got != 1.0
    assert float(data.layer_stats["act_deriv"][0, 0]) == ref_approx(ref["deriv"])
    assert float(data.layer_stats["act_nonfinite"][0, 0]) == ref_approx(0.5)


def ref_approx(v: float):
    import pytest

    assert math.isfinite(v)
    return pytest.approx(v, rel=1e-5, abs=1e-6)
