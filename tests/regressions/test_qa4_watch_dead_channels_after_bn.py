"""Regression: in a conv -> BatchNorm -> ReLU block (every ResNet/VGG-BN) the ReLU follows the BatchNorm, which
was not a conv layer, so dead units were counted along the last dimension (the image width) instead of the
channels: a block with 6 of 8 channels dead reported act_dead 0, in watch() and in check(), and dying-ReLU
findings never fired for BN CNNs. A unit is now a channel after convolutions and BatchNorm/InstanceNorm/GroupNorm."""
import math

import torch
from torch import nn

import graddoctor as gd


def _net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 4))
    with torch.no_grad():
        net[1].bias[:6] = -100.0  # channels 0-5 are negative everywhere after the norm: dead after the ReLU
    return net


def _reference(net, x):
    a = net[2](net[1](net[0](x)))
    return float((a.amax(dim=(0, 2, 3)) <= 0).float().mean())


def test_dead_channels_after_batchnorm():
    net = _net()
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))
    want = _reference(net, x)
    assert want == 0.75
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    with gd.watch(net, opt) as run:
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert math.isclose(run.data.layer_stats["act_dead"][1, 0], want)
    diag = gd.check(_net(), x, y, nn.functional.cross_entropy)
    assert math.isclose(diag.layers[1]["dead"], want)


def test_dead_channels_after_batchnorm_with_functional_relu_in_check():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _net()

        def forward(self, x):
            n = self.net
            return n[5](n[4](n[3](torch.relu(n[1](n[0](x))))))

    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))
    diag = gd.check(Block(), x, y, nn.functional.cross_entropy)
    assert math.isclose(diag.layers[1]["dead"], 0.75), diag.layers[1]
