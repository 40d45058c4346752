"""What every framework adapter shares: a Monitor that reads gradients *before clipping*, and AMP support.

Trainers (Lightning, Hugging Face) clip gradients between the end of backward and ``optimizer.step()``. The
plain Monitor reads gradients at ``optimizer.step()``, i.e. after clipping, which would hide an explosion.
:class:`PreClipMixin` adds :meth:`~PreClipMixin.capture_grads`, called by the adapter at the point where the
accumulated (and, under AMP, unscaled) gradients are final but not yet clipped; the step is still closed by
the optimizer's step hook, so weight norms and update ratios are those after the update, exactly as in a
plain loop. Capturing costs one fused norm kernel per step and no copy of any gradient.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..probe.layout import COL
from ..probe.monitor import Monitor

#: Buffer columns replaced by the pre-clipping capture (the gradient columns of the parameter group).
GRAD_COLUMNS = ("w_grad_sq", "b_grad_sq", "grad_nonfinite")


class PreClipMixin:
    """Mixin for a Monitor class: gradient statistics from :meth:`capture_grads`, the rest at the step."""

    _pre: torch.Tensor | None = None
    _captured = False

    def capture_grads(self) -> None:
        """Measure the gradients now (call after accumulation and AMP unscaling, before clipping)."""
        mon: Any = self
        if mon._disabled or not mon._active or not mon._started or mon._stopped:
            return
        try:
            if self._pre is None:
                self._pre = torch.zeros((mon.n_layers, mon._buf.shape[2]), dtype=torch.float32,
                                        device=mon.device)
                self._gcols = torch.tensor([COL[c] for c in GRAD_COLUMNS], dtype=torch.long, device=mon.device)
            self._pre.zero_()
            super()._param_stats(self._pre)  # type: ignore[misc]
            self._captured = True
        except Exception as e:
            mon._fail("gradient capture", e)

    def capture_sq(self, sq: list[torch.Tensor | None]) -> None:
        """Take gradient statistics from per-parameter squared norms measured elsewhere (e.g. in
        post-accumulate-grad hooks), in the order of the watched parameters; ``None`` = no gradient."""
        mon: Any = self
        if mon._disabled or not mon._active or not mon._started or mon._stopped:
            return
        try:
            present = [i for i, t in enumerate(sq) if t is not None]
            if not present:
                return
            if self._pre is None:
                self._pre = torch.zeros((mon.n_layers, mon._buf.shape[2]), dtype=torch.float32,
                                        device=mon.device)
                self._gcols = torch.tensor([COL[c] for c in GRAD_COLUMNS], dtype=torch.long, device=mon.device)
            P = mon._params
            idx = torch.tensor(present, dtype=torch.long, device=mon.device)
            g2 = torch.stack([sq[i].to(mon.device, torch.float32).reshape(()) for i in present])  # type: ignore[union-attr]
            is_bias = P.is_bias[idx]
            src = torch.stack([g2 * (1 - is_bias), g2 * is_bias, (~torch.isfinite(g2)).to(torch.float32)], dim=1)
            self._pre.zero_()
            self._pre[:, self._gcols] = self._pre[:, self._gcols].index_add(0, P.seg[idx], src)
            self._captured = True
        except Exception as e:
            mon._fail("gradient capture", e)

    def _param_stats(self, row: torch.Tensor) -> None:
        super()._param_stats(row)  # type: ignore[misc]
        if self._captured and self._pre is not None:
            row[:, self._gcols] = self._pre[:, self._gcols]
        self._captured = False

    def _discard_pending(self) -> None:
        super()._discard_pending()  # type: ignore[misc]
        self._captured = False


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
