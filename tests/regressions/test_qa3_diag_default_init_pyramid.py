"""Regression (QA of the diagnosis on models outside the corpus): a shallow ReLU MLP at PyTorch's default
initialisation, [64, 256, 128, 64, 10], was a vanishing_gradient warning in gd.check and in a watched run
("the backward signal shrinks by x0.41 per layer; the first layers learn 2.7x slower"). PyTorch's default
(Kaiming-uniform, a = sqrt(5), 1/6 of He's variance) shrinks the backward signal's norm by sqrt(1/6) = 0.41
per ReLU layer by construction; the net trains well. The rate route now needs a per-layer gain below 0.32
(between a sigmoid layer's 1/4 and that 0.41); a sigmoid net of the same shape is still flagged."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd

from . import watched_batches


def _mlp(widths: list[int], act: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])


def _batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 64, generator=g)
    return x, (x[:, :10].argmax(1))


def _problems(diag: object) -> list[str]:
    return [f.kind for f in diag.problems]  # type: ignore[attr-defined]


def test_default_init_pyramid_is_healthy() -> None:
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        model = _mlp([64, 256, 128, 64, 10], nn.ReLU)
        x, y = _batch(100)
        assert _problems(gd.check(model, x, y, F.cross_entropy)) == []
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        run, _ = watched_batches(model, opt, _batch, 20)
        assert "vanishing_gradient" not in _problems(run.diagnose())


def test_sigmoid_pyramid_still_vanishes() -> None:
    torch.manual_seed(0)
    model = _mlp([64, 256, 128, 64, 10], nn.Sigmoid)
    x, y = _batch(100)
    found = [f for f in gd.check(model, x, y, F.cross_entropy).problems if f.kind == "vanishing_gradient"]
    assert found and found[0].evidence["signal_decay_route"] == "rate"
    assert found[0].layers[0] == "0"
