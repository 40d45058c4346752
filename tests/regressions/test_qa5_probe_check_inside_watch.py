"""``gd.check`` called inside a watched run (a check between two training steps, e.g. to look at the model after
some epochs) ran its forward and backward passes through the running watch's hooks: the check's outputs and
backward signal were added to the run's next step, so that step's signal_norm and in_signal_norm were inflated
(by sqrt(2) for a check on the training batch) and its forward statistics mixed the check's batch in. The check
already left the parameters, gradients and the watch itself alone; running watches now record nothing during its
passes, and the run's statistics are identical with and without the check."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

import graddoctor as gd


def _train(check: bool):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(16, 6, generator=g), torch.randn(16, 2, generator=g)
    other = torch.randn(16, 6, generator=g) * 3  # the check's own batch
    with gd.watch(model, opt, detail_every=1) as run:
        for step in range(4):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            if check and step == 2:  # between the step's backward and its optimizer step
                gd.check(model, other, y, nn.functional.mse_loss)
            opt.step()
            if check and step == 1:  # between two steps
                gd.check(model, other, y, nn.functional.mse_loss)
            run.step(loss=loss)
    return run.data, model


def test_a_check_inside_a_watched_run_leaves_its_statistics_alone() -> None:
    plain, m0 = _train(False)
    checked, m1 = _train(True)
    assert all(torch.equal(a, b) for a, b in zip(m0.parameters(), m1.parameters()))
    assert checked.steps.tolist() == plain.steps.tolist() == [0, 1, 2, 3]
    for name, values in plain.layer_stats.items():
        np.testing.assert_array_equal(checked.layer_stats[name], values, err_msg=name)
    np.testing.assert_array_equal(checked.step_stats["loss"], plain.step_stats["loss"])
