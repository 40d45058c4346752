"""``gd.check(model, inputs, targets, loss_fn)``: diagnose a model from one batch, before training.

One forward and backward pass per batch, in train mode, no optimizer step. The statistics come from the same
Monitor that ``gd.watch`` uses (memory store, no optimizer); a :class:`~.function_watch.CheckObserver` adds
functional activations, unsafe ops, residual additions and the first non-finite module. Everything the pass
touches is restored afterwards, in the model and in ``loss_fn`` when it is a module: parameters, ``.grad`` (the
same tensor objects; also of batch tensors that require grad), buffers (BatchNorm running statistics and
``num_batches_tracked``), RNG states (torch CPU, CUDA when initialised, numpy, ``random``, and the
``torch.Generator`` attributes of the modules), every module's
train/eval mode, every parameter's requires_grad (model.train() runs the user's overrides), and hooks (ours are
removed, the user's are never touched).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ModelError
from ..stats.tensor_stats import time_profile
from .function_watch import CheckObserver
from .model_map import CHANNEL_LAYERS, hookable, lstm_forget_bias, map_model
from .monitor import Monitor, paused_watches


class _Snapshot:
    """Everything a forward/backward pass in train mode can change, and how to put it back."""

    def __init__(self, model: nn.Module, batch: Any = ()) -> None:
        # Leaf tensors of the batch that require grad (inputs of a saliency or physics-informed model): the
        # backward accumulates into their .grad, in place.
        self.batch_grads = [(t, t.grad, None if t.grad is None else t.grad.detach().clone())
                            for t in _tensors(batch) if t.is_leaf and t.requires_grad]
        # Each parameter's binding (module, name), its storage (``p.data``: ``model.to(device)`` swaps it, or
        # binds a new Parameter), its values and its ``.grad`` object.
        self.bindings = [(m, name, p) for m in model.modules() for name, p in m._parameters.items() if p is not None]
        self.params = [(p, p.data, p.detach().clone(), p.grad) for p in model.parameters()]
        # model.train() runs the user's train() overrides, which may freeze or unfreeze parameters.
        self.requires_grad = [(p, p.requires_grad) for p in model.parameters()]
        # Per module and name, not model.buffers(): a forward may rebind a buffer (``self.ema = 0.9 * self.ema
        # + ...``) instead of updating it in place, and ``model.to(device)`` rebinds every buffer; the original
        # tensor objects are put back.
        self.buffers = [(m, name, b, b.detach().clone()) for m in model.modules()
                        for name, b in m._buffers.items() if b is not None]
        self.modes = [(m, m.training) for m in model.modules()]
        self.cpu_rng = torch.get_rng_state()
        self.cuda_rng = (torch.cuda.get_rng_state_all()
                         if torch.cuda.is_available() and torch.cuda.is_initialized() else None)
        self.np_rng = np.random.get_state()
        self.py_rng = random.getstate()
        # Generators a module keeps for itself (a noise layer's torch.Generator): their draws in the pass too
        gens = {id(v): v for m in model.modules() for v in vars(m).values() if isinstance(v, torch.Generator)}
        self.generators: list[tuple[torch.Generator, torch.Tensor]] = [(g, g.get_state()) for g in gens.values()]

    def restore(self) -> None:
        with torch.no_grad():
            for m, name, p in self.bindings:
                m._parameters[name] = p
            for p, data, saved, grad in self.params:
                if p.device != data.device or p.data_ptr() != data.data_ptr():
                    p.data = data
                p.copy_(saved)
                p.grad = grad
            for m, name, b, saved in self.buffers:
                b.copy_(saved)
                m._buffers[name] = b
        with torch.no_grad():
            for t, g, saved_g in self.batch_grads:
                if g is not None and saved_g is not None:
                    g.copy_(saved_g)
                t.grad = g
        for m, mode in self.modes:
            m.training = mode
        for p, flag in self.requires_grad:
            p.requires_grad_(flag)
        torch.set_rng_state(self.cpu_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        np.random.set_state(self.np_rng)
        random.setstate(self.py_rng)
        for gen, state in self.generators:
            gen.set_state(state)


def _rebuild(x: list[Any] | tuple[Any, ...], items: list[Any]) -> Any:
    """A list/tuple like ``x`` holding ``items`` (a namedtuple takes them as separate arguments)."""
    return type(x)(*items) if isinstance(x, tuple) and hasattr(x, "_fields") else type(x)(items)


def _to(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        # a batch made under torch.inference_mode() (an evaluation loader): autograd cannot save an inference tensor
        # for backward, so the pass takes a normal copy
        return x.clone() if x.is_inference() and x.device == device else x.to(device)
    if isinstance(x, (list, tuple)):
        return _rebuild(x, [_to(v, device) for v in x])
    if isinstance(x, Mapping):  # dict, or transformers' BatchEncoding (a UserDict): model(**x) either way
        return {k: _to(v, device) for k, v in x.items()}
    return x


def _split(x: Any, n: int, rows: int | None = None) -> list[Any]:
    """``x`` split into ``n`` chunks along dim 0 (tensors inside tuples/lists/dicts too). With ``rows`` (the
    batch size), only tensors with that many rows are split; the others (an attention mask (T, T), a scalar
    temperature) go whole with every chunk."""
    if n == 1:
        return [x]
    if isinstance(x, torch.Tensor):
        if rows is not None and (x.dim() == 0 or x.shape[0] != rows):
            return [x] * n
        if x.dim() == 0 or x.shape[0] < n:
            raise ModelError(f"cannot split a batch of {x.shape[0] if x.dim() else 0} rows into batches={n}; "
                             "pass a larger batch or a smaller batches")
        return list(torch.tensor_split(x, n, dim=0))
    if isinstance(x, (list, tuple)):
        parts = [_split(v, n, rows) for v in x]
        return [_rebuild(x, [p[k] for p in parts]) for k in range(n)]
    if isinstance(x, Mapping):
        parts_d = {k: _split(v, n, rows) for k, v in x.items()}
        return [{k: v[i] for k, v in parts_d.items()} for i in range(n)]
    return [x] * n


def _batch_rows(*batch: Any) -> int | None:
    """The batch size: the most common dim-0 size of the tensors in ``batch`` (the first of equals)."""
    sizes = [t.shape[0] for t in _tensors(list(batch)) if t.dim() >= 1]
    return max(sizes, key=sizes.count) if sizes else None


def _call(model: nn.Module, x: Any) -> Any:
    if isinstance(x, Mapping):
        return model(**x)
    if isinstance(x, (list, tuple)):
        return model(*x)
    return model(x)


def _tensors(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    if isinstance(x, Mapping):
        return [t for v in x.values() for t in _tensors(v)]
    return []


def _rows(x: Any) -> int | str:
    """Rows (dim 0) of the first batched tensor in ``x``, or "?"."""
    return next((t.shape[0] for t in _tensors(x) if t.dim() >= 1), "?")


def _float_tensors(x: Any) -> list[torch.Tensor]:
    return [t for t in _tensors(x) if t.is_floating_point()]


def _additive_mask(t: torch.Tensor) -> bool:
    """Whether ``t`` is an additive attention mask: 0 where attending and -inf elsewhere, as
    ``nn.Transformer.generate_square_subsequent_mask`` makes it. Its -inf entries are the mask, not bad data."""
    if t.dim() < 2:
        return False
    neg = t == float("-inf")
    return bool(neg.any()) and bool((neg | (t == 0)).all())


def input_stats(inputs: Any) -> dict[str, Any]:
    """Mean, std, rms and non-finite count of the first floating-point input tensor (additive attention masks
    left out)."""
    ts = [t for t in _float_tensors(inputs) if not _additive_mask(t)]
    if not ts:
        return {"float": False}
    t = ts[0].detach().to(torch.float64)
    fin = torch.isfinite(t)
    n_bad = int((~fin).sum())
    v = t[fin]
    if v.numel() == 0:
        return {"float": True, "nonfinite": n_bad, "mean": None, "std": None, "rms": None}
    return {"float": True, "shape": list(ts[0].shape), "nonfinite": n_bad, "mean": float(v.mean()),
            "std": float(v.std()) if v.numel() > 1 else 0.0, "rms": float(v.pow(2).mean().sqrt())}


def target_stats(targets: Any) -> dict[str, Any] | None:
    """NaN/Inf in the floating-point tensors of ``targets``: their count and the first row (dim 0) holding one;
    None when every target is finite (integer class labels always are)."""
    count, first = 0, None
    for t in _float_tensors(targets):
        bad = ~torch.isfinite(t.detach())
        n = int(bad.sum())
        if n:
            count += n
            if first is None:
                first = int(bad.reshape(bad.shape[0], -1).any(1).nonzero()[0, 0]) if t.dim() else 0
    return {"nonfinite": count, "first_row": first} if count else None


class _SequenceProbe:
    """||dL/dx_t|| per time step of a sequence model's input when no recurrent layer records one: a float input
    of shape (batch, time, features), or the output of the first Embedding for token inputs (batch, time).
    Batch-first layouts are assumed, except for a float input that goes straight into a channel-first layer
    (Conv1d, BatchNorm1d, ...): (batch, channels, time), whose dim 1 is channels (EEG electrodes), not time."""

    def __init__(self, model: nn.Module, mmap: Any, inputs: Any) -> None:
        self.model = model
        self.rows: list[torch.Tensor] = []
        self.handle: Any = None
        self.handles: list[Any] = []
        self.mode: str | None = None
        self.tdim = 1
        self.x: torch.Tensor | None = None
        if any(spec.recurrent for spec in mmap.layers) or not isinstance(inputs, torch.Tensor):
            return
        if inputs.is_floating_point() and inputs.dim() == 3:
            self.mode = "input"
        elif not inputs.is_floating_point() and inputs.dim() == 2:
            emb = next((m for m in model.modules() if isinstance(m, nn.Embedding) and hookable(m)), None)
            if emb is not None:
                self.mode = "embedding"
                self.emb = emb

    def __enter__(self) -> _SequenceProbe:
        if self.mode == "embedding":
            self.handle = self.emb.register_forward_hook(self._emb_hook)
        elif self.mode == "input":
            self.handles = [m.register_forward_pre_hook(self._channel_first) for m in self.model.modules()
                            if isinstance(m, CHANNEL_LAYERS) and hookable(m)]
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None
        for h in self.handles:
            h.remove()
        self.handles.clear()
        self.x = None

    def _channel_first(self, module: nn.Module, args: Any) -> None:
        if args and self.x is not None and args[0] is self.x:
            self.tdim = 2

    def _record(self, grad: torch.Tensor) -> None:
        self.rows.append(time_profile(grad, self.tdim))

    def _emb_hook(self, module: nn.Module, args: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.dim() == 3 and out.requires_grad and not self.rows:
            out.register_hook(self._record)

    def prepare(self, x: Any) -> Any:
        """The batch to feed: a float sequence input gets requires_grad (a detached copy) and a hook."""
        if self.mode != "input" or not isinstance(x, torch.Tensor):
            return x
        x = x.detach().requires_grad_(True)
        x.register_hook(self._record)
        self.x = x
        return x

    def profile(self) -> np.ndarray | None:
        """The norm per time step, summed in quadrature over the batches; None when nothing was recorded."""
        if not self.rows or len({r.numel() for r in self.rows}) != 1:
            return None
        return torch.stack(self.rows).sum(0).sqrt().cpu().numpy().astype(np.float32)


def _model_facts(model: nn.Module) -> dict[str, Any]:
    """LSTM forget-gate biases and Post-LN transformer layers."""
    fg: dict[str, float] = {}
    post_ln = False
    for name, m in model.named_modules():
        bias = lstm_forget_bias(m)
        if bias is not None:
            fg[name or "<model>"] = bias
        if isinstance(m, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)) and not m.norm_first:
            post_ln = True
    return {"forget_gate_bias": fg, "post_layernorm": post_ln}


def _loss_modules(loss_fn: Any, model: nn.Module) -> list[nn.Module]:
    """The modules other than ``model`` that ``loss_fn`` runs: itself, the module of a bound method
    (``crf.neg_log_likelihood``), of a ``functools.partial``, or held by a closure (``lambda out, y: crit(out, y)``)."""
    found: list[Any] = []
    seen: set[int] = set()

    def visit(obj: Any, depth: int) -> None:
        if id(obj) in seen or depth > 2:
            return
        seen.add(id(obj))
        if isinstance(obj, nn.Module):
            found.append(obj)
        elif isinstance(obj, partial):
            for v in (obj.func, *obj.args, *obj.keywords.values()):
                visit(v, depth + 1)
        elif hasattr(obj, "__self__") and hasattr(obj, "__func__"):  # a bound method
            visit(obj.__self__, depth + 1)
        elif getattr(obj, "__closure__", None):
            for cell in obj.__closure__:
                try:
                    visit(cell.cell_contents, depth + 1)
                except ValueError:  # an empty cell
                    pass

    visit(loss_fn, 0)
    inside = {id(m) for m in model.modules()}
    return [m for m in found if id(m) not in inside]


@torch.inference_mode(False)  # called under inference mode (a notebook, an evaluation hook): the pass needs autograd
def check(model: nn.Module, inputs: Any, targets: Any, loss_fn: Callable[[Any, Any], torch.Tensor], *,
          batches: int = 1, device: str | torch.device | None = None, **thresholds: Any) -> Any:
    """Diagnose ``model`` from one batch before training, leaving it exactly as it was.

    Args:
        model: the model (any ``nn.Module`` with parameters).
        inputs: the batch: a tensor (``model(inputs)``), a tuple/list (``model(*inputs)``) or a dict or
            other mapping such as a tokenizer's ``BatchEncoding`` (``model(**inputs)``).
        targets: whatever ``loss_fn`` takes as its second argument.
        loss_fn: ``loss_fn(model(inputs), targets)`` must return a scalar tensor.
        batches: split the batch into this many chunks along dim 0, one forward/backward each; the table
            reports the median over them.
        device: run the check on this device (the model is moved there and back); default: the model's.
        **thresholds: detector threshold overrides (see docs/detectors.md).

    Returns:
        A :class:`graddoctor.Diagnosis` (``source="check"``) with findings, the per-layer table and
        ``to_dict()``.

    Raises:
        ModelError: the model has no parameters or an uninitialized lazy module, the batch is empty,
            ``loss_fn`` does not return a scalar tensor, or ``batches`` is not a positive integer.
    """
    from ..diagnosis import diagnose_context
    from ..diagnosis.context import Context

    if not isinstance(batches, int) or batches < 1:
        raise ModelError(f"batches must be a positive integer, got {batches!r}")
    if not callable(loss_fn):
        raise ModelError(f"loss_fn must be callable as loss_fn(output, targets), got {type(loss_fn).__name__}")
    rows = [t.shape[0] for t in _tensors(inputs) if t.dim() >= 1]
    if rows and not any(rows):  # the mean loss of no samples is NaN: never report it as a model's NaN
        raise ModelError("the batch is empty (0 rows along dim 0); pass at least one sample")
    lazy = [n for n, p in model.named_parameters() if isinstance(p, nn.parameter.UninitializedParameter)]
    if lazy:  # nothing to snapshot yet, and the pass would create (not restore) the parameters
        raise ModelError(f"{lazy[0]} is an uninitialized parameter of a lazy module (nn.LazyLinear, ...); run one "
                         "forward pass first (model(inputs)) so that its shape is known, then check")
    mmap = map_model(model)
    t0 = time.perf_counter()
    home = next(model.parameters()).device
    dev = torch.device(device) if device is not None else home
    moved = dev != home
    # A loss that is itself a module (a margin head, a CRF, a learned weighting), or a method or closure of one,
    # has parameters and buffers that the pass changes too (.grad, BatchNorm statistics): restored with the model's.
    loss_modules = _loss_modules(loss_fn, model)
    snap = _Snapshot(nn.ModuleList([model, *loss_modules]) if loss_modules else model, (inputs, targets))
    try:
        if moved:
            # The user's .grad tensors stay out of the move (model.to() would move them in place, and the
            # snapshot puts these very objects back); the pass starts from None anyway.
            for p in model.parameters():
                p.grad = None
            model.to(dev)
        inputs, targets = _to(inputs, dev), _to(targets, dev)
        n_rows = _batch_rows(inputs, targets)
        xs, ys = _split(inputs, batches, n_rows), _split(targets, batches, n_rows)
        inp = input_stats(inputs)
        tgt = target_stats(targets)
        facts = _model_facts(model)
        model.train()
        losses: list[torch.Tensor] = []
        grad_bad: list[torch.Tensor] = []
        # Everything exact and on every batch: a check is one pass, so the sampling that keeps watch() cheap
        # (detail steps, activation and weight subsamples) is switched off.
        run = Monitor(model, None, store=None, flush_every=max(batches, 1), update_sample=None, detail_every=1,
                      act_sample=None)
        run._supersede = False  # a check inside a watched run leaves the run's watch alone
        run.start()
        seq = _SequenceProbe(model, mmap, inputs)
        try:
            # paused_watches: a check inside a watched run adds nothing to the run's next step
            # Every pass starts from no gradient, for a loss module's parameters too: its backward would otherwise
            # add into the user's own .grad tensors, in place, which the snapshot puts back as they are
            owned = [p for m in (model, *loss_modules) for p in m.parameters()]
            with paused_watches(), CheckObserver(model, mmap) as obs, seq, torch.enable_grad():
                for x, y in zip(xs, ys):
                    for p in owned:
                        p.grad = None
                    x = seq.prepare(x)
                    obs.outside = "<model>"
                    try:
                        out = _call(model, x)
                    except ValueError as e:  # torch's BatchNorm check, raised in train mode only
                        if "more than 1 value per channel when training" not in str(e):
                            raise
                        raise ModelError(
                            f"a BatchNorm layer got one value per channel ({e}): the check runs the model in train "
                            f"mode, where BatchNorm needs at least 2 samples per channel, and the batch has "
                            f"{_rows(x)} row(s); pass a larger batch" + (" or a smaller batches" if batches > 1
                                                                         else "")) from None
                    obs.outside = "<loss>"  # ops from here on are loss_fn's
                    loss = loss_fn(out, y)
                    if not isinstance(loss, torch.Tensor):
                        raise ModelError("loss_fn(model(inputs), targets) must return a scalar tensor, got "
                                         f"{type(loss).__name__}; return the loss tensor itself, not "
                                         "loss.item() or a value computed outside autograd")
                    if loss.numel() != 1:
                        raise ModelError("loss_fn(model(inputs), targets) must return a scalar tensor, got "
                                         f"shape {tuple(loss.shape)}; reduce it (e.g. .mean())")
                    if not loss.requires_grad:  # nothing to measure: never report a healthy model instead
                        raise ModelError(
                            "the loss does not require grad, so there are no gradients to check: loss_fn detached "
                            "it, it ran under torch.no_grad(), or every parameter is frozen (requires_grad=False)")
                    loss.backward()
                    losses.append(loss.detach().reshape(()))
                    gs = [p.grad for p in model.parameters() if p.grad is not None]
                    grad_bad.append(torch.stack([(~torch.isfinite(g)).any() for g in gs]).any() if gs
                                    else torch.zeros((), dtype=torch.bool, device=dev))
                    run.step(loss=loss)
        finally:
            run.stop()
        data = run.data
        seen = obs.collect()
        loss_host = torch.stack(losses).cpu().tolist()
        grads_nonfinite = bool(torch.stack(grad_bad).any().cpu())
    finally:
        # Restore first: it puts the original parameters, storage and buffers back by itself, so a move back
        # that fails (or cannot be done, as from the meta device) never leaves the model on ``dev``. The move
        # then only lets modules re-derive what their _apply() caches (an RNN's flat weights).
        snap.restore()
        if moved:
            model.to(home)
    seconds = time.perf_counter() - t0
    extra = _extra(inp, seen, loss_host, grads_nonfinite, facts, tgt)
    ctx = Context.from_run(data, source="check", extra=extra)
    _apply_functional(ctx, seen["functional"])
    profile = seq.profile()
    if profile is not None:  # the model's input, for sequence models without a recurrent layer
        ctx.series = {**ctx.series, "time_signal": {**ctx.series.get("time_signal", {}),
                                                    "<input>": (np.zeros(1, dtype=np.int64), profile[None, :])}}
    if "update_ratio" in ctx.stats:
        ctx.stats["update_ratio"][:] = np.nan  # no optimizer step in a check
    diag = diagnose_context(ctx, **thresholds)
    diag.meta.update({"loss": loss_host, "inputs": inp, "batches": batches, "device": str(dev),
                      "check_seconds": round(seconds, 4), "nonfinite": extra["nonfinite"],
                      "functional_activations": extra["functional_activations"],
                      "residual_adds": extra["residual_adds"], "n_parameters": data.meta.get("n_parameters")})
    return diag


def _extra(inp: dict[str, Any], seen: dict[str, Any], losses: list[float], grads_nonfinite: bool,
           facts: dict[str, Any], targets: dict[str, Any] | None = None) -> dict[str, Any]:
    origin = None
    if inp.get("nonfinite"):
        origin = "<input>"
    elif seen["first_nonfinite_module"] is not None:
        origin = seen["first_nonfinite_module"]
    elif not all(np.isfinite(losses)):
        origin = "<loss>"
    nonfinite = {"origin": origin, "gradients": grads_nonfinite, "unsafe_op": seen["unsafe_op"],
                 "loss_finite": bool(all(np.isfinite(losses))), "targets": targets}
    return {"inputs": inp, "nonfinite": nonfinite,
            "functional_activations": {k: v["kind"] for k, v in seen["functional"].items()},
            "residual_adds": seen["residual_adds"], **facts}


def _apply_functional(ctx: Any, functional: dict[str, dict[str, Any]]) -> None:
    """Layers without an activation module take the saturation/derivative/dead statistics of the functional
    activation the check saw after them."""
    for i, layer in enumerate(ctx.layers):
        f = functional.get(layer.name)
        if f is None or layer.activation:
            continue
        for stat, key in (("act_saturated", "saturated"), ("act_deriv", "deriv"), ("act_dead", "dead")):
            if stat in ctx.stats:
                ctx.stats[stat][i, :] = f[key]
