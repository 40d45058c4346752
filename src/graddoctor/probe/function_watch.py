"""What :func:`graddoctor.check` sees beyond the Monitor: functional activations, numerically unsafe ops,
residual additions (through a ``TorchFunctionMode``) and the first module whose output is non-finite (forward
hooks on every module).

Nothing here syncs with the device during the forward pass: every flag is a 0-d tensor kept in a list and
read once at the end (:meth:`CheckObserver.collect`).
"""
from __future__ import annotations

import operator
import os
import sys
from functools import partial
from types import FrameType, SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..stats.activations import OBSERVED_FUNCTION_KINDS
from ..stats.tensor_stats import activation_stats
from .model_map import ModelMap, first_tensor, hookable
from .monitor import _functorch_active

#: Ops that turn finite inputs into NaN/Inf on part of their domain (log of <= 0, sqrt of < 0, division by
#: 0, overflow of exp/pow).
UNSAFE_OPS: dict[Any, str] = {}
for _name in ("log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "div", "true_divide", "exp",
              "pow", "acos", "asin", "atanh", "lgamma", "digamma", "xlogy"):
    for _owner in (torch, torch.Tensor):
        _f = getattr(_owner, _name, None)
        if _f is not None:
            UNSAFE_OPS[_f] = _name
for _f, _name in ((torch.Tensor.__truediv__, "div"), (torch.Tensor.__rtruediv__, "div"),
                  (torch.Tensor.__pow__, "pow"), (torch.Tensor.__rpow__, "pow"), (torch.Tensor.__itruediv__, "div"),
                  (operator.truediv, "div")):
    UNSAFE_OPS[_f] = _name
#: Additions of two same-shaped tensors that both carry gradient: residual connections.
ADD_OPS = frozenset({torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__,
                     torch.Tensor.__iadd__, torch.Tensor.add_})


def _finite_probe(t: Any) -> torch.Tensor | None:
    """A 0-d tensor that is non-finite iff ``t`` holds a NaN/Inf: its float32 sum (one pass, no boolean
    temporary; NaN and Inf propagate through a sum). Only a finite tensor whose sum overflows float32
    (|sum| > 3.4e38) would be misread as non-finite."""
    if t is None or not t.is_floating_point():
        return None
    return t.detach().sum(dtype=torch.float32)


#: The settings of functional activations that their derivative and flat region depend on, in positional order
#: after the input (``F.leaky_relu(x, 0.2)``, ``F.elu(x, alpha=2.0)``, ``F.hardtanh(x, -0.1, 0.1)``), with the
#: defaults of torch.nn.functional; read as the attributes of the matching activation module.
FUNCTION_SETTINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "leaky_relu": (("negative_slope", 0.01),), "elu": (("alpha", 1.0),),
    "hardtanh": (("min_val", -1.0), ("max_val", 1.0)),
}


def _settings(kind: str, args: Any, kwargs: dict[str, Any] | None) -> Any:
    """A stand-in for the activation module of a functional call: its settings as attributes (None for kinds
    without settings)."""
    names = FUNCTION_SETTINGS.get(kind)
    if names is None:
        return None
    kw = kwargs or {}
    vals = {name: kw.get(name, args[k + 1] if len(args) > k + 1 else default)
            for k, (name, default) in enumerate(names)}
    return SimpleNamespace(**{k: float(v) for k, v in vals.items()})


#: Source folders of torch (frames skipped when looking for who called an op: ``Tensor.__truediv__`` and the
#: functions of torch.nn.functional are Python) and of graddoctor's own measuring code: the Monitor's hooks run
#: inside the check's forward pass, and their ops (``torch.reciprocal`` in a finite mean, ...) are not the
#: model's.
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OWN_DIRS = tuple(os.path.join(_PKG_DIR, d) + os.sep for d in ("probe", "stats"))


def _called_by_graddoctor() -> bool:
    """Whether the op being dispatched was called by graddoctor's own statistics code, not by the model."""
    frame: FrameType | None = sys._getframe(2)  # 0: this function, 1: __torch_function__, 2: the op's caller
    while frame is not None and frame.f_code.co_filename.startswith(_TORCH_DIR):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.startswith(_OWN_DIRS)


class _Mode(TorchFunctionMode):
    def __init__(self, obs: CheckObserver) -> None:
        super().__init__()
        self.obs = obs

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        try:
            if not _called_by_graddoctor():
                self.obs.on_op(func, args, out, kwargs)
        except Exception:  # never break the user's forward
            pass
        return out


