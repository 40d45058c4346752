"""Every model remedy transforms correctly: the change is really made, shapes and parameter counts are as
expected, the forward still runs, the input model is untouched, and a remedy that does not apply says so."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from graddoctor.repair.remedies import NotApplicable, RepairContext, get_remedy
from graddoctor.repair.remedies.activation import FunctionalSwap
from graddoctor.repair.remedies.guard import Guarded
from graddoctor.repair.remedies.inputs import InputTransform
from graddoctor.repair.remedies.lsuv import TOL_VAR
from graddoctor.repair.remedies.recurrent import LSTMAsRNN
from graddoctor.repair.remedies.residual import Residual

from .repair_cases import SeqNet, mlp

X = torch.randn(32, 64)
CTX = RepairContext(sample=(X, torch.zeros(32, dtype=torch.long)))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def snapshot(m: nn.Module) -> tuple[list[type], dict[str, torch.Tensor]]:
    return [type(x) for x in m.modules()], {k: v.clone() for k, v in m.state_dict().items()}


def assert_untouched(m: nn.Module, snap: tuple[list[type], dict[str, torch.Tensor]]) -> None:
    types, state = snap
    assert [type(x) for x in m.modules()] == types
    assert state.keys() == m.state_dict().keys()
    for k, v in m.state_dict().items():
        assert torch.equal(v, state[k]), k


def kinds(m: nn.Module, cls: type) -> int:
    return sum(isinstance(x, cls) for x in m.modules())


@pytest.mark.parametrize("variant,cls", [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("prelu", nn.PReLU),
                                         ("elu", nn.ELU), ("selu", nn.SELU), ("silu", nn.SiLU), ("mish", nn.Mish),
                                         ("gelu", nn.GELU)])
def test_activation_swap_replaces_hidden_sigmoids(variant: str, cls: type) -> None:
    model = nn.Sequential(*mlp(3, 16, nn.Sigmoid), nn.Sigmoid())  # a final (output) sigmoid must stay
    snap = snapshot(model)
    new = get_remedy(f"use_relu_family:{variant}")(model, CTX)
    assert_untouched(model, snap)
    assert kinds(new, cls) == 3
    assert kinds(new, nn.Sigmoid) == 1 and isinstance(list(new.children())[-1], nn.Sigmoid)
    extra = 3 if variant == "prelu" else 0  # one slope parameter per PReLU
    assert n_params(new) == n_params(model) + extra
    assert new(X).shape == model(X).shape
    # paired init: He for the ReLU family, LeCun for SELU (std 1/sqrt(fan_in)); biases zero
    w = new[2].weight
    want = (1.0 if variant == "selu" else 2.0) / 16
    assert w.var().item() == pytest.approx(want, rel=0.35)
    assert torch.count_nonzero(new[2].bias) == 0


def test_activation_swap_not_applicable_without_saturating_activation() -> None:
    with pytest.raises(NotApplicable, match="no hidden"):
        get_remedy("use_relu_family")(mlp(2, 8, nn.ReLU), CTX)


def test_leaky_swap_replaces_relu() -> None:
    new = get_remedy("use_leaky_relu")(mlp(3, 8, nn.ReLU), CTX)
    assert kinds(new, nn.LeakyReLU) == 3 and kinds(new, nn.ReLU) == 0


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(64, 8), nn.Linear(8, 8), nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.c(torch.tanh(self.b(torch.sigmoid(self.a(x))))))


def test_functional_activation_swap_keeps_output_sigmoid() -> None:
    model = Functional()
    new = get_remedy("use_relu_family")(model, CTX)
    assert isinstance(new, FunctionalSwap) and n_params(new) == n_params(model)
    with torch.no_grad():
        inner = new.inner
        h = torch.relu(inner.b(torch.relu(inner.a(X))))
        want = torch.sigmoid(inner.c(h))
        assert torch.allclose(new(X), want)
    assert model(X).requires_grad and isinstance(model.a, nn.Linear)


@pytest.mark.parametrize("code,var", [("he_init", lambda fi, fo: 2 / fi), ("xavier_init", lambda fi, fo: 2 / (fi + fo)),
                                      ("orthogonal_init", None)])
def test_reinit_draws_the_right_scale(code: str, var) -> None:
    model = nn.Sequential(nn.Linear(256, 256), nn.Identity(), nn.Linear(256, 10))
    snap = snapshot(model)
    new = get_remedy(code)(model, CTX)
    assert_untouched(model, snap)
    w = new[0].weight
    if var is None:
        assert torch.allclose(w @ w.T, torch.eye(256), atol=1e-4)
    else:
        assert w.var().item() == pytest.approx(var(256, 256), rel=0.1)
    assert torch.count_nonzero(new[0].bias) == 0


def test_reinit_not_applicable_without_layers() -> None:
    class OnlyParam(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3))
    with pytest.raises(NotApplicable):
        get_remedy("he_init")(OnlyParam(), CTX)


def test_lsuv_gives_unit_output_variance() -> None:
    model = mlp(4, 32, nn.Tanh, std=0.01)
    new = get_remedy("lsuv_init")(model, CTX)
    outs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outs.append(o.var().item()))
             for m in new.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        new(X)
    for h in hooks:
        h.remove()
    assert len(outs) == 5 and all(abs(v - 1) < TOL_VAR * 1.5 for v in outs)


def test_forget_gate_bias_sets_forget_slice() -> None:
    model = SeqNet("lstm", hidden=8)
    new = get_remedy("forget_gate_bias")(model, CTX)
    b = new.rnn.bias_ih_l0.detach() + new.rnn.bias_hh_l0.detach()
    assert torch.allclose(b[8:16], torch.ones(8))
    assert torch.equal(new.rnn.bias_ih_l0[:8], model.rnn.bias_ih_l0[:8])
    with pytest.raises(NotApplicable):
        get_remedy("forget_gate_bias")(mlp(1, 4, nn.ReLU), CTX)


@pytest.mark.parametrize("code,cls", [("add_batchnorm", nn.BatchNorm1d), ("add_layernorm", nn.LayerNorm)])
def test_norm_inserted_between_layer_and_activation(code: str, cls: type) -> None:
    model = mlp(3, 16, nn.Sigmoid)
    snap = snapshot(model)
    new = get_remedy(code)(model, CTX)
    assert_untouched(model, snap)
    types = [type(m) for m in new.children()]
    assert types == [nn.Linear, cls, nn.Sigmoid] * 3 + [nn.Linear]  # the output layer is not normalised
    assert n_params(new) == n_params(model) + 3 * 2 * 16
    assert new(X).shape == (32, 10)


def test_batchnorm_after_conv_is_2d() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    new = get_remedy("add_batchnorm")(model, RepairContext(sample=(torch.randn(4, 1, 8, 8), None)))
    assert isinstance(new[1], nn.BatchNorm2d) and new(torch.randn(4, 1, 8, 8)).shape == (4, 10)


def test_norm_not_applicable_outside_sequential() -> None:
    with pytest.raises(NotApplicable, match="Sequential"):
        get_remedy("add_batchnorm")(Functional(), CTX)


def test_residual_wraps_same_shaped_blocks() -> None:
    model = mlp(4, 16, nn.Sigmoid)  # 64->16, then three 16->16 blocks, then 16->10
    new = get_remedy("add_residual")(model, CTX)
    assert sum(isinstance(m, Residual) for m in new.children()) == 3
    assert n_params(new) == n_params(model) + 3  # one ReZero scale per block without normalization
    block = new[2]
    with torch.no_grad():
        h = torch.randn(5, 16)
        assert torch.equal(block(h), h)  # the scale starts at 0: each block starts as the identity
        block.scale.fill_(0.5)
        assert torch.allclose(block(h), h + 0.5 * block.block(h))
    assert new(X).shape == (32, 10)
    # blocks with a normalization layer keep He et al.'s plain shortcut, no extra parameter
    bn = nn.Sequential(nn.Linear(64, 16), *[m for _ in range(3) for m in (nn.Linear(16, 16), nn.BatchNorm1d(16),
                                                                          nn.ReLU())], nn.Linear(16, 10))
    new_bn = get_remedy("add_residual")(bn, CTX)
    wrapped = [m for m in new_bn.children() if isinstance(m, Residual)]
    assert len(wrapped) == 3 and all(m.scale is None for m in wrapped)
    assert n_params(new_bn) == n_params(bn)
    with torch.no_grad():
        new_bn.eval()
        h = torch.randn(5, 16)
        assert torch.allclose(wrapped[0](h), h + wrapped[0].block(h))
    with pytest.raises(NotApplicable):
        get_remedy("add_residual")(nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)), CTX)


def test_dropout_after_hidden_activations() -> None:
    new = get_remedy("dropout")(mlp(2, 16, nn.ReLU), CTX)
    assert [type(m) for m in new.children()] == [nn.Linear, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]
    with pytest.raises(NotApplicable):
        get_remedy("dropout")(Functional(), CTX)


@pytest.mark.parametrize("variant", ["lstm", "gru"])
def test_rnn_to_gated_same_hidden_size(variant: str) -> None:
    model = SeqNet("rnn", hidden=12)
    snap = snapshot(model)
    new = get_remedy(f"use_lstm_or_gru:{variant}")(model, CTX)
    assert_untouched(model, snap)
    rnn = new.rnn.lstm if variant == "lstm" else new.rnn
    assert isinstance(new.rnn, LSTMAsRNN if variant == "lstm" else nn.GRU)
    assert rnn.hidden_size == 12 and rnn.input_size == 1 and rnn.batch_first
    x = torch.randn(4, 7, 1)
    assert new(x).shape == model(x).shape
    out, h = new.rnn(x)
    assert out.shape == (4, 7, 12) and h.shape == (1, 4, 12)
    with pytest.raises(NotApplicable):
        get_remedy("use_lstm_or_gru")(mlp(1, 4, nn.ReLU), CTX)


def test_normalize_inputs_standardises() -> None:
    Xr = torch.rand(200, 64) * 255 + 100
    model = mlp(1, 8, nn.ReLU)
    new = get_remedy("normalize_inputs")(model, RepairContext(sample=(Xr, None)))
    assert isinstance(new, InputTransform) and n_params(new) == n_params(model)
    z = (Xr - new.mean) / new.std
    assert z.mean(0).abs().max() < 1e-3 and (z.std(0) - 1).abs().max() < 0.01
    with pytest.raises(NotApplicable, match="already standardised"):
        get_remedy("normalize_inputs")(model, RepairContext(sample=(torch.randn(500, 64), None)))


def test_sanitize_inputs_removes_nan() -> None:
    model = mlp(1, 8, nn.ReLU)
    new = get_remedy("sanitize_inputs")(model, CTX)
    x = X.clone()
    x[0, 3] = float("nan")
    assert not torch.isfinite(model(x)).all() and torch.isfinite(new(x)).all()


def test_guard_unsafe_op() -> None:
    from .repair_cases import LogFeatures

    model = LogFeatures()
    new = get_remedy("guard_unsafe_op")(model, CTX)
    assert isinstance(new, Guarded)
    assert not torch.isfinite(model(X)).all() and torch.isfinite(new(X)).all()
    with pytest.raises(NotApplicable, match="no log"):
        get_remedy("guard_unsafe_op")(mlp(1, 4, nn.ReLU), CTX)


def test_unknown_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="can apply"):
        get_remedy("make_it_work")


def test_model_remedy_never_mutates_the_built_model() -> None:
    model = mlp(3, 16, nn.Sigmoid)
    ref = copy.deepcopy(model)
    for code in ("use_relu_family", "he_init", "add_batchnorm", "add_residual", "dropout", "lsuv_init"):
        get_remedy(code)(model, CTX)
        assert_untouched(model, snapshot(ref))


@pytest.mark.parametrize("code", ["he_init", "xavier_init", "orthogonal_init"])
def test_reinit_of_an_lstm_opens_its_forget_gate(code: str) -> None:
    """Recurrent weights orthogonal per gate block; every bias 0 except the LSTM forget gate's, which is 1
    (bias_ih slice 1 of the gates i, f, g, o): zero there is the closed gate the re-init would otherwise leave."""
    H = 8
    model = nn.Sequential(nn.LSTM(4, H, num_layers=2))
    new = get_remedy(code)(model, CTX)
    lstm = new[0]
    for k in range(2):
        b_ih, b_hh = getattr(lstm, f"bias_ih_l{k}"), getattr(lstm, f"bias_hh_l{k}")
        assert torch.equal(b_ih[H:2 * H], torch.ones(H)) and torch.count_nonzero(b_hh) == 0
        assert torch.count_nonzero(b_ih[:H]) == 0 and torch.count_nonzero(b_ih[2 * H:]) == 0
        w = getattr(lstm, f"weight_hh_l{k}")[H:2 * H]
        assert torch.allclose(w @ w.T, torch.eye(H), atol=1e-5)
    plain = get_remedy(code)(nn.Sequential(nn.RNN(4, H)), CTX)[0]
    assert torch.count_nonzero(plain.bias_ih_l0) == 0  # a plain RNN keeps zero biases
