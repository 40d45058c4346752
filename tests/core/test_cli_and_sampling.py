"""The CLI entry point, and the sampled hot-path statistics on outputs larger than the sample."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.stats.tensor_stats import activation_sample_stats, output_sums


def test_cli_help_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "graddoctor.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for verb in ("check", "report", "live", "lab", "demo"):
        assert verb in out.stdout
    ver = subprocess.run([sys.executable, "-m", "graddoctor.cli", "--version"], capture_output=True, text=True)
    assert ver.returncode == 0 and gd.__version__ in ver.stdout


def test_output_sums_exact_and_nonfinite_indicator() -> None:
    t = torch.randn(300, 700, dtype=torch.float64)
    s = output_sums(t).double()
    assert s[0].item() == pytest.approx(t.sum().item(), rel=1e-4, abs=1e-2)
    assert s[1].item() == pytest.approx((t * t).sum().item(), rel=1e-5)
    assert s[2].item() == 0
    t[123, 456] = float("nan")
    assert output_sums(t)[2].item() == 1
    t[123, 456] = float("-inf")
    assert output_sums(t)[2].item() == 1


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "relu"])
def test_sampled_activation_statistics_estimate_the_exact_ones(kind: str) -> None:
    torch.manual_seed(0)
    z = torch.randn(256, 512) * 3
    a = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[kind](z)
    vals, n, units = activation_sample_stats(kind, a, None, -1, sample=4096)
    v = vals.double().numpy()
    assert 3500 < n <= 4096  # the stride is made coprime with the feature count
    assert v[0] / n == pytest.approx(a.mean().item(), abs=0.03)
    zz = z.double().requires_grad_(True)
    (d,) = torch.autograd.grad({"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[kind](zz).sum(), zz)
    assert v[4] / n == pytest.approx(d.mean().item(), abs=0.03)
    if kind != "relu":
        dmax = 0.25 if kind == "sigmoid" else 1.0
        assert v[3] / n == pytest.approx((d < 0.01 * dmax).double().mean().item(), abs=0.03)
    else:
        assert units == 512
        assert v[5] == (a == 0).all(dim=0).sum().item()  # dead units: exact, over the whole output
    lo, hi = np.quantile(a.numpy(), [0.02, 0.98])
    assert v[6] == pytest.approx(lo, abs=0.05 * (hi - lo))
    assert v[7] == pytest.approx(hi, abs=0.05 * (hi - lo))


def test_detail_every_one_takes_details_every_step() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for detail_every, expect in ((1, [True] * 4), (2, [True, False, True, False])):
        with gd.watch(model, opt, detail_every=detail_every) as run:
            for _ in range(4):
                model(torch.randn(3, 4)).sum().backward()
                opt.step()
                opt.zero_grad()
        got = (~np.isnan(run.data.stat("act_saturated")[0])).tolist()
        assert got == expect


def test_sample_covers_every_feature_and_percentiles_bracket_the_mean() -> None:
    """Regression: a stride sharing a factor with the feature count sampled only a few features."""
    torch.manual_seed(0)
    # 32 features with very different means; a stride of 2 (then 16) would see features 0 and 16 only
    a = torch.sigmoid(torch.randn(256, 32) + torch.linspace(-4, 4, 32))
    vals, n, _ = activation_sample_stats("sigmoid", a, None, -1, sample=4096)
    v = vals.double().numpy()
    assert v[0] / n == pytest.approx(a.mean().item(), abs=0.01)
    lo, hi = np.quantile(a.numpy(), [0.02, 0.98])
    assert v[6] == pytest.approx(lo, abs=0.03) and v[7] == pytest.approx(hi, abs=0.03)
    assert v[6] < a.mean().item() < v[7]
