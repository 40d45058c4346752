"""Lightning: ``GradDoctorCallback`` (``pip install graddoctor[lightning]``).

    trainer = lightning.Trainer(callbacks=[GradDoctorCallback(store="runs/exp.sqlite")],
                                accumulate_grad_batches=4, gradient_clip_val=1.0)
    trainer.fit(model, loader)

Where it measures: gradients in ``on_before_optimizer_step``, which Lightning calls after the last
accumulated backward and after AMP unscaling, and *before* gradient clipping; weights and update ratios
when the (unwrapped) torch optimizer's ``step()`` returns, like a plain loop. Statistics are per optimizer
step, never per micro-batch. Under DDP/FSDP strategies the process group exists by ``on_fit_start``, so the
statistics are global (see :mod:`graddoctor.integrations.distributed`) and only rank 0 writes the store.
At the end of fit (also one ended by an exception) the run is diagnosed and the findings are logged through ``trainer.logger`` together
with the key per-layer statistics of every recorded step.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

from ..errors import GradDoctorWarning
from .core import check_watch_kwargs, monitor_class, resumed_store
from .sinks import KEY_STATS, PREFIX, TeeStore, findings_markdown

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - exercised only without lightning
    try:
        from pytorch_lightning.callbacks import Callback  # type: ignore[no-redef,assignment]
    except ImportError as e:
        raise ImportError("graddoctor.integrations.lightning needs Lightning: "
                          "pip install 'graddoctor[lightning]'") from e

#: Flushes' worth of recorded steps whose logging step the callback remembers until the loggers have them (a
#: flush logs at most ``flush_every`` steps; the margin covers flushes retried after a failed store write).
STEP_MAP_FLUSHES = 4
#: Severity as a number, for loggers that only take scalars.
SEVERITY_LEVEL = {"info": 0, "warning": 1, "critical": 2}


class LoggerSink:
    """A :class:`~graddoctor.integrations.sinks.Sink` over a Lightning logger (``log_metrics``).

    Each recorded step is logged at the step Lightning logs the user's own metrics of its batch at
    (``step_of``, filled by :class:`GradDoctorCallback`): graddoctor counts the watched optimizer's steps taken in
    this fit from 0, while a fit resumed from a checkpoint at step N logs from N, a GradScaler's skipped
    iterations advance Lightning's step but take no optimizer step, and Lightning's logging step counts batches,
    not every optimizer's steps. A step not in ``step_of`` is logged at ``step + step_offset``."""

    def __init__(self, logger: Any, step_offset: int = 0, step_of: dict[int, int] | None = None) -> None:
        self.logger = logger
        self.step_offset = step_offset
        self.step_of: dict[int, int] = {} if step_of is None else step_of
        self.last_step: int | None = None  # where the findings go: the last step logged (not step 0)

    def start(self, meta: dict[str, Any], layers: list[str]) -> None:
        pass

    def log(self, step: int, scalars: dict[str, float]) -> None:
        # Steps are logged in increasing order, each to every sink before the next: the entries of earlier steps
        # are no longer needed (``step_of`` holds at most the steps not flushed yet).
        while self.step_of and next(iter(self.step_of)) < step:
            del self.step_of[next(iter(self.step_of))]
        self.last_step = self.step_of.get(step, step + self.step_offset)
        self.logger.log_metrics(scalars, step=self.last_step)

    def finish(self, findings: list[dict[str, Any]], status: str) -> None:
        levels: dict[str, float] = {}
        for f in findings:
            key = f"{PREFIX}/finding/{f.get('kind')}"
            levels[key] = max(levels.get(key, 0), SEVERITY_LEVEL.get(str(f.get("severity")), 0))
        levels[f"{PREFIX}/n_findings"] = float(len(findings))
        self.logger.log_metrics(levels, step=self.last_step if self.last_step is not None else self.step_offset)
        experiment: Any = getattr(self.logger, "experiment", None)
        if hasattr(experiment, "add_text"):  # TensorBoardLogger
            experiment.add_text(f"{PREFIX}/findings", findings_markdown(findings))
        elif hasattr(self.logger, "log_text"):  # WandbLogger
            cols = ["kind", "severity", "layers", "step"]
            self.logger.log_text(key=f"{PREFIX}/findings", columns=cols,
                                 data=[[f.get("kind"), f.get("severity"), ", ".join(f.get("layers") or []),
                                        f.get("step")] for f in findings])
        self.logger.save()


