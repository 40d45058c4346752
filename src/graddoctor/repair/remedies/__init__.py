"""Remedies: each a function from a training recipe (:class:`~graddoctor.repair.case.Case`) to a new one.

``REGISTRY`` maps every remedy code (:data:`graddoctor.REMEDIES`) that graddoctor can apply to its class;
:func:`get_remedy` builds one from ``"code"`` or ``"code:variant"`` (e.g. ``"use_relu_family:selu"``).
"""
from __future__ import annotations

from .activation import ActivationSwap, LeakySwap
from .base import ModelRemedy, NotApplicable, RecipeRemedy, Remedy, RepairContext
from .clipping import ClipGradNorm, ClipGradValue
from .forget_gate import ForgetGateBias
from .guard import GuardUnsafeOps
from .init import HeInit, OrthogonalInit, XavierInit
from .inputs import NormalizeInputs, SanitizeInputs
from .learning_rate import LowerLearningRate, RaiseLearningRate, Warmup
from .lsuv import LSUVInit
from .normalization import AddBatchNorm, AddLayerNorm
from .optimizer import UseAdagrad, UseAdam, UseRMSprop
from .recurrent import UseGated
from .regularization import AddDropout, WeightDecay
from .residual import AddResidual

REGISTRY: dict[str, type[Remedy]] = {cls.code: cls for cls in (
    ActivationSwap, LeakySwap, HeInit, XavierInit, OrthogonalInit, LSUVInit, ForgetGateBias, AddBatchNorm,
    AddLayerNorm, AddResidual, ClipGradNorm, ClipGradValue, UseAdam, UseRMSprop, UseAdagrad, LowerLearningRate,
    RaiseLearningRate, Warmup, UseGated, WeightDecay, AddDropout, NormalizeInputs, SanitizeInputs, GuardUnsafeOps)}


def get_remedy(spec: str | Remedy) -> Remedy:
    """A remedy from ``"code"`` or ``"code:variant"`` (a Remedy instance is returned as is).

    Raises:
        ValueError: for an unknown code, naming the codes graddoctor can apply, or a variant the remedy does not
            have (naming its variants).
    """
    if isinstance(spec, Remedy):
        return spec
    code, _, variant = str(spec).partition(":")
    if code not in REGISTRY:
        raise ValueError(f"graddoctor has no remedy {code!r}; it can apply: {', '.join(sorted(REGISTRY))}")
    allowed = REGISTRY[code].variants
    if variant and variant not in allowed:
        raise ValueError(f"remedy {code!r} has no variant {variant!r}; " +
                         (f"its variants: {', '.join(allowed)}" if allowed else f"it has none: use {code!r}"))
    return REGISTRY[code](variant or None)


__all__ = ["REGISTRY", "get_remedy", "Remedy", "ModelRemedy", "RecipeRemedy", "RepairContext", "NotApplicable",
           *(cls.__name__ for cls in REGISTRY.values())]
