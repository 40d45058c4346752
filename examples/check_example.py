"""Example for `graddoctor check examples/check_example.py:case`.

A five-hidden-layer sigmoid MLP with Glorot & Bengio's "standard" init (U[-1/sqrt(n), 1/sqrt(n)]): the
backward signal shrinks about sevenfold per layer (x0.14), so the first layer learns thousands of times slower
than the last. `graddoctor check` names the layers, splits the shrink into the activation factor (sigma' <= 1/4) and
the weight factor, and ranks the remedies. Try `case_healthy` for the same net with ReLU and He init.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def _mlp(act: type[nn.Module], init: str) -> nn.Sequential:
    widths = [64, 128, 128, 128, 128, 128, 10]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            if init == "standard":
                lin.weight.uniform_(-1 / math.sqrt(a), 1 / math.sqrt(a))
            else:
                nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            lin.bias.zero_()
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 64, generator=g), torch.randint(0, 10, (64,), generator=g)


def case():
    """A deep sigmoid net: (model, inputs, targets, loss_fn)."""
    torch.manual_seed(0)
    x, y = _batch()
    return _mlp(nn.Sigmoid, "standard"), x, y, F.cross_entropy


def case_healthy():
    """The same net with ReLU and He init."""
    torch.manual_seed(0)
    x, y = _batch()
    return _mlp(nn.ReLU, "he"), x, y, F.cross_entropy
