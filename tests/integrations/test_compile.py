"""torch.compile: watch() registered before compile records the same statistics as eager, and the set of
compiled graphs stops growing after the first (detail) steps: no recompilation per step."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

import graddoctor as gd

from .common import batches

STEPS = 6
#: Float tolerance between compiled and eager statistics (the "eager" backend runs the same kernels).
RTOL = 1e-5


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 3))


def _train(compiled: bool):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    graphs = []
    with gd.watch(model, opt, detail_every=2) as run:  # hooks first, then compile
        fwd = torch.compile(model, backend="eager") if compiled else model
        for x, y in batches(STEPS):
            loss = nn.functional.mse_loss(fwd(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
            graphs.append(torch._dynamo.utils.counters["stats"]["unique_graphs"])
    return run, graphs


def test_compiled_matches_eager() -> None:
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled, graphs = _train(True)
    eager, _ = _train(False)
    assert compiled.error is None
    got, want = compiled.data, eager.data
    for name, arr in want.layer_stats.items():
        np.testing.assert_allclose(got.layer_stats[name], arr, rtol=RTOL, atol=1e-7, equal_nan=True, err_msg=name)
    np.testing.assert_allclose(got.step_stats["loss"], want.step_stats["loss"], rtol=RTOL)
    # Graphs are compiled for an ordinary step and for a detail step, then reused (docs/integrations.md).
    assert graphs[2] > 0 and graphs[-1] == graphs[2], graphs
