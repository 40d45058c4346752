"""Regression: a run whose weights already held NaN when watching began (a corrupted checkpoint) was diagnosed
``non_finite_inputs``, "look for a NaN/Inf in that step's input batch", with a finite batch. The Monitor now
records which layers' parameters are non-finite at start (one sync, once per run) and the diagnosis names them,
cause ``non_finite_parameters``. A NaN batch on finite weights keeps ``non_finite_inputs``."""
import torch
from torch import nn

import graddoctor as gd


def _run(nan_weight: bool, nan_input: bool):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    if nan_weight:
        with torch.no_grad():
            m[2].weight[0, 0] = float("nan")
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    with gd.watch(m, opt) as run:
        for s in range(6):
            xb = x.clone()
            if nan_input and s == 3:
                xb[0, 0] = float("nan")
            loss = nn.functional.cross_entropy(m(xb), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    assert run.data.meta["nonfinite_parameters"] == (["2"] if nan_weight else [])
    return [f for f in run.diagnose().findings if f.kind == "non_finite"]


def test_weights_nan_from_the_start_are_named():
    f = _run(nan_weight=True, nan_input=False)
    assert f and f[0].causes[0] == "non_finite_parameters", f[0].causes
    assert "non_finite_inputs" not in f[0].causes
    assert f[0].evidence["nonfinite_parameters_at_start"] == ["2"] and "parameters of 2" in f[0].message


def test_a_nan_batch_on_finite_weights_is_still_the_input():
    f = _run(nan_weight=False, nan_input=True)
    assert f and f[0].causes == ["non_finite_inputs"] and f[0].step == 3
