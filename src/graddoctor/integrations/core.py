"""What every framework adapter shares: a Monitor that reads gradients *before clipping*, and AMP support.

Trainers (Lightning, Hugging Face) clip gradients between the end of backward and ``optimizer.step()``. The
plain Monitor reads gradients at ``optimizer.step()``, i.e. after clipping, which would hide an explosion.
:class:`PreClipMixin` adds :meth:`~PreClipMixin.capture_grads`, called by the adapter at the point where the
accumulated (and, under AMP, unscaled) gradients are final but not yet clipped; the step is still closed by
the optimizer's step hook, so weight norms and update ratios are those after the update, exactly as in a
plain loop. Capturing costs one fused norm kernel per step and no copy of any gradient.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import GradDoctorWarning
from ..probe.monitor import Monitor


class PreClipMixin:
    """Mixin for a Monitor class: gradient statistics from :meth:`capture_grads`, the rest at the step."""

    _pre: tuple[tuple[int, ...], list[torch.Tensor]] | None = None

    def capture_grads(self) -> None:
        """Measure the gradients now (call after accumulation and AMP unscaling, before clipping)."""
        mon: Any = self
        if mon._disabled or not mon._active or not mon._started or mon._stopped:
            return
        try:
            self._pre = super()._grad_norms()  # type: ignore[misc]
        except Exception as e:
            mon._fail("gradient capture", e)

    def capture_sq(self, sq: list[torch.Tensor | None]) -> None:
        """Take gradient statistics from per-parameter squared norms measured elsewhere (e.g. in
        post-accumulate-grad hooks), in the order of the watched parameters; ``None`` = no gradient."""
        mon: Any = self
        if mon._disabled or not mon._active or not mon._started or mon._stopped:
            return
        try:
            present = tuple(i for i, t in enumerate(sq) if t is not None)
            if not present:
                return
            self._pre = (present, [sq[i].to(mon.device, torch.float32).reshape(()).sqrt()  # type: ignore[union-attr]
                                   for i in present])
        except Exception as e:
            mon._fail("gradient capture", e)

    def _grad_norms(self) -> tuple[tuple[int, ...], list[torch.Tensor]]:
        # the captured (pre-clipping) norms replace the ones the step would measure (and save that pass)
        pre, self._pre = self._pre, None
        return pre if pre is not None else super()._grad_norms()  # type: ignore[misc]

    def _discard_pending(self) -> None:
        super()._discard_pending()  # type: ignore[misc]
        self._pre = None


def monitor_class(pre_clip: bool = True) -> type[Monitor]:
    """The Monitor class for this process: distributed when a process group exists, pre-clip if asked."""
    from .distributed import DistributedMonitor, is_distributed

    base: type[Monitor] = DistributedMonitor if is_distributed() else Monitor
    if not pre_clip:
        return base
    return type(f"PreClip{base.__name__}", (PreClipMixin, base), {})


def watch_pre_clip(model: nn.Module, optimizer: torch.optim.Optimizer | None, **kwargs: Any) -> Monitor:
    """Like :func:`graddoctor.watch`, returning a Monitor with :meth:`PreClipMixin.capture_grads`."""
    return monitor_class(pre_clip=True)(model, optimizer, **kwargs)


def check_watch_kwargs(owner: str, kwargs: dict[str, Any]) -> None:
    """Refuse, when the adapter is built, keyword arguments that :func:`graddoctor.watch` does not take: passed on
    at the start of training, a typo (``flush_evry=``) would stop it there, after the trainer's setup, with a
    TypeError naming the Monitor's class rather than the adapter."""
    import inspect

    from ..probe.monitor import watch

    taken = [n for n in inspect.signature(watch).parameters if n not in ("model", "optimizer", "store", "every")]
    unknown = [k for k in kwargs if k not in taken]
    if unknown:
        raise TypeError(f"{owner} got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; besides store "
                        f"and every it takes graddoctor.watch's arguments: {', '.join(taken)}")


def resumed_store(store: Any, why: str, overwrite: bool, *, warn: bool = True) -> Any:
    """The store path for a training resumed from a checkpoint (a trainer's ``ckpt_path`` or
    ``resume_from_checkpoint``, e.g. a preempted job requeued with the same script). When ``store`` is a path that
    exists, the resumed run is written next to it, to ``<name>.resumed<.ext>`` (``.resumed-2``, ... if taken), with a
    warning (``warn``): opening the same path would stop the resumed training with a StoreError, and
    ``overwrite=True`` would delete the records of the run being resumed. Anything else is returned unchanged."""
    if overwrite or not isinstance(store, (str, os.PathLike)) or not Path(store).exists():
        return store
    p = Path(store)
    n, new = 1, p.with_name(f"{p.stem}.resumed{p.suffix}")
    while new.exists():
        n += 1
        new = p.with_name(f"{p.stem}.resumed-{n}{p.suffix}")
    if warn:
        warnings.warn(f"graddoctor: {why} and the run store {str(p)!r} exists; graddoctor records each training as "
                      f"its own run (steps counted from 0) and writes this one to {str(new)!r}",
                      GradDoctorWarning, stacklevel=3)
    return str(new)
