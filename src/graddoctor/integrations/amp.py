"""Automatic mixed precision: statistics of *unscaled* gradients, and skipped steps counted as skipped.

``torch.amp.GradScaler`` multiplies the loss by a scale ``S`` before backward, unscales the parameter
gradients inside ``scaler.step(optimizer)`` and skips ``optimizer.step()`` when they hold inf/NaN (then it
lowers ``S``). Without help a Monitor would (1) record the backward signal ``dL/d(output)`` multiplied by
``S`` and (2) fold the hook results of a skipped iteration into the next step. :func:`track_scaler` fixes
both: squared signal sums (and RNN time profiles) are divided by ``S**2`` as they are recorded (in float32,
so an fp16 signal that would underflow once unscaled is still measured), and a skipped iteration is dropped
and counted (without an optimizer given to ``watch``, the ``run.step()`` that follows it records nothing). Parameter gradients need no correction: the Monitor reads them at ``optimizer.step()``, after
``scaler.step`` unscaled them.

A skip is what the scaler is for: an occasional overflow of the *scaled* fp16 gradients, not an exploding
gradient. Only when ``persistent_skips`` iterations in a row are skipped is the overflow treated as real:
that iteration is recorded as a step (its unscaled gradients hold inf/NaN), so the diagnosis reports it
(``non_finite``). The counts are stored in the run's metadata under ``"amp"``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..probe.monitor import Monitor

#: Consecutive skipped iterations after which an overflow is taken as real. GradScaler halves the scale at
#: each skip (default init 2**16): 8 skips in a row lower it 256-fold, beyond the usual transient at the
#: start of training (a few skips while the scale settles) and well before it underflows.
PERSISTENT_SKIPS = 8


@dataclass
class ScalerTracker:
    """What :func:`track_scaler` attached. ``skipped`` lists the optimizer-step numbers that were skipped."""

    run: Monitor
    scaler: Any
    persistent_skips: int = PERSISTENT_SKIPS
    skipped: list[int] = field(default_factory=list)
    consecutive: int = 0
    persistent: int = 0
    #: the last ``scaler.step`` skipped the optimizer step and nothing was recorded: the loss that
    #: ``run.step(loss=...)`` passes next belongs to no recorded step
    dropped: bool = False
    #: the ``scaler.step`` wrapper this tracker installed (detach removes it only if it is still the scaler's)
    wrapper: Any = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"skipped_steps": len(self.skipped), "skipped_at": self.skipped[-100:],
                "persistent_overflows": self.persistent, "persistent_skips": self.persistent_skips}

    def detach(self) -> None:
        """Restore the scaler's and the Monitor's original methods."""
        if self.wrapper is not None and self.scaler.__dict__.get("step") is self.wrapper:
            # (a later track_scaler of the same scaler wrapped this one: its wrapper stays, and ours passes through)
            del self.scaler.__dict__["step"]
        self.run.__dict__.pop("_log_previous_loss", None)
        self.run._grad_scale = None
        self.run._skipped_iteration = None


def _found_inf(scaler: Any, optimizer: torch.optim.Optimizer) -> bool:
    state = scaler._per_optimizer_states[id(optimizer)]
    found = state.get("found_inf_per_device", {})
    return bool(sum(float(v.item()) for v in found.values())) if found else False


def track_scaler(run: Monitor, scaler: Any, *, persistent_skips: int = PERSISTENT_SKIPS) -> ScalerTracker:
    """Make ``run`` record unscaled statistics and count the iterations ``scaler`` skips.

    Args:
        run: the Monitor from :func:`graddoctor.watch` (before or after ``start``).
        scaler: a ``torch.amp.GradScaler`` (a disabled scaler is accepted and changes nothing).
        persistent_skips: skipped iterations in a row after which the overflow is recorded as a step.

    Returns:
        The :class:`ScalerTracker` (its ``skipped`` list, ``summary()`` and ``detach()``).

    Raises:
        TypeError: when ``scaler`` has no ``step``/``scale`` methods.
    """
    if not (hasattr(scaler, "step") and hasattr(scaler, "scale")):
        raise TypeError(f"track_scaler expects a torch.amp.GradScaler, got {type(scaler).__name__}")
    if int(persistent_skips) < 1:
        raise ValueError(f"persistent_skips must be >= 1, got {persistent_skips}")
    tracker = ScalerTracker(run, scaler, int(persistent_skips))
    if not scaler.is_enabled():
        return tracker
    orig_step = scaler.step

    def inv2() -> torch.Tensor | None:
        s = getattr(scaler, "_scale", None)
        return None if s is None else (1.0 / (s.to(torch.float32) ** 2)).reshape(())

    def step(optimizer: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        out = orig_step(optimizer, *args, **kwargs)
        if run._stopped:
            # the watch ended and the scaler trains on (a later run with the same scaler, usually with a tracker of
            # its own wrapped around this one): nothing to count, and the run's store is closed
            return out
        if run.optimizer is not None and optimizer is not run.optimizer:
            return out  # another optimizer sharing the scaler: its skips are not the watched steps'
        tracker.dropped = False
        if not _found_inf(scaler, optimizer):
            tracker.consecutive = 0
            return out
        tracker.skipped.append(run.steps_seen)
        tracker.consecutive += 1
        if tracker.consecutive >= tracker.persistent_skips:
            tracker.persistent += 1
            if run.optimizer is not None:  # (without one, the run.step() that follows records it)
                run._end_step(None)  # a real overflow: record this iteration (its gradients are non-finite)
        else:
            run._discard_pending()
            tracker.dropped = True
        try:
            run.store.update_meta({"amp": tracker.summary()})
        except Exception as e:  # never break training over a metadata write
            run._warn(f"could not record the AMP skip count: {e}")
        return out

    orig_log_previous_loss = run._log_previous_loss

    def log_previous_loss(loss: torch.Tensor | float) -> None:
        # run.step(loss=...) after optimizer.step() writes into the row of the step just recorded; after a
        # skipped iteration that row is the previous step's, whose loss the skipped one's would overwrite
        if tracker.dropped:
            tracker.dropped = False
            return
        orig_log_previous_loss(loss)

    def skipped_iteration() -> bool:
        # a watch without an optimizer: its run.step() after a skipped iteration records no step (and its loss)
        dropped, tracker.dropped = tracker.dropped, False
        return dropped

    scaler.step = step
    tracker.wrapper = step
    run._skipped_iteration = skipped_iteration
    run._log_previous_loss = log_previous_loss  # type: ignore[method-assign]
    run._grad_scale = inv2  # the Monitor's gradient hooks divide what they record by S (norms) or S**2
    return tracker
