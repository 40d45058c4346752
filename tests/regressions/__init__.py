"""Regression tests: one file per bug, named after what broke."""
from __future__ import annotations

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
