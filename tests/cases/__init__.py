"""The diagnosis corpus: small models with known conditions.

Each :class:`CorpusCase` says what a one-batch ``gd.check`` must find (``expect``: kind -> required properties),
which other problem kinds are tolerated (``allow``, never counted as false positives), and optionally what a
short watched training must find (``expect_train``; ``None`` skips training). An empty ``expect`` is a healthy
control: no warning or critical finding allowed. The published configurations are scaled down (widths 20-64,
batches 32-64) so the corpus runs in seconds; tests/diagnosis/test_corpus_slow.py has larger versions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import models as M


@dataclass
class CorpusCase:
    name: str
    family: str
    build: Callable[[], nn.Module]
    data: Callable[[], tuple[Any, Any]]
    loss_fn: Callable[[Any, Any], torch.Tensor]
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)
    allow: set[str] = field(default_factory=set)
    expect_train: dict[str, dict[str, Any]] | None = None
    allow_train: set[str] = field(default_factory=set)
    train: dict[str, Any] = field(default_factory=dict)  # optimizer ("sgd"/"adam"), lr, steps, weight_decay
    build_train: Callable[[], nn.Module] | None = None  # a different starting point for training
    train_batch: Callable[[int], tuple[Any, Any]] | None = None  # step -> mini-batch (default: data() each step)
    source: str = ""

    @property
    def healthy(self) -> bool:
        return not self.expect


def _cls(n_in: int, n_out: int = 10, batch: int = 64, scale: float = 1.0, positive: bool = False):
    def make() -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(1)
        x = torch.rand(batch, n_in, generator=g) if positive else torch.randn(batch, n_in, generator=g)
        return x * scale, torch.randint(0, n_out, (batch,), generator=g)
    return make


def _img(batch: int = 32, size: int = 8, n_out: int = 4):
    def make() -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(2)
        return torch.randn(batch, 3, size, size, generator=g), torch.randint(0, n_out, (batch,), generator=g)
    return make


def adding(batch: int = 64, T: int = 100, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Hochreiter & Schmidhuber's adding problem (Task 4): values U[-1,1] and a marker line; one of the first
    10 steps and one of the first T/2 are marked; target 0.5 + (X1 + X2)/4."""
    g = torch.Generator().manual_seed(seed)
    vals = torch.rand(batch, T, generator=g) * 2 - 1
    mark = torch.zeros(batch, T)
    a = max(1, min(10, T // 2))
    i = torch.randint(0, a, (batch,), generator=g)
    j = torch.randint(a, max(T // 2, a + 1), (batch,), generator=g)
    mark[torch.arange(batch), i] = 1
    mark[torch.arange(batch), j] = 1
    x = torch.stack([vals, mark], dim=-1)
    y = 0.5 + (vals[torch.arange(batch), i] + vals[torch.arange(batch), j]) / 4
    return x, y


def _tokens(batch: int = 16, T: int = 12, vocab: int = 50):
    def make() -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(4)
        t = torch.randint(0, vocab, (batch, T), generator=g)
        return t, t.reshape(-1)
    return make


def nielsen_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Nielsen's network2: sigmoid output units and the cross-entropy cost against one-hot targets."""
    return F.binary_cross_entropy(torch.sigmoid(out), F.one_hot(y, 10).float(), reduction="sum") / out.shape[0]


def _log_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.log(out.sum(dim=1) - 100.0).mean()  # log of a negative number: NaN in the loss only


def _nan_input():
    x, y = _cls(20, 4, 32)()
    x[3, 5] = float("nan")
    return x, y


_DIGITS: list[torch.Tensor] = []


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn's bundled 8x8 digits (1797 images, offline), pixels scaled to [0, 1]."""
    if not _DIGITS:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        _DIGITS.extend([torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)])
    return _DIGITS[0][:64], _DIGITS[1][:64]


def digits_minibatch(step: int, batch: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Glorot & Bengio's mini-batches of 10, drawn with a fixed seed per step."""
    digits()
    idx = torch.randint(0, _DIGITS[0].shape[0], (batch,), generator=torch.Generator().manual_seed(step))
    return _DIGITS[0][idx], _DIGITS[1][idx]


def _pascanu_data() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.full((1,), 0.5), torch.full((1,), 0.7)


def _one_half() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.full((8, 1), 0.5), torch.rand(8, 1, generator=torch.Generator().manual_seed(5))


def _exploding_rnn() -> nn.Module:
    m = M.SeqModel("RNN", hidden=16, nonlinearity="relu")
    with torch.no_grad():
        m.rnn.weight_hh_l0.copy_(1.5 * torch.eye(16))
    return m


def _dead_mlp() -> nn.Module:
    m = M.mlp([20, 32, 32, 4], nn.ReLU, "he")
    with torch.no_grad():
        m[2].bias.fill_(-20.0)
    return m


V = "vanishing_gradient"
E = "exploding_gradient"
SGD = {"optimizer": "sgd", "lr": 0.01, "steps": 25}

CASES: list[CorpusCase] = [
    # ---------------------------------------------------------------- Nielsen ch. 5
    CorpusCase("nielsen_2hl", "mlp", lambda: M.mlp([784, 30, 30, 10], nn.Sigmoid, "nielsen"),
               _cls(784, 10, positive=True), nielsen_loss, allow=set(), expect_train={},
               train={"optimizer": "sgd", "lr": 0.1, "steps": 20}, source="Nielsen ch.5 [784,30,30,10]: 1/4.7, trains"),
    CorpusCase("nielsen_3hl", "mlp", lambda: M.mlp([784, 30, 30, 30, 10], nn.Sigmoid, "nielsen"),
               _cls(784, 10, positive=True), nielsen_loss,
               expect={V: {"axis": "depth", "cause": "saturating_activation", "first_layer": "0"}},
               source="Nielsen ch.5: HL1/HL3 = 1/24"),
    CorpusCase("nielsen_4hl", "mlp", lambda: M.mlp([784, 30, 30, 30, 30, 10], nn.Sigmoid, "nielsen"),
               _cls(784, 10, positive=True), nielsen_loss,
               expect={V: {"axis": "depth", "cause": "saturating_activation", "first_layer": "0"}},
               expect_train={V: {"axis": "depth"}}, train={"optimizer": "sgd", "lr": 0.1, "steps": 20},
               source="Nielsen ch.5: HL1/HL4 = 1/96"),
    CorpusCase("nielsen_chain_w100", "mlp", lambda: M.NielsenChain(6), _one_half, F.mse_loss,
               expect={E: {"axis": "depth"}}, allow={"saturation"}, source="Nielsen ch.5: w=100, factor 25/layer"),
    # ---------------------------------------------------------------- Glorot & Bengio 2010
    CorpusCase("glorot_sigmoid_std", "mlp", lambda: M.mlp([64] * 6 + [10], nn.Sigmoid, "std"), _cls(64),
               F.cross_entropy, expect={V: {"axis": "depth", "cause": "saturating_activation"}},
               expect_train={V: {"axis": "depth"}}, allow_train={"saturation", "stalled_learning"}, train=SGD,
               source="Glorot & Bengio 2010: sigmoid, standard init, 5 hidden layers"),
    CorpusCase("glorot_sigmoid_4hl_trained", "mlp", lambda: M.mlp([64] + [128] * 4 + [10], nn.Sigmoid, "std"),
               digits, F.cross_entropy, expect={V: {"axis": "depth"}},
               expect_train={"saturation": {"layers": ["6"]}}, allow_train={V},
               train={"optimizer": "sgd", "lr": 0.5, "steps": 300}, train_batch=digits_minibatch,
               source="Glorot & Bengio 2010 Fig. 2: the top sigmoid layer saturates at 0 early in training"),
    CorpusCase("glorot_tanh_std", "mlp", lambda: M.mlp([64] * 6 + [10], nn.Tanh, "std"), _cls(64), F.cross_entropy,
               expect_train={}, train=SGD,
               source="Glorot & Bengio 2010 Fig. 8: back-prop gradients shrink, weight gradients do not"),
    CorpusCase("glorot_tanh_xavier", "mlp", lambda: M.mlp([64] * 6 + [10], nn.Tanh, "xavier"), _cls(64),
               F.cross_entropy, source="Glorot & Bengio 2010: normalized init"),
    # ---------------------------------------------------------------- He et al. 2015
    CorpusCase("he30_xavier", "mlp", lambda: M.mlp([64] * 31 + [10], nn.ReLU, "xavier"), _cls(64), F.cross_entropy,
               expect={V: {"axis": "depth", "cause": "init_scale_too_small"}},
               expect_train={V: {"axis": "depth"}, "stalled_learning": {}}, allow={"dead_units"},
               allow_train={"dead_units"}, train={"optimizer": "sgd", "lr": 0.01, "steps": 25},
               source="He et al. 2015 Fig. 3: 30-layer ReLU, Xavier, 'completely stalls'"),
    CorpusCase("he30_xavier_wd", "mlp", lambda: M.mlp([64] * 31 + [10], nn.ReLU, "xavier"), _cls(64),
               F.cross_entropy, expect={V: {"axis": "depth"}}, allow={"dead_units"},
               expect_train={V: {"cause": "weight_decay_only"}}, allow_train={"dead_units", "stalled_learning"},
               train={"optimizer": "sgd", "lr": 0.01, "steps": 15, "weight_decay": 5e-4},
               source="He et al. 2015 footnote 2: gradient modulated only by weight decay"),
    CorpusCase("he30_he", "mlp", lambda: M.mlp([64] * 31 + [10], nn.ReLU, "he"), _cls(64), F.cross_entropy,
               expect_train={}, train={"optimizer": "sgd", "lr": 0.01, "steps": 25},
               source="He et al. 2015: He init converges"),
    # ---------------------------------------------------------------- other MLPs
    CorpusCase("mlp_relu_he", "mlp", lambda: M.mlp([20, 64, 64, 64, 4], nn.ReLU, "he"), _cls(20, 4),
               F.cross_entropy, expect_train={}, train={"optimizer": "adam", "lr": 1e-3, "steps": 25}),
    CorpusCase("mlp_layernorm_deep", "mlp", lambda: M.mlp([20] + [32] * 12 + [4], nn.ReLU, "default", norm=True),
               _cls(20, 4), F.cross_entropy, expect_train={}, train={"optimizer": "adam", "lr": 1e-3, "steps": 25}),
    CorpusCase("mlp_deep_default", "mlp", lambda: M.mlp([20] + [32] * 12 + [4], nn.ReLU), _cls(20, 4),
               F.cross_entropy, expect={V: {"axis": "depth", "cause": "init_scale_too_small"}},
               allow={"dead_units"}, source="torch default init, Var = 1/6 of He, 12 layers"),
    CorpusCase("mlp_n01_exploding", "mlp", lambda: M.mlp([20] + [32] * 8 + [4], nn.ReLU, "n01"), _cls(20, 4),
               F.cross_entropy, expect={E: {"axis": "depth", "cause": "init_scale_too_large"}},
               allow={"dead_units", V}),
    CorpusCase("mlp_tanh_saturated", "mlp", lambda: M.mlp([20] + [32] * 4 + [4], nn.Tanh, "n01"), _cls(20, 4),
               F.cross_entropy, expect={"saturation": {"cause": "saturating_activation"}}, allow={V, E}),
    CorpusCase("mlp_unnormalized_inputs", "mlp", lambda: M.mlp([20, 32, 32, 4], nn.Tanh, "xavier"),
               _cls(20, 4, scale=300.0), F.cross_entropy, expect={"saturation": {"cause": "unnormalized_inputs"}},
               allow={V}),
    CorpusCase("mlp_dead_relu", "mlp", _dead_mlp, _cls(20, 4), F.cross_entropy,
               expect={"dead_units": {"layers": ["2"]}}, allow={V}),
    CorpusCase("mlp_functional_sigmoid", "mlp", lambda: M.FunctionalSigmoidNet(32, 8), _cls(20, 4),
               F.cross_entropy, expect={V: {"axis": "depth", "cause": "saturating_activation"}}, allow={"saturation"}),
    CorpusCase("mlp_high_lr", "mlp", lambda: M.mlp([20, 64, 64, 4], nn.ReLU, "he"), _cls(20, 4, scale=3.0),
               F.cross_entropy, expect_train={E: {}}, allow_train={"non_finite", "dead_units", V},
               train={"optimizer": "sgd", "lr": 30.0, "steps": 25}, source="a learning rate 1000x too high"),
    # ---------------------------------------------------------------- non-finite
    CorpusCase("nan_input", "mlp", lambda: M.mlp([20, 32, 4], nn.ReLU, "he"), _nan_input, F.cross_entropy,
               expect={"non_finite": {"origin": "<input>", "cause": "non_finite_inputs"}}),
    CorpusCase("nan_log_in_model", "mlp", M.LogNet, _cls(8, 2, 16), F.cross_entropy,
               expect={"non_finite": {"origin": "b", "cause": "unsafe_op"}}),
    CorpusCase("nan_in_loss", "mlp", lambda: M.mlp([20, 16, 4], nn.ReLU, "he"), _cls(20, 4, 16), _log_loss,
               expect={"non_finite": {"origin": "<loss>", "cause": "unsafe_op"}}),
    # ---------------------------------------------------------------- CNNs and residual nets
    CorpusCase("cnn_bn_relu", "cnn", lambda: M.ConvNet(4, 8, nn.ReLU, bn=True), _img(), F.cross_entropy,
               expect_train={}, train={"optimizer": "sgd", "lr": 0.05, "steps": 20}),
    CorpusCase("cnn_sigmoid_deep", "cnn", lambda: M.ConvNet(8, 8, nn.Sigmoid, bn=False), _img(), F.cross_entropy,
               expect={V: {"axis": "depth", "cause": "saturating_activation"}}),
    CorpusCase("cnn_dead_relu", "cnn", lambda: M.ConvNet(3, 8, nn.ReLU, bn=False, bias=-5.0), _img(),
               F.cross_entropy, expect={"dead_units": {}}, allow={V}),
    CorpusCase("resnet_bn", "resnet", lambda: M.ResNet(6, 8, bn=True), _img(), F.cross_entropy, expect_train={},
               train={"optimizer": "sgd", "lr": 0.05, "steps": 15}, source="residual + BatchNorm: healthy"),
    CorpusCase("resnet_no_bn", "resnet", lambda: M.ResNet(6, 8, bn=False), _img(), F.cross_entropy,
               source="residual, zero-init branch (SkipInit-like): healthy"),
    # ---------------------------------------------------------------- recurrent nets (adding problem)
    CorpusCase("adding_rnn_T100", "rnn", lambda: M.SeqModel("RNN", 32), lambda: adding(64, 100), F.mse_loss,
               expect={V: {"axis": "time", "cause": "plain_rnn_long_sequence"}},
               expect_train={V: {"axis": "time"}}, train={"optimizer": "adam", "lr": 1e-3, "steps": 15},
               source="Bengio et al. 1994; Hochreiter & Schmidhuber 1997 Task 4"),
    CorpusCase("adding_lstm_T100", "rnn", lambda: M.SeqModel("LSTM", 32), lambda: adding(64, 100), F.mse_loss,
               expect_train={}, train={"optimizer": "adam", "lr": 1e-3, "steps": 15},
               source="LSTM: info only (forget gate closed at init, can learn to open)"),
    CorpusCase("adding_gru_T100", "rnn", lambda: M.SeqModel("GRU", 32), lambda: adding(64, 100), F.mse_loss),
    CorpusCase("rnn_short_T5", "rnn", lambda: M.SeqModel("RNN", 32), lambda: adding(64, 5), F.mse_loss),
    CorpusCase("rnn_exploding", "rnn", _exploding_rnn, lambda: adding(32, 40), F.mse_loss,
               expect={E: {"axis": "time"}}, allow={E},
               # trained, it overflows to NaN at step 1: the time axis must still be named (QA pass 6)
               expect_train={E: {"axis": "time", "cause": "plain_rnn_long_sequence"}}, allow_train={"non_finite"},
               train={"optimizer": "sgd", "lr": 1e-5, "steps": 12}),
    CorpusCase("pascanu_cliff", "rnn", M.PascanuUnit, _pascanu_data, F.mse_loss, expect={E: {}},
               expect_train={E: {"cause": "gradient_cliff"}}, allow_train={"non_finite"},
               train={"optimizer": "sgd", "lr": 0.1, "steps": 30}, build_train=lambda: M.PascanuUnit(4.65, -2.6),
               source="Pascanu et al. 2013 sec. 2.3, single-unit cliff"),
    # ---------------------------------------------------------------- transformers
    CorpusCase("transformer_pre_ln", "transformer", lambda: M.Transformer(3, 32, True), _tokens(), F.cross_entropy,
               expect_train={}, train={"optimizer": "adam", "lr": 1e-3, "steps": 15}),
    CorpusCase("transformer_post_ln", "transformer", lambda: M.Transformer(3, 32, False), _tokens(),
               F.cross_entropy, source="Post-LN at init: larger last-layer gradients, still trainable"),
    CorpusCase("transformer_pre_ln_deep", "transformer", lambda: M.Transformer(6, 32, True), _tokens(),
               F.cross_entropy),
]

BY_NAME = {c.name: c for c in CASES}
