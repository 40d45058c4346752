"""The Monitor behind :func:`graddoctor.watch`: hooks that collect statistics on the device.

Hot path rules: hooks only launch reductions and append the 0-d/1-d results to Python lists; at the end
of a recorded step those lists are folded into one row of a preallocated on-device buffer with a few
``index_add_`` calls; the buffer is copied to the host once per flush (the only host-device sync) and
written to the store in one transaction. Memory is bounded by layers x flush_every.
"""
from __future__ import annotations

import math
import numbers
import os
import platform
import sys
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from .. import __version__
from ..diagnosis.findings import _jsonable
from ..errors import GradDoctorWarning, ModelError
from ..stats.activations import DEAD_CAPABLE
from ..stats.tensor_stats import (
    ACT_SAMPLE,
    activation_batch_stats,
    activation_config,
    activation_sample,
    activation_sample_stats,
    dead_units_fast,
    norm32,
    sum32,
    time_profile,
)
from ..store.base import Batch
from ..store.memory import MemoryStore
from ..store.sqlite import SQLiteStore
from .layout import COL, DEVICE_WIDTH, GROUPS, SPAN, SQUARED, K, derive, step_totals
from .model_map import (
    LayerSpec,
    first_tensor,
    hookable,
    map_model,
    optimizer_covers,
    optimizer_summary,
    time_dim_of,
)
from .schedule import Schedule, make_schedule

#: Hook results kept before they are folded into the step's buffer row (bounds memory when a model runs
#: many forward passes without an optimizer step, e.g. an evaluation loop with grad enabled).
MAX_PENDING = 4096
#: Room for hook values per recorded step: SLOTS_PER_LAYER x layers + SLOTS_BASE floats (a detail step
#: takes 12 per layer call: output sum and norm, signal, input signal, 8 activation values). A step that
#: needs more (modules called many times) folds the rest straight into the statistics buffer instead.
#: Activation samples (<= act_sample floats each) held before their statistics are computed in one batch
#: (within a step, and across the detail steps of a flush: _defer_act); bounds the extra memory to about
#: ACT_BATCH x act_sample x 4 bytes (4 MB).
ACT_BATCH = 256
SLOTS_PER_LAYER = 16
SLOTS_BASE = 256
_C_ON, _C_ON2, _C_SIGN, _C_INN = COL["o_n"], COL["o_n2"], COL["sig_n"], COL["in_n"]
_C_AN, _C_UNITS, _C_CALLS = COL["a_n"], COL["units"], COL["calls"]


#: Recorded steps with gradients during which no watched layer's forward hook has ever run, after which the forward
#: is taken to bypass the hooks (warned once). Two, not one: a watch started between a step's forward and its
#: backward (``if step == 1000: gd.watch(...).start()`` after the forward) misses that one step's hooks legitimately.
HOOKLESS_STEPS = 2

#: Consecutive recorded steps of a watch without an optimizer that had a backward pass and no parameter gradient, after
#: which run.step() is taken to come after optimizer.zero_grad() (warned once). Two, as HOOKLESS_STEPS: one such step
#: can be a step whose backward reached no trainable parameter (a mixture-of-experts step that skipped them all).
CLEARED_GRAD_STEPS = 2

#: Caller frames looked at, at the first optimizer step, for a GradScaler stepping the optimizer (scaler.step ->
#: _maybe_opt_step -> optimizer.step wrappers -> the step hooks: about 6 frames on torch 2.3-2.13).
SCALER_FRAMES = 12

#: Steps of another optimizer over the watched optimizer's parameters, with none of the watched one in between, after
#: which the watched optimizer is taken as replaced (warned once). A wrapper (ZeroRedundancyOptimizer, Lookahead)
#: steps its inner optimizer once per step of its own, which resets the count; three in a row is a replacement.
OTHER_OPTIMIZER_STEPS = 3

#: The update-ratio sample takes every k-th chunk of this many consecutive entries of a weight. Chunks of 64
#: float32 (256 bytes, four cache lines) make the sample read only its own memory; a plain strided sample
#: with a stride under 16 would touch every cache line of the weight, costing as much as the full weight.
UPDATE_CHUNK = 64


def chunk_sample(flat: torch.Tensor, every: int) -> torch.Tensor:
    """A view of every ``every``-th chunk of :data:`UPDATE_CHUNK` consecutive entries of a flat tensor."""
    m = flat.numel() // UPDATE_CHUNK
    if every <= 1 or m < 2:
        return flat
    return flat[: m * UPDATE_CHUNK].view(m, UPDATE_CHUNK)[::every]


#: The update sample of a weight is at most this fraction of it (1/32 = 3 %), whatever ``update_sample`` says,
#: except that weights below UPDATE_MIN_SAMPLE entries are sampled whole.
UPDATE_MAX_FRACTION = 32
UPDATE_MIN_SAMPLE = 2048


