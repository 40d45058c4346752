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
