"""Regression (found by the QA7 diagnosis pass, runs watched with every=N): exploding_training's `warmup` (3, "the
first updates legitimately change the norm fast") counted recorded steps, not optimizer steps. Under
gd.watch(every=5) that excused steps 0-10, 11 updates: a ReLU MLP at SGD lr 5 whose gradient norm went
0.29, 0.26 (steps 0, 5) -> 49 (step 10, 178x) -> 5.7e5 (step 15) was reported from step 15, after the
explosion had already been recorded at step 10. The warmup now counts optimizer steps since the first recorded
one (unchanged when every step is recorded)."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _run(every: int) -> gd.Monitor:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(64, 64, generator=g), torch.randint(0, 10, (64,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    with gd.watch(model, opt, store=None, every=every) as run:
        for _ in range(60):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def test_spike_recorded_after_the_warmup_steps_is_dated_to_it() -> None:
    run = _run(every=5)
    g = run.data.step_stats["total_grad_norm"]
    assert list(run.data.steps[:4]) == [0, 5, 10, 15] and g[2] > 100 * max(g[0], g[1])
    (f,) = [f for f in run.diagnose().problems if f.detector == "exploding_training"]
    assert f.step == 10 and "gradient_cliff" in f.causes


def test_every_step_recorded_unchanged() -> None:
    (f,) = [f for f in _run(every=1).diagnose().problems if f.detector == "exploding_training"]
    assert f.step == 13
