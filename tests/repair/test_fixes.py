"""On a case where it is the right fix, each remedy measurably fixes the run (one seed, a few hundred steps on
scikit-learn digits or a synthetic sequence task). Measured on this machine (seed 0): the comments give the
baseline -> remedy validation accuracy; the asserted margins are far below them."""
from __future__ import annotations

from functools import cache

import pytest

from graddoctor.repair.remedies import RepairContext, get_remedy
from graddoctor.repair.trials import SeedRun, run_seed

from . import repair_cases as C


@cache
def baseline(name: str) -> tuple[SeedRun, object]:
    case = getattr(C, name)()
    return run_seed(case, 0, diagnose=False), case


def trial(name: str, code: str) -> tuple[SeedRun, SeedRun]:
    base, case = baseline(name)
    ctx = RepairContext(baseline=base.data, sample=case.sample_batch())
    return base, run_seed(get_remedy(code).apply(case, ctx), 0, diagnose=False)


@pytest.mark.parametrize("case,code,gain", [
    ("deep_sigmoid", "use_relu_family", 0.4),    # 0.10 -> 0.78
    ("deep_sigmoid", "add_batchnorm", 0.4),      # 0.10 -> 0.90
    ("deep_sigmoid", "add_residual", 0.4),       # 0.10 -> 0.77 (0.28 with plain shortcuts, before ReZero)
    ("sigmoid_adam", "add_layernorm", 0.4),      # 0.10 -> 0.87
    ("tiny_init_relu", "he_init", 0.4),          # 0.08 -> 0.90
    ("tiny_init_relu", "lsuv_init", 0.4),        # 0.08 -> 0.93
    ("tiny_init_tanh", "xavier_init", 0.4),      # 0.08 -> 0.90
    ("tiny_init_tanh", "orthogonal_init", 0.4),  # 0.08 -> 0.95
    ("relu_lr", "use_leaky_relu", 0.2),          # 0.44 -> 0.85
    ("high_lr", "lower_learning_rate", 0.4),     # 0.10 -> 0.81
    ("high_lr", "clip_grad_norm", 0.4),          # 0.10 -> 0.82
    ("high_lr", "clip_grad_value", 0.4),         # 0.10 -> 0.94
    ("big_output", "lr_warmup", 0.4),            # 0.10 -> 0.89
    ("slow_sgd", "use_adam", 0.4),               # 0.13 -> 0.92
    ("slow_sgd", "raise_learning_rate", 0.4),    # 0.13 -> 0.88
    ("slow_sgd", "use_rmsprop", 0.4),            # 0.13 -> 0.91
    ("slow_sgd", "use_adagrad", 0.4),            # 0.13 -> 0.92
    ("raw_pixels", "normalize_inputs", 0.4),     # 0.09 -> 0.94
    ("nan_inputs", "sanitize_inputs", 0.3),      # 0.09 (NaN) -> 0.66
    ("unsafe_sqrt", "guard_unsafe_op", 0.3),     # 0.09 (NaN) -> 0.63
])
def test_remedy_fixes_its_case(case: str, code: str, gain: float) -> None:
    base, fixed = trial(case, code)
    assert fixed.metric > base.metric + gain, (base.metric, fixed.metric)


def test_gated_rnn_fixes_vanishing_through_time() -> None:
    # plain tanh RNN whose recurrent weights start at 0.2 x orthogonal, label 20 steps back: 0.50 -> 0.85
    case = C.seq_case(T=30, lag=20, steps=300, hh_scale=0.2)
    base = run_seed(case, 0, diagnose=False)
    fixed = run_seed(get_remedy("use_lstm_or_gru").apply(case, RepairContext(sample=case.sample_batch())), 0,
                     diagnose=False)
    assert base.metric < 0.6 and fixed.metric > 0.75


def test_forget_gate_bias_fixes_a_forgetful_lstm() -> None:
    # LSTM at PyTorch's default init, label 12 steps back: 0.50 -> 0.79
    case = C.seq_case(T=30, lag=12, steps=300, cell="lstm")
    base = run_seed(case, 0, diagnose=False)
    fixed = run_seed(get_remedy("forget_gate_bias").apply(case, RepairContext(sample=case.sample_batch())), 0,
                     diagnose=False)
    assert base.metric < 0.6 and fixed.metric > base.metric + 0.15


@pytest.mark.slow
def test_weight_decay_reduces_overfitting() -> None:
    # 60 training images, 3x256 MLP under Adam: validation loss 1.26 -> 1.02
    base, fixed = trial("overfit", "weight_decay")
    assert fixed.loss < base.loss - 0.1
