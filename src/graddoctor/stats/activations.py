"""Activation kinds: which module is which activation, its derivative and its flat region.

The flat (saturated) region is defined by the derivative: a unit is saturated when the activation's
derivative at its input is below ``SATURATION_DERIV_FRACTION`` (1 %) of the derivative's maximum. For
sigmoid that is sigma'(z) < 0.0025, i.e. |z| > 5.99 or an output outside [0.0025, 0.9975]; for tanh it is
1 - tanh(z)^2 < 0.01, i.e. |tanh(z)| > 0.995 (|z| > 2.99). SageMaker Debugger uses fixed input cut-offs
(tanh +-9.5, sigmoid -23/17), which flag far fewer units; DeepDiagnosis uses |z| > 5 for every activation.
Everything here works from the activation's *output*, so no pre-activation needs to be kept.
"""
from __future__ import annotations

import torch
from torch import nn

from .kinds import DEAD_CAPABLE, RELU_FAMILY, SATURATING  # noqa: F401  (re-exported)

#: A unit is saturated when its derivative is below this fraction of the derivative's maximum.
SATURATION_DERIV_FRACTION = 0.01


_MODULE_KINDS: list[tuple[type[nn.Module], str]] = [
    (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.ReLU6, "relu6"), (nn.Hardtanh, "hardtanh"),
    (nn.Softsign, "softsign"), (nn.Hardsigmoid, "hardsigmoid"), (nn.ReLU, "relu"), (nn.LeakyReLU, "leaky_relu"),
    (nn.PReLU, "prelu"), (nn.ELU, "elu"), (nn.SELU, "selu"), (nn.CELU, "celu"), (nn.GELU, "gelu"),
    (nn.SiLU, "silu"), (nn.Mish, "mish"), (nn.Softplus, "softplus"), (nn.RReLU, "rrelu"),
    (nn.Hardswish, "hardswish"),
]

#: Functional forms seen through a TorchFunctionMode during :func:`graddoctor.check`.
FUNCTION_KINDS: dict[object, str] = {
    torch.sigmoid: "sigmoid", torch.Tensor.sigmoid: "sigmoid", torch.nn.functional.sigmoid: "sigmoid",
    torch.tanh: "tanh", torch.Tensor.tanh: "tanh", torch.nn.functional.tanh: "tanh",
    torch.relu: "relu", torch.Tensor.relu: "relu", torch.nn.functional.relu: "relu",
    torch.nn.functional.relu6: "relu6", torch.nn.functional.hardtanh: "hardtanh",
    torch.nn.functional.softsign: "softsign", torch.nn.functional.leaky_relu: "leaky_relu",
    torch.nn.functional.elu: "elu", torch.nn.functional.selu: "selu", torch.nn.functional.gelu: "gelu",
    torch.nn.functional.silu: "silu", torch.nn.functional.mish: "mish",
}

#: What :func:`graddoctor.check` observes besides :data:`FUNCTION_KINDS` (which the repair's functional swaps also
#: use, and which these are kept out of: an in-place call cannot be swapped for a new tensor): the in-place forms
#: (``x.relu_()``, ``torch.relu_`` = ``F.relu_``, ``F.leaky_relu_``, ...) and a few more functions. Without them a
#: net whose every in-place ReLU was dead passed the check as healthy.
#: The in-place functional forms (``x.sigmoid_()``, ``torch.relu_`` = ``F.relu_``, ...): observed by the check, and
#: swapped by the repair's functional swaps by writing the replacement into the tensor.
INPLACE_FUNCTION_KINDS: dict[object, str] = {
    torch.relu_: "relu", torch.Tensor.relu_: "relu", torch.sigmoid_: "sigmoid", torch.Tensor.sigmoid_: "sigmoid",
    torch.tanh_: "tanh", torch.Tensor.tanh_: "tanh", torch.nn.functional.leaky_relu_: "leaky_relu",
    torch.nn.functional.elu_: "elu", torch.nn.functional.hardtanh_: "hardtanh", torch.selu_: "selu",
    torch.celu_: "celu",
}

OBSERVED_FUNCTION_KINDS: dict[object, str] = {
    **FUNCTION_KINDS,
    torch.nn.functional.hardsigmoid: "hardsigmoid", torch.nn.functional.hardswish: "hardswish",
    torch.nn.functional.softplus: "softplus", torch.nn.functional.celu: "celu", torch.selu: "selu",
    **INPLACE_FUNCTION_KINDS,
}


def module_activation_kind(module: nn.Module) -> str | None:
    """The activation kind of ``module`` (e.g. ``"sigmoid"``), or ``None`` if it is not an activation."""
    for cls, kind in _MODULE_KINDS:
        if isinstance(module, cls):
            return kind
    return None


def hardtanh_bounds(module: nn.Module | None) -> tuple[float, float]:
    """``(min_val, max_val)`` of a Hardtanh/ReLU6 module, (-1, 1) by default."""
    return (float(getattr(module, "min_val", -1.0)), float(getattr(module, "max_val", 1.0)))


def derivative_from_output(kind: str, a: torch.Tensor, module: nn.Module | None = None) -> torch.Tensor | None:
    """The activation's derivative at each unit, computed from its output ``a``; ``None`` when not invertible."""
    if kind == "sigmoid":
        return a * (1 - a)
    if kind == "tanh":
        return 1 - a * a
    if kind == "softsign":
        return (1 - a.abs()) ** 2
    if kind == "relu":
        return (a > 0).to(a.dtype)
    if kind in ("hardtanh", "relu6"):
        lo, hi = hardtanh_bounds(module) if kind == "hardtanh" else (0.0, 6.0)
        return ((a > lo) & (a < hi)).to(a.dtype)
    if kind == "leaky_relu":
        slope = float(getattr(module, "negative_slope", 0.01))
        return torch.where(a > 0, torch.ones_like(a), torch.full_like(a, slope))
    if kind == "elu":
        alpha = float(getattr(module, "alpha", 1.0))
        return torch.where(a > 0, torch.ones_like(a), a + alpha)
    return None


def saturated_mask(kind: str, a: torch.Tensor, module: nn.Module | None = None) -> torch.Tensor | None:
    """Boolean mask of saturated units (derivative < 1 % of its maximum), or ``None`` if not saturating."""
    if kind == "sigmoid":  # max sigma' = 1/4
        return a * (1 - a) < SATURATION_DERIV_FRACTION * 0.25
    if kind == "tanh":  # max = 1
        return 1 - a * a < SATURATION_DERIV_FRACTION
    if kind == "softsign":  # derivative (1-|a|)^2, max 1
        return (1 - a.abs()) ** 2 < SATURATION_DERIV_FRACTION
    if kind == "hardsigmoid":
        return (a <= 0) | (a >= 1)
    if kind in ("hardtanh", "relu6"):
        lo, hi = hardtanh_bounds(module) if kind == "hardtanh" else (0.0, 6.0)
        return a >= hi if kind == "relu6" else (a <= lo) | (a >= hi)
    return None
