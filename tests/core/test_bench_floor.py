"""benchmarks/overhead.py compares watch() with a hand-written floor (MinimalHooks). The comparison is only fair
if the floor takes the same per-step statistics: its gradient norms, output sums and backward-signal norms must
equal what watch() records for the same training, and the benchmark must run end to end."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import graddoctor as gd

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "overhead.py"


def _overhead():
    spec = importlib.util.spec_from_file_location("gd_bench_overhead", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def test_minimal_hooks_take_the_same_statistics_as_watch() -> None:
    ov = _overhead()
    a, b = _net(), _net()
    oa = torch.optim.SGD(a.parameters(), lr=0.1)
    ob = torch.optim.SGD(b.parameters(), lr=0.1)
    floor = ov.MinimalHooks(a, oa)
    run = gd.watch(b, ob, store=None).start()
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    steps = 3
    for _ in range(steps):
        for m, o in ((a, oa), (b, ob)):
            o.zero_grad()
            nn.functional.cross_entropy(m(x), y).backward()
            o.step()
    run.stop()
    d = run.data
    layers = 3
    out_sum = floor.buf[:steps, :layers].numpy()
    # the floor's signal norms are appended in backward order (last layer first)
    sig = floor.buf[:steps, layers:2 * layers].numpy()[:, ::-1]
    n_out = np.array([16 * 8, 16 * 8, 16 * 3], dtype=np.float64)
    np.testing.assert_allclose(d.stat("out_mean").T, out_sum / n_out, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d.stat("signal_norm").T, sig, rtol=1e-5)
    gn = floor.gbuf[:steps].numpy()  # weight, bias per layer, in parameter order
    np.testing.assert_allclose(d.stat("weight_grad_norm").T, gn[:, 0::2], rtol=1e-5)
    np.testing.assert_allclose(d.stat("bias_grad_norm").T, gn[:, 1::2], rtol=1e-5)


def test_overhead_benchmark_runs_with_the_floor_rows(capsys) -> None:
    ov = _overhead()
    assert ov.main(["--rounds", "1", "--steps", "1", "--only", "mlp", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert ov.FLOOR in out and ov.FLOOR_PARAMS in out and "watch (default)" in out
