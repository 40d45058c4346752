"""``gd.watch(model)`` without an optimizer (the loop calls ``run.step(loss=...)`` after each step) together with
``track_scaler``: an iteration the GradScaler skipped (inf in the scaled gradients, no optimizer step) was still
recorded as a step by the ``run.step()`` that followed, with its non-finite gradients and NaN loss, so a transient
overflow that the scaler handled was reported as a critical ``non_finite`` finding, the very thing track_scaler is
there to prevent. Now that ``run.step()`` records nothing (the skip is counted), and a persistent overflow is
recorded once per iteration, as with an optimizer."""
from __future__ import annotations

import math

import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.amp import PERSISTENT_SKIPS, track_scaler

from .test_qa5_probe_amp_scaler_reused import amp_iteration


def _train(bad: set[int], n: int, *, with_optimizer: bool):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    g = torch.Generator().manual_seed(1)
    losses = []
    with gd.watch(model, opt if with_optimizer else None) as run:
        amp = track_scaler(run, scaler)
        for i in range(n):
            x, y = torch.randn(8, 8, generator=g), torch.randint(0, 3, (8,), generator=g)
            if i in bad:
                x[0, 0] = float("inf")
            loss = amp_iteration(model, opt, scaler, x, y)
            run.step(loss=loss)
            losses.append(loss.item())
    return run, amp, losses


def test_skipped_iteration_is_not_a_step() -> None:
    run, amp, losses = _train({2}, 6, with_optimizer=False)
    assert amp.summary()["skipped_steps"] == 1
    assert run.data.steps.tolist() == [0, 1, 2, 3, 4]
    assert (run.data.step_stats["nonfinite_grads"] == 0).all()
    recorded = run.data.step_stats["loss"].tolist()
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(recorded, losses[:2] + losses[3:]))
    assert run.diagnose().findings == []


def test_persistent_overflow_recorded_once_per_iteration() -> None:
    n_bad = PERSISTENT_SKIPS + 2
    plain, _, _ = _train(set(range(n_bad)), n_bad + 2, with_optimizer=False)
    ref, _, _ = _train(set(range(n_bad)), n_bad + 2, with_optimizer=True)
    assert plain.data.n_steps == ref.data.n_steps == 3 + 2  # the 8th, 9th and 10th skips, then 2 good steps
    nonfinite = plain.data.step_stats["nonfinite_grads"]
    assert (nonfinite[:3] > 0).all() and (nonfinite[3:] == 0).all()
    assert "non_finite" in [f.kind for f in plain.diagnose().findings]
