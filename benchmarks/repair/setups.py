"""The broken (and healthy) training setups of the repair benchmark.

Each setup is a tiny, fixed-budget recipe (a :class:`graddoctor.Case`) on scikit-learn digits (1,400 train /
397 validation images) or a synthetic sequence task, plus a *healthy reference* configuration on the same
data. A broken setup counts as repaired when the repaired recipe's validation accuracy reaches at least
90 % of its reference's.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd

#: Steps per training run: digits recipes and sequence recipes.
DIGITS_STEPS = 200
SEQ_STEPS = 300


@dataclass
class Setup:
    name: str
    kind: str          # the problem family (or "healthy")
    make: Callable[[], gd.Case]
    reference: Callable[[], gd.Case]

    @property
    def broken(self) -> bool:
        return self.kind != "healthy"


# ---------------------------------------------------------------- data
@lru_cache(maxsize=1)
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    return X[perm][:1400], y[perm][:1400], X[perm][1400:], y[perm][1400:]


def lag_task(T: int, lag: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Label = sign of the element ``lag`` steps before the last; every other element is noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, 1, generator=g) * 0.5
    y = (torch.rand(n, generator=g) > 0.5).long()
    x[:, T - 1 - lag, 0] = torch.where(y == 1, 1.0, -1.0)
    return x, y


# ---------------------------------------------------------------- models
def mlp(depth: int, width: int, act: type[nn.Module], std: float | None = None, bias: float | None = None,
        gain: float | None = None, out_scale: float | None = None) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = 64
    for _ in range(depth):
        lin = nn.Linear(d, width)
        if std is not None:
            nn.init.normal_(lin.weight, 0.0, std)
        if gain is not None:  # a multiple of He's std sqrt(2 / fan_in)
            nn.init.normal_(lin.weight, 0.0, gain * math.sqrt(2.0 / d))
        if bias is not None:
            nn.init.normal_(lin.bias, 0.0, bias)
        layers += [lin, act()]
        d = width
    head = nn.Linear(d, 10)
    if out_scale is not None:
        with torch.no_grad():
            head.weight.mul_(out_scale)
    return nn.Sequential(*layers, head)


class SeqNet(nn.Module):
    def __init__(self, cell: str = "rnn", hidden: int = 16, nonlinearity: str = "tanh",
                 hh_scale: float | None = None, forget_bias: float | None = None) -> None:
        super().__init__()
        kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](1, hidden, batch_first=True, **kw)
        with torch.no_grad():
            if hh_scale is not None:
                nn.init.orthogonal_(self.rnn.weight_hh_l0)
                self.rnn.weight_hh_l0.mul_(hh_scale)
            if forget_bias is not None:
                self.rnn.bias_ih_l0[hidden:2 * hidden] = forget_bias
                self.rnn.bias_hh_l0[hidden:2 * hidden] = 0.0
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class NormNet(nn.Module):
    """Hand-written L2 normalisation h / sqrt(sum h^2): an all-zero ReLU feature row gives 0/0 (an unsafe op)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(64, 8)
        nn.init.constant_(self.a.bias, -0.2)
        self.b = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x))
        return self.b(4 * h / torch.sqrt((h * h).sum(1, keepdim=True)))


class LogitsLogSoftmax(nn.Module):
    """Log-probabilities computed as log(softmax(z)) of logits scaled by ``temp``: underflows to log(0)."""

    def __init__(self, temp: float) -> None:
        super().__init__()
        self.net = mlp(2, 64, nn.ReLU)
        self.temp = temp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.softmax(self.net(x) * self.temp, dim=1))


# ---------------------------------------------------------------- recipes
def sgd(lr: float, momentum: float = 0.0) -> Callable:
    return lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum)


def adam(lr: float = 1e-3) -> Callable:
    return lambda p: torch.optim.Adam(p, lr=lr)


