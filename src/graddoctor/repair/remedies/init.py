"""Re-initialisation remedies: He (``he_init``), Xavier (``xavier_init``) and orthogonal (``orthogonal_init``).

Every Linear/Conv weight is redrawn with the scheme, using the gain of the activation that follows it
(:func:`torch.nn.init.calculate_gain`), and biases are set to zero; recurrent layers get Xavier input weights
and orthogonal recurrent weights (Saxe et al. 2014; Le et al. 2015), whatever the scheme, because that is
the scale-preserving choice for a matrix applied once per time step. An LSTM's biases are zero except its
forget gate's, which is set to 1 (Gers et al. 2000; Jozefowicz et al. 2015): zero there is the closed gate
that makes the cell forget at the start of training.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ...stats.activations import OBSERVED_FUNCTION_KINDS, module_activation_kind
from .base import (
    LINEAR_LIKE,
    ModelRemedy,
    NotApplicable,
    RepairContext,
    leaf_order,
    probe_run,
    reinit_weight,
    trainable,
)
from .forget_gate import FORGET_BIAS

#: torch.nn.init gain names for the activation kinds graddoctor recognises (others: gain 1, "linear").
GAIN_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu", "selu": "selu"}
#: Activations that behave like ReLU for positive inputs and use ReLU's gain sqrt(2).
RELU_LIKE = {"relu6", "elu", "celu", "gelu", "silu", "mish", "softplus", "rrelu", "hardswish", "prelu"}


def following_activation(model: nn.Module, x: Any = None) -> dict[int, str]:
    """id(layer) -> kind of the first activation after it: in the order one forward pass on the batch ``x`` runs
    them (an ``__init__`` that defines ``self.act = nn.Tanh()`` before the layers is common), activation modules
    and functional calls alike (``torch.tanh(self.l1(x))`` in a hand-written forward), or the activation modules
    in registration order without a batch or when the pass fails."""
    order = _run_order(model, x) if x is not None else None
    if order is None:
        order = [m for _, m in leaf_order(model)]
    out: dict[int, str] = {}
    pending: list[nn.Module] = []
    for m in order:
        kind = m if isinstance(m, str) else module_activation_kind(m)
        if isinstance(m, LINEAR_LIKE):
            pending.append(m)
        elif kind is not None:
            for layer in pending:
                out.setdefault(id(layer), kind)  # a layer run twice keeps its first follower
            pending = []
    return out


class _FunctionalKinds(TorchFunctionMode):
    """Appends the kind of each functional activation call (``torch.tanh``, ``F.relu``, ``x.sigmoid_()``) made
    outside every leaf module's own computation (a GELU module's internal tanh is that module's) to ``order``."""

    def __init__(self, order: list[Any], depth: list[int]) -> None:
        super().__init__()
        self.order, self.depth = order, depth

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        kind = OBSERVED_FUNCTION_KINDS.get(func)
        if kind is not None and not self.depth[0]:
            self.order.append(kind)
        return out


def _run_order(model: nn.Module, x: Any) -> list[Any] | None:
    """The leaf modules in the order one forward pass on ``x`` runs them, with the kind (a string) of each
    functional activation call in its place among them; ``None`` when the pass fails."""
    order: list[Any] = []
    depth = [0]

    def enter(mod: nn.Module, args: Any) -> None:
        depth[0] += 1

    def leave(mod: nn.Module, args: Any, out: Any) -> None:
        depth[0] = max(0, depth[0] - 1)
        order.append(mod)

    handles = []
    for m in {id(m): m for _, m in leaf_order(model)}.values():
        handles.append(m.register_forward_pre_hook(enter))
        handles.append(m.register_forward_hook(leave, always_call=True))
    try:
        with _FunctionalKinds(order, depth):
            probe_run(model, x)
    except Exception:
        return None
    finally:
        for h in handles:
            h.remove()
    return order


def gain_for(kind: str | None, scheme: str) -> tuple[str, float]:
    """(nonlinearity name, gain) for the activation ``kind``; He uses ReLU's gain for unknown kinds."""
    if kind in RELU_LIKE:
        kind = "relu"
    name = GAIN_NAMES.get(kind or "", "relu" if scheme == "he" else "linear")
    return name, nn.init.calculate_gain(name, 0.01 if name == "leaky_relu" else None)  # type: ignore[arg-type]


def reinit_recurrent(m: nn.RNNBase | nn.RNNCellBase) -> None:
    """Xavier input weights, orthogonal recurrent weights (one square block per gate), zero biases except an
    LSTM's (or LSTMCell's) forget gate; layers and cells alike."""
    for pname, p in m.named_parameters():
        if pname.startswith("weight_ih"):
            nn.init.xavier_uniform_(p)
        elif pname.startswith("weight_hh"):
            for k in range(0, p.shape[0], m.hidden_size):  # one square block per gate
                nn.init.orthogonal_(p.data[k:k + m.hidden_size])
        elif pname.startswith("bias"):
            nn.init.zeros_(p)
            if isinstance(m, (nn.LSTM, nn.LSTMCell)) and pname.startswith("bias_ih"):
                with torch.no_grad():
                    p[m.hidden_size:2 * m.hidden_size] = FORGET_BIAS  # gates (input, forget, cell, output)


class Reinit(ModelRemedy):
    """Redraw every Linear/Conv/RNN weight with one scheme."""

    code = "he_init"
    scheme = "he"

    def describe(self, ctx: RepairContext | None = None) -> str:
        label = {"he": "He (Kaiming) normal init, std sqrt(2/fan_in)",
                 "xavier": "Xavier (Glorot) normal init with the gain of the activation that follows",
                 "orthogonal": "orthogonal init with the gain of the activation that follows"}
        return f"re-initialised every linear/conv weight with {label[self.scheme]}, biases 0; recurrent weights " \
               f"orthogonal (LSTM forget-gate bias {FORGET_BIAS:g})"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        acts = following_activation(model, ctx.sample[0] if ctx.sample is not None else None)
        n = frozen = 0
        for m in model.modules():
            if isinstance(m, (nn.RNNBase, nn.RNNCellBase, *LINEAR_LIKE)) and not trainable(m):
                frozen += 1  # a frozen (pretrained) layer keeps its weights
                continue
            if isinstance(m, (nn.RNNBase, nn.RNNCellBase)):  # nn.RNNCell/LSTMCell/GRUCell are no RNNBase
                reinit_recurrent(m)
                n += 1
            elif isinstance(m, LINEAR_LIKE):
                name, gain = gain_for(acts.get(id(m)), self.scheme)
                if self.scheme == "he":  # He et al. 2015: std sqrt(2 / fan_in), for the ReLU family
                    leaky = name == "leaky_relu"
                    reinit_weight(m, partial(nn.init.kaiming_normal_, a=0.01 if leaky else 0,
                                             nonlinearity="leaky_relu" if leaky else "relu"))
                elif self.scheme == "xavier":
                    reinit_weight(m, partial(nn.init.xavier_normal_, gain=gain))
                else:
                    reinit_weight(m, partial(nn.init.orthogonal_, gain=gain))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
                n += 1
        if n == 0:
            why = f"all {frozen} of its Linear, Conv and RNN layers are frozen (requires_grad=False)" if frozen \
                else "the model has no Linear, Conv or RNN layer to re-initialise"
            raise NotApplicable(f"{self.name}: {why}")
        return model


class HeInit(Reinit):
    code, scheme = "he_init", "he"


class XavierInit(Reinit):
    code, scheme = "xavier_init", "xavier"


class OrthogonalInit(Reinit):
    code, scheme = "orthogonal_init", "orthogonal"
