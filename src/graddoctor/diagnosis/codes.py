"""Every code graddoctor emits: finding kinds, cause codes and remedy codes.

Tests and tools use these codes, never free text. docs/codes.md documents the same list.
"""
from __future__ import annotations

#: Finding kinds. The first five are fixed by the public contract.
KINDS: dict[str, str] = {
    "vanishing_gradient": "The backward signal shrinks on its way to the early layers (depth) or early time steps "
    "(time), so they barely learn.",
    "exploding_gradient": "The backward signal (or the forward signal) grows geometrically through the layers or "
    "time steps, giving huge updates, divergence or NaN.",
    "saturation": "Units of a sigmoid/tanh-family activation sit in the flat region, where the derivative is below "
    "1 % of its maximum, and pass almost no gradient.",
    "dead_units": "ReLU-family units output zero for every sample, so they pass no gradient and never recover.",
    "non_finite": "A NaN or Inf appears in an output, the loss or the gradients.",
    "stalled_learning": "Every layer's relative update is tiny while the loss stays far from its floor: training "
    "has stalled although no single layer stands out.",
    "unstable_loss": "The training loss climbs back above where it started: the optimizer's steps overshoot "
    "(a learning rate too high), before anything becomes non-finite.",
    "poor_initialization": "A layer's weight scale is far from the variance-preserving value for the activation "
    "that follows it (Glorot & Bengio 2010; He et al. 2015).",
}

#: Cause codes, each with the explanation printed beside it.
CAUSES: dict[str, str] = {
    "saturating_activation": "sigmoid/tanh-family activations: their derivative is at most 1/4 (sigmoid) or 1 "
    "(tanh) and far smaller in the flat region, so each layer multiplies the signal by a factor below one "
    "(Nielsen ch. 5).",
    "init_scale_too_small": "weights initialised smaller than the variance-preserving scale: each layer shrinks the "
    "signal (Glorot & Bengio 2010; He et al. 2015).",
    "init_scale_too_large": "weights initialised larger than the variance-preserving scale: each layer amplifies "
    "the signal.",
    "depth_without_normalization": "many layers in a row without normalization or residual paths, so per-layer "
    "factors compound.",
    "plain_rnn_long_sequence": "a plain RNN on a long sequence: the same recurrent factor is multiplied once per "
    "time step (Bengio et al. 1994; Hochreiter & Schmidhuber 1997).",
    "forget_gate_closed": "an LSTM whose forget-gate bias starts at 0: the cell forgets quickly at first "
    "(Gers et al. 2000 recommend bias 1).",
    "learning_rate_too_high": "the optimizer's steps are too large for the loss surface. The finding's evidence "
    "says which sign was seen: first updates comparable to or larger than the weights, a gradient norm or weights "
    "growing before a NaN, or a loss that climbs back above its start.",
    "learning_rate_too_low": "every layer moves by a tiny, similar fraction of its weights per step (no layer "
    "stands out, so the gradient's depth profile is not the problem): the step size holds training back.",
    "unnormalized_inputs": "the inputs are far from zero mean and unit scale.",
    "non_finite_inputs": "the batch already holds NaN or Inf.",
    "non_finite_parameters": "a parameter already held NaN or Inf when watching began (a corrupted checkpoint, or "
                             "weights saved after an earlier run went NaN): reload an earlier checkpoint or "
                             "re-initialise those layers.",
    "unsafe_op": "a numerically unsafe operation (log, sqrt, division, exp) produced the first NaN/Inf, in the "
    "forward pass or, when only the gradients are non-finite, in the backward pass (sqrt or a norm at 0).",
    "non_finite_loss": "every layer output was finite and the loss was not: the targets hold a NaN/Inf, or the "
    "loss function computes one (log of 0, division by 0, a mean over an empty selection). No remedy of the "
    "model or the optimizer fixes that: clean the targets or guard the loss.",
    "post_layernorm": "LayerNorm after the residual addition (Post-LN): gradients of the last layers are large at "
    "initialisation (Xiong et al. 2020).",
    "weight_decay_only": "the layer's gradient is essentially its weight-decay term alone: the data gradient has "
    "vanished (He et al. 2015, footnote 2).",
    "high_learning_rate_relu": "a high learning rate pushed ReLU units into the region where they never fire.",
    "preactivation_shift": "what feeds the dead ReLU units is shifted below zero from the start (the layers' outputs "
    "have a mean far below zero relative to their RMS): a negative bias at initialisation, or inputs far from zero "
    "mean, keeps the units off for every sample.",
    "dead_relu_units": "ReLU units that output zero for every sample pass no gradient: the layers below them and "
    "their own incoming weights get none, so learning stops (the dead_units finding has the layers).",
    "gradient_cliff": "a steep wall in the loss surface: a small parameter change multiplies the gradient by "
    "orders of magnitude (Pascanu et al. 2013, Fig. 6).",
    "large_loss_gradient": "the gradient is large where it enters the net: the loss gradient at the output is "
    "large relative to the weights (e.g. regression targets far from unit scale), and nothing amplifies it through "
    "the layers; standardise the targets or scale the loss, or take smaller steps.",
    "unknown": "no specific cause was identified.",
}