def dcase(model_fn: Callable[[], nn.Module], opt: Callable, x_fn: Callable | None = None,
          loss_fn: Callable = F.cross_entropy) -> gd.Case:
    X, y, Xv, yv = digits()
    if x_fn is not None:
        X, Xv = x_fn(X), x_fn(Xv)
    return gd.Case(model_fn=model_fn, train=(X, y), val=(Xv, yv), loss_fn=loss_fn, optimizer_fn=opt,
                   steps=DIGITS_STEPS, batch_size=32)


def scase(T: int, lag: int, opt: Callable, **net) -> gd.Case:
    X, y = lag_task(T, lag, 1024, 0)
    Xv, yv = lag_task(T, lag, 256, 1)
    return gd.Case(model_fn=lambda: SeqNet(**net), train=(X, y), val=(Xv, yv), loss_fn=F.cross_entropy,
                   optimizer_fn=opt, steps=SEQ_STEPS, batch_size=32)


def poison(value: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def f(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[::50, 5] = value
        return x
    return f


def ref_digits() -> gd.Case:
    """Healthy reference for every digits setup: 2x64 ReLU MLP (PyTorch init), Adam 1e-3."""
    return dcase(lambda: mlp(2, 64, nn.ReLU), adam())


def ref_seq(T: int, lag: int) -> Callable[[], gd.Case]:
    """Healthy reference for a sequence setup: an orthogonally initialised tanh RNN under Adam 3e-3."""
    return lambda: scase(T, lag, adam(3e-3), hh_scale=1.0)


def _d(name: str, kind: str, make: Callable[[], gd.Case]) -> Setup:
    return Setup(name, kind, make, ref_digits)


SETUPS: list[Setup] = [
    # vanishing by depth (saturating activations, Nielsen ch. 5)
    _d("sigmoid6_sgd", "vanishing_depth", lambda: dcase(lambda: mlp(6, 32, nn.Sigmoid), sgd(0.1))),
    _d("sigmoid8_sgd", "vanishing_depth", lambda: dcase(lambda: mlp(8, 32, nn.Sigmoid), sgd(0.3))),
    _d("sigmoid4_nielsen", "vanishing_depth", lambda: dcase(lambda: mlp(4, 30, nn.Sigmoid, std=1 / 8, bias=1.0),
                                                            sgd(0.1))),
    _d("sigmoid6_adam", "vanishing_depth", lambda: dcase(lambda: mlp(6, 32, nn.Sigmoid), adam())),
    _d("tanh12_sgd", "vanishing_depth", lambda: dcase(lambda: mlp(12, 32, nn.Tanh), sgd(0.05))),
    # vanishing by init scale
    _d("relu6_tiny_init", "vanishing_init", lambda: dcase(lambda: mlp(6, 32, nn.ReLU, std=0.02), sgd(0.1))),
    _d("tanh6_tiny_init", "vanishing_init", lambda: dcase(lambda: mlp(6, 32, nn.Tanh, std=0.02), sgd(0.1))),
    _d("relu10_small_init", "vanishing_init", lambda: dcase(lambda: mlp(10, 32, nn.ReLU, gain=0.5), sgd(0.1))),
    _d("relu20_xavier", "vanishing_init", lambda: dcase(lambda: mlp(20, 32, nn.ReLU, gain=math.sqrt(0.5)),
                                                        sgd(0.05))),
    # vanishing through time
    Setup("rnn_vanish_lag20", "vanishing_time", lambda: scase(30, 20, adam(3e-3), hh_scale=0.2), ref_seq(30, 20)),
    Setup("rnn_vanish_lag15", "vanishing_time", lambda: scase(30, 15, adam(3e-3), hh_scale=0.3), ref_seq(30, 15)),
    Setup("lstm_forget_lag12", "vanishing_time", lambda: scase(30, 12, adam(3e-3), cell="lstm"), ref_seq(30, 12)),
    # exploding by init
    _d("relu6_big_init", "exploding_init", lambda: dcase(lambda: mlp(6, 64, nn.ReLU, gain=3.0), sgd(0.1))),
    _d("relu4_big_init", "exploding_init", lambda: dcase(lambda: mlp(4, 64, nn.ReLU, gain=4.0), sgd(0.05))),
    # exploding by learning rate
    _d("relu3_lr2", "exploding_lr", lambda: dcase(lambda: mlp(3, 64, nn.ReLU), sgd(2.0))),
    _d("relu3_lr5", "exploding_lr", lambda: dcase(lambda: mlp(3, 64, nn.ReLU), sgd(5.0))),
    _d("relu4_momentum", "exploding_lr", lambda: dcase(lambda: mlp(4, 64, nn.ReLU), sgd(0.3, 0.9))),
    _d("tanh2_lr10", "exploding_lr", lambda: dcase(lambda: mlp(2, 64, nn.Tanh), sgd(10.0))),
    # exploding in an RNN
    Setup("relu_rnn_explode", "exploding_rnn", lambda: scase(30, 3, sgd(0.05), nonlinearity="relu", hh_scale=1.5),
          ref_seq(30, 3)),
    # saturation
    _d("sigmoid4_big_init", "saturation", lambda: dcase(lambda: mlp(4, 64, nn.Sigmoid, std=1.0), sgd(0.1))),
    _d("tanh3_raw_pixels", "saturation", lambda: dcase(lambda: mlp(3, 64, nn.Tanh), sgd(0.05),
                                                       x_fn=lambda x: x * 255 + 100)),
    _d("tanh4_big_init", "saturation", lambda: dcase(lambda: mlp(4, 64, nn.Tanh, std=1.0), sgd(0.1))),
    # dying ReLU from a high learning rate
    _d("relu4_lr0.5", "dying_relu", lambda: dcase(lambda: mlp(4, 64, nn.ReLU), sgd(0.5))),
    _d("relu4_lr1", "dying_relu", lambda: dcase(lambda: mlp(4, 64, nn.ReLU), sgd(1.0))),
    _d("relu3_big_output", "dying_relu", lambda: dcase(lambda: mlp(3, 64, nn.ReLU, out_scale=30.0), sgd(0.2))),
    # NaN from the data or an unsafe op
    _d("nan_pixels", "non_finite", lambda: dcase(lambda: mlp(2, 64, nn.ReLU), sgd(0.1), x_fn=poison(math.nan))),
    _d("inf_pixels", "non_finite", lambda: dcase(lambda: mlp(2, 64, nn.ReLU), sgd(0.1), x_fn=poison(math.inf))),
    _d("sqrt_of_zero", "non_finite", lambda: dcase(NormNet, sgd(0.1))),
    _d("log_softmax_underflow", "non_finite", lambda: dcase(lambda: LogitsLogSoftmax(200.0), sgd(0.1),
                                                            loss_fn=F.nll_loss)),
    # slow convergence
    _d("relu2_lr1e-3", "slow", lambda: dcase(lambda: mlp(2, 64, nn.ReLU), sgd(1e-3))),
    # healthy: should be left untouched
    _d("healthy_relu2_sgd", "healthy", lambda: dcase(lambda: mlp(2, 64, nn.ReLU), sgd(0.1))),
    _d("healthy_relu3_adam", "healthy", lambda: dcase(lambda: mlp(3, 64, nn.ReLU), adam())),
    _d("healthy_tanh2_sgd", "healthy", lambda: dcase(lambda: mlp(2, 64, nn.Tanh), sgd(0.1))),
    _d("healthy_relu4_bn", "healthy", lambda: dcase(lambda: nn.Sequential(
        *[m for i in range(4) for m in (nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU())], nn.Linear(64, 10)),
        sgd(0.1))),
    Setup("healthy_lstm_lag3", "healthy", lambda: scase(30, 3, adam(3e-3), cell="lstm"), ref_seq(30, 3)),
]
