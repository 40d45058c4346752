"""Regression (found by the QA7 diagnosis pass, runs of very few steps): exploding_training returned nothing for
runs shorter than warmup + 2 = 5 recorded steps, so a 3- or 4-step run at SGD lr 30 whose loss went
2.3 -> 28 -> 66,378 -> 118,118 and whose gradient norm grew 0.4 -> 30 -> 7,903 -> 72,587 got no finding at all
(and a 2-step run at lr 300, whose first step moved the weights ~10x their norm, neither). Only the spike rule
needs a step past the warmup; the growth fit (three steps), the oversized step and the grown weights now apply
to short runs too, and the growth message says over how many recorded steps it was measured instead of
"over the last 10 steps"."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.diagnosis.context import Context
from graddoctor.diagnosis.detectors.exploding_training import ExplodingTraining
from graddoctor.store.run_data import LAYER_STATS, LayerInfo


def _run(steps: int, lr: float) -> gd.Monitor:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(32, 64, generator=g), torch.randint(0, 10, (32,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with gd.watch(model, opt, store=None) as run:
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def test_a_four_step_explosion_is_found() -> None:
    for steps in (3, 4):
        run = _run(steps, lr=30.0)
        g = run.data.step_stats["total_grad_norm"]
        assert g[-1] > 1e3 * g[0]  # the gradient norm exploded within the run
        found = [f for f in run.diagnose().problems if f.kind == "exploding_gradient"]
        assert found, steps
        assert found[0].step == 0 and "learning_rate_too_high" in found[0].causes
        assert f"last {steps} recorded steps" in found[0].message


def test_a_healthy_short_run_stays_silent() -> None:
    for steps in (1, 2, 3, 4):
        assert not _run(steps, lr=0.1).diagnose().problems


def test_growth_message_names_the_steps_measured() -> None:
    """A 6-step run growing 2.7x per recorded step, spikes left out (``spike_factor``): the finding's step is
    the first step of the fit, not steps[6 - 10] (a negative index that wrapped around to step 1200), and the
    message says 6 steps."""
    n = 6
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", order=i) for i in range(2)]
    stats = {k: np.full((2, n), np.nan, dtype=np.float32) for k in LAYER_STATS}
    g = 0.4 * 2.7 ** np.arange(n)
    stats["weight_grad_norm"] = np.tile(g, (2, 1)).astype(np.float32)
    data = gd.RunData(layers=layers, steps=np.arange(n) * 100 + 1000, layer_stats=stats,
                      step_stats={"loss": np.linspace(2.3, 5.0, n), "total_grad_norm": g,
                                  "nonfinite_grads": np.zeros(n)}, series={}, meta={}, findings=[], path=None)
    (f,) = ExplodingTraining(spike_factor=1e9).detect(Context.from_run(data))
    assert f.step == 1000 and "last 6 recorded steps (1000 to 1500)" in f.message
