"""What every remedy is: a function from a :class:`~graddoctor.repair.case.Case` to a new Case.

Model remedies transform the model that ``model_fn`` builds (a new one each time; ``remedy(model)`` works on a
deep copy, so the input model is never mutated); recipe remedies change the optimizer, clipping or schedule through ``optimizer_fn``. A remedy
that does not apply raises :class:`NotApplicable` with the reason; it never crashes or silently does nothing.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ...diagnosis.codes import REMEDIES, check_code
from ...errors import GradDoctorError
from ..case import Case, _to


class NotApplicable(GradDoctorError):
    """The remedy does not apply to this model or recipe; the message says why."""


@dataclass
class RepairContext:
    """What remedies may use besides the recipe: the baseline's measurements and one batch of data.

    Attributes:
        baseline: the baseline run's :class:`graddoctor.RunData` (first seed), or ``None``.
        findings: the baseline's findings (``graddoctor.Finding``), possibly empty.
        sample: a deterministic training batch ``(x, y)``, or ``None``.
    """

    baseline: Any = None
    findings: list[Any] = field(default_factory=list)
    sample: tuple[Any, Any] | None = None


class Remedy:
    """Base class. Subclasses set ``code`` (a :data:`graddoctor.REMEDIES` code) and implement :meth:`apply`."""

    code: str = ""
    variant: str | None = None
    #: The variants ``get_remedy("code:variant")`` accepts (empty: the remedy has none).
    variants: tuple[str, ...] = ()

    def __init__(self, variant: str | None = None) -> None:
        check_code(REMEDIES, self.code, "remedy")
        if variant is not None:
            self.variant = variant

    @property
    def name(self) -> str:
        """``code`` or ``code:variant``."""
        return self.code if self.variant is None else f"{self.code}:{self.variant}"

    def describe(self, ctx: RepairContext | None = None) -> str:
        """One readable sentence of what this remedy changes."""
        return REMEDIES[self.code]

    def apply(self, case: Case, ctx: RepairContext | None = None) -> Case:
        """Return a new Case with the remedy applied. Raises :class:`NotApplicable` when it does not apply."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<remedy {self.name}>"


class ModelRemedy(Remedy):
    """A remedy that transforms the model. Subclasses implement :meth:`transform` on a copy they may edit."""

    def transform(self, model: nn.Module, ctx: RepairContext) -> nn.Module:
        """Return the transformed model; ``model`` is already a private deep copy (edit it freely)."""
        raise NotImplementedError

    def __call__(self, model: nn.Module, ctx: RepairContext | None = None) -> nn.Module:
        """Transform a copy of ``model`` (the input is never mutated).

        Raises:
            TypeError: the model cannot be deep-copied (it holds a lock, a file, ...), naming the ways round it.
        """
        try:
            private = copy.deepcopy(model)
        except Exception as e:
            raise TypeError(f"{self.name}: the {type(model).__name__} cannot be deep-copied ({type(e).__name__}: "
                            f"{e}), and this remedy never edits your model in place; call it on a model that can "
                            "be copied, or use .transform(model, ctx) to edit this one in place (gd.repair "
                            "builds its own models with model_fn and needs no copy)") from None
        return self.transform(private, ctx or RepairContext())

    def apply(self, case: Case, ctx: RepairContext | None = None) -> Case:
        ctx = ctx or RepairContext(sample=case.sample_batch())
        with torch.random.fork_rng(devices=[]):  # probe once so a non-applicable remedy fails now, not in a trial
            # a model of its own from model_fn, edited as trials will edit theirs (no copy: one that cannot be
            # deep-copied, holding a lock or a file, is repaired too)
            probe = self.transform(case.build_model(), ctx)
            if ctx.sample is not None:
                _probe_forward(probe, ctx.sample[0], self.name)
        base_fn = case.build_model  # the recipe's model as trials build it (lazy modules materialised)
        remedy = self

        def model_fn() -> nn.Module:
            return remedy.transform(base_fn(), ctx)

        return case.replace(self.describe(ctx), model_fn=model_fn)


