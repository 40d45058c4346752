"""Regressions in deriving statistics from the raw sums (probe/layout.py):

- ``out_nonfinite`` was 1 for finite outputs whose squares overflow float32 (|y| above ~1.8e19, the float32
  buffer's sum of squares is Inf): an SGD run at lr 50 had finite logits of ~1e22 at step 10 and the diagnosis
  said its first NaN/Inf appeared there, seven steps before it did. A non-finite entry makes the plain sum
  non-finite, which is what ``out_nonfinite`` now reads (with the explicit flag).
- ``bias_grad_norm`` was 0.0 for a layer without a bias (``nn.Linear(..., bias=False)``): it is NaN (not
  measured), as the weight gradient norm of a layer without a weight gradient is.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

import graddoctor as gd
from graddoctor.probe.layout import COL, K, derive


def test_huge_finite_outputs_are_not_nonfinite() -> None:
    raw = np.zeros((1, 1, K))
    raw[0, 0, COL["o_sum"]] = 3.0e22  # finite sum of a finite output
    raw[0, 0, COL["o_n"]] = 8
    raw[0, 0, COL["o_sumsq"]] = np.float32(np.inf)  # its squares overflowed the float32 buffer
    raw[0, 0, COL["o_n2"]] = 8
    assert derive(raw)["out_nonfinite"][0, 0] == 0.0
    raw[0, 0, COL["o_sum"]] = np.nan  # a NaN entry
    assert derive(raw)["out_nonfinite"][0, 0] == 1.0


def test_watched_run_with_huge_finite_logits() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        model[2].weight.mul_(1e21)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    x = torch.randn(8, 4)
    with gd.watch(model, opt, detail_every=1) as run:
        out = model(x)
        assert torch.isfinite(out).all() and out.abs().max() > 1e20
        out.sum().backward()
        opt.step()
    assert run.data.layer_stats["out_nonfinite"][1, 0] == 0.0


def test_bias_free_layer_has_no_bias_gradient_norm() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Tanh(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt) as run:
        model(torch.randn(8, 4)).pow(2).mean().backward()
        opt.step()
    b = run.data.layer_stats["bias_grad_norm"][:, 0]
    assert np.isnan(b[0]) and np.isfinite(b[1]) and b[1] > 0
    assert np.isfinite(run.data.layer_stats["weight_grad_norm"][0, 0])
