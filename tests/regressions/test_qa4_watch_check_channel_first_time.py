"""Regression: gd.check took dim 1 of every 3-D float input as time, also for a channel-first input going
straight into a Conv1d (batch, channels, time): an EEG net with 64 electrodes got an "exploding gradient
(time)" finding over its 64 *electrodes*, and the real time axis was never measured. A float input consumed
directly by a channel-first layer is now profiled along dim 2."""
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class CNN1d(nn.Module):  # receptive field of the last output: 5 steps
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c = nn.Conv1d(channels, 8, 5, padding=2)
        self.h = nn.Linear(8, 1)

    def forward(self, x):
        return self.h(torch.relu(self.c(x))[:, :, -1]).squeeze(-1)


def test_channel_first_input_is_profiled_along_time():
    torch.manual_seed(0)
    diag = gd.check(CNN1d(2), torch.randn(8, 2, 40), torch.randn(8), F.mse_loss)
    f = [f for f in diag.findings if f.axis == "time"]
    assert f and f[0].evidence["sequence_length"] == 40
    assert f[0].evidence["memory_horizon"] == 3


def test_electrodes_are_not_time_steps():
    torch.manual_seed(0)
    model = CNN1d(64)
    with torch.no_grad():
        model.c.weight[:, 32:] *= 1e-4  # half the electrodes barely used: unequal gradients across channels
    diag = gd.check(model, torch.randn(8, 64, 40), torch.randn(8), F.mse_loss)
    assert all(f.evidence.get("sequence_length") in (None, 40) for f in diag.findings if f.axis == "time")
    assert not any(f.kind == "exploding_gradient" and f.axis == "time" for f in diag.findings)
