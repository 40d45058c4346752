"""TensorBoardSink: the findings text panel is written at the run's last step, not at step 0.

``finish`` wrote ``add_text("graddoctor/findings", ...)`` without a step, which TensorBoard files at step 0: the
panel said the findings of a whole run were known before its first step (and a second watched run into the same
writer put its findings at step 0 too). They are now written at the last step the sink logged.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.integrations.sinks import with_sinks


def test_findings_text_at_last_step(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from graddoctor.integrations.sinks.tensorboard import TensorBoardSink

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=with_sinks(None, TensorBoardSink(str(tmp_path / "tb")))) as run:
        for _ in range(5):
            loss = model(torch.randn(8, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    ea = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    assert [e.step for e in ea.Scalars("graddoctor/loss")] == [0, 1, 2, 3, 4]
    assert [e.step for e in ea.Tensors("graddoctor/findings/text_summary")] == [4]
