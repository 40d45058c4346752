"""Which modules graddoctor watches: parameterised layers and the activations that follow them.

A *layer* is a module that owns parameters directly (``recurse=False``): Linear, Conv, BatchNorm,
LayerNorm, Embedding, RNN/LSTM/GRU, MultiheadAttention (its ``in_proj``), and any custom module that
registers its own parameters. Shared (tied) parameters belong to the first module that owns them.
Modules without parameters are never layers; activation modules (Sigmoid, Tanh, ReLU, ...) are watched
separately and attributed to the layer that ran just before them in the forward pass.

Unknown module types follow the policy in docs/limitations.md: any module with parameters is a layer
(parameter statistics always work); output statistics use the first tensor the module returns (tuples,
dicts, dataclasses and PackedSequence are searched); a module whose output holds no floating tensor gets
parameter statistics only.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import PackedSequence

from ..errors import ModelError
from ..stats.activations import module_activation_kind


def lstm_forget_bias(m: nn.Module) -> float | None:
    """Mean forget-gate bias (``bias_ih + bias_hh``, gate slice 1 of PyTorch's i, f, g, o order) of an nn.LSTM
    over its layers, or None for anything else (or an LSTM without biases)."""
    if not isinstance(m, nn.LSTM) or not m.bias:
        return None
    H = m.hidden_size
    vals = []
    try:
        with torch.no_grad():
            for k in range(m.num_layers):
                for suffix in ("", "_reverse") if m.bidirectional else ("",):
                    pair = [getattr(m, f"bias_{w}_l{k}{suffix}") for w in ("ih", "hh")]
                    # only plain, whole, real tensors on a real device: a sharded (FSDP/DTensor) or meta
                    # parameter is skipped rather than gathered, and the bias stays unknown (None)
                    if any(type(p.data) is not torch.Tensor or p.shape != (4 * H,) or p.is_meta or p.is_complex()
                           for p in pair):
                        return None
                    vals.append(float((pair[0][H:2 * H] + pair[1][H:2 * H]).float().mean()))
    except Exception:  # never let a model summary break watch() or check()
        return None
    return sum(vals) / len(vals) if vals else None


@dataclass
class LayerSpec:
    """One watched layer."""

    index: int
    name: str
    module: nn.Module
    params: list[tuple[str, nn.Parameter, bool]]  # (local name, parameter, is_bias)
    recurrent: bool = False
    conv: bool = False
    #: The dimension of the layer's output that holds its units (for dead-unit counts): 1, the channels, for
    #: convolutions and the normalisations that follow them (BatchNorm, InstanceNorm, GroupNorm: a conv -> BN
    #: -> ReLU block's activation follows the norm); -1, the features, for everything else.
    unit_dim: int = -1

    @property
    def type(self) -> str:
        # a parametrized module's class is a generated subclass ("ParametrizedLinear"): report the real one
        cls = type(self.module)
        if parametrize.is_parametrized(self.module) and cls.__bases__:
            cls = cls.__bases__[0]
        if not hookable(self.module):  # TorchScript: "RecursiveScriptModule"; the scripted class's name instead
            return str(getattr(self.module, "original_name", cls.__name__))
        return cls.__name__

    def fan_in_out(self) -> tuple[int | None, int | None]:
        """Fan-in and fan-out of the main weight (as torch.nn.init computes them), or (None, None)."""
        for _pname, p, is_bias in self.params:
            if not is_bias and p.dim() >= 2:
                receptive = math.prod(p.shape[2:]) if p.dim() > 2 else 1
                return int(p.shape[1] * receptive), int(p.shape[0] * receptive)
        return None, None

    def summary(self) -> dict[str, Any]:
        fan_in, fan_out = self.fan_in_out()
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "params": {n: list(p.shape) for n, p, _ in self.params},
            "param_count": int(sum(p.numel() for _, p, _ in self.params)),
            "trainable": int(sum(p.numel() for _, p, _ in self.params if p.requires_grad)),
            "recurrent": self.recurrent,
            "conv": self.conv,
            "fan_in": fan_in,
            "fan_out": fan_out,
            **({"forget_gate_bias": fg} if (fg := lstm_forget_bias(self.module)) is not None else {}),
        }


@dataclass
class ModelMap:
    layers: list[LayerSpec]
    activations: dict[str, tuple[nn.Module, str]] = field(default_factory=dict)  # name -> (module, kind)

    @property
    def params(self) -> list[tuple[int, nn.Parameter, bool]]:
        """Every watched parameter as (layer index, parameter, is_bias)."""
        return [(spec.index, p, is_bias) for spec in self.layers for _, p, is_bias in spec.params]


#: Layers whose outputs are channel-first (N, C, ...): a unit is a channel.
CHANNEL_LAYERS = (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm,
                  nn.GroupNorm)


try:  # the hook of the deprecated torch.nn.utils.weight_norm (still common: TCN, WaveNet, HiFi-GAN code)
    from torch.nn.utils.weight_norm import WeightNorm as _WEIGHT_NORM
except ImportError:  # pragma: no cover - a torch without it
    _WEIGHT_NORM = ()  # type: ignore[assignment,misc]


def _own_parameters(module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The parameters ``module`` owns directly, plus, for a module parametrized with
    ``torch.nn.utils.parametrize`` (weight_norm, spectral_norm, orthogonal, ...), the originals behind its
    parametrized tensors (``parametrizations.weight.original``): they are its weight, and its forward pass is
    where they act. Without this the Linear would own only its bias and its weight would become a separate
    "layer" whose output is the weight itself. Larger originals first, so that ``fan_in_out`` reads the matrix
    (weight_norm's ``v``) rather than the magnitude vector ``g`` of shape (out, 1); likewise ``weight_v`` before
    ``weight_g`` under the deprecated ``torch.nn.utils.weight_norm`` (a fan-in of 1 read from ``g`` made the
    initialisation audit call a default-initialised layer's variance 0.03x He's)."""
    own = list(module.named_parameters(recurse=False))
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _WEIGHT_NORM):  # the deprecated torch.nn.utils.weight_norm: <name>_g, then <name>_v
            g = f"{hook.name}_g"
            own.sort(key=lambda kv: kv[0] == g)  # its magnitude g, of shape (out, 1, ...), after the direction v
    if parametrize.is_parametrized(module):
        plists: nn.ModuleDict = module.parametrizations  # type: ignore[assignment]
        for tname, plist in plists.items():
            originals = sorted(plist.named_parameters(recurse=False), key=lambda kv: -kv[1].numel())
            own.extend((f"parametrizations.{tname}.{n}", p) for n, p in originals)
    return own


