"""TensorBoard sink: per-layer scalars and the findings as text (``pip install graddoctor[tensorboard]``)."""
from __future__ import annotations

import json
from typing import Any

from . import PREFIX, findings_markdown


class TensorBoardSink:
    """Write graddoctor's records to a TensorBoard log directory through ``SummaryWriter``.

    Args:
        log_dir: the event-file directory (``tensorboard --logdir`` it).
        writer: an existing ``SummaryWriter`` to write into instead (it is flushed, not closed, at the end).
    """

    def __init__(self, log_dir: str | None = None, *, writer: Any = None) -> None:
        if writer is None and log_dir is None:
            raise ValueError("TensorBoardSink needs log_dir='...' or writer=SummaryWriter(...)")
        self.log_dir = log_dir
        self.writer = writer
        self._own = writer is None
        self._last_step = 0  # the findings' step: the run's last one, not step 0

    def start(self, meta: dict[str, Any], layers: list[str]) -> None:
        if self.writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as e:
                raise ImportError("TensorBoardSink needs the tensorboard package: "
                                  "pip install 'graddoctor[tensorboard]'") from e
            self.writer = SummaryWriter(log_dir=self.log_dir)
        summary = {k: meta.get(k) for k in ("model_class", "n_parameters", "n_layers", "optimizer", "distributed")}
        self.writer.add_text(f"{PREFIX}/run", "```\n" + json.dumps(summary, indent=1, default=str) + "\n```")

    def log(self, step: int, scalars: dict[str, float]) -> None:
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, global_step=step)
        self._last_step = max(self._last_step, int(step))

    def finish(self, findings: list[dict[str, Any]], status: str) -> None:
        self.writer.add_text(f"{PREFIX}/findings", findings_markdown(findings), global_step=self._last_step)
        self.writer.flush()
        if self._own:
            self.writer.close()
