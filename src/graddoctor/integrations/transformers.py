"""Hugging Face transformers: ``GradDoctorCallback`` for ``Trainer`` (``pip install graddoctor[transformers]``).

    trainer = Trainer(model=model, args=TrainingArguments(..., max_grad_norm=1.0, gradient_accumulation_steps=4),
                      train_dataset=ds, callbacks=[GradDoctorCallback(store="runs/hf.sqlite")])
    trainer.train()

How gradients are caught *before clipping*: the Trainer clips between the last backward of an
accumulation window and ``on_pre_optimizer_step``, and no callback runs in between. So the callback
registers a **post-accumulate-grad hook** (``Tensor.register_post_accumulate_grad_hook``) on every watched
parameter; during the backward of the synchronising micro-batch (accelerate's ``sync_gradients``) each hook
records its parameter's squared gradient norm, after accumulation and before any clipping; a parameter that only an
earlier micro-batch of the window reached (an expert, a task head) is only marked then, and measured when the
synchronising backward ends (an autograd engine callback, still before clipping) (fp16 AMP: divided
by the scaler's scale squared, i.e. unscaled). The step itself is closed when the real optimizer's ``step()``
returns, so weights and update ratios are after the update, as in a plain loop. The loss recorded per step is
the mean loss of its accumulation window, the number the Trainer logs as ``loss``: when the Trainer passes
``num_items_in_batch`` (models that accept loss kwargs, e.g. causal LMs) each micro-batch's ``loss`` is its share
of the window's token-mean, so the shares are added; otherwise the micro-batch means are averaged.

Under torch.distributed (DDP/FSDP through accelerate) a post-accumulate-grad hook would see each rank's
local gradient before the all-reduce; there the callback measures at the optimizer step instead, i.e. after
clipping (set ``max_grad_norm=0`` to see unclipped norms) and says so with a warning.
"""
from __future__ import annotations

import warnings
from typing import Any

import torch

from ..errors import GradDoctorWarning
from ..probe.monitor import ModuleHook
from ..stats.tensor_stats import sum_sq
from .core import check_watch_kwargs, monitor_class, resumed_store
from .distributed import is_distributed

try:
    from transformers import TrainerCallback
except ImportError as e:  # pragma: no cover - exercised only without transformers
    raise ImportError("graddoctor.integrations.transformers needs transformers: "
                      "pip install 'graddoctor[transformers]'") from e