def map_model(model: nn.Module) -> ModelMap:
    """Find the layers and activation modules of ``model``.

    Raises:
        ModelError: when ``model`` is not an ``nn.Module`` or has no parameters at all.
    """
    if not isinstance(model, nn.Module):
        raise ModelError(f"expected a torch.nn.Module, got {type(model).__name__}; pass the model itself")
    seen: set[int] = set()
    layers: list[LayerSpec] = []
    activations: dict[str, tuple[nn.Module, str]] = {}
    for name, module in model.named_modules():
        kind = module_activation_kind(module)
        if kind is not None and kind != "prelu":
            activations[name or "<model>"] = (module, kind)
        own = []
        for pname, p in _own_parameters(module):
            if id(p) in seen:
                continue
            seen.add(id(p))
            own.append((pname, p, "bias" in pname))
        if own:
            layers.append(LayerSpec(
                index=len(layers), name=name or "<model>", module=module, params=own,
                recurrent=isinstance(module, nn.RNNBase),
                conv=isinstance(module, nn.modules.conv._ConvNd),
                unit_dim=1 if isinstance(module, CHANNEL_LAYERS) else -1,
            ))
    if not layers:
        raise ModelError(
            f"{type(model).__name__} has no parameters, so there are no gradients to watch; "
            "pass a model with at least one parameter"
        )
    return ModelMap(layers=layers, activations=activations)


#: TorchScript's module class (an empty tuple, matching nothing, on a torch without TorchScript).
_SCRIPT_MODULE: Any = getattr(getattr(torch, "jit", None), "ScriptModule", ())


def hookable(module: nn.Module) -> bool:
    """Whether ``module`` takes forward hooks: TorchScript modules (``torch.jit.script``/``trace``) refuse them,
    so they get parameter statistics only."""
    return not isinstance(module, _SCRIPT_MODULE)


def first_tensor(out: Any) -> torch.Tensor | None:
    """The first floating-point tensor in a module output (tensor, tuple, list, dict, dataclass, PackedSequence)."""
    if isinstance(out, torch.Tensor):
        return out if (out.is_floating_point() or out.is_complex()) else None
    if isinstance(out, PackedSequence):
        return first_tensor(out.data)
    if isinstance(out, dict):
        items: Any = out.values()
    elif isinstance(out, (list, tuple)):
        items = out
    elif dataclasses.is_dataclass(out) and not isinstance(out, type):
        items = (getattr(out, f.name) for f in dataclasses.fields(out))
    else:
        return None
    for item in items:
        t = first_tensor(item)
        if t is not None:
            return t
    return None


def time_dim_of(module: nn.Module, x: torch.Tensor) -> int | None:
    """The time dimension of an RNN input ``x``, or ``None`` when unknown."""
    if x.dim() == 2:  # unbatched (T, F)
        return 0
    if x.dim() == 3:
        return 1 if getattr(module, "batch_first", False) else 0
    return None


def optimizer_covers(optimizer: torch.optim.Optimizer, model: nn.Module) -> bool:
    """True when ``optimizer`` holds at least one parameter of ``model``."""
    ids = {id(p) for p in model.parameters()}
    return any(id(p) in ids for g in optimizer.param_groups for p in g["params"])


def optimizer_summary(optimizer: torch.optim.Optimizer | None) -> dict[str, Any] | None:
    """Class and hyper-parameters (scalars only) of an optimizer."""
    if optimizer is None:
        return None
    groups = []
    for g in optimizer.param_groups:
        hp: dict[str, Any] = {}
        for k, v in g.items():
            if k == "params":
                continue
            if isinstance(v, torch.Tensor) and v.numel() == 1:
                v = v.detach().cpu().item()
            if isinstance(v, (int, float, bool, str)) or v is None:
                hp[k] = v
            elif isinstance(v, (tuple, list)) and all(isinstance(x, (int, float)) for x in v):
                hp[k] = list(v)
        hp["n_params"] = len(g["params"])
        groups.append(hp)
    return {"class": type(optimizer).__name__, "param_groups": groups}
