"""Small models and a plain-loop reference shared by the integration tests."""
from __future__ import annotations

import torch
from torch import nn

import graddoctor as gd


def deep_sigmoid(depth: int = 8, width: int = 16, d_in: int = 6, d_out: int = 3) -> nn.Sequential:
    """A deep sigmoid MLP: vanishing gradients, so that the diagnosis has something to say."""
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(d_in, width), nn.Sigmoid()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), nn.Sigmoid()]
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


def batches(n_steps: int, batch: int = 8, d_in: int = 6, d_out: int = 3, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(batch, d_in, generator=g), torch.randn(batch, d_out, generator=g)) for _ in range(n_steps)]


def plain_run(model: nn.Module, data, *, lr: float = 0.1, store=None, **kw) -> gd.Monitor:
    """Train ``model`` on ``data`` with SGD in a plain loop under gd.watch; returns the (stopped) run."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with gd.watch(model, opt, store=store, **kw) as run:
        for x, y in data:
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run
