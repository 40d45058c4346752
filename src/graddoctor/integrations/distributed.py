"""torch.distributed support: DDP, FSDP2 (``fully_shard``) and FSDP1, with one collective per flush.

:class:`DistributedMonitor` is the :class:`~graddoctor.Monitor` for a process group. :func:`graddoctor.watch`
returns one automatically when ``torch.distributed`` is initialised (one rank alone gives a plain Monitor);
:func:`watch_distributed` builds one explicitly, e.g. for a sub-group.

What it changes, and why the recorded statistics are the *global* ones:

* **Parameter statistics** are read at ``optimizer.step()``, i.e. after DDP's gradient all-reduce of the
  last (synchronising) micro-batch. A parameter is either *replicated* (DDP, plain tensors: every rank holds
  the same averaged gradient) or *sharded* (a DTensor under FSDP2, a flat-parameter view under FSDP1). Each
  rank adds sums of squares of its *local shard* of sharded parameters, and only rank 0 adds replicated
  ones, so that one summation over ranks gives exactly the global ``||dL/dW||^2`` and ``||W||^2``.
* **Forward and backward-signal statistics** are additive sums over each rank's local batch; summing over
  ranks gives sums over the global batch. DDP and FSDP average gradients over ranks, i.e. they optimise
  ``L = (1/W) * sum_r L_r`` for ``W`` ranks, so the signal ``dL/d(output)`` of the global objective is each
  rank's local signal divided by ``W``: squared-signal sums (and RNN time profiles) are divided by ``W**2``.
  The logged loss is the mean of the ranks' losses. A single process on the same global batch (same
  samples, a loss averaged over it) then records the same numbers up to float rounding.
* **One collective per flush**: the raw buffer rows, the losses and the time profiles are concatenated
  into one float32 tensor on the device and all-reduced once (``SUM``), whatever the number of layers.
  Every rank ends with the same statistics; only rank 0 writes the store (other ranks keep the records in
  memory, so ``run.diagnose()`` gives the same findings on every rank).
* **No-sync micro-steps**: with ``run.step()`` (no optimizer given) and a DDP-wrapped model, a step whose
  last forward pass ran under ``model.no_sync()`` is a micro-step: its hook results are kept for the next
  synchronised step instead of closing a step with unsynchronised gradients.

Not combined exactly (documented in docs/scaling.md): ``act_dead`` is the mean over ranks of each rank's
"dead on the whole local batch" fraction, and the activation percentiles are means of per-rank estimates.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

import torch
from torch import nn

from ..errors import ModelError
from ..probe.layout import COL
from ..probe.model_map import LayerSpec
from ..probe.monitor import ModuleHook, Monitor, _Params

#: Column groups whose raw sums are squared backward signals: divided by world_size**2 after summation.
SIGNAL_COLUMNS = ("sig_sq", "in_sq")
#: Prefixes that wrappers add to module names; stripped so that layer names match a single-process run.
WRAPPER_PREFIXES = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")
#: Seconds a rank waits, at its first flush, for every rank of the group to have started watching. A flush is a
#: collective: a rank that does not watch (``gd.watch`` called under ``if rank == 0:``) never joins it, and the
#: watching rank's all-reduce then meets DDP's gradient all-reduce instead (gloo aborts the job, NCCL hangs).
#: Under DDP/FSDP the ranks are in step (every step all-reduces), so a watching rank has started long before the
#: others' first flush, one or two steps in; 60 s leaves room for ranks that do not synchronise every step
#: (a plain model under a process group) while costing a misconfigured run one pause, not a crash.
AGREE_TIMEOUT_S = 60.0
#: Key prefix in torch.distributed's key-value store (no collective) under which each rank says it watches.
AGREE_KEY = "graddoctor/watch"
_started_runs: dict[str, int] = {}  # group -> DistributedMonitors started on this process (same order on every rank)


def is_distributed() -> bool:
    """True when ``torch.distributed`` is available and a default process group is initialised."""
    return bool(torch.distributed.is_available() and torch.distributed.is_initialized())


def _local(t: torch.Tensor) -> torch.Tensor:
    """The local shard of a DTensor, or ``t`` itself."""
    to_local = getattr(t, "to_local", None)
    return to_local() if callable(to_local) else t


def _is_dtensor(t: torch.Tensor) -> bool:
    return callable(getattr(t, "to_local", None)) and hasattr(t, "placements")


def _is_sharded(p: torch.Tensor) -> bool:
    """A DTensor with at least one non-replicated placement (FSDP2, tensor parallel)."""
    if not _is_dtensor(p):
        return False
    return any(not pl.is_replicate() for pl in p.placements)  # type: ignore[attr-defined]


def _unwrap(model: nn.Module) -> tuple[nn.Module, nn.Module | None]:
    """(module to watch, DDP wrapper or None). DDP's ``.module`` is watched so layer names match."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        return model.module, model
    return model, None


