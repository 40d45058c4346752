"""Activation swap: replace sigmoid/tanh-family activations (``use_relu_family``) or ReLU (``use_leaky_relu``)
with a non-saturating one, and re-initialise the layers that feed them with the matching init.

Module activations are replaced in place of the module. Functional calls (``torch.sigmoid(x)`` in a
``forward``) are replaced by a wrapper module that redirects those calls while the model runs, found with one
forward pass on a training batch. The output activation (the last one, whose result is the model's output)
is always kept: it shapes the prediction, it is not a hidden layer.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ...stats.activations import FUNCTION_KINDS, INPLACE_FUNCTION_KINDS, SATURATING, module_activation_kind
from .base import (
    LINEAR_LIKE,
    Delegating,
    ModelRemedy,
    NotApplicable,
    RepairContext,
    forward_trace,
    leaf_order,
    output_ids,
    probe_run,
    reinit_weight,
    set_submodule,
    trainable,
)

#: The functional activation calls the swaps count and replace: the out-of-place forms and the in-place ones
#: (``x.sigmoid_()``), whose replacement is written into the tensor they modify.
SWAP_FUNCTION_KINDS: dict[object, str] = {**FUNCTION_KINDS, **INPLACE_FUNCTION_KINDS}
#: Position of the ``inplace`` argument of the functional forms that take one (``F.relu(x, True)``).
_INPLACE_ARG = {F.relu: 1, F.relu6: 1, F.selu: 1, F.silu: 1, F.mish: 1, F.leaky_relu: 2, F.elu: 2, F.hardtanh: 3}


def _in_place(func: Any, args: Any, kwargs: dict[str, Any]) -> bool:
    """Whether this functional activation call modifies its input (``x.relu_()``, ``F.relu(x, inplace=True)``)."""
    if func in INPLACE_FUNCTION_KINDS or kwargs.get("inplace") is True:
        return True
    pos = _INPLACE_ARG.get(func)
    return pos is not None and len(args) > pos and args[pos] is True


#: New activation modules by name.
NEW_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE), "prelu": nn.PReLU, "elu": nn.ELU,
    "selu": nn.SELU, "silu": nn.SiLU, "mish": nn.Mish, "gelu": nn.GELU,
}
#: Their functional forms, for the functional-call wrapper (PReLU has a parameter: module only).
NEW_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_SLOPE), "elu": F.elu, "selu": F.selu,
    "silu": F.silu, "mish": F.mish, "gelu": F.gelu,
}
#: Negative slope of the LeakyReLU used (Maas et al. 2013 use 0.01; 0.1 keeps more gradient flowing to units
#: a high learning rate pushed far negative, the dying-ReLU case this swap is for).
LEAKY_SLOPE = 0.1


def init_for(layer: Any, to: str) -> None:
    """Initialise ``layer``'s weight for the activation ``to`` that follows it, biases to zero.

    He et al. 2015 for the ReLU family (with the leaky slope), LeCun normal (std 1/sqrt(fan_in)) for SELU
    (Klambauer et al. 2017); ELU/SiLU/Mish/GELU behave like ReLU for positive inputs and use He.
    """
    w = getattr(layer, "weight", None)
    if w is None or w.dim() < 2 or not trainable(layer):  # a frozen (pretrained) layer keeps its weights
        return
    if to == "selu":
        reinit_weight(layer, lambda t: nn.init.kaiming_normal_(t, nonlinearity="linear"))
    elif to in ("leaky_relu", "prelu"):
        a = LEAKY_SLOPE if to == "leaky_relu" else 0.25
        reinit_weight(layer, lambda t: nn.init.kaiming_normal_(t, a=a, nonlinearity="leaky_relu"))
    else:
        reinit_weight(layer, lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"))
    with torch.no_grad():
        if getattr(layer, "bias", None) is not None:
            nn.init.zeros_(layer.bias)


def _targets(code: str) -> frozenset[str]:
    return frozenset(SATURATING - {"relu6"}) if code == "use_relu_family" else frozenset({"relu", "relu6"})


class ActivationSwap(ModelRemedy):
    """Replace the hidden activations with ``variant`` (default ReLU) and re-initialise their layers."""

    code = "use_relu_family"
    variant = "relu"
    variants = tuple(NEW_ACTIVATIONS)

    def __init__(self, variant: str | None = None) -> None:
        super().__init__(variant)
        if self.variant not in NEW_ACTIVATIONS:
            raise ValueError(f"unknown activation {self.variant!r}; choose one of {', '.join(NEW_ACTIVATIONS)}")

    def describe(self, ctx: RepairContext | None = None) -> str:
        old = "sigmoid/tanh" if self.code == "use_relu_family" else "ReLU"
        return f"replaced the hidden {old} activations with {self.variant} and re-initialised their layers to match"

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        targets = _targets(self.code)
        leaves = leaf_order(model)
        acts = [i for i, (_, m) in enumerate(leaves) if module_activation_kind(m) in targets]
        if acts and ctx.sample is not None:  # a gate module (x * self.se(x)) keeps its sigmoid
            gates = _gates(model, ctx.sample[0], targets)
            acts = [i for i in acts if id(leaves[i][1]) not in gates]
        trace = forward_trace(model, ctx.sample[0]) if acts and ctx.sample is not None else None
        if trace is None:  # no batch (or it does not run): registration order stands for forward order
            if acts and acts[-1] == len(leaves) - 1:
                acts = acts[:-1]  # the output activation stays
            feeding = {i: _layer_before(leaves, i) for i in acts}
        else:  # forward order, seen in one pass: the activation registered first may be the output's
            acts, feeding = _hidden_by_trace(leaves, acts, *trace)
        if acts:
            ref = next(iter(model.parameters()), None)
            for i in acts:
                new = NEW_ACTIVATIONS[str(self.variant)]()
                if ref is not None:  # PReLU has a parameter: put it where the model lives
                    new = new.to(ref.device, ref.dtype)
                set_submodule(model, leaves[i][0], new)
                for layer in feeding.get(i, []):
                    init_for(layer, str(self.variant))
            if ctx.sample is not None and self.variant in NEW_FUNCTIONS:
                # hidden functional calls beside the modules (torch.sigmoid(x) in a forward): swapped too
                calls = _record_calls(model, ctx.sample[0], targets)
                swap = frozenset(calls.hidden())
                if swap:
                    for i in swap:
                        if calls.layers[i] is not None:
                            init_for(calls.layers[i], str(self.variant))
                    return FunctionalSwap(model, targets, NEW_FUNCTIONS[str(self.variant)], swap,
                                          calls.sites_plan())
            return model
        return self._functional(model, ctx, targets)

    def _functional(self, model: nn.Module, ctx: RepairContext, targets: frozenset[str]) -> nn.Module:
        if ctx.sample is None:
            raise NotApplicable(f"{self.name}: no activation module to replace, and no batch to look for "
                                "functional calls with")
        calls = _record_calls(model, ctx.sample[0], targets)
        swap = calls.hidden()
        if not swap:
            gates = " (its gates, whose output multiplies another tensor, keep theirs)" \
                if calls.gated_calls or calls.gated_modules else ""
            raise NotApplicable(f"{self.name}: the model has no hidden {'/'.join(sorted(targets))} activation "
                                f"(neither a module nor a functional call in a forward pass){gates}")
        if self.variant not in NEW_FUNCTIONS:
            raise NotApplicable(f"{self.name}: the model calls its activations functionally and "
                                f"{self.variant} needs a module (it has a parameter); use another variant")
        fed = {id(calls.layers[i]) for i in swap if calls.layers[i] is not None}
        gate_layers = {id(calls.layers[i]) for i in calls.gated_calls if calls.layers[i] is not None} - fed
        for m in model.modules():  # every weight feeds a swapped activation in a functional model, but a gate's
            if isinstance(m, LINEAR_LIKE) and id(m) not in gate_layers:  # keeps the init of the sigmoid it feeds
                init_for(m, str(self.variant))
        return FunctionalSwap(model, targets, NEW_FUNCTIONS[str(self.variant)], frozenset(swap),
                              calls.sites_plan())


def _gates(model: nn.Module, x: Any, targets: frozenset[str]) -> set[int]:
    """ids of the activation modules used as gates in one forward pass on ``x`` (:class:`_Recorder`); none when
    the pass fails."""
    try:
        return _record_calls(model, x, targets).gated_modules
    except Exception:
        return set()


def _layer_before(leaves: list[tuple[str, nn.Module]], i: int) -> list[Any]:
    """The Linear/Conv registered last before leaf position ``i`` (a list of at most one)."""
    return [m for _, m in reversed(leaves[:i]) if isinstance(m, LINEAR_LIKE)][:1]


def _hidden_by_trace(leaves: list[tuple[str, nn.Module]], acts: list[int], calls: list[tuple[nn.Module, Any]],
                     out: Any) -> tuple[list[int], dict[int, list[Any]]]:
    """The hidden activations among the leaf positions ``acts`` and, for each, the Linear/Conv that ran last
    before it (the layer whose init must match), from a forward trace. The activation module whose output is
    the model's output is kept (at its last registered position when one object is registered at several,
    a shared activation in a Sequential); one that never ran is left alone (it is not a hidden layer here). A
    module registered once and called after several layers (``self.act`` reused in ``forward``) is fed by
    each of them."""
    feeding: dict[int, list[Any]] = {}
    ran: set[int] = set()
    last_layer = None
    output_mod = None
    fed: dict[int, list[Any]] = {}
    outputs = output_ids(out)
    for mod, o in calls:
        if isinstance(mod, LINEAR_LIKE):
            last_layer = mod
        elif any(mod is leaves[i][1] for i in acts):
            ran.add(id(mod))
            if id(o) in outputs:
                output_mod = mod
            if last_layer is not None and all(last_layer is not m for m in fed.setdefault(id(mod), [])):
                fed[id(mod)].append(last_layer)
    keep: set[int] = set()
    if output_mod is not None:
        keep.add(max(i for i in acts if leaves[i][1] is output_mod))
    hidden = [i for i in acts if i not in keep and id(leaves[i][1]) in ran]
    for i in hidden:
        # a shared module registered at several positions: each position's own preceding layer (registration
        # order is forward order inside a Sequential); a module registered once: the layer that ran before it
        positions = [j for j in acts if leaves[j][1] is leaves[i][1]]
        feeding[i] = _layer_before(leaves, i) if len(positions) > 1 else fed.get(id(leaves[i][1]), [])
    return hidden, feeding


class LeakySwap(ActivationSwap):
    """``use_leaky_relu``: replace ReLU with LeakyReLU (default) or ELU so that negative units pass gradient."""

    code = "use_leaky_relu"
    variant = "leaky_relu"


class _InsideLeaves:
    """Counts how deep a forward pass is inside leaf modules that are no sigmoid/tanh activation module (a GELU
    written as ``0.5 * x * (1 + torch.tanh(...))``, an attention's softmax, a gate): a functional activation call
    made there is part of that module's own computation, not a hidden activation of the model's forward."""

    def __init__(self, model: nn.Module, targets: frozenset[str]) -> None:
        self.depth = 0
        self.handles: list[Any] = []
        leaves = {id(m): m for _, m in leaf_order(model)}
        for m in leaves.values():
            if module_activation_kind(m) in targets or isinstance(m, LINEAR_LIKE):
                continue  # a target activation module's own call is the activation itself
            self.handles.append(m.register_forward_pre_hook(self._enter))
            self.handles.append(m.register_forward_hook(self._leave, always_call=True))

    def _enter(self, mod: nn.Module, args: Any) -> None:
        self.depth += 1

    def _leave(self, mod: nn.Module, args: Any, out: Any) -> None:
        self.depth = max(0, self.depth - 1)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


#: Elementwise products (``a * b``, ``torch.mul``, ``addcmul``'s ``t1 * t2``): a sigmoid whose output multiplies
#: another tensor of the forward is a gate, not a hidden activation.
_PRODUCTS = {torch.mul, torch.Tensor.mul, torch.Tensor.mul_, torch.Tensor.__mul__, torch.Tensor.__rmul__,
             torch.Tensor.__imul__}
_ADDCMUL = {torch.addcmul, torch.Tensor.addcmul, torch.Tensor.addcmul_}
#: The activations whose range (0, 1) makes them gates when their output multiplies a signal; a tanh times a gate
#: is the gated signal (the hidden activation before a squeeze-and-excitation block), swapped as before.
GATE_KINDS = frozenset({"sigmoid", "hardsigmoid"})


#: A line of code: (file, line number).
Site = tuple[str, int]
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


def call_site() -> Site | None:
    """The line outside torch and this module that made the torch call being handled (the user's forward)."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_TORCH_DIR) and name != __file__:
            return (name, frame.f_lineno)
        frame = frame.f_back
    return None


@dataclass
class _Calls:
    """What one forward pass showed of the sigmoid/tanh-family activations (see :func:`_record_calls`)."""

    count: int  # functional calls, outside other leaf modules' own computation
    output: int | None  # the call whose result is the model's output
    layers: list[Any]  # per call: the Linear/Conv that ran last before it
    gated_calls: set[int]  # calls whose result multiplies another tensor of the forward
    gated_modules: set[int]  # ids of the activation modules whose output does
    sites: list[Site | None]  # per call: the line of the forward that made it

    def hidden(self) -> list[int]:
        """The calls to swap: neither the output's nor a gate."""
        return [i for i in range(self.count) if i != self.output and i not in self.gated_calls]

    def sites_plan(self) -> tuple[frozenset[Site], frozenset[Site]]:
        """(lines whose every call is swapped, lines whose every call is kept): a line called once per time step
        (``h = torch.tanh(...)`` in a loop over the sequence) is swapped at every step of a longer sequence
        than the training batch's too; a line with both (a loop whose last call makes the output) goes by
        the call's number."""
        hidden = set(self.hidden())
        seen: dict[Site, set[bool]] = {}
        for i, site in enumerate(self.sites):
            if site is not None:
                seen.setdefault(site, set()).add(i in hidden)
        return (frozenset(s for s, v in seen.items() if v == {True}),
                frozenset(s for s, v in seen.items() if v == {False}))


class _Recorder(TorchFunctionMode):
    """Records the functional activation calls (outside other leaf modules' own computation) and which results,
    of those calls or of activation modules (``note``), are gates: a sigmoid (:data:`GATE_KINDS`) multiplied
    elementwise by another tensor of the forward that is no parameter or buffer of the model. A gate (an LSTM/GRU
    cell written by hand, ``sigmoid(f) * c``; a squeeze-and-excitation block, ``x * self.se(x)``;
    ``x * torch.sigmoid(x)``, which is SiLU) keeps its sigmoid: it scales a signal between 0 and 1, and a ReLU
    there is no gate."""

    def __init__(self, targets: frozenset[str], inside: _InsideLeaves | None = None,
                 fixed: set[int] | None = None) -> None:
        super().__init__()
        self.targets = targets
        self.inside = inside
        self.results: list[Any] = []
        self.layers: list[Any] = []  # per call: the Linear/Conv that ran last before it
        self.last_layer: Any = None
        self.fixed = fixed or set()  # ids of the model's parameters and buffers (a learned scale is no signal)
        self.keys: dict[int, list[tuple[str, int]]] = {}  # id(result) -> ("call", index), ("module", id(module))
        self.kept: list[Any] = []  # the results, so that their ids stay theirs during the pass
        self.gated: set[tuple[str, int]] = set()
        self.sites: list[Site | None] = []

    def note(self, out: Any, key: tuple[str, int], kind: str | None) -> None:
        if isinstance(out, torch.Tensor) and kind in GATE_KINDS:
            # an nn.Sigmoid's result is its own torch.sigmoid call's too: a gate module's call is a gate
            self.keys.setdefault(id(out), []).append(key)
            self.kept.append(out)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if SWAP_FUNCTION_KINDS.get(func) in self.targets and not (self.inside is not None and self.inside.depth):
            self.note(out, ("call", len(self.results)), SWAP_FUNCTION_KINDS.get(func))
            self.results.append(out)
            self.layers.append(self.last_layer)
            self.sites.append(call_site())
        elif func in _PRODUCTS or func in _ADDCMUL:
            self._product([a for a in (args[1:3] if func in _ADDCMUL else args[:2]) if isinstance(a, torch.Tensor)])
        return out

    def _product(self, operands: list[torch.Tensor]) -> None:
        for a in operands:
            keys = self.keys.get(id(a), [])
            if keys and any(b is not a and b.numel() > 1 and id(b) not in self.fixed for b in operands):
                self.gated.update(keys)


def _record_calls(model: nn.Module, x: Any, targets: frozenset[str]) -> _Calls:
    """The functional activation calls of one forward pass (outside other leaf modules' own computation): how
    many, which one produced the output (if any), the Linear/Conv that ran last before each (``None`` for none),
    and the gates among them and among the activation modules (:class:`_Recorder`)."""
    inside = _InsideLeaves(model, targets)
    rec = _Recorder(targets, inside, {id(t) for t in (*model.parameters(), *model.buffers())})

    def seen(mod: nn.Module, i: Any, o: Any) -> None:
        rec.last_layer = mod

    def activation(mod: nn.Module, i: Any, o: Any) -> None:
        rec.note(o, ("module", id(mod)), module_activation_kind(mod))

    handles = [m.register_forward_hook(seen) for m in model.modules() if isinstance(m, LINEAR_LIKE)]
    handles += [m.register_forward_hook(activation) for m in model.modules() if module_activation_kind(m) in targets]
    try:
        with rec:
            out = probe_run(model, x)
    finally:
        inside.remove()
        for h in handles:
            h.remove()
    outputs = output_ids(out)
    last = next((i for i, r in reversed(list(enumerate(rec.results))) if id(r) in outputs), None)
    return _Calls(len(rec.results), last, rec.layers, {k for kind, k in rec.gated if kind == "call"},
                  {k for kind, k in rec.gated if kind == "module"}, rec.sites)


class _Swapper(TorchFunctionMode):
    def __init__(self, targets: frozenset[str], fn: Callable[[torch.Tensor], torch.Tensor],
                 swap: frozenset[int], inside: _InsideLeaves,
                 sites: tuple[frozenset[Site], frozenset[Site]] = (frozenset(), frozenset())) -> None:
        super().__init__()
        self.targets, self.fn, self.swap, self.i, self.inside = targets, fn, swap, 0, inside
        self.swap_sites, self.keep_sites = sites

    def _swapped(self, i: int) -> bool:
        if self.swap_sites or self.keep_sites:
            site = call_site()
            if site in self.swap_sites or site in self.keep_sites:
                return site in self.swap_sites
        return i in self.swap

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if SWAP_FUNCTION_KINDS.get(func) in self.targets and not self.inside.depth:  # counted as _record_calls does
            i, self.i = self.i, self.i + 1
            if self._swapped(i):
                x = args[0]
                if _in_place(func, args, kwargs):  # the caller reads the result from x: written into it (from a
                    return x.copy_(self.fn(x.clone()))  # clone, so fn's saved input is not modified in place)
                return self.fn(x)
        return func(*args, **kwargs)


class FunctionalSwap(Delegating):
    """Runs ``inner`` with its functional activation calls number ``swap`` (per forward, counted outside the own
    computation of other leaf modules) replaced by ``fn``; with ``sites`` (lines of the forward whose every call
    is swapped, lines whose every call is kept: :meth:`_Calls.sites_plan`), a call from one of those lines goes
    by its line, so a loop over a longer sequence than the training batch's is swapped at every step."""

    def __init__(self, inner: nn.Module, targets: frozenset[str], fn: Callable[[torch.Tensor], torch.Tensor],
                 swap: frozenset[int], sites: tuple[frozenset[Site], frozenset[Site]] = (frozenset(), frozenset())
                 ) -> None:
        super().__init__()
        self.inner = inner
        self._targets, self._fn, self._swap, self._sites = targets, fn, swap, sites
        self._inside = _InsideLeaves(inner, targets)  # hooks kept on the inner modules for every forward

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._inside.depth = 0  # a forward that raised inside a leaf last time leaves no count behind
        with _Swapper(self._targets, self._fn, self._swap, self._inside, self._sites):
            return self.inner(*args, **kwargs)