def probe_run(model: nn.Module, x: Any) -> Any:
    """One forward pass that changes nothing: eval mode, no grad, RNG state restored, mode restored. A tensor
    ``x`` is moved to the model's device first."""
    x = to_model_device(model, x)
    was = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            return model(x)
    finally:
        model.train(was)


def to_model_device(model: nn.Module, x: Any) -> Any:
    """``x`` on the device of the model's first parameter: a tensor, or the tensors inside a tuple, list or dict
    of inputs (unchanged without a parameter)."""
    ref = next(iter(model.parameters()), None)
    return _to(x, ref.device) if ref is not None else x


def _probe_forward(model: nn.Module, x: Any, name: str) -> None:
    device = next(iter(model.parameters()), torch.empty(0)).device
    was = model.training
    try:
        with torch.no_grad():
            model(_to(x, device))
    except NotApplicable:
        raise
    except Exception as e:
        raise NotApplicable(f"{name}: the transformed model no longer runs on a training batch "
                            f"({type(e).__name__}: {e}); this model's structure is not one it can change") from e
    finally:
        model.train(was)


class RecipeRemedy(Remedy):
    """A remedy that changes the training recipe through the optimizer it builds."""

    def wrap(self, optimizer_fn: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
             case: Case, ctx: RepairContext) -> Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]:
        """Return the new ``optimizer_fn``."""
        raise NotImplementedError

    def check(self, case: Case, ctx: RepairContext) -> None:
        """Raise :class:`NotApplicable` when the remedy does not apply (default: always applies)."""

    def apply(self, case: Case, ctx: RepairContext | None = None) -> Case:
        ctx = ctx or RepairContext(sample=case.sample_batch())
        self.check(case, ctx)
        new_fn = self.wrap(case.optimizer_fn, case, ctx)
        return case.replace(self.describe(ctx), optimizer_fn=new_fn)


def probe_optimizer(case: Case) -> torch.optim.Optimizer:
    """Build the recipe's optimizer on a throw-away parameter to read its class and hyper-parameters."""
    return case.make_optimizer([nn.Parameter(torch.zeros(1))])


# ---------------------------------------------------------------------- module helpers
LINEAR_LIKE = (nn.Linear, nn.modules.conv._ConvNd)