#: Remedy codes, each with what it does.
REMEDIES: dict[str, str] = {
    "use_relu_family": "replace sigmoid/tanh with a ReLU-family activation (ReLU, LeakyReLU, ELU, SELU, GELU, SiLU).",
    "use_leaky_relu": "replace ReLU with LeakyReLU/ELU so that negative units still pass gradient.",
    "he_init": "He (Kaiming) initialisation: Var[W] = 2/fan_in for ReLU-family layers.",
    "xavier_init": "Xavier (Glorot) initialisation: Var[W] = 2/(fan_in + fan_out) for tanh/sigmoid layers.",
    "orthogonal_init": "orthogonal initialisation: keeps every singular value of the layer at 1 (Saxe et al. 2014).",
    "lsuv_init": "data-driven rescale of each layer to unit output variance (LSUV, Mishkin & Matas 2016).",
    "add_batchnorm": "insert BatchNorm after linear/conv layers (Ioffe & Szegedy 2015).",
    "add_layernorm": "insert LayerNorm after linear layers (Ba et al. 2016).",
    "pre_layernorm": "move LayerNorm before the sublayer (Pre-LN; Xiong et al. 2020).",
    "add_residual": "add identity shortcuts around same-shaped blocks (He et al. 2016).",
    "clip_grad_norm": "clip the gradient norm, with a threshold 0.5-10x the average norm (Pascanu et al. 2013).",
    "clip_grad_value": "clip each gradient entry to a fixed range.",
    "use_adam": "use Adam (per-parameter step sizes).",
    "use_rmsprop": "use RMSprop.",
    "use_adagrad": "use AdaGrad.",
    "lower_learning_rate": "lower the learning rate by the measured factor.",
    "raise_learning_rate": "raise the learning rate by the measured factor.",
    "lr_warmup": "warm the learning rate up over the first steps.",
    "use_lstm_or_gru": "replace the plain RNN with an LSTM or GRU of the same hidden size.",
    "forget_gate_bias": "set the LSTM forget-gate bias to 1.",
    "weight_decay": "add L2 weight decay.",
    "dropout": "add dropout.",
    "normalize_inputs": "standardise the inputs to zero mean and unit variance.",
    "sanitize_inputs": "remove or replace NaN/Inf in the data.",
    "guard_unsafe_op": "guard the unsafe operation (clamp before log/sqrt, add an epsilon to divisors).",
}

SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
AXES: tuple[str, ...] = ("depth", "time")


def check_code(table: dict[str, str], code: str, what: str) -> str:
    """Return ``code`` if it is in ``table``; raise ``ValueError`` naming the valid codes otherwise."""
    if code not in table:
        raise ValueError(f"unknown {what} code {code!r}; valid codes: {', '.join(sorted(table))}")
    return code