class CheckObserver:
    """Forward hooks on every module and a TorchFunctionMode, alive only inside the ``with`` block."""

    def __init__(self, model: nn.Module, mmap: ModelMap) -> None:
        self.model = model
        self.map = mmap
        self.layer_of = {id(spec.module): spec for spec in mmap.layers}
        self.act_modules = {id(m) for m, _ in mmap.activations.values()}
        self.handles: list[Any] = []
        self.stack: list[str] = []
        self.in_activation = 0
        self.last_layer: Any = None
        self.module_flags: list[tuple[str, torch.Tensor]] = []
        self.checked: dict[int, torch.Tensor] = {}
        self.unsafe: list[tuple[str, str, torch.Tensor, torch.Tensor]] = []
        self.functional: dict[str, list[Any]] = {}  # layer name -> [kind, [stats tensors]]
        self.residual_adds = 0
        #: Where an op outside every module runs: ``"<model>"``, or ``"<loss>"`` once the model's forward has
        #: returned and ``loss_fn`` runs (check.py switches it).
        self.outside = "<model>"
        self.mode = _Mode(self)

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> CheckObserver:
        try:
            for name, m in self.model.named_modules():
                name = name or "<model>"
                if not hookable(m):  # TorchScript: no forward hooks (the Monitor warns about it)
                    continue
                self.handles.append(m.register_forward_pre_hook(partial(self._pre, name, m)))
                self.handles.append(m.register_forward_hook(partial(self._post, name, m)))
            self.mode.__enter__()
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.mode.__exit__(*exc)
        finally:
            self._remove()

    def _remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    # ------------------------------------------------------------------ hooks
    def _pre(self, name: str, m: nn.Module, mod: nn.Module, args: Any) -> None:
        self.stack.append(name)
        if id(m) in self.act_modules:
            self.in_activation += 1

    def _post(self, name: str, m: nn.Module, mod: nn.Module, args: Any, out: Any) -> None:
        if self.stack and self.stack[-1] == name:
            self.stack.pop()
        if id(m) in self.act_modules:
            self.in_activation = max(0, self.in_activation - 1)
        spec = self.layer_of.get(id(m))
        if spec is not None:
            self.last_layer = spec
        if _functorch_active():  # inside a torch.func transform (a vmapped set encoder): its tensors cannot leave it
            return
        t = first_tensor(out)
        if t is None or id(t) in self.checked:  # a container returning its child's output: already probed
            return
        self.checked[id(t)] = t  # keep it alive so its id stays unique during the pass
        probe = _finite_probe(t)
        if probe is not None:
            self.module_flags.append((name, probe))

    def on_op(self, func: Any, args: Any, out: Any, kwargs: dict[str, Any] | None = None) -> None:
        if not torch.is_grad_enabled() or _functorch_active():
            return
        in_model = bool(self.stack)
        kind = OBSERVED_FUNCTION_KINDS.get(func)
        # A sigmoid or softmax inside loss_fn (BCE on logits done by hand) is the loss's, not a layer's activation
        if kind is not None and in_model and not self.in_activation and isinstance(out, torch.Tensor) \
                and self.last_layer is not None:
            spec = self.last_layer
            entry = self.functional.setdefault(spec.name, [kind, []])
            if entry[0] == kind:
                unit_dim = spec.unit_dim
                entry[1].append(activation_stats(kind, out.detach(), _settings(kind, args, kwargs), unit_dim))
            return
        uname = UNSAFE_OPS.get(func)
        if uname is not None and isinstance(out, torch.Tensor) and out.is_floating_point():
            ins = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
            # on the output's device: collect() stacks it with the output's flag (an op without a floating input,
            # torch.arange(n, device="cuda") / n in a sinusoidal embedding, had a CPU flag beside a CUDA one)
            in_ok = torch.stack([torch.isfinite(a.detach()).all() for a in ins]).all().to(out.device) if ins \
                else torch.ones((), dtype=torch.bool, device=out.device)
            where = self.stack[-1] if self.stack else self.outside
            self.unsafe.append((uname, where, in_ok, torch.isfinite(out.detach()).all()))
            return
        if func in ADD_OPS and in_model and len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2]):
            a, b = args[0], args[1]
            if a.shape == b.shape and a.requires_grad and b.requires_grad and a.dim() >= 2:
                self.residual_adds += 1

    # ------------------------------------------------------------------ results (one sync)
    def collect(self) -> dict[str, Any]:
        """Read every flag back (one device sync) and summarise."""
        self.checked.clear()
        flags = [f for _, f in self.module_flags]
        uflags = [torch.stack([i, o]) for _, _, i, o in self.unsafe]
        host = torch.isfinite(torch.stack(flags)).cpu().tolist() if flags else []
        uhost = torch.stack(uflags).cpu().tolist() if uflags else []
        first_bad = next((self.module_flags[k][0] for k, ok in enumerate(host) if not ok), None)
        unsafe = next(({"op": self.unsafe[k][0], "module": self.unsafe[k][1]}
                       for k, (i, o) in enumerate(uhost) if i and not o), None)
        functional = {}
        for lname, (kind, vecs) in self.functional.items():
            if not vecs:
                continue
            tot = torch.stack(vecs).sum(0).cpu().tolist()
            sat, deriv, dead, units, _, _, n = tot
            functional[lname] = {"kind": kind, "saturated": sat / n if n else float("nan"),
                                 "deriv": deriv / n if n else float("nan"),
                                 "dead": dead / units if units == units and units else float("nan")}
        return {"first_nonfinite_module": first_bad, "unsafe_op": unsafe, "functional": functional,
                "residual_adds": self.residual_adds}
