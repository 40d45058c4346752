"""Tiny broken training recipes on scikit-learn digits (and a synthetic long-lag sequence task) where one
remedy is known to be the right fix. Shared by the repair tests; each trains in well under a second."""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


@lru_cache(maxsize=1)
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    X, y = X[perm], y[perm]
    return X[:1400], y[:1400], X[1400:], y[1400:]


def mlp(depth: int, width: int, act: type[nn.Module], std: float | None = None, bias: float | None = None,
        n_in: int = 64) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        lin = nn.Linear(d, width)
        if std is not None:
            nn.init.normal_(lin.weight, 0.0, std)
        if bias is not None:
            nn.init.constant_(lin.bias, bias)
        layers += [lin, act()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, 10))


def digits_case(model_fn, lr: float = 0.1, steps: int = 200, opt=None, X_fn=None, **kw) -> gd.Case:
    X, y, Xv, yv = digits()
    if X_fn is not None:
        X, Xv = X_fn(X), X_fn(Xv)
    return gd.Case(model_fn=model_fn, train=(X, y), val=(Xv, yv), loss_fn=F.cross_entropy,
                   optimizer_fn=opt or (lambda p: torch.optim.SGD(p, lr=lr)), steps=steps, batch_size=32, **kw)


def deep_sigmoid(steps: int = 200) -> gd.Case:
    """Vanishing by depth: 6 sigmoid layers under SGD (Nielsen ch. 5)."""
    return digits_case(lambda: mlp(6, 32, nn.Sigmoid), lr=0.1, steps=steps)


def tiny_init_relu(steps: int = 200) -> gd.Case:
    """Vanishing by init scale: 6 ReLU layers with std 0.02 weights."""
    return digits_case(lambda: mlp(6, 32, nn.ReLU, std=0.02), lr=0.1, steps=steps)


def tiny_init_tanh(steps: int = 200) -> gd.Case:
    """Vanishing by init scale: 6 tanh layers with std 0.02 weights."""
    return digits_case(lambda: mlp(6, 32, nn.Tanh, std=0.02), lr=0.1, steps=steps)


def high_lr(steps: int = 200, lr: float = 2.0) -> gd.Case:
    """Exploding by learning rate: a ReLU MLP under SGD with a learning rate far too high."""
    return digits_case(lambda: mlp(3, 64, nn.ReLU), lr=lr, steps=steps)


def raw_pixels(steps: int = 200) -> gd.Case:
    """Unnormalised inputs: pixel values 0..255 shifted by 100."""
    return digits_case(lambda: mlp(2, 64, nn.Tanh), lr=0.05, steps=steps, X_fn=lambda x: x * 255 + 100)


def nan_inputs(steps: int = 100) -> gd.Case:
    """NaN from the data: one pixel of a few training images is NaN."""
    def poison(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[::50, 5] = float("nan")
        return x
    return digits_case(lambda: mlp(2, 64, nn.ReLU), lr=0.1, steps=steps, X_fn=poison)


class LogFeatures(nn.Module):
    """log of a learned linear feature map: NaN as soon as a feature goes negative (an unsafe op)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(64, 32)
        self.b = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.log(self.a(x)))


def unsafe_log(steps: int = 100) -> gd.Case:
    return digits_case(LogFeatures, lr=0.1, steps=steps)


class SeqNet(nn.Module):
    """A recurrent classifier: reads a sequence, predicts from the last hidden state. ``hh_scale`` multiplies
    the recurrent weights at init (< 1: the signal vanishes through time; > 1: it explodes)."""

    def __init__(self, cell: str = "rnn", hidden: int = 16, nonlinearity: str = "tanh",
                 hh_scale: float | None = None) -> None:
        super().__init__()
        kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](1, hidden, batch_first=True, **kw)
        if hh_scale is not None:
            with torch.no_grad():
                nn.init.orthogonal_(self.rnn.weight_hh_l0)
                self.rnn.weight_hh_l0.mul_(hh_scale)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def lag_task(T: int = 30, lag: int = 29, n: int = 1024, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Label = sign of the element ``lag`` steps before the last; the rest is noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, 1, generator=g) * 0.5
    y = (torch.rand(n, generator=g) > 0.5).long()
    x[:, T - 1 - lag, 0] = torch.where(y == 1, 1.0, -1.0)
    return x, y


def seq_case(T: int = 30, lag: int = 29, steps: int = 300, lr: float = 3e-3, opt: str = "adam",
             **net) -> gd.Case:
    X, y = lag_task(T, lag, 1024, 0)
    Xv, yv = lag_task(T, lag, 256, 1)
    cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[opt]
    return gd.Case(model_fn=lambda: SeqNet(**net), train=(X, y), val=(Xv, yv), loss_fn=F.cross_entropy,
                   optimizer_fn=lambda p: cls(p, lr=lr), steps=steps, batch_size=32)


class NormNet(nn.Module):
    """L2-normalises a narrow ReLU feature by hand, h / sqrt(sum h^2): a sample whose features are all zero
    gives 0/0 = NaN in the forward and an infinite sqrt derivative in the backward (an unsafe op)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(64, 8)
        nn.init.constant_(self.a.bias, -0.2)
        self.b = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x))
        return self.b(4 * h / torch.sqrt((h * h).sum(1, keepdim=True)))


def unsafe_sqrt(steps: int = 150) -> gd.Case:
    return digits_case(NormNet, lr=0.1, steps=steps)


def relu_lr(lr: float = 0.5, steps: int = 200) -> gd.Case:
    """Dying ReLU from a high learning rate: 4 ReLU layers under SGD lr 0.5."""
    return digits_case(lambda: mlp(4, 64, nn.ReLU), lr=lr, steps=steps)


def slow_sgd(steps: int = 200) -> gd.Case:
    """Slow convergence: SGD with lr 1e-3 (AutoTrainer's most common problem; the optimizer swap fixes it)."""
    return digits_case(lambda: mlp(2, 64, nn.ReLU), lr=1e-3, steps=steps)


def big_output(steps: int = 200) -> gd.Case:
    """A huge first step: the output layer starts 30x too large, so the first SGD update (lr 0.2) kills the
    ReLU units; warming the learning rate up avoids it."""
    def build() -> nn.Sequential:
        m = mlp(3, 64, nn.ReLU)
        with torch.no_grad():
            m[-1].weight.mul_(30)
        return m
    return digits_case(build, lr=0.2, steps=steps)


def sigmoid_adam(steps: int = 200) -> gd.Case:
    """Vanishing by depth under Adam (6 sigmoid layers): normalization layers fix it."""
    return digits_case(lambda: mlp(6, 32, nn.Sigmoid), steps=steps, opt=lambda p: torch.optim.Adam(p, lr=1e-3))


def overfit(steps: int = 400) -> gd.Case:
    """60 training images, a 3x256 ReLU MLP under Adam: it overfits (validation loss grows)."""
    X, y, Xv, yv = digits()
    return gd.Case(model_fn=lambda: mlp(3, 256, nn.ReLU), train=(X[:60], y[:60]), val=(Xv, yv),
                   optimizer_fn=lambda p: torch.optim.Adam(p, lr=1e-3), steps=steps, batch_size=30)