def _is_fsdp1(model: nn.Module) -> bool:
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:  # pragma: no cover - torch built without distributed
        return False
    return any(isinstance(m, FullyShardedDataParallel) for m in model.modules())


class _LocalParams(_Params):
    """Watched parameters seen through their local shards, with a per-parameter contribution weight.

    ``weight`` is 1 for sharded parameters on every rank and, for replicated ones, 1 on rank 0 and 0
    elsewhere, so that a SUM over ranks counts each entry exactly once. Built without the base class's
    constructor, which may view whole (sharded) parameters.
    """

    def __init__(self, specs: list[LayerSpec], device: torch.device, update_sample: int | None,
                 rank: int, all_sharded: bool) -> None:
        self.params = [p for spec in specs for _, p, _ in spec.params]
        self.seg_list = [spec.index for spec in specs for _ in spec.params]
        bias = [1.0 if is_bias else 0.0 for spec in specs for _, _, is_bias in spec.params]
        self.device = device
        self.seg = torch.tensor(self.seg_list, dtype=torch.long, device=device)
        self.is_bias = torch.tensor(bias, dtype=torch.float32, device=device)
        self._upd_layer = None
        self.sharded = [all_sharded or _is_sharded(p) for p in self.params]
        self.weight = torch.tensor([1.0 if (s or rank == 0) else 0.0 for s in self.sharded],
                                   dtype=torch.float32, device=device)
        # Update-ratio sample of each rank's local shard; replicated weights only on rank 0. Frozen weights join
        # it when they are unfrozen, as in a single process (_Params._follow_trainable, once per detail cycle).
        self._upd_all: list[tuple[nn.Parameter, int]] = []
        for p, b, sharded in zip(self.params, bias, self.sharded):
            n_local = _local(p).numel()
            if b or n_local == 0 or p.is_complex() or not (sharded or rank == 0):
                continue
            self._upd_all.append((p, 1 if update_sample is None else max(1, -(-n_local // update_sample))))
        self._upd_flags: tuple[bool, ...] = ()
        self.upd: list[tuple[nn.Parameter, int]] = []
        self._follow_trainable()
        self.upd_seg = None  # the Monitor maps entries to layers through upd_layer(), rebuilt from upd

    def weight_views(self) -> list[torch.Tensor]:
        """The Monitor's sample (same entries as a single process for replicated weights), taken from each
        rank's local shard: no collective, no all-gather."""
        self._follow_trainable()
        return [_sample(_local(p.detach()).reshape(-1), s) for p, s in self.upd]


def _sample(flat: torch.Tensor, every: int) -> torch.Tensor:
    from ..probe import monitor

    chunk = getattr(monitor, "chunk_sample", None)
    return chunk(flat, every) if chunk is not None else flat[::every]


class DistributedMonitor(Monitor):
    """A :class:`~graddoctor.Monitor` whose statistics are global over a process group.

    Args:
        model: the model, plain, DDP-wrapped, FSDP2-sharded (``fully_shard``, call watch() after sharding)
            or FSDP1-wrapped (``use_orig_params=True`` required).
        optimizer: as for :func:`graddoctor.watch`.
        group: the process group to combine over (default: the default group).
        **kwargs: every other :func:`graddoctor.watch` argument. ``store`` is written by rank 0 only.

    Raises:
        ModelError: when torch.distributed is not initialised, or an FSDP1 model flattens its parameters.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *,
                 group: Any = None, **kwargs: Any) -> None:
        if not is_distributed():
            raise ModelError("DistributedMonitor needs an initialised process group; call "
                             "torch.distributed.init_process_group() first (torchrun sets the environment), "
                             "or use graddoctor.watch() for a single process")
        dist = torch.distributed
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        watched, self._ddp = _unwrap(model)
        self._fsdp1 = _is_fsdp1(watched)
        if self._fsdp1 and any(type(p).__name__ == "FlatParameter" for p in watched.parameters()):
            raise ModelError("FSDP1 with use_orig_params=False flattens every layer's parameters into one, so "
                             "per-layer statistics are impossible; wrap with FullyShardedDataParallel(..., "
                             "use_orig_params=True) or use FSDP2 (torch.distributed.fsdp.fully_shard)")
        if self.rank != 0:
            kwargs["store"] = None  # only rank 0 writes; the others keep the (identical) records in memory
        self._last_sync = True
        self._local_stop = False  # no collective any more (this rank failed, or a rank does not watch)
        self._agree_key: str | None = None  # this run's key in the process group's key-value store
        self._agreed: bool | None = None  # every rank watches (None: not checked yet)
        from ..probe import monitor

        # The Monitor builds its parameter table in __init__; build the shard-aware one instead (the base
        # table may view whole parameters, which a sharded DTensor refuses).
        rank, fsdp1, base = self.rank, self._fsdp1, monitor._Params
        monitor._Params = lambda specs, device, us: _LocalParams(specs, device, us, rank, fsdp1)  # type: ignore
        try:
            super().__init__(watched, optimizer, **kwargs)
        finally:
            monitor._Params = base  # type: ignore[misc]
        for spec in self.map.layers:
            spec.name = _strip(spec.name)
        self._sig_cols = torch.tensor([COL[c] for c in SIGNAL_COLUMNS], dtype=torch.long, device=self.device)

    # ------------------------------------------------------------------ hooks
    def _register(self) -> None:
        super()._register()
        if self._ddp is not None:
            self._handles.append(self._ddp.register_forward_pre_hook(ModuleHook(self._ddp_pre_hook)))

    def _ddp_pre_hook(self, module: nn.Module, args: Any) -> None:
        self._last_sync = bool(getattr(module, "require_backward_grad_sync", True)) or not torch.is_grad_enabled()

    def step(self, loss: torch.Tensor | float | None = None) -> None:
        """As :meth:`Monitor.step`; without an optimizer, a step after a ``no_sync()`` backward is a micro-step."""
        if self.optimizer is None and not self._last_sync:
            if loss is not None:
                self._write_loss(loss)
            return
        super().step(loss)

    def _nonfinite_parameters(self) -> list[str]:
        """Not read under torch.distributed: a reduction over a sharded (DTensor) parameter is a collective,
        and only rank 0 writes the metadata."""
        return []

    def _meta(self) -> dict[str, Any]:
        meta = super()._meta()
        meta["n_parameters"] = int(sum(p.numel() for p in self.model.parameters()))
        meta["distributed"] = {
            "world_size": self.world_size,
            "backend": str(torch.distributed.get_backend(self.group)),
            "wrapper": ("DDP" if self._ddp is not None else "FSDP1" if self._fsdp1
                        else "FSDP2/DTensor" if any(_is_sharded(p) for p in self.model.parameters()) else None),
            "written_by_rank": 0,
            "signal_scale": f"sums of squared signals divided by world_size**2 = {self.world_size ** 2}",
        }
        return meta

    def _local_grads(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each rank's local gradient shards; ``_LocalParams.weight`` makes the SUM over ranks count each entry
        once (applied when the flush folds the norms into the buffer)."""
        return [_local(g) for g in grads]

    def _weight_views(self, refresh: bool = False) -> list[torch.Tensor]:
        refresh = self._views is None or refresh
        views = super()._weight_views(refresh)
        if refresh and hasattr(self, "_scale"):
            # entries / sampled entries of each rank's *local* shard (a view's base may be a larger flat buffer)
            self._scale = torch.tensor([_local(p).numel() / max(1, v.numel()) for (p, _), v in
                                        zip(self._params.upd, views)], dtype=torch.float32, device=self.device)
        return views

    def start(self) -> DistributedMonitor:
        """As :meth:`Monitor.start`; also tells the other ranks, through the process group's key-value store (no
        collective), that this rank watches, so that a flush never waits for a rank that does not."""
        if self._started:
            super().start()  # (a stopped watch warns that it cannot be started again)
            return self
        super().start()
        if self.world_size > 1:
            try:
                from torch.distributed import distributed_c10d as c10d

                group = self.group if self.group is not None else c10d._get_default_group()
                gkey = ",".join(map(str, torch.distributed.get_process_group_ranks(group)))
                seq = _started_runs[gkey] = _started_runs.get(gkey, 0) + 1
                self._kv = c10d._get_default_store()
                self._agree_key = f"{AGREE_KEY}/{gkey}/{seq}"
                self._kv.set(f"{self._agree_key}/{self.rank}", "1")
            except Exception:  # no key-value store to use: flush as before, without the check
                self._agree_key = None
        return self

    def _all_watch(self) -> bool:
        """Whether every rank of the group watches this run (checked once, at the first flush, without a
        collective). If one does not start within ``AGREE_TIMEOUT_S``, this run stops watching on every rank, with
        a warning, and never enters a collective."""
        if self._agreed is not None or self._agree_key is None:
            return self._agreed is not False
        key, kv = self._agree_key, self._kv
        keys = [f"{key}/{r}" for r in range(self.world_size)]
        try:
            kv.wait(keys, datetime.timedelta(seconds=AGREE_TIMEOUT_S))
            self._agreed = not kv.check([f"{key}/abandoned"])
        except Exception:
            self._agreed = False
            try:
                missing = [r for r, k in enumerate(keys) if not kv.check([k])]
                kv.set(f"{key}/abandoned", "1")  # a rank that starts watching late learns it at its first flush
            except Exception:
                missing = []
            self._warn(f"watching stopped: rank(s) {missing or '?'} of the process group did not start watching "
                       f"within {AGREE_TIMEOUT_S:g} s. Under torch.distributed call gd.watch(...) on every rank (not "
                       "only under `if rank == 0:`; only rank 0 writes the store): a flush combines the ranks' "
                       "statistics in one collective, which a rank that does not watch never joins")
        if not self._agreed:
            self._disabled = True
            self._local_stop = True
        return self._agreed

    def stop(self, status: str = "finished") -> None:
        """As :meth:`Monitor.stop`. A run that stops with an error (``status`` other than ``"finished"``, e.g. an
        exception leaving ``with gd.watch(...)``) enters no collective: the other ranks are elsewhere (in DDP's
        gradient all-reduce, or still training), and a collective they are not in aborts the job or hangs it
        (gloo: "collective mismatch", SIGABRT, and the exception that ended the run is never printed). The steps
        recorded since the last flush cannot be combined over ranks then: they are dropped, with a warning."""
        if status != "finished" and self.world_size > 1 and self._started and not self._stopped:
            self._local_stop = True
        super().stop(status)

    # ------------------------------------------------------------------ the one collective per flush
    def _drain(self) -> Any:
        n = self._row
        if n and self.world_size > 1:
            if self._local_stop or not self._all_watch():
                super()._drain()  # resets the buffer; rows that only a collective could complete are dropped
                if self._agreed is not False:  # (a rank that does not watch was already warned about)
                    self._warn(f"the run stopped with an error on rank {self.rank}: its last {n} recorded step(s), "
                               "since the last flush, are not written, because combining them over ranks is a "
                               "collective that the other ranks are not in; lower flush_every to keep more of a "
                               "failing run")
                return None
            self._all_reduce_rows(n)
        return super()._drain()

    def _all_reduce_rows(self, n: int) -> None:
        profs = self._agreed_profiles()
        parts = [self._buf[:n].reshape(-1), self._loss[:n]] + [p.reshape(-1).to(torch.float32) for p in profs]
        flat = torch.cat(parts)
        torch.distributed.all_reduce(flat, op=torch.distributed.ReduceOp.SUM, group=self.group)
        w2 = float(self.world_size) ** 2
        nb = self._buf[:n].numel()
        self._buf[:n].copy_(flat[:nb].view_as(self._buf[:n]))
        self._buf[:n, :, self._sig_cols] /= w2
        self._loss[:n].copy_(flat[nb:nb + n] / self.world_size)
        off = nb + n
        rows = []
        for (s, li, _), prof in zip(self._series_rows, profs):
            k = prof.numel()
            rows.append((s, li, flat[off:off + k] / w2))
            off += k
        self._series_rows[:] = rows

    def _agreed_profiles(self) -> list[torch.Tensor]:
        """RNN time profiles padded to the longest sequence over ranks (ranks may see different lengths), at the
        start: a profile's last entry is the time step nearest the loss, whatever the sequence's length, as within
        a process and in the store.

        Only models with recurrent layers pay for this agreement (a MAX all-reduce of one length per
        profile); every rank records the same number of profiles (same model, same detail steps).
        """
        profs = [p.reshape(-1) for _, _, p in self._series_rows]
        if not (self.time_profile and any(s.recurrent for s in self.map.layers)):
            return profs
        lens = torch.tensor([p.numel() for p in profs] or [0], dtype=torch.int64, device=self.device)
        torch.distributed.all_reduce(lens, op=torch.distributed.ReduceOp.MAX, group=self.group)
        out = []
        for p, m in zip(profs, lens.tolist()):
            out.append(torch.nn.functional.pad(p, (int(m) - p.numel(), 0)) if p.numel() < m else p)
        return out

    def _reduce(self, raw: Any) -> Any:
        return raw  # already combined on the device in _drain (buffer, losses and time profiles together)

    @property
    def data(self) -> Any:
        """The records flushed so far. Unlike :attr:`Monitor.data` this never flushes, because a flush is a
        collective that every rank must enter together (at a step or at ``stop()``)."""
        return self.store.run_data()


def _strip(name: str) -> str:
    for prefix in WRAPPER_PREFIXES:
        name = name.replace(prefix, "")
    return name or "<model>"


def watch_distributed(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, group: Any = None,
                      **kwargs: Any) -> DistributedMonitor:
    """Watch a distributed run explicitly (``gd.watch`` does this itself when a process group exists).

    Args:
        model: the model (plain, DDP, FSDP2 after ``fully_shard``, or FSDP1 with ``use_orig_params=True``).
        optimizer: its optimizer, or None (then call ``run.step()`` on every rank).
        group: process group to combine statistics over; default: the whole world.
        **kwargs: the other :func:`graddoctor.watch` arguments.

    Returns:
        A :class:`DistributedMonitor`; use it exactly like the Monitor ``gd.watch`` returns, on every rank.
    """
    return DistributedMonitor(model, optimizer, group=group, **kwargs)


def local_rank_zero() -> bool:
    """True on the process that should write files and talk to loggers (rank 0, or no process group)."""
    if is_distributed():
        return torch.distributed.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0
