"""Regression: reading ``run.data`` between ``optimizer.step()`` and ``run.step(loss=...)`` flushed the buffer,
closing the step's row, so the loss that followed had no row to land in and the step was stored with loss NaN.
``run.data`` now reads the steps still in the buffer without flushing them. A run that reads ``run.data`` every
step records exactly what a run that never reads it records, and trains bit-identically."""
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd


def _train(store: Path | None, read_data: bool, steps: int = 9) -> tuple[list[float], gd.RunData, list[torch.Tensor]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 6), torch.randn(16, 2)
    losses = []
    with gd.watch(model, opt, store=store, flush_every=3, detail_every=2) as run:
        for i in range(steps):
            opt.zero_grad()
            loss = (model(x) - y).pow(2).mean()
            loss.backward()
            opt.step()
            if read_data:
                seen = run.data
                assert seen.steps.tolist() == list(range(i + 1))  # the step just taken is visible
            run.step(loss=loss)
            losses.append(loss.item())
    return losses, run.data, [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("on_disk", [False, True])
def test_loss_lands_after_reading_data(tmp_path: Path, on_disk: bool) -> None:
    losses, data, params = _train(tmp_path / "a.sqlite" if on_disk else None, read_data=True)
    expected = np.array(losses, dtype=np.float32).astype(np.float64)
    assert data.step_stats["loss"].tolist() == expected.tolist()
    if on_disk:
        assert gd.load_run(tmp_path / "a.sqlite").step_stats["loss"].tolist() == expected.tolist()

    ref_losses, ref, ref_params = _train(tmp_path / "b.sqlite" if on_disk else None, read_data=False)
    assert losses == ref_losses and all(torch.equal(a, b) for a, b in zip(params, ref_params))
    for name, arr in ref.layer_stats.items():  # nothing counted twice by the reads
        np.testing.assert_array_equal(data.layer_stats[name], arr, err_msg=name)
