"""Regression tests: one file per bug, named after what broke."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import graddoctor as gd


def watched_sgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 3, lr: float = 0.1,
                **watch_kwargs: Any) -> gd.Monitor:
    """Train ``model`` on one batch with SGD and cross-entropy for ``steps`` steps under ``gd.watch``."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with gd.watch(model, opt, **watch_kwargs) as run:
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def nan_from_start_run(store: str) -> gd.Monitor:
    """A run whose gradients are NaN from step 0: a small sigmoid net whose first weight is all NaN, trained on one
    random batch by ``watched_sgd`` (3 steps, lr 0.1) with its statistics written to ``store``."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    return watched_sgd(model, x, y, store=store)


def watched_batches(model: nn.Module, opt: torch.optim.Optimizer,
                    batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]], steps: int,
                    **watch_kwargs: Any) -> tuple[gd.Monitor, list[float]]:
    """Train ``model`` with ``opt`` and cross-entropy on ``batch(step)`` for ``steps`` steps under ``gd.watch``;
    returns the run and the losses. Outputs of shape (N, T, C) are scored per position against (N, T) targets."""
    losses: list[float] = []
    with gd.watch(model, opt, **watch_kwargs) as run:
        for step in range(steps):
            x, y = batch(step)
            opt.zero_grad()
            out = model(x)
            loss = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
            loss.backward()
            opt.step()
            run.step(loss=loss)
            losses.append(float(loss))
    return run, losses


class ExplodingReluRNN(nn.Module):
    """A plain ReLU RNN (2 -> 16) whose recurrent weights are 1.5 x identity, read out at the last time step by a
    Linear(16, 1): the corpus's ``rnn_exploding``. Its gradient 40 steps back is ~5e6x the last step's at step 0,
    and it overflows to NaN from step 1."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(2, 16, batch_first=True, nonlinearity="relu")
        self.out = nn.Linear(16, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(1.5 * torch.eye(16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def exploding_rnn_run(steps: int = 12) -> gd.Monitor:
    """:class:`ExplodingReluRNN` trained with SGD lr 1e-5 and MSE on one batch of 32 sequences of 40 steps
    (seed 0), ``steps`` steps under ``gd.watch(store=None)``, the loss passed with ``run.step``."""
    torch.manual_seed(0)
    x, y = torch.rand(32, 40, 2), torch.rand(32, 1)
    m = ExplodingReluRNN()
    opt = torch.optim.SGD(m.parameters(), lr=1e-5)
    with gd.watch(m, opt, store=None) as run:
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


class TwoInputNet(nn.Module):
    """A model taking a pair ``(x1, x2)`` of 4 and 3 features: ReLU(a(x1) + b(x2)) -> 3 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.out = nn.Linear(4, 8), nn.Linear(3, 8), nn.Linear(8, 3)

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x1, x2 = x
        return self.out(torch.relu(self.a(x1) + self.b(x2)))