class _PreClipCapture:
    """``LightningModule.clip_gradients`` under manual optimization: the watched optimizer's gradients are measured
    before they are clipped. A copy of the module (deepcopy, pickling) gets a pass-through, not the callback."""

    def __init__(self, callback: GradDoctorCallback | None, clip: Any) -> None:
        self.callback, self.clip = callback, clip

    def __call__(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        cb = self.callback
        if cb is not None and cb.run is not None and getattr(optimizer, "optimizer", optimizer) is cb.run.optimizer:
            cb.run.capture_grads()
            cb._clip_captured = True
        return self.clip(optimizer, *args, **kwargs)

    def __deepcopy__(self, memo: dict[int, Any]) -> _PreClipCapture:
        return _PreClipCapture(None, copy.deepcopy(self.clip, memo))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_PreClipCapture, (None, self.clip))


class GradDoctorCallback(Callback):
    """Watch a Lightning training run with graddoctor.

    Args:
        store: SQLite run store path (written by rank 0), or ``None`` to keep the run in memory.
        every: which optimizer steps to record (as :func:`graddoctor.watch`).
        log: send key statistics per step and the findings at the end to ``trainer.logger``.
        stats: per-layer statistics sent to the logger.
        diagnose: diagnose the run at the end of fit, also of a fit that raised (``self.diagnosis``).
        **watch_kwargs: other :func:`graddoctor.watch` arguments (``flush_every``, ``activations``, ...).

    Attributes:
        run: the Monitor (from ``on_fit_start``); ``run.data`` holds the records.
        diagnosis: the :class:`graddoctor.Diagnosis` after fit (None before, or with ``diagnose=False``).
    """

    def __init__(self, store: str | None = None, every: Any = 1, *, log: bool = True,
                 stats: tuple[str, ...] = KEY_STATS, diagnose: bool = True, **watch_kwargs: Any) -> None:
        super().__init__()
        check_watch_kwargs("GradDoctorCallback", watch_kwargs)
        self.store, self.every, self.log = store, every, log
        self.stats, self.do_diagnose, self.watch_kwargs = tuple(stats), diagnose, watch_kwargs
        self.run: Any = None
        self.diagnosis: Any = None
        self.amp: Any = None
        self._logger_sinks: list[LoggerSink] = []
        self.run_monitor: Any = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # this fit's, not the previous fit's (also when this one stops before graddoctor starts)
        self.diagnosis, self.amp, self.run_monitor = None, None, None
        self._logger_sinks = []
        optimizers = list(trainer.optimizers)
        if not optimizers or type(optimizers[0]).__name__ == "_MockOptimizer":
            # configure_optimizers() returned None: Lightning trains on with a stand-in optimizer that holds no
            # parameter (weights updated some other way, or none); watching it would fail the fit at its start
            warnings.warn("graddoctor: configure_optimizers() returned no optimizer, so this fit takes no optimizer "
                          "step to record; GradDoctorCallback does not watch it", GradDoctorWarning, stacklevel=2)
            return
        if len(optimizers) > 1:
            warnings.warn(f"graddoctor: {len(optimizers)} optimizers; steps are marked by the first one only",
                          GradDoctorWarning, stacklevel=2)
        optimizer = getattr(optimizers[0], "optimizer", optimizers[0])  # unwrap LightningOptimizer
        kwargs = dict(self.watch_kwargs)  # a copy: the callback may serve several fits
        store: Any = self.store
        if getattr(trainer, "ckpt_path", None) is not None:  # a resumed fit: never stopped by its earlier store
            store = resumed_store(store, f"this fit resumes from {trainer.ckpt_path}",
                                  bool(kwargs.get("overwrite", False)), warn=trainer.is_global_zero)
        loggers = list(getattr(trainer, "loggers", None) or ([trainer.logger] if trainer.logger is not None else []))
        self._logger_sinks = []
        self._step_of: dict[int, int] = {}  # graddoctor step -> the step Lightning logs its batch's metrics at
        if self.log and loggers and trainer.is_global_zero:
            # every logger, as Lightning's self.log does
            self._logger_sinks = [LoggerSink(lg, step_of=self._step_of) for lg in loggers]
            store = TeeStore(store, list(self._logger_sinks), stats=self.stats, diagnose=False,
                             finish_on_close=False, overwrite=kwargs.pop("overwrite", False))
        meta = {"trainer": "lightning", **(kwargs.pop("meta", None) or {})}  # the user's meta= is kept, not a clash
        self.run = monitor_class(pre_clip=True)(pl_module, optimizer, store=store, every=self.every, meta=meta,
                                                **kwargs)
        self.run.start()
        self._clip_captured = False
        if not getattr(pl_module, "automatic_optimization", True) and "clip_gradients" not in vars(pl_module):
            # Manual optimization clips in training_step (self.clip_gradients) before opt.step(), inside which
            # Lightning calls on_before_optimizer_step: measure there too, before the clipping (removed at fit end).
            pl_module.clip_gradients = _PreClipCapture(self, pl_module.clip_gradients)
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        if scaler is not None:
            from .amp import track_scaler

            self.amp = track_scaler(self.run, scaler)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        # A resumed fit restores global_step after on_fit_start and before this hook, and before any step is
        # recorded or logged: the logger's steps continue from it.
        for sink in self._logger_sinks:
            sink.step_offset = int(trainer.global_step)

    def on_before_backward(self, trainer: Any, pl_module: Any, loss: Any) -> None:
        # Manual optimization: training_step often returns nothing (the loss goes to manual_backward), so the loss
        # of a step is the one last back-propagated before the watched optimizer steps (detached: no host sync).
        if self.run is not None and not getattr(pl_module, "automatic_optimization", True):
            self._backward_loss = loss.detach() if hasattr(loss, "detach") else None

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        # Only the watched (first) optimizer makes a step. Another optimizer's step (manual optimization) is not
        # one: its loss would overwrite the previous recorded step's, and its gradient capture is wasted.
        if self.run is not None and getattr(optimizer, "optimizer", optimizer) is self.run.optimizer:
            if not getattr(self, "_clip_captured", False):  # (manual optimization: measured before clip_gradients)
                self.run.capture_grads()
            self._clip_captured = False
            self._stepped = True
            self._steps_before = self.run.steps_seen
            self._step_loss, self._backward_loss = getattr(self, "_backward_loss", None), None

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if getattr(self, "_clip_captured", False):
            # clip_gradients was called in a batch whose watched optimizer did not step: that measurement is stale
            # by the next step (a later batch may step without clipping)
            self._clip_captured = False
            if self.run is not None:
                self.run._pre = None  # type: ignore[attr-defined]
        stepped, self._stepped = getattr(self, "_stepped", False), False
        step_loss, self._step_loss = getattr(self, "_step_loss", None), None
        if self.run is None or not stepped:
            return
        if self._logger_sinks:
            # The step(s) the watched optimizer closed in this batch (none when the GradScaler skipped it) are
            # logged where Lightning logs this batch's metrics: its batches-that-stepped count, read before
            # on_advance_end increments it (global_step on a Lightning without it).
            at = int(getattr(getattr(trainer.fit_loop, "epoch_loop", None), "_batches_that_stepped",
                             trainer.global_step))
            for s in range(getattr(self, "_steps_before", self.run.steps_seen), self.run.steps_seen):
                if self.run.schedule(s):
                    self._step_of[s] = at
            # The sinks drop each entry once logged; a logger that failed (no longer called) must not make the map
            # grow with the run: beyond the steps a flush can hold, the oldest go (they log at step + offset).
            while len(self._step_of) > STEP_MAP_FLUSHES * self.run.flush_every:
                del self._step_of[next(iter(self._step_of))]
        # Written into the row of the step the watched optimizer just closed, not through run.step(loss=...), which
        # takes a backward seen since then (another optimizer's, manual optimization) for the next step's start.
        if isinstance(outputs, dict) and outputs.get("loss") is not None:
            # The loss of the batch whose optimizer step just ran (the last micro-batch under accumulation).
            # Lightning hands over the loss divided by accumulate_grad_batches (what backward saw): undo that.
            self.run._log_previous_loss(outputs["loss"].detach() * trainer.accumulate_grad_batches)
        elif step_loss is not None:  # manual optimization, nothing returned: the loss given to manual_backward
            self.run._log_previous_loss(step_loss)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._finish(trainer, "finished")

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._finish(trainer, "failed")

    def _finish(self, trainer: Any, status: str) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        module = getattr(trainer, "lightning_module", None)
        if isinstance(vars(module).get("clip_gradients") if module is not None else None, _PreClipCapture):
            del vars(module)["clip_gradients"]
        if self.amp is not None:
            self.amp.detach()
        store = run.store
        run.stop(status=status)
        self.run_monitor = run
        if self.do_diagnose:
            # A failed run (a NaN that stopped training, Ctrl-C) is diagnosed too: it is the one most worth it.
            # Diagnosing must never mask the exception that ended training, nor fail a fit that trained to the end
            # (the user's test/save after fit would not run): its own error is a warning.
            try:
                self.diagnosis = run.diagnose()
            except Exception as e:
                self.diagnosis = None
                if not isinstance(e, ImportError):
                    warnings.warn(f"graddoctor could not diagnose the {status} run ({type(e).__name__}: {e}); the "
                                  f"records are kept (cb.data{', ' + repr(run.path) if run.path else ''})",
                                  GradDoctorWarning, stacklevel=2)
        if isinstance(store, TeeStore) and store.sinks:
            findings = [f.to_dict() for f in self.diagnosis.findings] if self.diagnosis is not None else []
            store._each("finish", lambda s: s.finish(findings, status))

    @property
    def data(self) -> Any:
        """The run's records (:class:`graddoctor.RunData`), during or after fit."""
        run = self.run if self.run is not None else getattr(self, "run_monitor", None)
        return None if run is None else run.data


__all__ = ["GradDoctorCallback", "LoggerSink"]
