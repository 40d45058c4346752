"""Lightning: a fit resumed from a checkpoint (``ckpt_path``) logged graddoctor's statistics at steps 0, 1, 2...
into the user's logger, while the trainer's ``global_step`` and the user's own metrics continued from the
checkpoint (16, 17, ...): the curves did not line up, and wandb rejects steps that go backwards. The logged
step is now graddoctor's step plus the ``global_step`` at the start of training (found by QA)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

L = pytest.importorskip("lightning")

from .test_qa_int_pl_refit_overwrite import _Module  # noqa: E402  (logs a train_loss of its own)


def _logger_class() -> Any:
    from lightning.pytorch.loggers.logger import Logger

    class Recorder(Logger):
        def __init__(self) -> None:
            super().__init__()
            self.steps: dict[str, list[int]] = {}

        @property
        def name(self) -> str:
            return "recorder"

        @property
        def version(self) -> int:
            return 0

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            for key in metrics:
                self.steps.setdefault(key, []).append(step)

    return Recorder


def test_resumed_fit_logs_at_the_trainers_steps(tmp_path) -> None:
    from graddoctor.integrations.lightning import GradDoctorCallback

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1)),
                                       batch_size=4)
    kw = dict(accelerator="cpu", devices=1, enable_progress_bar=False, enable_model_summary=False,
              log_every_n_steps=1)
    first = L.Trainer(max_steps=8, enable_checkpointing=False, logger=False, **kw)
    first.fit(_Module(), data)
    ckpt = tmp_path / "at8.ckpt"
    first.save_checkpoint(ckpt)

    logger = _logger_class()()
    cb = GradDoctorCallback(store=str(tmp_path / "resumed.sqlite"))
    second = L.Trainer(max_steps=16, enable_checkpointing=False, logger=logger, callbacks=[cb], **kw)
    second.fit(_Module(), data, ckpt_path=str(ckpt))
    gd_steps = logger.steps["graddoctor/total_grad_norm"]
    assert cb.data.n_steps == 8  # the new store holds this fit's 8 optimizer steps
    assert gd_steps == list(range(8, 16)), gd_steps
    user_steps = sorted(set(logger.steps["train_loss"]))
    assert min(user_steps) >= 8 and set(gd_steps) <= set(range(8, 17))
