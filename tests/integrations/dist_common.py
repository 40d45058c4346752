"""Model, data and batching shared by the distributed worker and its single-process reference."""
from __future__ import annotations

import torch
from torch import nn

#: Optimizer steps, micro-batches per step, and the global micro-batch size (split over the ranks).
STEPS, ACCUM, GLOBAL_BATCH = 4, 2, 8


#: Detail step every recorded step, so that every statistic (and the RNN time profile) is compared.
DETAIL_EVERY = 1


class GRUNet(nn.Module):
    """A GRU over the 6 input features read as 3 time steps of 2, then a linear head on the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(2, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x.view(x.shape[0], 3, 2))
        return self.head(out[:, -1])


def make_model(rnn: bool = False) -> nn.Module:
    torch.manual_seed(0)
    if rnn:
        return GRUNet()
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 3))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    n = STEPS * ACCUM * GLOBAL_BATCH
    return torch.randn(n, 6, generator=g), torch.randn(n, 3, generator=g)


def micro_batches(X: torch.Tensor, Y: torch.Tensor, step: int):
    for j in range(ACCUM):
        a = (step * ACCUM + j) * GLOBAL_BATCH
        yield X[a:a + GLOBAL_BATCH], Y[a:a + GLOBAL_BATCH]
