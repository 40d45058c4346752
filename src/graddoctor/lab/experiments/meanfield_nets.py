"""Random tanh MLPs for the mean-field experiment: chi_1 measured at init, trainability, the doctor's view."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import doctor
from ..data import N_CLASSES, mnist5k_split

#: Trainability set-up (§5.4 (c)): width, SGD steps (quick, full), batch, learning rate on MNIST-5k
#: (standardised pixels). "Trainable" means training accuracy at least twice chance after the budget.
TRAIN_WIDTH, TRAIN_BATCH, TRAIN_LR = 100, 64, 1e-2
TRAIN_STEPS = {True: 200, False: 500}
TRAINABLE_ACC = 2.0 / N_CLASSES


def tanh_mlp(n_in: int, width: int, depth: int, n_out: int, sw2: float, sb2: float, seed: int) -> nn.Sequential:
    """``depth`` Linear+Tanh layers, W ~ N(0, sigma_w^2/fan_in), b ~ N(0, sigma_b^2), then a linear readout."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    sizes = [n_in] + [width] * depth
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    layers.append(nn.Linear(width, n_out))
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, math.sqrt(sw2 / m.weight.shape[1]))
            nn.init.normal_(m.bias, 0.0, math.sqrt(sb2))
    return nn.Sequential(*layers)


def measured_chi1(sw2: float, sb2: float, width: int, depth: int, batch: int, skip: int, seed: int) -> float:
    """Geometric-mean per-layer ratio E[delta_l^2] / E[delta_{l+1}^2] of the back-propagated pre-activation
    gradients delta_l = dL/dh_l, over layers ``skip`` .. depth-1 (after q has settled), at init.

    The loss is a fixed random projection of the last pre-activation, so the top gradient has unit scale.
    """
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(batch, width, generator=g, dtype=torch.float64)
    pre: list[torch.Tensor] = []
    for _ in range(depth):
        w = torch.randn(width, width, generator=g, dtype=torch.float64) * math.sqrt(sw2 / width)
        b = torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(sb2)
        h = torch.tanh(h) @ w.T + b if pre else h @ w.T + b
        h.requires_grad_(True) if not h.requires_grad else h.retain_grad()
        pre.append(h)
    v = torch.randn(batch, width, generator=g, dtype=torch.float64)
    (pre[-1] * v).sum().backward()
    ms = [float(p.grad.pow(2).mean()) for p in pre if p.grad is not None]
    return (ms[skip] / ms[-1]) ** (1.0 / (depth - 1 - skip))


def train_accuracy(sw2: float, sb2: float, depth: int, seed: int, quick: bool = False) -> float:
    """Training accuracy of a tanh MLP after TRAIN_STEPS[quick] SGD steps on MNIST-5k."""
    data = mnist5k_split(4000, standardize=True)
    net = tanh_mlp(784, TRAIN_WIDTH, depth, N_CLASSES, sw2, sb2, seed)
    opt = torch.optim.SGD(net.parameters(), lr=TRAIN_LR)
    g = torch.Generator().manual_seed(seed)
    for _ in range(TRAIN_STEPS[quick]):
        idx = torch.randint(0, len(data.y_train), (TRAIN_BATCH,), generator=g)
        loss = F.cross_entropy(net(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((net(data.x_train).argmax(1) == data.y_train).float().mean())


def check_deep_net(sw2: float, sb2: float, depth: int) -> list[dict] | None:
    """gd.check on a depth-``depth`` tanh MLP at init on a batch of MNIST-5k."""
    data = mnist5k_split(4000, standardize=True)
    net = tanh_mlp(784, TRAIN_WIDTH, depth, N_CLASSES, sw2, sb2, seed=0)
    return doctor.check(net, data.x_train[:256], data.y_train[:256], F.cross_entropy)
