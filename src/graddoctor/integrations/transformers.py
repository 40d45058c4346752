"""Hugging Face transformers: ``GradDoctorCallback`` for ``Trainer`` (``pip install graddoctor[transformers]``).

    trainer = Trainer(model=model, args=TrainingArguments(..., max_grad_norm=1.0, gradient_accumulation_steps=4),
                      train_dataset=ds, callbacks=[GradDoctorCallback(store="runs/hf.sqlite")])
    trainer.train()

How gradients are caught *before clipping*: the Trainer clips between the last backward of an
accumulation window and ``on_pre_optimizer_step``, and no callback runs in between. So the callback
registers a **post-accumulate-grad hook** (``Tensor.register_post_accumulate_grad_hook``) on every watched
parameter; during the backward of the synchronising micro-batch (accelerate's ``sync_gradients``) each hook
records its parameter's squared gradient norm, after accumulation and before any clipping (fp16 AMP: divided
by the scaler's scale squared, i.e. unscaled). The step itself is closed when the real optimizer's ``step()``
returns, so weights and update ratios are after the update, as in a plain loop. The loss recorded per step is
the ``loss`` the model returned for the last micro-batch.

Under torch.distributed (DDP/FSDP through accelerate) a post-accumulate-grad hook would see each rank's
local gradient before the all-reduce; there the callback measures at the optimizer step instead, i.e. after
clipping (set ``max_grad_norm=0`` to see unclipped norms) and says so with a warning.
"""
from __future__ import annotations

import warnings
from typing import Any

import torch

from ..errors import GradDoctorWarning
from ..stats.tensor_stats import sum_sq
from .core import monitor_class
from .distributed import is_distributed

try:
    from transformers import TrainerCallback
except ImportError as e:  # pragma: no cover - exercised only without transformers
    raise ImportError("graddoctor.integrations.transformers needs transformers: "
                      "pip install 'graddoctor[transformers]'") from e


def _model_loss(out: Any) -> torch.Tensor | None:
    loss = out.get("loss") if isinstance(out, dict) else getattr(out, "loss", None)
    return loss if isinstance(loss, torch.Tensor) and loss.numel() == 1 else None


class GradDoctorCallback(TrainerCallback):
    """Watch a ``transformers.Trainer`` run with graddoctor.

    Args:
        store: SQLite run store path (written by the main process), or ``None`` to keep the run in memory.
        every: which optimizer steps to record (as :func:`graddoctor.watch`).
        diagnose: diagnose the run when training ends (``self.diagnosis``).
        **watch_kwargs: other :func:`graddoctor.watch` arguments (``flush_every``, ``activations``, ...).

    Attributes:
        run: the Monitor (from ``on_train_begin``).
        diagnosis: the :class:`graddoctor.Diagnosis` after training.
    """

    def __init__(self, store: str | None = None, every: Any = 1, *, diagnose: bool = True,
                 **watch_kwargs: Any) -> None:
        self.store, self.every, self.do_diagnose, self.watch_kwargs = store, every, diagnose, watch_kwargs
        self.run: Any = None
        self.finished: Any = None
        self.diagnosis: Any = None
        self._hooks: list[Any] = []
        self._sq: list[torch.Tensor | None] = []
        self._amp: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, optimizer: Any = None,
                       **kwargs: Any) -> None:
        if model is None or optimizer is None:
            raise RuntimeError("GradDoctorCallback needs the model and optimizer the Trainer passes to "
                               "on_train_begin; use it through Trainer(callbacks=[...])")
        inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps it
        self.run = monitor_class(pre_clip=True)(model, inner, store=self.store, every=self.every,
                                                meta={"trainer": "transformers"}, **self.watch_kwargs)
        self.run.start()
        self._gstate = getattr(optimizer, "gradient_state", None)
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            from .amp import track_scaler

            self._amp = track_scaler(self.run, scaler)
        self._hooks.append(model.register_forward_hook(self._loss_hook))
        if is_distributed() and torch.distributed.get_world_size() > 1:
            if getattr(args, "max_grad_norm", 0):
                warnings.warn("graddoctor: under torch.distributed the Trainer's gradients are measured after "
                              "clipping (max_grad_norm); set max_grad_norm=0 to record unclipped norms",
                              GradDoctorWarning, stacklevel=2)
            return
        params = self.run._params.params
        self._sq = [None] * len(params)
        for i, p in enumerate(params):
            if p.requires_grad:
                self._hooks.append(p.register_post_accumulate_grad_hook(self._grad_hook(i)))

    def _syncing(self) -> bool:
        return self._gstate is None or bool(getattr(self._gstate, "sync_gradients", True))

    def _grad_hook(self, i: int) -> Any:
        def hook(p: torch.Tensor) -> None:
            run = self.run
            if run is None or p.grad is None or not run._active or not self._syncing():
                return
            sq = sum_sq(p.grad)
            scaler = self._amp.scaler if self._amp is not None else None
            if scaler is not None and getattr(scaler, "_scale", None) is not None:
                sq = sq / scaler._scale.to(sq.device, torch.float32).reshape(()) ** 2
            self._sq[i] = sq
        return hook

    def _loss_hook(self, module: Any, args: Any, out: Any) -> None:
        loss = _model_loss(out) if torch.is_grad_enabled() and self.run is not None else None
        if loss is not None:
            self.run.log_loss(loss)  # the last micro-batch's loss stays: a device copy, no host sync

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and any(t is not None for t in self._sq):
            self.run.capture_sq(self._sq)
        self._sq = [None] * len(self._sq)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        if self._amp is not None:
            self._amp.detach()
        run.stop()
        self.finished = run
        if self.do_diagnose:
            try:
                self.diagnosis = run.diagnose()
            except ImportError:
                self.diagnosis = None

    @property
    def data(self) -> Any:
        """The run's records (:class:`graddoctor.RunData`), during or after training."""
        run = self.run if self.run is not None else self.finished
        return None if run is None else run.data


__all__ = ["GradDoctorCallback"]