def update_stride(numel: int, update_sample: int | None) -> int:
    """Chunk stride for a weight of ``numel`` entries (1 = every entry)."""
    if update_sample is None:
        return 1
    n = min(update_sample, max(UPDATE_MIN_SAMPLE, numel // UPDATE_MAX_FRACTION))
    return max(1, math.ceil(numel / n))


class _Params:
    """The watched parameters as flat lists with cached index tensors."""

    def __init__(self, specs: list[LayerSpec], device: torch.device, update_sample: int | None) -> None:
        self.params: list[nn.Parameter] = []
        seg: list[int] = []
        bias: list[float] = []
        for spec in specs:
            for _, p, is_bias in spec.params:
                self.params.append(p)
                seg.append(spec.index)
                bias.append(1.0 if is_bias else 0.0)
        self.seg_list = seg
        self.device = device
        self.seg = torch.tensor(seg, dtype=torch.long, device=device)
        self.is_bias = torch.tensor(bias, dtype=torch.float32, device=device)
        # Update-ratio subsample: every k-th chunk of each weight, at most ``update_sample`` entries and at most
        # 1/UPDATE_MAX_FRACTION of the weight (so the snapshot stays a small fraction of the model's memory).
        # Frozen weights (requires_grad=False) join the sample when they are unfrozen (gradual unfreezing while
        # fine-tuning), checked once per detail cycle (weight_views); a weight frozen later stays in it (an
        # optimizer with momentum or weight decay may still move it).
        self._upd_all = [(p, update_stride(p.numel(), update_sample)) for p, b in zip(self.params, bias)
                         if not b and p.numel() and not p.is_complex()]  # complex: no real-valued ratio
        self._upd_flags: tuple[bool, ...] = ()
        self.upd: list[tuple[nn.Parameter, int]] = []
        self._follow_trainable()
        self._upd_layer: torch.Tensor | None = None
        #: per-parameter contribution weight (None = 1 for every parameter); the distributed table sets it
        self.weight: torch.Tensor | None = None

    def upd_layer(self) -> torch.Tensor:
        """Layer index of each entry of :attr:`upd` (built lazily: subclasses may rebuild ``upd``)."""
        if self._upd_layer is None or self._upd_layer.numel() != len(self.upd):
            where = {id(p): s for p, s in zip(self.params, self.seg_list)}
            self._upd_layer = torch.tensor([where[id(p)] for p, _ in self.upd], dtype=torch.long,
                                           device=self.device)
        return self._upd_layer

    def _follow_trainable(self) -> None:
        """Add the weights unfrozen since the last call to :attr:`upd` (in parameter order)."""
        flags = tuple(p.requires_grad for p, _ in self._upd_all)
        if flags != self._upd_flags:
            self._upd_flags = flags
            kept = {id(p) for p, _ in self.upd}
            self.upd = [(p, s) for (p, s), f in zip(self._upd_all, flags) if f or id(p) in kept]

    def weight_views(self) -> list[torch.Tensor]:
        """Views of the sampled weight entries (they follow in-place optimizer updates)."""
        self._follow_trainable()
        return [chunk_sample(p.detach().reshape(-1), s) for p, s in self.upd]


def _inert_hook(*args: Any, **kwargs: Any) -> None:
    """What a copy of a watched module holds in place of graddoctor's hooks (see :class:`ModuleHook`)."""
    return None


def _inert() -> Callable[..., None]:
    return _inert_hook


class ModuleHook(partial):  # type: ignore[type-arg]
    """``functools.partial`` for the hooks graddoctor puts on the user's modules, that a copy of the module does not
    take along. A watched model is copied inside the training loop (``copy.deepcopy(model)`` for an EMA or a
    best-so-far model, ``torch.save(model)`` for a checkpoint); a plain partial of a bound method would copy or
    pickle the whole Monitor with it: its SQLite store cannot be (``TypeError: cannot pickle 'sqlite3.Connection'``),
    nor its schedule, and with a memory store the copy recorded into a copy of the run and its buffers. The copy
    gets a hook that does nothing instead. A C-level call, as a partial: no cost on the hot path."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> Callable[..., None]:
        return _inert_hook

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (torch.save of the whole model)
        return (_inert, ())


def _norm_list(tensors: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    """Float32 L2 norms (0-d tensors) of a list of (possibly mixed-dtype, possibly sparse) tensors."""
    try:
        return list(torch._foreach_norm(tensors, 2, dtype=torch.float32))  # torch >= 2.4
    except (TypeError, RuntimeError):  # older torch, sparse, float64 or complex tensors (no narrowing)
        pass
    dense = [t.coalesce().values() if t.is_sparse else t for t in tensors]
    try:
        return list(torch._foreach_norm(dense, 2, dtype=torch.float32))
    except (TypeError, RuntimeError):
        return [torch.linalg.vector_norm(t, 2).to(torch.float32) if t.dtype == torch.float64 or t.is_complex()
                else torch.linalg.vector_norm(t, 2, dtype=torch.float32) for t in dense]


def _norms(tensors: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Float32 L2 norms of a list of (possibly mixed-dtype, possibly sparse) tensors, stacked."""
    return torch.stack(_norm_list(tensors))


def _foreach_copy(dst: list[torch.Tensor], src: list[torch.Tensor]) -> None:
    try:
        torch._foreach_copy_(dst, src)
    except (AttributeError, RuntimeError):  # older torch
        for d, v in zip(dst, src):
            d.copy_(v)


def _check_loss(loss: Any, where: str) -> None:
    """Raise a ModelError naming the problem when ``loss`` is not a loss graddoctor can record: a one-element tensor
    or a real number (numpy scalars too), or None. Anything else (a model's output dict, a tuple, a string) would fail
    inside the hot path, where an error only stops watching with a warning that blames graddoctor."""
    if loss is None or isinstance(loss, numbers.Real):
        return
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise ModelError(f"{where} expects a scalar loss, got a tensor of shape {tuple(loss.shape)}; reduce it "
                             "first (loss.mean())")
        return
    if isinstance(loss, np.ndarray) and loss.size == 1 and np.issubdtype(loss.dtype, np.number):
        return
    hint = (" (a model output: pass its loss, outputs.loss or outputs['loss'])" if isinstance(loss, Mapping)
            or hasattr(loss, "loss") else "")
    raise ModelError(f"{where} expects the loss as a scalar tensor or a number, got {type(loss).__name__}{hint}")


F32 = torch.float32
_vector_norm = torch.linalg.vector_norm
#: Whether a torch.func transform (vmap, grad, jvp) is running: its forward passes are not recorded (~75 ns a call).
_functorch_active: Callable[[], bool] = getattr(torch._C, "_are_functorch_transforms_active", lambda: False)
#: Whether a gradient is batched by a vectorized backward (``jacobian(vectorize=True)``, ``is_grads_batched``).
_legacy_batched: Callable[[torch.Tensor], bool] = getattr(getattr(torch._C, "_functorch", None),
                                                          "is_legacy_batchedtensor", lambda t: False)
_FAST_SUM = frozenset({torch.float32, torch.float16, torch.bfloat16})


#: The running (started, not stopped) watches of each model, to stop one left running when the same model is
#: watched again (a notebook cell run again after an error): its hooks would go on recording every step.
_LIVE: weakref.WeakKeyDictionary[nn.Module, weakref.WeakSet[Monitor]] = weakref.WeakKeyDictionary()


@contextmanager
def paused_watches() -> Iterator[None]:
    """Every running watch records nothing inside this block: the passes ``gd.check`` runs inside a watched run
    (a check between two training steps) are not the run's, and their forward and backward-signal values would
    otherwise be added to the run's next step."""
    paused = [m for ms in list(_LIVE.values()) for m in list(ms) if m._active and not m._stopped]
    for m in paused:
        m._active = False
    try:
        yield
    finally:
        for m in paused:
            m._active = True


class Monitor:
    """A watched training run. Create it with :func:`graddoctor.watch`.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. With an optimizer it records at
    every ``optimizer.step()``; without one, call :meth:`step` after each optimizer step (before the next
    ``zero_grad``).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        store: str | os.PathLike[str] | Any | None = None,
        every: int | str | Schedule = 1,
        flush_every: int = 50,
        activations: bool = True,
        signal: bool | None = None,
        time_profile: bool = True,
        update_sample: int | None = 4096,
        overwrite: bool = False,
        meta: dict[str, Any] | None = None,
        detail_every: int = 10,
        act_sample: int | None = ACT_SAMPLE,
    ) -> None:
        self.model = model
        lazy = [n for n, p in model.named_parameters() if isinstance(p, nn.parameter.UninitializedParameter)
                ] if isinstance(model, nn.Module) else []  # map_model names what is wrong with a non-module
        if lazy:  # no shape yet: nothing to size the buffers, views and snapshots by
            raise ModelError(f"{lazy[0]} is an uninitialized parameter of a lazy module (nn.LazyLinear, ...); run "
                             "one forward pass first (model(inputs)) so that its shape is known, then build the "
                             "optimizer and call watch()")
        self.map = map_model(model)
        if optimizer is not None:
            if not isinstance(optimizer, torch.optim.Optimizer):
                raise ModelError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
            if not optimizer_covers(optimizer, model):
                raise ModelError(
                    f"the {type(optimizer).__name__} holds none of the model's parameters, so its steps would "
                    "not train this model; build it from model.parameters(), or pass optimizer=None and call "
                    "run.step() yourself")
        if int(flush_every) < 1:
            raise ValueError(f"flush_every must be >= 1, got {flush_every}")
        if int(detail_every) < 1:
            raise ValueError(f"detail_every must be >= 1, got {detail_every}")
        for name, n in (("act_sample", act_sample), ("update_sample", update_sample)):
            if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
                raise ValueError(f"{name} must be a positive integer (elements sampled) or None (all of them), "
                                 f"got {n!r}")
        self.detail_every = int(detail_every)
        self.act_sample = int(act_sample) if act_sample is not None else 2**62
        update_sample = int(update_sample) if update_sample is not None else None
        self.optimizer = optimizer
        self.schedule = make_schedule(every)
        self.flush_every = int(flush_every)
        self.activations = bool(activations)
        self.signal = self.activations if signal is None else bool(signal)
        self.time_profile = bool(time_profile) and self.signal
        self.user_meta = _jsonable(dict(meta or {}))
        self.store: Any
        if store is None:
            self.store = MemoryStore()
        elif isinstance(store, (str, os.PathLike)):
            self.store = SQLiteStore(store, overwrite=overwrite)
        else:
            self.store = store
        first = next(iter(model.parameters()))
        self.device = first.device
        if self.device.type == "meta":
            raise ModelError(f"{type(model).__name__} is on the meta device: its parameters hold no data, so there "
                             "is nothing to watch; move it to a real device first (model.to_empty(device=...) "
                             "and initialise it, or build it without device='meta')")
        self.n_layers = len(self.map.layers)
        self._params = _Params(self.map.layers, self.device, update_sample)
        self._buf = torch.zeros((self.flush_every, self.n_layers, K), dtype=torch.float32, device=self.device)
        self._loss = torch.full((self.flush_every,), float("nan"), dtype=torch.float32, device=self.device)
        # Which rows got a loss (host side): a NaN in _loss means "not logged" unless every step logs one, which
        # the store's metadata says (loss_every_step), so that a loss that is NaN from the first step is seen
        self._row_loss = [False] * self.flush_every
        self._loss_every: bool | None = None  # every recorded step so far logged a loss (None: no step yet)
        self._loss_every_written: bool | None = None
        self._loss_before_step = False  # run.step(loss=...) was seen before optimizer.step() in this loop
        self._step_at_loss = 0  # optimizer steps seen at the last run.step(loss=...) call
        # Per recorded step, hooks' values are stacked into a row of ``_slots`` (one kernel per group and step)
        # and the gradient norms into a row of ``_gn`` (one foreach kernel and one stack); which layer each
        # value belongs to stays on the host, and everything is folded into ``_buf`` once per flush
        # (_materialize), so an ordinary step launches no indexing kernels at all.
        n_params = len(self._params.params)
        self._gn = torch.zeros((self.flush_every, max(1, n_params)), dtype=torch.float32, device=self.device)
        self._gn_rows = list(self._gn.unbind(0))
        self._present: list[tuple[int, ...]] = [() for _ in range(self.flush_every)]
        self._all_present = tuple(range(n_params))
        self._slot_cap = SLOTS_PER_LAYER * self.n_layers + SLOTS_BASE
        self._slots = torch.zeros((self.flush_every, self._slot_cap), dtype=torch.float32, device=self.device)
        self._slot_rows: list[list[tuple[str, list[int], int]]] = [[] for _ in range(self.flush_every)]
        self._slot_fill = 0
        self._hrows = np.zeros((self.flush_every, self.n_layers, K), dtype=np.float64)
        self._sig_hook = [partial(self._grad_hook, "sig", i) for i in range(self.n_layers)]
        self._insig_hook = [partial(self._grad_hook, "insig", i) for i in range(self.n_layers)]
        self._pending: dict[str, tuple[list[int], list[torch.Tensor]]] = {g: ([], []) for g in GROUPS}
        # (kind, layer, id(tensor)) -> the tensor an input-gradient hook was put on this step: a forward that runs
        # twice on the same input (a non-reentrant checkpoint recomputes it during backward) must not hook it
        # twice, or the input gradient would be counted twice
        self._hooked_inputs: dict[tuple[str, int, int], weakref.ref[torch.Tensor]] = {}
        # counts known on the host, this step (float64: exact beyond 2**24 elements, and the dtype of _hrows)
        self._host = np.zeros((self.n_layers, K), dtype=np.float64)
        self._detail = False
        self._n_recorded = 0
        self._views: list[torch.Tensor] | None = None
        self._snaps: list[torch.Tensor] | None = None
        self._series_pending: list[tuple[int, torch.Tensor]] = []
        self._no_act: list[tuple[Any, ...]] = []   # (layer, None, None, sample, period, None, 0)
        self._act_calls: list[tuple[Any, ...]] = []  # (layer, kind, module, sample, period, dead, units)
        #: (row, call) of the detail steps recorded since the last flush: their activation statistics are computed
        #: together when the rows are materialized (_act_flush), one set of kernels for all of them
        self._act_later: list[tuple[int, tuple[Any, ...]]] = []
        self._series_rows: list[tuple[int, int, torch.Tensor]] = []
        self._idx_cache: dict[tuple[int, ...], torch.Tensor] = {}
        self._rows_steps: list[int] = []
        self._rows_time: list[float] = []
        self._row = 0
        self._flush_due = False
        self._step = 0
        self._active = False
        self._snap_step = -2
        self._last_layer: int | None = None
        self._order: dict[int, int] = {}
        self._act_of: dict[int, tuple[str, str]] = {}
        self._handles: list[Any] = []
        #: another optimizer over the watched one's parameters (_other_optimizer_step)
        self._watched_ids: set[int] = set()
        self._overlap: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
        self._other_steps = 0
        self._other_warned = False
        self._leaf_hooks: list[Any] = []  # tensor hooks on leaf tensors, removed at the end of each step
        self._detail_handles: list[Any] = []
        self._started = False
        self._stopped = False
        self._disabled = False
        self._error: BaseException | None = None
        self._write_failed = False
        self._overflowed = False
        #: ``() -> 1/S**2`` under a gradient scaler (integrations.amp): hook values are unscaled as recorded
        self._grad_scale: Callable[[], torch.Tensor | None] | None = None
        #: ``() -> bool`` under a gradient scaler (integrations.amp): True once after an iteration the scaler skipped,
        #: so that the ``run.step()`` of a watch without an optimizer records no step for it
        self._skipped_iteration: Callable[[], bool] | None = None
        self._unwritten: list[Batch] = []
        self._t0 = time.time()
        self._diagnosis_cache: Any = None
        #: starting stops an earlier, never stopped watch of the same model (False for gd.check's own Monitor)
        self._supersede = True
        #: backward-signal hooks can tell whether the current step's backward ran (see step())
        self._sees_backward = self.signal and any(hookable(spec.module) for spec in self.map.layers)
        #: a layer's forward hook has run, or there is no reason to expect one (see _check_hooks_ran)
        self._hooks_seen = not (self.activations or self.signal)
        self._hookless: list[int] = []  # recorded steps with gradients and no forward hook run so far
        self._cleared: list[int] = []  # consecutive recorded steps with a backward pass and no gradient (no optimizer)
        self._cleared_warned = False
        self._scaler_checked = False  # _check_scaler ran (at the first optimizer step)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.stop(status="failed" if exc_type is not None else "finished")

    def start(self) -> Monitor:
        """Register the hooks and write the run's metadata. Returns ``self``."""
        if self._started:
            if self._stopped:  # (a `with run:` per epoch): it would record nothing more, silently
                self._warn("this watch was stopped (its `with` block ended or run.stop() was called) and cannot be "
                           "started again: it records nothing more. Keep one `with gd.watch(...)` block (or one "
                           "start()/stop() pair) around the whole training, or create a new gd.watch() with its own "
                           "store for the next part")
            return self
        self._started = True
        self._t0 = time.time()
        try:
            if self._supersede:
                self._stop_stale()
            self.store.begin(self._meta(), self._layer_rows())
            self._register()
            self._active = bool(self.schedule(0))
            self._detail = self._active
            if self._detail:
                self._take_snapshot(-1)
            self._detail_hooks(self._detail)
        except BaseException:  # not started: no hook left behind, and start() may be called again
            self._remove_hooks()
            self._started = False
            raise
        if self._supersede:
            _LIVE.setdefault(self.model, weakref.WeakSet()).add(self)
        return self

    def _stop_stale(self) -> None:
        """Stop an earlier watch of this model that was started and never stopped (no ``with`` block and no
        ``run.stop()``, e.g. a notebook cell run again after an error)."""
        for old in [m for m in _LIVE.get(self.model, ()) if m is not self and m._started and not m._stopped]:
            self._warn("an earlier gd.watch() of this model was still running (started, never stopped: no "
                       "`with` block or run.stop(), as when a notebook cell runs again); it is stopped now, "
                       "or its hooks would go on recording every step")
            old.stop(status="failed")

    def stop(self, status: str = "finished") -> None:
        """Flush what is left, remove every hook and close the store. Safe to call twice."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        self._remove_hooks()
        try:
            self.flush()
        finally:
            try:
                self.store.close(status)
            except Exception as e:  # never let closing break the user's program
                if not self._write_failed:  # a failed write was already reported: warn once, not twice
                    self._warn(f"could not close the run store: {e}")

    def _remove_hooks(self) -> None:
        for h in self._handles + self._detail_handles + self._leaf_hooks:
            h.remove()
        self._handles.clear()
        self._detail_handles.clear()
        self._leaf_hooks.clear()

    def _register(self) -> None:
        scripted = [spec.name for spec in self.map.layers if not hookable(spec.module)]
        if scripted and (self.activations or self.signal):
            self._warn(f"{len(scripted)} layer(s) are TorchScript modules ({', '.join(scripted[:3])}"
                       f"{', ...' if len(scripted) > 3 else ''}), which take no forward hooks: they get parameter "
                       "statistics only (no output, activation or backward-signal statistics); watch the model "
                       "before torch.jit.script/trace for everything")
        for spec in self.map.layers:
            if (self.activations or self.signal) and hookable(spec.module):
                hook = self._rnn_layer_hook if spec.recurrent and self.signal else self._layer_hook
                self._handles.append(spec.module.register_forward_hook(ModuleHook(hook, spec)))
        if self.optimizer is not None:
            self._handles.append(self.optimizer.register_step_post_hook(self._optimizer_post_hook))
            # every optimizer's steps, to tell when the watched one has been replaced (see _other_optimizer_step)
            self._watched_ids = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
            self._handles.append(register_optimizer_step_post_hook(self._other_optimizer_step))

    def _detail_hooks(self, on: bool) -> None:
        """Add the hooks that only detail steps use (activation modules, recurrent layers' inputs) before a
        detail step and remove them after it: a module hook costs ~5-10 us per call even when it returns at
        once, and ordinary steps should pay nothing for them."""
        if not on:
            for h in self._detail_handles:
                h.remove()
            self._detail_handles.clear()
            return
        if self._detail_handles:
            return
        for spec in self.map.layers:
            if self.time_profile and spec.recurrent and hookable(spec.module):
                hook = ModuleHook(self._pre_hook, spec)
                self._detail_handles.append(spec.module.register_forward_pre_hook(hook))
        if self.activations:
            for name, (m, kind) in self.map.activations.items():
                if hookable(m):
                    self._detail_handles.append(m.register_forward_hook(ModuleHook(self._act_hook, name, kind)))

    # ------------------------------------------------------------------ metadata
    def _layer_rows(self) -> list[dict[str, Any]]:
        rows = []
        for spec in self.map.layers:
            d = spec.summary()
            act = self._act_of.get(spec.index)
            d["activation_module"], d["activation"] = (act if act else (None, None))
            d["order"] = self._order.get(spec.index)
            rows.append(d)
        return rows

    def _meta(self) -> dict[str, Any]:
        n_params = sum(p.numel() for p in self.model.parameters())
        return {
            "graddoctor_version": __version__,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "host": platform.node(),
            "device": str(self.device),
            "start_time": self._t0,
            "status": "running",
            "model_class": type(self.model).__name__,
            "n_parameters": int(n_params),
            "n_layers": self.n_layers,
            "optimizer": optimizer_summary(self.optimizer),
            "settings": {"flush_every": self.flush_every, "activations": self.activations,
                         "signal": self.signal, "time_profile": self.time_profile,
                         "detail_every": self.detail_every},
            "user": self.user_meta,
            "nonfinite_parameters": self._nonfinite_parameters(),
        }

    def _nonfinite_parameters(self) -> list[str]:
        """Layers whose parameters already hold NaN/Inf when watching starts (a corrupted checkpoint): one device
        sync, once per run. The diagnosis names them as the origin of a NaN that no step produced."""
        try:
            flags = [(spec.name, torch.isfinite(p.detach()).all()) for spec in self.map.layers
                     for _, p, _ in spec.params if p.numel() and (p.is_floating_point() or p.is_complex())]
            if not flags:
                return []
            ok = torch.stack([f for _, f in flags]).cpu().tolist()
            return list(dict.fromkeys(name for (name, _), good in zip(flags, ok) if not good))
        except Exception:  # exotic parameter types: the diagnosis then goes without it
            return []

    # ------------------------------------------------------------------ error containment
    def _warn(self, msg: str) -> None:
        warnings.warn(f"graddoctor: {msg}", GradDoctorWarning, stacklevel=3)

    def _fail(self, where: str, e: BaseException) -> None:
        if self._error is None:
            self._error = e
            self._warn(f"an error inside graddoctor's {where} was contained and watching stopped; your training "
                       f"is unaffected. Cause: {type(e).__name__}: {e}")
        self._disabled = True

    @property
    def error(self) -> BaseException | None:
        """The first error contained inside a graddoctor hook, if any."""
        return self._error

    # ------------------------------------------------------------------ hooks
    def _collecting(self) -> bool:
        return self._active and not self._disabled and torch.is_grad_enabled() and not _functorch_active()

    def _push(self, group: str, layer: int, vec: torch.Tensor) -> None:
        idx, vals = self._pending[group]
        idx.append(layer)
        vals.append(vec)
        if len(idx) > MAX_PENDING:
            self._overflow()

    def _overflow(self) -> None:
        """Too many hook values pending (many forward passes in one step): fold them now."""
        if self._flush_due or self._row >= self.flush_every:
            self.flush()
        self._fold(self._row)

    def _pre_hook(self, spec: LayerSpec, module: nn.Module, args: tuple[Any, ...]) -> Any:
        if not self._detail or not args or not self._collecting():
            return None
        try:
            x = args[0]
            if not isinstance(x, torch.Tensor) or not x.is_floating_point():
                return None
            new_args = None
            if spec.recurrent and self.time_profile:
                tdim = time_dim_of(module, x)
                if tdim is not None:
                    if not x.requires_grad:
                        x = x.detach().requires_grad_(True)
                        new_args = (x, *args[1:])
                    if self._first_hook("time", spec.index, x):
                        self._keep_leaf(x, x.register_hook(partial(self._time_hook, spec.index, tdim)))
            return new_args
        except Exception as e:
            self._fail("forward pre-hook", e)
            return None

    def _keep_leaf(self, x: torch.Tensor, handle: Any) -> None:
        """A hook on a leaf tensor (an input that requires grad and is fed again every step: a PINN's collocation
        points, an image optimised by gradient) stays on it after its backward, unlike one on an intermediate result,
        which goes with the graph: its handle is kept and removed at the end of the step (and at stop()), or each step
        would add one more hook and count the gradient once more."""
        if x.is_leaf:
            self._leaf_hooks.append(handle)

    def _first_hook(self, kind: str, layer: int, x: torch.Tensor) -> bool:
        """True the first time this step that ``layer``'s input ``x`` is seen for a ``kind`` hook."""
        key = (kind, layer, id(x))
        ref = self._hooked_inputs.get(key)
        if ref is not None and ref() is x:
            return False
        self._hooked_inputs[key] = weakref.ref(x)
        return True

    def _layer_hook(self, spec: LayerSpec, module: nn.Module, args: Any, out: Any) -> None:
        # The hottest code of the Monitor (every watched layer, every recorded step): inlined on purpose.
        if not self._active or self._disabled:
            return
        if not torch.is_grad_enabled() or _functorch_active():
            # No statistics, but the execution order counts: the first pass of a reentrant checkpoint runs under
            # no_grad and its layers are recorded only when backward recomputes them, after the layers above. A pass
            # inside a torch.func transform (vmap/grad: per-sample gradients, DP-SGD) holds wrapped tensors that
            # cannot leave it: folded after it, they failed inside torch and stopped watching.
            if spec.index not in self._order:
                self._order[spec.index] = len(self._order)
            return
        try:
            li = spec.index
            if li not in self._order:
                self._order[li] = len(self._order)
            self._last_layer = li
            t = out if type(out) is torch.Tensor else first_tensor(out)
            if t is None:
                return
            detail = self._detail
            if self.activations:
                # one kernel; also reveals NaN/Inf
                idx, vals = self._pending["out"]
                idx.append(li)
                vals.append(t.detach().sum(dtype=F32) if t.dtype in _FAST_SUM else sum32(t))
                host = self._host
                host[li, _C_ON] += t.numel()
                if detail:
                    self._push("out2", li, norm32(t))
                    host[li, _C_ON2] += t.numel()
                    if li not in self._act_of and t.numel():  # maybe no activation follows: decided when folding
                        x, period = activation_sample(t, self.act_sample)
                        self._no_act.append((li, None, None, x, period, None, 0))
                if len(idx) > MAX_PENDING:
                    self._overflow()
            if self.signal and t.requires_grad:
                h = t.register_hook(self._sig_hook[li])
                if t.is_leaf:  # a module that returns a parameter of its own
                    self._leaf_hooks.append(h)
                if (detail and args and isinstance(args[0], torch.Tensor) and args[0].requires_grad
                        and self._first_hook("in", li, args[0])):
                    self._keep_leaf(args[0], args[0].register_hook(self._insig_hook[li]))
        except Exception as e:
            self._fail("forward hook", e)

    def _rnn_layer_hook(self, spec: LayerSpec, module: nn.Module, args: Any, out: Any) -> None:
        """An RNN/LSTM/GRU layer: its backward signal is the gradient of all its outputs, the output sequence and
        the final hidden (and cell) state. A classifier reads only ``h_n`` and a seq2seq encoder only ``(h_n,
        c_n)``: the output sequence then gets no gradient, and the layer had no signal at all."""
        self._layer_hook(spec, module, args, out)
        if not isinstance(out, tuple) or len(out) < 2 or not self._collecting():
            return
        try:
            hidden = out[1] if isinstance(out[1], (tuple, list)) else (out[1],)
            for h in hidden:
                if isinstance(h, torch.Tensor) and h.requires_grad and h.is_floating_point():
                    h.register_hook(self._sig_hook[spec.index])
        except Exception as e:
            self._fail("forward hook", e)

    def _act_hook(self, name: str, kind: str, module: nn.Module, args: Any, out: Any) -> None:
        if not self._detail or not self._collecting():
            return
        try:
            li = self._last_layer
            if li is None or not isinstance(out, torch.Tensor):
                return
            if li not in self._act_of:
                self._act_of[li] = (name, kind)
            unit_dim = self.map.layers[li].unit_dim
            if out.numel() == 0:
                vals, n, units = activation_sample_stats(kind, out, module, unit_dim, self.act_sample)
                self._push_act(li, vals, n, units)
                return
            # the statistics themselves are computed for all layers at once at the end of the step
            x, period = activation_sample(out, self.act_sample)
            dead, units = dead_units_fast(out, unit_dim) if kind in DEAD_CAPABLE else (None, 0)
            self._act_calls.append((li, kind, module, x, period, dead, units))
            if len(self._act_calls) >= ACT_BATCH:  # bounds the samples held until the end of the step
                calls, self._act_calls = self._act_calls, []
                self._act_stats(calls)
        except Exception as e:
            self._fail("activation hook", e)

    def _push_act(self, li: int, vals: torch.Tensor, n: int, units: int) -> None:
        self._push("act", li, vals)
        h = self._host[li]
        h[_C_AN] += n
        h[_C_UNITS] += units
        h[_C_CALLS] += 1

    def _grad_hook(self, group: str, layer: int, grad: torch.Tensor) -> None:
        # (a batched backward: jacobian/hessian(vectorize=True), autograd.grad(is_grads_batched=True), or one inside
        # a torch.func transform; its gradients cannot leave it)
        if self._disabled or _legacy_batched(grad) or _functorch_active():
            return
        try:
            # squared when folded; a plain float/half gradient takes the one-kernel path
            v = (_vector_norm(grad, 2, dtype=F32) if type(grad) is torch.Tensor and grad.dtype in _FAST_SUM
                 and not grad.requires_grad and grad.layout is torch.strided else norm32(grad))
            if self._grad_scale is not None:
                k = self._grad_scale()
                if k is not None:
                    v = v * k.sqrt().to(v.device)
            idx, vals = self._pending[group]
            idx.append(layer)
            vals.append(v)
            self._host[layer, _C_SIGN if group == "sig" else _C_INN] += grad.numel()
            if len(idx) > MAX_PENDING:
                self._overflow()
        except Exception as e:
            self._fail("gradient hook", e)

    def _time_hook(self, layer: int, tdim: int, grad: torch.Tensor) -> None:
        if self._disabled or _legacy_batched(grad) or _functorch_active():
            return
        try:
            prof = time_profile(grad, tdim)
            if self._grad_scale is not None:
                k = self._grad_scale()
                if k is not None:
                    prof = prof * k.to(prof.device)
            self._series_pending.append((layer, prof))
        except Exception as e:
            self._fail("time-profile hook", e)

    def _optimizer_post_hook(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self._other_steps = 0
        if not self._scaler_checked:
            self._scaler_checked = True
            self._check_scaler()
        self._end_step(None)

    def _check_scaler(self) -> None:
        """At the first optimizer step: warn when a ``torch.amp.GradScaler`` steps the optimizer and
        ``integrations.amp.track_scaler`` was not attached to this run. The backward signal is captured during
        backward, multiplied by the scale (65536 at the start), and the iterations the scaler skips would be folded
        into the next step: every signal statistic would be silently S times too large. Looks up the caller frames
        once per run."""
        if self._grad_scale is not None or not self._sees_backward:
            return
        try:
            scaler_cls = torch.amp.GradScaler
            frame: Any = sys._getframe(2)
            for _ in range(SCALER_FRAMES):
                if frame is None:
                    return
                owner = frame.f_locals.get("self")
                if isinstance(owner, scaler_cls):
                    if owner.is_enabled():
                        self._warn("a torch.amp.GradScaler steps the watched optimizer, but track_scaler was not "
                                   "attached to this run: the backward-signal statistics are recorded multiplied by "
                                   "the loss scale (S = 65536 at the start) and iterations the scaler skips are "
                                   "added to the next step. Call graddoctor.integrations.amp.track_scaler(run, "
                                   "scaler) right after gd.watch(...)")
                    return
                frame = frame.f_back
        except Exception:  # no frames to read (another interpreter): no check
            return

    def _other_optimizer_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        """Any optimizer's step (a global hook). Another optimizer stepping the parameters the watched one holds,
        OTHER_OPTIMIZER_STEPS times with no step of the watched one in between, has replaced it (a new optimizer
        built after watch(), e.g. to unfreeze layers): graddoctor would record nothing more, silently."""
        if optimizer is self.optimizer or self._other_warned or self._disabled or self._stopped:
            return
        try:
            overlaps = self._overlap.get(optimizer)
            if overlaps is None:  # once per optimizer (a GAN's second optimizer holds other parameters)
                overlaps = any(id(p) in self._watched_ids for g in optimizer.param_groups for p in g["params"])
                self._overlap[optimizer] = overlaps
            if not overlaps:
                return
            self._other_steps += 1
            if self._other_steps >= OTHER_OPTIMIZER_STEPS:
                self._other_warned = True
                self._warn(f"another optimizer ({type(optimizer).__name__}) than the one given to watch() has made "
                           f"{self._other_steps} steps of its parameters, and the watched "
                           f"{type(self.optimizer).__name__} none since: graddoctor records the watched optimizer's "
                           "steps only, so nothing more of this training is recorded. After building a new optimizer "
                           "(to unfreeze layers, change its kind), stop this watch and start gd.watch(model, "
                           "new_optimizer), or pass optimizer=None and call run.step() after each step")
        except Exception:  # an exotic optimizer: no check, never an error
            self._other_warned = True

    # ------------------------------------------------------------------ steps
    def log_loss(self, loss: torch.Tensor | float) -> None:
        """Record the loss of a step (no host sync: the tensor is copied on the device).

        With an optimizer passed to watch(), the loss goes where ``run.step(loss=...)`` puts it: called after
        ``optimizer.step()``, to the step just taken; called before it (after the step's forward or backward),
        to the step being taken. Without an optimizer, to the current step: call it before ``run.step()``."""
        _check_loss(loss, "log_loss")
        if self.optimizer is not None:
            self.step(loss)
            return
        self._write_loss(loss)

    def _write_loss(self, loss: torch.Tensor | float | None) -> None:
        """Write ``loss`` into the current (not yet closed) step's row."""
        if self._disabled or not self._active or loss is None:
            return
        try:
            # A due flush must happen before the loss is written: it resets the rows (and their losses).
            if self._flush_due or self._row >= self.flush_every:
                self.flush()
            if isinstance(loss, torch.Tensor):
                self._loss[self._row].copy_(loss.detach().reshape(()))
            else:
                self._loss[self._row].fill_(float(np.asarray(loss).reshape(-1)[0]))
            self._row_loss[self._row] = True
        except ModelError:
            raise
        except Exception as e:
            self._fail("log_loss", e)

    def step(self, loss: torch.Tensor | float | None = None) -> None:
        """Mark the end of an optimizer step. With an optimizer passed to watch(), only ``loss`` is recorded
        (the step itself is recorded by the optimizer hook); call it after ``optimizer.step()``. Called before
        it, after the step's backward, the loss still goes to that step (the signal hooks have seen its
        backward); a first call made before any optimizer step, after the step's forward (a loop that logs right
        after computing the loss), on a step 0 that the schedule does not record, or without signal hooks at all
        (``signal=False``, ``activations=False``), means a loop that logs first, and every loss goes to its own
        step."""
        # Checked on every call, whatever the schedule, so a wrong loss fails at the first step, the same way
        # with or without an optimizer.
        _check_loss(loss, "run.step(loss=...)")
        if self.optimizer is not None:
            if (loss is not None and not self._loss_before_step and self._skipped_iteration is not None
                    and self._skipped_iteration()):
                return  # after an iteration the GradScaler skipped: its loss belongs to no step (integrations.amp)
            if loss is not None:
                # Before optimizer.step() (no watched step since the last call, or a loop already seen to log
                # first) with the step's backward seen: the step being recorded is this loss's. After it, a
                # backward seen since belongs to another optimizer (a GAN's second loss) or a later pass, and
                # the loss is the step's just closed.
                before = self._loss_before_step or self._step == self._step_at_loss
                self._step_at_loss = self._step
                if not self._sees_backward:
                    # No signal hook sees the step's backward. A first loss passed before any optimizer step can
                    # only be that step's: the loop logs first, and every later loss is its own step's too (a
                    # loss after the step always finds it closed, so it goes to the step just recorded).
                    self._loss_before_step = self._loss_before_step or self._step == 0
                    (self._write_loss if self._loss_before_step else self._log_previous_loss)(loss)
                elif (before and self._step_started()) or (self._step == 0 and (self._last_layer is not None
                                                                                   or not self._active)):
                    # (the second: a first loss passed before any optimizer step, after this step's forward with
                    # grad and before its backward, as a loop that logs right after computing the loss does; or on
                    # a step 0 the schedule does not record (``every=lambda s: s >= 100``), where no hook ran to
                    # tell, taken as such a loop as without signal hooks: a loss passed after the optimizer step
                    # comes after a watched step, so it never sees step 0)
                    self._loss_before_step = True
                    self._write_loss(loss)
                elif self._loss_before_step:  # a loop that logs first (before or after backward)
                    self._write_loss(loss)  # (nothing on unrecorded steps)
                else:
                    self._log_previous_loss(loss)
            return
        if self._skipped_iteration is not None and self._skipped_iteration():
            return  # the GradScaler skipped this iteration's optimizer step: there is no step to record
        if loss is not None:
            self._write_loss(loss)
        self._end_step(None)

    def _step_started(self) -> bool:
        """Whether hooks have seen a backward pass of the current, not yet closed, recorded step: its
        backward-signal values are pending, or were folded early. A forward alone does not count (an evaluation
        forward with grad enabled between ``optimizer.step()`` and ``run.step(loss)`` is not the next step)."""
        if not self._active:
            return False
        r = self._row
        return bool(self._pending["sig"][0]) or (r < self.flush_every and any(g == "sig" for g, _, _ in
                                                                                self._slot_rows[r]))

    def _log_previous_loss(self, loss: torch.Tensor | float) -> None:
        # The optimizer hook has already closed the step: write into the row it used.
        if self._disabled or not self._rows_steps or self._rows_steps[-1] != self._step - 1 or self._row == 0:
            return
        try:
            slot = self._loss[self._row - 1]
            if isinstance(loss, torch.Tensor):
                slot.copy_(loss.detach().reshape(()))
            else:
                slot.fill_(float(np.asarray(loss).reshape(-1)[0]))
            self._row_loss[self._row - 1] = True
        except Exception as e:
            self._fail("step(loss=...)", e)

    @property
    def steps_seen(self) -> int:
        """Optimizer steps seen so far (recorded or not)."""
        return self._step

    def _end_step(self, _: Any) -> None:
        if self._disabled or not self._started or self._stopped:
            self._step += 1
            return
        try:
            s = self._step
            if self._active:
                if self._flush_due or self._row >= self.flush_every:
                    self.flush()
                r = self._row
                self._fold(r)
                self._hrows[r] += self._host
                self._host[:] = 0
                self._param_stats(r)
                if not self._hooks_seen:
                    self._check_hooks_ran(r, s)
                if self.optimizer is None and not self._cleared_warned:
                    self._check_grads_cleared(r, s)
                if self._detail:
                    self._update_stats(self._buf[r], s)
                self._fold_series(s)
                self._rows_steps.append(s)
                self._rows_time.append(time.time() - self._t0)
                self._row += 1
                self._slot_fill = 0
                self._overflowed = False
                self._n_recorded += 1
                # Flush lazily (at the next recorded step or at stop) so that run.step(loss=...) called after
                # optimizer.step() can still fill this row. The first step is written early for live views.
                self._flush_due = s == 0
            else:
                self._discard_pending()
            self._hooked_inputs.clear()
            for h in self._leaf_hooks:
                h.remove()
            self._leaf_hooks.clear()
            self._step += 1
            self._active = bool(self.schedule(self._step))
            detail = self._active and self._n_recorded % self.detail_every == 0
            if detail != self._detail:
                self._detail_hooks(detail)
            self._detail = detail
            if self._detail and self._snap_step != self._step - 1:  # the update is measured on detail steps
                self._take_snapshot(self._step - 1)
        except Exception as e:
            self._step += 1
            self._fail("step hook", e)

    def _check_hooks_ran(self, r: int, s: int) -> None:
        """Warn once when HOOKLESS_STEPS recorded steps had gradients but no watched layer's forward hook ever ran
        (host-side bookkeeping only): the forward bypassed the hooks, and every output, activation and signal
        statistic would be a silent NaN. The usual cause is torch.compile: dynamo does not guard on module hooks
        (``torch._dynamo.config.skip_nnmodule_hook_guards``), so a graph traced before ``watch()`` registered them,
        of this model or of another instance of the same class in this process, goes on running without them."""
        if self._order:
            self._hooks_seen = True  # hooks ran: nothing to check any more
            return
        if not self._present[r]:
            return  # nothing was trained this step (no gradient): nothing to tell yet
        self._hookless.append(s)
        if len(self._hookless) < HOOKLESS_STEPS:
            return
        self._hooks_seen = True
        if not any(hookable(spec.module) for spec in self.map.layers):
            return  # TorchScript only: _register already warned
        self._warn(f"steps {', '.join(map(str, self._hookless))} had gradients, but no forward hook of a watched "
                   "layer ran: the forward did not go through the hooks watch() registered, so output, activation "
                   "and backward-signal statistics are missing (NaN) and only parameter statistics are recorded. The "
                   "usual cause is a torch.compile graph traced before watch() (of this model, or of another "
                   "instance of the same model class in this process: dynamo does not check module hooks again): "
                   "start watching before the first torch.compile call, or call torch._dynamo.reset() after watch() "
                   "and before compiling")

    def _check_grads_cleared(self, r: int, s: int) -> None:
        """Without an optimizer, warn once when CLEARED_GRAD_STEPS recorded steps in a row had a backward pass through
        the watched layers (the signal hooks saw it) and no gradient on any trainable parameter: ``run.step()`` is
        called after ``optimizer.zero_grad()`` (a loop that clears the gradients at the end of each iteration), and
        every gradient statistic would be a silent NaN. Host-side bookkeeping only."""
        if self._present[r]:
            self._cleared.clear()
            return
        if not any(g == "sig" for g, _, _ in self._slot_rows[r]) or not any(
                p.requires_grad for p in self._params.params):
            return  # no backward seen (or nothing trainable: all frozen, an input optimised by gradient)
        self._cleared.append(s)
        if len(self._cleared) < CLEARED_GRAD_STEPS:
            return
        self._cleared_warned = True
        self._warn(f"steps {', '.join(map(str, self._cleared))} had a backward pass through the watched layers but no "
                   "gradient on any parameter when run.step() was called: the gradients were cleared before it "
                   "(optimizer.zero_grad() at the end of the iteration?), so every gradient statistic is missing "
                   "(NaN). Call run.step() after optimizer.step() and before optimizer.zero_grad(), or pass the "
                   "optimizer to gd.watch(model, optimizer), which records each step when it is taken")

    def _fold_series(self, s: int) -> None:
        """One time profile per layer and step: micro-batches and repeated calls add their squares, aligned on the
        end of their sequences (nearest the loss) when their lengths differ (batches padded to their own longest
        sequence), as the store aligns the steps' profiles."""
        merged: dict[int, torch.Tensor] = {}
        for li, prof in self._series_pending:
            prev = merged.get(li)
            if prev is not None and prev.shape != prof.shape:
                n = max(prev.numel(), prof.numel())
                prev, prof = (nn.functional.pad(t.reshape(-1), (n - t.numel(), 0)) for t in (prev, prof))
            merged[li] = prof if prev is None else prev + prof
        self._series_rows.extend((s, li, prof) for li, prof in merged.items())
        self._series_pending.clear()

    def _discard_pending(self) -> None:
        self._no_act.clear()
        self._act_calls.clear()
        self._host[:] = 0
        if self._row < self.flush_every and self._slot_rows[self._row]:  # values already folded this step
            self._slot_rows[self._row].clear()
            self._slot_fill = 0
        if self._act_later:  # samples this step folded early (_overflow) are dropped with it
            self._act_later = [rc for rc in self._act_later if rc[0] != self._row]
        if self._row < self.flush_every and self._overflowed:
            self._buf[self._row].zero_()
        self._overflowed = False
        for idx, vals in self._pending.values():
            idx.clear()
            vals.clear()
        self._series_pending.clear()

    def _index(self, idx: list[int]) -> torch.Tensor:
        key = tuple(idx)
        t = self._idx_cache.get(key)
        if t is None:
            t = torch.tensor(idx, dtype=torch.long, device=self.device)
            if len(self._idx_cache) < 256:
                self._idx_cache[key] = t
        return t

    def _fold(self, r: int) -> None:
        """Move the pending hook values of this step into row ``r`` of the slots (one stack per group)."""
        # A layer whose output no activation module consumed: its own output is its activation.
        calls = self._act_calls + [c for c in self._no_act if c[0] not in self._act_of]
        self._act_calls.clear()
        self._no_act.clear()
        if calls:
            self._defer_act(r, calls)
        for group, (idx, vals) in self._pending.items():
            if not idx:
                continue
            w = DEVICE_WIDTH[group]
            m = len(idx)
            off = self._slot_fill
            if off + m * w <= self._slot_cap:
                dst = self._slots[r, off:off + m * w]
                try:
                    torch.stack(vals, out=dst if w == 1 else dst.view(m, w))
                except (RuntimeError, TypeError):  # values on another device or of another dtype
                    dst.copy_(torch.stack([v.to(self.device, torch.float32) for v in vals]).reshape(-1))
                self._slot_rows[r].append((group, idx, off))
                self._slot_fill = off + m * w
                self._pending[group] = ([], [])
            else:  # no room left in this step's slots: fold into the statistics buffer directly
                a, _ = SPAN[group]
                src = torch.stack([v.to(self.device, torch.float32) for v in vals]).reshape(m, w)
                if group in SQUARED:
                    src = src * src
                self._buf[r, :, a:a + w].index_add_(0, self._index(idx), src)
                self._overflowed = True
                idx.clear()
                vals.clear()

    def _act_stats(self, calls: list[tuple[Any, ...]]) -> None:
        """Activation statistics of ``calls`` (this step's), pushed as this step's hook values."""
        for idx, mat in self._act_batches(calls):
            for i, vals in zip(idx, mat.unbind(0)):
                c = calls[i]
                self._push_act(c[0], vals, c[3].numel(), c[6])

    def _act_batches(self, calls: list[tuple[Any, ...]]) -> list[tuple[list[int], torch.Tensor]]:
        """Activation statistics batched over the calls whose samples have the same kind, configuration, size and
        period (usually a handful of groups, however many layers and steps): per group, the positions of its calls
        in ``calls`` and their (m, 8) statistics."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, (_, kind, module, x, period, _, _) in enumerate(calls):
            groups.setdefault((kind, activation_config(kind, module), x.numel(), period, x.device), []).append(i)
        out = []
        for (kind, _, _, period, dev), idx in groups.items():
            x = torch.stack([calls[i][3] for i in idx])
            nan = torch.full((), float("nan"), dtype=F32, device=dev)
            dead = torch.stack([calls[i][5].to(dev) if calls[i][5] is not None else nan for i in idx])
            out.append((idx, activation_batch_stats(kind, x, dead, calls[idx[0]][2], period)))
        return out

    def _defer_act(self, r: int, calls: list[tuple[Any, ...]]) -> None:
        """Keep the activation samples of row ``r`` for :meth:`_act_flush`; their counts (known on the host) go
        into this step's host row now. On a CPU the statistics' cost is mostly per-kernel dispatch, so computing
        them for the ~flush_every/detail_every detail steps of a flush at once costs about what one step did."""
        host = self._host
        for c in calls:
            h = host[c[0]]
            h[_C_AN] += c[3].numel()
            h[_C_UNITS] += c[6]
            h[_C_CALLS] += 1
            self._act_later.append((r, c))
        if len(self._act_later) >= ACT_BATCH:  # bounds the samples held: ACT_BATCH x act_sample floats
            self._act_flush(self.flush_every)

    def _act_flush(self, n: int) -> None:
        """Compute the kept activation statistics of rows ``0..n-1`` and add them to those rows of ``_buf``
        (batched over steps and layers whose samples share kind, configuration, size and period)."""
        later = [rc for rc in self._act_later if rc[0] < n]
        if not later:
            return
        self._act_later = [rc for rc in self._act_later if rc[0] >= n]
        calls = [c for _, c in later]
        flat = self._buf.view(-1, K)
        a = SPAN["act"][0]
        L = self.n_layers
        for idx, mat in self._act_batches(calls):
            # built on the host and copied without waiting: the ACT_BATCH bound may call this between flushes,
            # where a blocking host-to-device copy would be a sync in the hot path
            dest = torch.tensor([later[i][0] * L + calls[i][0] for i in idx], dtype=torch.long).to(
                self.device, non_blocking=True)
            flat[:, a:a + DEVICE_WIDTH["act"]].index_add_(0, dest, mat.to(self.device, torch.float32))
        if any(r == self._row for r, _ in later):
            self._overflowed = True  # the current row now holds values: discarding this step must clear it

    def _grad_norms(self) -> tuple[tuple[int, ...], list[torch.Tensor]]:
        """Which watched parameters have a gradient, and the float32 norms of those gradients."""
        grads = [p.grad for p in self._params.params]
        if all(g is not None for g in grads):
            return self._all_present, _norm_list(self._local_grads(grads))  # type: ignore[arg-type]
        present = tuple(i for i, g in enumerate(grads) if g is not None)
        if not present:
            return present, []
        return present, _norm_list(self._local_grads([grads[i] for i in present]))  # type: ignore[misc]

    def _local_grads(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """The gradients whose norms this process records (all of them; the distributed Monitor takes each
        rank's local shard)."""
        return grads

    def _param_stats(self, r: int) -> None:
        """Gradient norms of this step into row ``r`` of ``_gn`` (the one pass over the gradients)."""
        present, gn = self._grad_norms()
        self._present[r] = present
        if present:
            torch.stack(gn, out=self._gn_rows[r] if len(present) == self._gn.shape[1] else
                        self._gn[r, :len(present)])

    def _materialize(self, n: int) -> None:
        """Fold rows ``0..n-1`` of the slots, the gradient norms and the host-side counts into ``_buf``
        (a few kernels per flush). Everything downstream (distributed reduction, derive) reads ``_buf``."""
        self._act_flush(n)
        L = self.n_layers
        flat = self._buf[:n].view(n * L, K)
        # hook values, per group: positions in the slots and destination rows, built on the host
        by_group: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        C = self._slot_cap
        for r in range(n):
            for group, idx, off in self._slot_rows[r]:
                w = DEVICE_WIDTH[group]
                pos, dest = by_group.setdefault(group, ([], []))
                pos.append(np.arange(r * C + off, r * C + off + len(idx) * w, dtype=np.int64))
                dest.append(np.asarray(idx, dtype=np.int64) + r * L)
            self._slot_rows[r].clear()
        slots = self._slots.view(-1)
        for group, (pos, dest) in by_group.items():
            w = DEVICE_WIDTH[group]
            a, _ = SPAN[group]
            src = slots[torch.from_numpy(np.concatenate(pos)).to(self.device)].view(-1, w)
            if group in SQUARED:
                src = src * src
            flat[:, a:a + w].index_add_(0, torch.from_numpy(np.concatenate(dest)).to(self.device), src)
        self._slot_fill = 0
        # gradient norms, per pattern of parameters present (usually one: all of them)
        P = self._params
        rows_of: dict[tuple[int, ...], list[int]] = {}
        for r in range(n):
            if self._present[r]:
                rows_of.setdefault(self._present[r], []).append(r)
            self._present[r] = ()
        a, b = SPAN["param"]
        for present, rows in rows_of.items():
            m = len(present)
            pidx = torch.tensor(present, dtype=torch.long, device=self.device)
            rows_t = torch.tensor(rows, dtype=torch.long, device=self.device)
            gn = self._gn[rows_t, :m]  # (R, m)
            is_bias = P.is_bias[pidx]
            wt = torch.ones_like(is_bias) if P.weight is None else P.weight[pidx]
            g2 = gn * gn * wt
            # w_sq stays 0 here: the weight norm comes from the update sample (_update_stats), which saves a
            # full pass over the weights every step; subclasses that know exact norms may fill it.
            src = torch.stack([g2 * (1 - is_bias), g2 * is_bias, torch.zeros_like(g2),
                               (~torch.isfinite(gn)).to(torch.float32) * wt, wt.expand_as(g2),
                               (wt * (1 - is_bias)).expand_as(g2)], dim=2)
            pdest = (rows_t[:, None] * L + P.seg[pidx][None, :]).reshape(-1)
            flat[:, a:b].index_add_(0, pdest, src.reshape(-1, b - a))
        # counts known on the host (elements, calls)
        host = torch.from_numpy(self._hrows[:n].astype(np.float32))
        # a blocking copy (once per flush): the numpy source is reset right after
        self._buf[:n].add_(host.to(self.device) if self.device.type != "cpu" else host)
        self._hrows[:n] = 0

    def _weight_views(self, refresh: bool = False) -> list[torch.Tensor]:
        if self._views is None or refresh:  # refreshed once per detail cycle in case a weight was replaced
            self._views = self._params.weight_views()
            # ||W_sample||^2 x (entries / sampled entries) estimates ||W||^2 (exact when nothing is left out)
            self._scale = torch.tensor([float(v._base.numel() if v._base is not None else v.numel()) / max(
                1, v.numel()) for v in self._views], dtype=torch.float32, device=self.device)
        return self._views

    def _take_snapshot(self, step: int) -> None:
        views = self._weight_views(refresh=True)
        if self._snaps is None or len(self._snaps) != len(views):
            self._snaps = [v.clone() for v in views]
        elif views:
            _foreach_copy(self._snaps, views)
        self._snap_step = step

    def _update_stats(self, row: torch.Tensor, s: int) -> None:
        """||W_t - W_{t-1}|| and ||W_t|| on the sampled entries, per layer (three foreach kernels)."""
        P = self._params
        views = self._weight_views()
        if not views:
            return
        wn = _norms(views)
        w2 = wn * wn
        a, _ = SPAN["upd"]
        if self._snaps is not None and self._snap_step == s - 1 and len(self._snaps) == len(views):
            dn = _norms(torch._foreach_sub(views, self._snaps))
            src = torch.stack([dn * dn, w2, w2 * self._scale], dim=1)
            row[:, a:a + 3].index_add_(0, P.upd_layer(), src)
            if self.detail_every > 1:  # the next snapshot is taken just before the next detail step
                self._snaps = None
        else:
            row[:, a + 2].index_add_(0, P.upd_layer(), w2 * self._scale)


    # ------------------------------------------------------------------ flushing
    def flush(self) -> None:
        """Copy the recorded steps to the host (one sync) and write them to the store."""
        if self._row == 0 and not self._unwritten:
            return
        try:
            if self._row:
                self._materialize(self._row)
            batch = self._drain() if self._row else None
        except Exception as e:
            self._fail("flush", e)
            return
        if batch is not None:
            self._unwritten.append(batch)
        if self._loss_every is not None and self._loss_every != self._loss_every_written:
            try:
                self.store.update_meta({"loss_every_step": self._loss_every})
                self._loss_every_written = self._loss_every
            except Exception as e:
                self._write_error(e)
                return
        if self._started and len(self._order) and not getattr(self, "_layers_written", False):
            try:
                self.store.update_layers(self._layer_rows())
                self._layers_written = True
            except Exception as e:
                self._write_error(e)
                return
        while self._unwritten:
            try:
                self.store.write(self._unwritten[0])
            except Exception as e:
                self._write_error(e)
                return
            self._unwritten.pop(0)

    def _write_error(self, e: BaseException) -> None:
        if not self._write_failed:
            self._write_failed = True
            self._warn(f"could not write to the run store ({type(e).__name__}: {e}); training continues and "
                       "the records are kept in memory until a later flush succeeds")

    def _drain(self) -> Batch:
        n = self._row
        self._flush_due = False
        batch = self._rows_batch(n)
        self._loss_every = self._loss_every_with(n)
        self._row_loss[:n] = [False] * n
        self._series_rows.clear()
        self._buf[:n].zero_()
        self._loss[:n].fill_(float("nan"))
        self._overflowed = False
        self._row = 0
        self._rows_steps = []
        self._rows_time = []
        return batch

    def _loss_every_with(self, n: int) -> bool:
        """Whether every recorded step logged a loss, counting rows ``0..n-1`` of the buffer too."""
        return self._loss_every is not False and all(self._row_loss[:n])

    def _rows_batch(self, n: int) -> Batch:
        """Rows ``0..n-1`` (materialized) as a Batch on the host, left in place (one blocking copy)."""
        raw = self._buf[:n].to("cpu", torch.float64).numpy()
        loss = self._loss[:n].to("cpu", torch.float64).numpy()
        raw = self._reduce(raw)
        series = []
        if self._series_rows:
            profs = [p for _, _, p in self._series_rows]
            lens = [p.numel() for p in profs]
            flat = torch.cat([p.reshape(-1) for p in profs]).to("cpu", torch.float64).numpy()
            off = 0
            for (s, li, _), L in zip(self._series_rows, lens):
                series.append((s, li, "time_signal", np.sqrt(flat[off:off + L]).astype(np.float32)))
                off += L
        stats = derive(raw)
        totals = step_totals(raw)
        return Batch(steps=np.array(self._rows_steps, dtype=np.int64),
                     wall_time=np.array(self._rows_time, dtype=np.float64),
                     layer_stats=stats, step_stats={"loss": loss, **totals}, series=series)

    def _peek(self) -> Batch | None:
        """The steps still in the buffer as a Batch, without writing or resetting them: the last one may still
        receive its loss from ``run.step(loss=...)`` after ``optimizer.step()``."""
        if not self._row:
            return None
        try:
            fill = self._slot_fill  # this step's slots, when hook values were folded early (_overflow)
            self._materialize(self._row)  # folds each row once: a later flush adds nothing twice
            self._slot_fill = fill
            return self._rows_batch(self._row)
        except Exception as e:
            self._fail("run.data", e)
            return None

    def _reduce(self, raw: np.ndarray) -> np.ndarray:
        """Combine raw sums across processes; single-process runs return ``raw`` unchanged.

        Integrations for torch.distributed replace this (see graddoctor.integrations.distributed).
        """
        return raw

    # ------------------------------------------------------------------ results
    @property
    def data(self) -> Any:
        """Everything recorded so far as :class:`graddoctor.RunData`: what the store holds, then the steps not
        written yet. Reading it writes nothing: the steps in the buffer stay there (a flush would close the
        current step, and a ``run.step(loss=...)`` after ``optimizer.step()`` would lose its loss)."""
        data = self.store.run_data()
        pending = self._peek() if not self._stopped else None
        extra = [*self._unwritten, pending] if pending is not None else self._unwritten
        data = self._with_unwritten(data, extra) if extra else data
        every = self._loss_every_with(self._row) if pending is not None else self._loss_every
        if every is not None and data.meta.get("loss_every_step") != every:
            import dataclasses

            data = dataclasses.replace(data, meta={**data.meta, "loss_every_step": every})
        return data

    def _with_unwritten(self, data: Any, batches: list[Batch]) -> Any:
        """``data`` (what the store holds) followed by ``batches``, the steps kept in memory (not flushed yet, or
        kept after a failed write, so that a full disk never hides recorded steps from ``run.data`` /
        ``run.diagnose()``)."""
        import dataclasses

        from ..store.tables import assemble

        extra = assemble(data.meta, self._layer_rows(), batches, [], None)
        if not data.n_steps:  # nothing was ever written: the memory is the whole run (in its layer order)
            return dataclasses.replace(extra, meta=data.meta, findings=data.findings, path=data.path)
        if extra.layer_names != data.layer_names:  # the store's layer order predates the first forward
            where = {n: i for i, n in enumerate(extra.layer_names)}
            perm = [where[n] for n in data.layer_names]
            extra.layer_stats = {k: v[perm] for k, v in extra.layer_stats.items()}
        series = {k: dict(v) for k, v in data.series.items()}
        for sname, per_layer in extra.series.items():
            for lname, (st, vals) in per_layer.items():
                old = series.setdefault(sname, {}).get(lname)
                if old is None:
                    series[sname][lname] = (st, vals)
                    continue
                # sequences of another length (an RNN fed batches of varying length): NaN-padded and aligned on
                # the end (nearest the loss), as the store assembles them
                width = max(old[1].shape[1], vals.shape[1])
                mat = np.full((len(old[1]) + len(vals), width), np.nan, dtype=np.float32)
                mat[:len(old[1]), width - old[1].shape[1]:] = old[1]
                mat[len(old[1]):, width - vals.shape[1]:] = vals
                series[sname][lname] = (np.concatenate([old[0], st]), mat)
        return dataclasses.replace(
            data, steps=np.concatenate([data.steps, extra.steps]),
            layer_stats={k: np.concatenate([v, extra.layer_stats[k]], axis=1) if k in extra.layer_stats else v
                         for k, v in data.layer_stats.items()},
            step_stats={k: np.concatenate([v, extra.step_stats[k]]) if k in extra.step_stats else v
                        for k, v in data.step_stats.items()},
            series=series)

    @property
    def path(self) -> str | None:
        """The store's file path (None for a memory-only run)."""
        return getattr(self.store, "path", None)

    def diagnose(self, **kwargs: Any) -> Any:
        """Diagnose the run recorded so far; returns a :class:`graddoctor.Diagnosis`."""
        from ..diagnosis import diagnose_run

        return diagnose_run(self.data, **kwargs)

    def report(self, path: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Write a self-contained HTML report of this run (with its diagnosis) to ``path``."""
        from ..present.html import render_run_report

        return render_run_report(self.data, path, diagnosis=self.diagnose(), **kwargs)


def watch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    store: str | os.PathLike[str] | None = None,
    every: int | str | Callable[[int], bool] = 1,
    flush_every: int = 50,
    activations: bool = True,
    signal: bool | None = None,
    time_profile: bool = True,
    update_sample: int | None = 4096,
    overwrite: bool = False,
    meta: dict[str, Any] | None = None,
    detail_every: int = 10,
    act_sample: int | None = ACT_SAMPLE,
) -> Monitor:
    """Watch a training run.

    Args:
        model: the model being trained.
        optimizer: its optimizer; its ``step()`` marks each recorded step. Without one, call ``run.step()``.
        store: path of the SQLite run store to create, or ``None`` to keep everything in memory.
        every: which optimizer steps to record: an int ``n`` (every n-th), a preset (``"full"``,
            ``"economy"``, ``"sparse"``) or a callable ``step -> bool``.
        flush_every: recorded steps kept on the device between writes (one host sync per flush).
        activations: record forward statistics of layer and activation outputs.
        signal: record the backward signal dL/d(output) and dL/d(input) of each layer (default: same as
            ``activations``). ``activations=False`` with ``signal`` unset records parameter statistics only.
        time_profile: for RNN/LSTM/GRU layers, record ||dL/dx_t|| per time step of their input.
        update_sample: entries per weight used to estimate the update ratio ||dW||/||W||; ``None`` uses every
            entry (exact, but keeps a copy of all weights).
        overwrite: replace an existing store at ``store``.
        meta: extra metadata stored with the run (numpy and torch scalars become numbers, arrays lists, other
            objects such as paths their str()).
        detail_every: every ``detail_every``-th recorded step is a *detail step*, where the costlier statistics
            are taken too: activation statistics (saturation, dead units, mean derivative, percentiles),
            dL/d(layer input) and the RNN time profile. Every recorded step has the parameter statistics,
            the layer-output sums and the backward signal dL/d(output). 1 takes everything every step.
        act_sample: elements of an activation output used for its per-unit statistics on detail steps (a
            strided sample; exact for smaller outputs); ``None`` uses all of them.

    Returns:
        The :class:`Monitor` (a context manager). ``run.diagnose()`` and ``run.data`` give the results.
    """
    cls: type[Monitor] = Monitor
    if torch.distributed.is_available() and torch.distributed.is_initialized():  # global statistics over ranks
        from ..integrations.distributed import DistributedMonitor as cls  # type: ignore[assignment]
    return cls(model, optimizer, store=store, every=every, flush_every=flush_every, activations=activations,
               signal=signal, time_profile=time_profile, update_sample=update_sample, overwrite=overwrite,
               meta=meta, detail_every=detail_every, act_sample=act_sample)