def _model_loss(out: Any) -> torch.Tensor | None:
    """The loss in a model's output as the Trainer reads it: ``outputs["loss"]`` of a dict (``ModelOutput``), or
    ``outputs[0]`` of a tuple (``return_dict=False``, or a plain module returning ``(loss, logits)``)."""
    if isinstance(out, dict):
        loss = out.get("loss")
    elif isinstance(out, (tuple, list)) and not hasattr(out, "loss"):
        loss = out[0] if out else None
    else:
        loss = getattr(out, "loss", None)
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
        check_watch_kwargs("GradDoctorCallback", watch_kwargs)
        self.store, self.every, self.do_diagnose, self.watch_kwargs = store, every, diagnose, watch_kwargs
        self.run: Any = None
        self.finished: Any = None
        self.diagnosis: Any = None
        self._hooks: list[Any] = []
        self._sq: list[torch.Tensor | None] = []
        self._hooked: set[int] = set()  # indices of the watched parameters with a post-accumulate-grad hook
        self._early: set[int] = set()  # parameters only an earlier micro-batch of the window reached (so far)
        self._end_queued = False  # _measure_early is queued for the end of the synchronising backward
        self._amp: Any = None
        self._loss_acc: torch.Tensor | None = None  # this window's micro-batch losses, added on the device
        self._loss_n = 0
        self._loss_scale = 1.0
        self._loss_warned = False

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, optimizer: Any = None,
                       **kwargs: Any) -> None:
        if self.run is not None:
            # The previous train() raised before on_train_end (the Trainer has no exception callback): close its
            # run as failed and remove its hooks, which would otherwise go on recording into it.
            self._close("failed")
        self.diagnosis = None  # this training's, once it ends (a train() that raises has none: no callback sees it)
        if model is None or optimizer is None:
            raise RuntimeError("GradDoctorCallback needs the model and optimizer the Trainer passes to "
                               "on_train_begin; use it through Trainer(callbacks=[...])")
        inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps it
        store: Any = self.store
        if getattr(state, "global_step", 0):  # resume_from_checkpoint: the state is restored before this hook
            store = resumed_store(store, f"this training resumes from step {state.global_step}",
                                  bool(self.watch_kwargs.get("overwrite", False)),
                                  warn=bool(getattr(state, "is_world_process_zero", True)))
        kwargs = dict(self.watch_kwargs)
        meta = {"trainer": "transformers", **(kwargs.pop("meta", None) or {})}  # the user's meta= is kept
        self.run = monitor_class(pre_clip=True)(model, inner, store=store, every=self.every, meta=meta, **kwargs)
        self.run.start()
        self._gstate = getattr(optimizer, "gradient_state", None)
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            from .amp import track_scaler

            self._amp = track_scaler(self.run, scaler)
        # (a ModuleHook: a copy of the model, deepcopy(model) or torch.save(model), leaves the callback behind)
        self._hooks.append(model.register_forward_hook(ModuleHook(self._loss_hook), with_kwargs=True))
        self._reset_loss()
        self._loss_warned = False
        if is_distributed() and torch.distributed.get_world_size() > 1:
            # with average_tokens_across_devices, num_items_in_batch counts every rank's tokens and the Trainer
            # multiplies the model's loss by the number of processes after the forward (as here)
            if getattr(args, "average_tokens_across_devices", False):
                self._loss_scale = float(torch.distributed.get_world_size())
            if getattr(args, "max_grad_norm", 0):
                warnings.warn("graddoctor: under torch.distributed the Trainer's gradients are measured after "
                              "clipping (max_grad_norm); set max_grad_norm=0 to record unclipped norms",
                              GradDoctorWarning, stacklevel=2)
            return
        self._sq = [None] * len(self.run._params.params)
        self._early = set()
        self._end_queued = False
        self._hooked = set()
        self._hook_trainable()
        # Parameters unfrozen later (gradual unfreezing by a callback or by the user's code) get their hook before the
        # forward that uses them, so that their pre-clip norms are measured too
        self._hooks.append(model.register_forward_pre_hook(ModuleHook(self._pre_forward)))

    def _hook_trainable(self) -> None:
        """A post-accumulate-grad hook on every watched parameter that requires grad and has none yet (one cannot
        be put on a parameter that does not require grad)."""
        params = self.run._params.params
        if len(self._hooked) == len(params):
            return
        for i, p in enumerate(params):
            if i not in self._hooked and p.requires_grad:
                self._hooks.append(p.register_post_accumulate_grad_hook(self._grad_hook(i)))
                self._hooked.add(i)

    def _pre_forward(self, module: Any, args: Any) -> None:
        if self.run is not None and torch.is_grad_enabled():
            self._hook_trainable()

    def _syncing(self) -> bool:
        return self._gstate is None or bool(getattr(self._gstate, "sync_gradients", True))

    def _grad_hook(self, i: int) -> Any:
        def hook(p: torch.Tensor) -> None:
            run = self.run
            if run is None or p.grad is None or not run._active:
                return
            if not self._syncing():
                # an earlier micro-batch: no kernel now, the accumulated gradient is measured once, at the end of
                # the synchronising backward, if that backward does not reach this parameter itself
                self._early.add(i)
                return
            self._early.discard(i)
            self._measure(i, p.grad)
            if self._early and not self._end_queued:
                self._end_queued = True
                torch.autograd.Variable._execution_engine.queue_callback(self._measure_early)
        return hook

    def _measure(self, i: int, grad: torch.Tensor) -> None:
        """Record parameter ``i``'s squared gradient norm (unscaled under fp16 AMP)."""
        sq = sum_sq(grad)
        scaler = self._amp.scaler if self._amp is not None else None
        if scaler is not None and getattr(scaler, "_scale", None) is not None:
            sq = sq / scaler._scale.to(sq.device, torch.float32).reshape(()) ** 2
        self._sq[i] = sq

    def _measure_early(self) -> None:
        """At the end of the synchronising backward (before the Trainer clips): the parameters that only earlier
        micro-batches of the window reached, whose gradients are complete."""
        self._end_queued = False
        early, self._early = self._early, set()
        run = self.run
        if run is None:
            return
        params = run._params.params
        for i in early:
            grad = params[i].grad
            if grad is not None:
                self._measure(i, grad)

    def _reset_loss(self) -> None:
        self._loss_acc, self._loss_n = None, 0

    def _loss_hook(self, module: Any, args: Any, kwargs: Any, out: Any) -> None:
        loss = _model_loss(out) if torch.is_grad_enabled() and self.run is not None else None
        if loss is None:
            return
        # Device ops only (no host sync): the window's running total is re-logged at every micro-batch.
        loss = loss.detach().to(torch.float32).reshape(())
        self._loss_acc = loss if self._loss_acc is None else self._loss_acc + loss
        self._loss_n += 1
        if kwargs.get("num_items_in_batch") is not None:  # a share of the window's mean: add the shares
            self.run._write_loss(self._loss_acc * self._loss_scale)
        else:  # a micro-batch mean: average them
            self.run._write_loss(self._loss_acc / self._loss_n)

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and any(t is not None for t in self._sq):
            self.run.capture_sq(self._sq)
        if self.run is not None and not self._loss_n and not self._loss_warned:
            # The loss is read from the model's output (callbacks never see the Trainer's loss): a Trainer whose
            # compute_loss computes it outside the model leaves the run without one, which the diagnosis needs
            # (a NaN loss, an unstable loss)
            self._loss_warned = True
            warnings.warn("graddoctor: the model's output holds no loss, so this run records none: the Trainer "
                          "computes it outside the model (label_smoothing_factor, compute_loss_func, or a "
                          "compute_loss override), and no callback sees that loss. Return it from the model (an "
                          "output with a `loss`), or watch the loop yourself with gd.watch and run.step(loss=...)",
                          GradDoctorWarning, stacklevel=2)
        self._sq = [None] * len(self._sq)
        self._early.clear()
        self._reset_loss()  # the window is complete; its loss is in the step's row

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._close("finished")

    def _close(self, status: str) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        if self._amp is not None:
            self._amp.detach()
            self._amp = None
        self._sq = [None] * len(self._sq)
        self._reset_loss()
        run.stop(status=status)
        self.finished = run
        if self.do_diagnose and status == "finished":
            try:
                self.diagnosis = run.diagnose()
            except Exception as e:  # never fail a train() that trained to the end: a warning, the records are kept
                self.diagnosis = None
                if not isinstance(e, ImportError):
                    warnings.warn(f"graddoctor could not diagnose the run ({type(e).__name__}: {e}); the records are "
                                  f"kept (cb.data{', ' + repr(run.path) if run.path else ''})", GradDoctorWarning,
                                  stacklevel=2)

    @property
    def data(self) -> Any:
        """The run's records (:class:`graddoctor.RunData`), during or after training."""
        run = self.run if self.run is not None else self.finished
        return None if run is None else run.data


__all__ = ["GradDoctorCallback"]
