"""AMP (torch.amp.GradScaler on CPU) and gradient accumulation with the plain loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.amp import PERSISTENT_SKIPS, track_scaler

from .common import batches, deep_sigmoid

RTOL = 1e-5


def _amp_run(data, *, init_scale: float, bad_steps: int = 0):
    model = deep_sigmoid(depth=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=10_000)
    with gd.watch(model, opt, detail_every=1) as run:
        tracker = track_scaler(run, scaler)
        for i, (x, y) in enumerate(data):
            if i < bad_steps:
                x = x.clone()
                x[0, 0] = float("inf")
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            run.step(loss=loss)
    return run, tracker


def _fp32_run(data):
    model = deep_sigmoid(depth=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, detail_every=1) as run:
        for x, y in data:
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def test_scaled_run_records_unscaled_statistics() -> None:
    data = batches(4)
    amp, tracker = _amp_run(data, init_scale=2.0 ** 12)
    ref = _fp32_run(data)
    assert tracker.skipped == []
    for name in ("weight_grad_norm", "signal_norm", "in_signal_norm", "update_ratio", "weight_norm"):
        np.testing.assert_allclose(amp.data.layer_stats[name], ref.data.layer_stats[name], rtol=RTOL,
                                   equal_nan=True, err_msg=name)


def test_without_tracking_the_signal_is_scaled() -> None:
    """The failure track_scaler fixes: the raw hooks see dL/d(out) multiplied by the scale."""
    data = batches(2)
    model = deep_sigmoid(depth=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 12)
    with gd.watch(model, opt) as run:
        for x, y in data:
            opt.zero_grad()
            scaler.scale(nn.functional.mse_loss(model(x), y)).backward()
            scaler.step(opt)
            scaler.update()
    ref = _fp32_run(data)
    ratio = run.data.layer_stats["signal_norm"] / ref.data.layer_stats["signal_norm"]
    np.testing.assert_allclose(ratio, 2.0 ** 12, rtol=1e-4)


def test_transient_overflow_is_skipped_not_exploding() -> None:
    """Three overflowing iterations (an inf input), then normal ones: skipped, not a gradient problem."""
    data = batches(6)
    run, tracker = _amp_run(data, init_scale=2.0 ** 8, bad_steps=3)
    assert len(tracker.skipped) == 3
    d = run.data
    assert d.n_steps == len(data) - len(tracker.skipped)  # only real optimizer steps are recorded
    assert np.all(d.step_stats["nonfinite_grads"] == 0)
    assert d.meta["amp"]["skipped_steps"] == len(tracker.skipped)
    kinds = {f.kind for f in run.diagnose().findings if f.is_problem}
    assert "non_finite" not in kinds and "exploding_gradient" not in kinds


def test_persistent_overflow_is_reported() -> None:
    data = batches(PERSISTENT_SKIPS + 2)
    run, tracker = _amp_run(data, init_scale=2.0 ** 8, bad_steps=len(data))
    assert len(tracker.skipped) == len(data) and tracker.persistent == 3
    d = run.data
    assert d.n_steps == 3 and np.all(d.step_stats["nonfinite_grads"] > 0)
    assert "non_finite" in {f.kind for f in run.diagnose().findings}


@pytest.mark.parametrize("accum", [1, 3])
def test_accumulation_records_optimizer_steps(accum: int) -> None:
    """k micro-batches of size b then one step == one batch of size k*b: same statistics, one row per step."""
    steps, b = 3, 4
    flat = batches(steps * accum, batch=b)
    big = [(torch.cat([x for x, _ in flat[s * accum:(s + 1) * accum]]),
            torch.cat([y for _, y in flat[s * accum:(s + 1) * accum]])) for s in range(steps)]
    model = deep_sigmoid(depth=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, detail_every=1) as run:
        for s in range(steps):
            for x, y in flat[s * accum:(s + 1) * accum]:
                (nn.functional.mse_loss(model(x), y) / accum).backward()
            opt.step()
            opt.zero_grad()
    ref = _fp32_run(big)
    d = run.data
    np.testing.assert_array_equal(d.steps, np.arange(steps))
    for name in ("weight_grad_norm", "signal_norm", "update_ratio", "out_rms", "act_mean", "act_saturated"):
        np.testing.assert_allclose(d.layer_stats[name], ref.data.layer_stats[name], rtol=1e-4,
                                   equal_nan=True, err_msg=name)
