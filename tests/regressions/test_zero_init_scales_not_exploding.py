"""Regression (found while adding ReZero shortcuts to the add_residual remedy): a layer that holds only a gain
or scale starting at zero (a ReZero/SkipInit scalar, the zero-gamma last BatchNorm of each ResNet block that
torchvision's ``zero_init_residual=True`` sets, LayerScale) has a relative gradient ||g||/||w|| of 20 or
more by construction, and the exploding detector reported healthy nets as ``exploding_gradient``
(relative_gradient) naming those layers. Only layers with a weight matrix count now."""
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class ReZero(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(width, width), nn.Tanh())
        self.scale = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * self.block(x)


class ZeroGammaBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        nn.init.zeros_(self.bn2.weight)  # torchvision's zero_init_residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 60) -> list:
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with gd.watch(model, opt, detail_every=1) as run:
        for i in range(steps):
            idx = torch.arange(i * 16, i * 16 + 16) % len(x)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run.diagnose().findings


def test_rezero_mlp_is_not_exploding() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(512, 16), torch.randint(0, 4, (512,))
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), *[ReZero(32) for _ in range(10)], nn.Linear(32, 4))
    findings = _train(model, x, y)
    assert not [f for f in findings if f.kind == "exploding_gradient"], findings


def test_zero_gamma_resnet_is_not_exploding() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(256, 3, 8, 8), torch.randint(0, 4, (256,))
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          *[ZeroGammaBlock(8) for _ in range(3)], nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 4))
    findings = _train(model, x, y, steps=40)
    assert not [f for f in findings if f.kind == "exploding_gradient"], findings