def leaf_order(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaf modules (no children) in registration order, which is forward order for Sequential models. A module
    registered at several places (one ``nn.Tanh()`` object used after every layer) is listed at each of them. A
    layer under a parametrization (weight_norm, spectral_norm: its only child is ``parametrizations``) is a leaf,
    and the parametrization modules inside it are not."""
    return [(n, m) for n, m in model.named_modules(remove_duplicate=False)
            if not [c for k, c in m.named_children() if k != "parametrizations"]
            and ".parametrizations." not in f".{n}."]


def sequence_of(seq: nn.Sequential) -> list[nn.Module]:
    """Every entry of ``seq`` in order, repeats included: ``seq.children()`` yields a module used twice (a
    shared activation object) only once, and a Sequential rebuilt from it silently loses the repeats."""
    return [m for m in seq._modules.values() if m is not None]


def output_ids(out: Any) -> set[int]:
    """ids of the tensors a forward returned: the output itself, or those inside a tuple, list or dict (a model
    returning ``(probabilities, aux)`` still has an output activation)."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return {i for o in out for i in output_ids(o)}
    return {id(out)} if isinstance(out, torch.Tensor) else set()


def forward_trace(model: nn.Module, x: Any) -> tuple[list[tuple[nn.Module, Any]], Any] | None:
    """The leaf modules in the order one forward pass runs them, each with its output, and the model's output;
    ``None`` when the pass fails."""
    calls: list[tuple[nn.Module, Any]] = []
    unique = {id(m): m for _, m in leaf_order(model)}
    handles = [m.register_forward_hook(lambda mod, i, o: calls.append((mod, o))) for m in unique.values()]
    try:
        out = probe_run(model, x)
    except Exception:
        return None
    finally:
        for h in handles:
            h.remove()
    return calls, out


def output_module(model: nn.Module, x: Any, cls: type | tuple[type, ...] = nn.Module) -> nn.Module | None:
    """The leaf module of type ``cls`` that runs last in one forward pass on ``x`` (``cls=nn.Module``: the one whose
    output is the model's output); ``None`` when the pass fails or none runs. Registration order (``__init__``)
    is forward order only inside an nn.Sequential: a head defined before the body is still the output layer."""
    trace = forward_trace(model, x)
    if trace is None:
        return None
    calls, out = trace
    if cls is nn.Module:
        ids = output_ids(out)
        return next((m for m, o in reversed(calls) if id(o) in ids), None)
    return next((m for m, _ in reversed(calls) if isinstance(m, cls)), None)  # type: ignore[return-value]


def trainable(layer: nn.Module) -> bool:
    """Whether ``layer``'s weights are trained (``requires_grad``; its biases alone do not count: BitFit-style
    fine-tuning trains only those). A frozen layer (a pretrained backbone kept fixed while a head is fine-tuned)
    is never re-initialised: random weights that cannot learn would only break it."""
    params = list(layer.named_parameters())
    weights = [p for n, p in params if "weight" in n] or [p for _, p in params]
    return any(p.requires_grad for p in weights)


def reinit_weight(layer: nn.Module, fill: Callable[[torch.Tensor], Any]) -> None:
    """Run the in-place init ``fill`` (e.g. ``nn.init.kaiming_normal_``) on ``layer.weight``. A weight under a
    parametrization (``torch.nn.utils.parametrizations.weight_norm``/``spectral_norm``) is computed from its
    stored parts on every access, so an init on it filled a temporary and changed nothing: the new weight is drawn
    into a fresh tensor and assigned through the parametrization; the older hook-based ``weight_norm`` (stored
    ``weight_g``/``weight_v``) gets its direction and norm set from it."""
    weight: Any = layer.weight
    with torch.no_grad():
        w = torch.empty_like(weight)
        fill(w)
        _assign_weight(layer, w)


def scale_weight(layer: nn.Module, factor: float) -> None:
    """Multiply ``layer.weight`` by ``factor``, through a parametrization or a hook-based weight norm too."""
    weight: Any = layer.weight
    with torch.no_grad():
        _assign_weight(layer, weight.detach() * factor)


def _assign_weight(layer: Any, w: torch.Tensor) -> None:
    from torch.nn.utils import parametrize

    if parametrize.is_parametrized(layer, "weight"):
        layer.weight = w  # the parametrization's right_inverse stores it
        return
    norm_hook: Any = next((h for h in layer._forward_pre_hooks.values()
                           if type(h).__name__ == "WeightNorm" and getattr(h, "name", None) == "weight"), None)
    if norm_hook is not None and hasattr(layer, "weight_g") and hasattr(layer, "weight_v"):
        layer.weight_v.copy_(w)
        layer.weight_g.copy_(torch.norm_except_dim(w, 2, norm_hook.dim))
        layer.weight = norm_hook.compute_weight(layer)  # what the next forward would compute
        return
    layer.weight.copy_(w)


class Delegating(nn.Module):
    """A module that stands in for another (a wrapper around the user's model, a gated layer in place of an
    ``nn.RNN``): an attribute it does not have is read from the module named by ``_delegate_to``, so code that
    reads ``self.rnn.hidden_size`` or calls ``model.init_hidden(b)`` keeps working on the replacement."""

    _delegate_to = "inner"

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("__") or name == self._delegate_to:
                raise
            inner = super().__getattr__(self._delegate_to)
            return getattr(inner, name)


def set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    """Replace the submodule at dotted ``name`` with ``new``."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
