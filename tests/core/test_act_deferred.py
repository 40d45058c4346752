"""Activation statistics of detail steps are computed when their rows are materialized (at a flush, or when
``run.data`` peeks at the buffer), batched over all the detail steps since the last flush. The values must not
depend on when that happens: one flush per step, one per 50 steps, a peek after every step, or the ACT_BATCH
bound forcing an early computation all give the same statistics."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.probe import monitor as monitor_mod

ACT_STATS = ("act_mean", "act_rms", "act_nonfinite", "act_saturated", "act_dead", "act_deriv", "act_p02", "act_p98")


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16),
                         nn.ReLU(), nn.Linear(16, 16), nn.Hardtanh(-0.5, 0.5), nn.Linear(16, 3))


def _record(steps: int = 12, peek: bool = False, **kw: object) -> dict[str, np.ndarray]:
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    g = torch.Generator().manual_seed(1)
    with gd.watch(model, opt, detail_every=2, **kw) as run:  # type: ignore[arg-type]
        for _ in range(steps):
            x, y = torch.randn(32, 12, generator=g) * 3, torch.randint(0, 3, (32,), generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            if peek:
                run.data  # noqa: B018  (materializes the rows in the buffer, without writing them)
            assert len(run._act_later) < monitor_mod.ACT_BATCH
    data = run.data
    return {k: data.layer_stats[k] for k in ACT_STATS}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for k in ACT_STATS:
        assert a[k].shape == b[k].shape, k
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-7, equal_nan=True, err_msg=k)
    # detail steps hold activation statistics, the others none
    assert np.isfinite(a["act_mean"][:, ::2]).all()
    assert np.isnan(a["act_mean"][:, 1::2]).all()


def test_deferred_statistics_do_not_depend_on_the_flush_schedule() -> None:
    _same(_record(flush_every=1), _record(flush_every=50))


def test_peeking_at_the_buffer_does_not_count_a_step_twice() -> None:
    _same(_record(flush_every=50), _record(flush_every=50, peek=True))


def test_act_batch_bound_computes_early_with_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _record(flush_every=1)
    monkeypatch.setattr(monitor_mod, "ACT_BATCH", 3)  # five activation calls per detail step: over the bound
    _same(reference, _record(flush_every=50))


def test_values_match_the_eager_computation() -> None:
    """Against the statistics computed at the end of each step, as before they were deferred (flush_every=1
    materializes every row at the next step, one detail step at a time): equal to float32 rounding."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x = torch.randn(32, 12, generator=torch.Generator().manual_seed(3)) * 3
    ref = {}
    with torch.no_grad():  # before the step changes the weights
        h = x
        for m in model:
            h = m(h)
            if isinstance(m, nn.Sigmoid):
                ref["mean"] = h.mean().item()
                ref["sat"] = ((h * (1 - h)) < 0.01 * 0.25).float().mean().item()
            if isinstance(m, nn.ReLU):
                ref["dead"] = (h.amax(0) <= 0).float().mean().item()
                ref["rms"] = h.pow(2).mean().sqrt().item()
    run = gd.watch(model, opt, detail_every=1, flush_every=50).start()
    nn.functional.cross_entropy(model(x), torch.zeros(32, dtype=torch.long)).backward()
    opt.step()
    assert run._act_later, "the detail step's samples wait for the flush"
    run.stop()
    assert not run._act_later
    got = run.data.layer_stats
    np.testing.assert_allclose(got["act_mean"][0, 0], ref["mean"], rtol=1e-5)
    np.testing.assert_allclose(got["act_saturated"][0, 0], ref["sat"], atol=1e-6)
    np.testing.assert_allclose(got["act_dead"][2, 0], ref["dead"], atol=1e-6)
    np.testing.assert_allclose(got["act_rms"][2, 0], ref["rms"], rtol=1e-5)


def test_a_discarded_step_drops_its_early_samples() -> None:
    """A step folded early (_overflow) and then discarded (a GradScaler-skipped iteration) leaves no sample
    behind for the next step of the same row."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    run = gd.watch(model, opt, detail_every=1).start()
    try:
        nn.functional.cross_entropy(model(torch.randn(8, 12)), torch.zeros(8, dtype=torch.long)).backward()
        run._fold(run._row)  # what _overflow does mid-step
        assert any(r == run._row for r, _ in run._act_later)
        run._discard_pending()
        assert not any(r == run._row for r, _ in run._act_later)
    finally:
        run.stop()
