"""Lightning: graddoctor's statistics were logged to the trainer's loggers at ``graddoctor step + global_step at
train start``, which lines up with the user's own metrics only while every batch takes exactly one optimizer step.
A GradScaler (Lightning's 16-mixed precision) that skips an overflowing iteration advances Lightning's step but takes
no optimizer step, so every graddoctor curve after the first skip was shifted left by the number of skips (the
loss of step 4 logged at step 2, beside another batch's metrics); with two optimizers stepped by hand (a GAN) the
docs admitted the logged steps "do not line up". Now each recorded step is logged at the step Lightning logs the
user's metrics of the batch where the watched optimizer stepped."""
from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from torch import nn

L = pytest.importorskip("lightning")

from .test_qa_int_pl_resume_logger_steps import _logger_class  # noqa: E402


class _Recorder:
    """The values logged per key: {key: {step: value}}."""

    @staticmethod
    def make() -> Any:
        class Values(_logger_class()):
            def __init__(self) -> None:
                super().__init__()
                self.values: dict[str, dict[int, float]] = {}

            def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
                for key, v in metrics.items():
                    self.values.setdefault(key, {})[step] = float(v)

        return Values()


class _Skipping(L.LightningModule):
    """One optimizer; the batches of steps 2 and 3 hold an inf, so the GradScaler skips those iterations."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        if batch_idx in (2, 3):
            x = x.clone()
            x[0, 0] = float("inf")
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("user_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


class _TwoOptimizers(L.LightningModule):
    """Manual optimization with two optimizers stepped every batch (global_step advances by 2 per batch)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 1)
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        x, y = batch
        opt_a, opt_b = self.optimizers()
        loss = nn.functional.mse_loss(self.b(torch.tanh(self.a(x))), y)
        self.manual_backward(loss)
        opt_a.step()
        opt_b.step()
        opt_a.zero_grad()
        opt_b.zero_grad()
        self.log("user_loss", loss)

    def configure_optimizers(self):
        return torch.optim.SGD(self.a.parameters(), lr=0.05), torch.optim.SGD(self.b.parameters(), lr=0.05)


def _fit(module: L.LightningModule, ckpt_path: str | None = None, max_epochs: int = 1, **kw: Any):
    from graddoctor.integrations.lightning import GradDoctorCallback

    g = torch.Generator().manual_seed(1)
    data = torch.utils.data.TensorDataset(torch.randn(24, 4, generator=g), torch.randn(24, 1, generator=g))
    logger = _Recorder.make()
    cb = GradDoctorCallback()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=max_epochs, callbacks=[cb], logger=logger,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                        log_every_n_steps=1, **kw)
    with warnings.catch_warnings():  # (Lightning's notes on these set-ups, the two-optimizer note)
        warnings.simplefilter("ignore")
        trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=4), ckpt_path=ckpt_path)
    return cb, logger.values, trainer


def _assert_aligned(cb, values: dict[str, dict[int, float]]) -> None:
    user, ours = values["user_loss"], values["graddoctor/loss"]
    assert len(ours) == cb.data.n_steps
    for step, loss in ours.items():  # each logged loss is the user's loss of the batch logged at that step
        assert user[step] == pytest.approx(loss, rel=1e-6), (step, ours, user)


def test_skipped_amp_iterations_keep_the_logged_steps_aligned() -> None:
    from lightning.pytorch.plugins.precision import MixedPrecision

    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
    cb, values, _ = _fit(_Skipping(), plugins=[MixedPrecision("16-mixed", "cpu", scaler=scaler)])
    assert cb.amp.summary()["skipped_steps"] == 2 and cb.data.n_steps == 4
    _assert_aligned(cb, values)
    assert sorted(values["graddoctor/loss"]) == [0, 1, 4, 5]


def test_two_manual_optimizers_log_at_the_users_steps(tmp_path) -> None:
    cb, values, trainer = _fit(_TwoOptimizers())
    assert cb.data.n_steps == 6
    _assert_aligned(cb, values)
    assert sorted(values["graddoctor/loss"]) == [0, 1, 2, 3, 4, 5]
    # resumed: global_step restarts at 12 (two optimizers), the user's metrics at 6
    trainer.save_checkpoint(tmp_path / "epoch1.ckpt")
    cb, values, _ = _fit(_TwoOptimizers(), ckpt_path=str(tmp_path / "epoch1.ckpt"), max_epochs=2)
    _assert_aligned(cb, values)
    assert sorted(values["graddoctor/loss"]) == [6, 7, 8, 9, 10, 11]


def test_step_map_stays_bounded_when_a_logger_fails() -> None:
    """A logger that fails is not called again, so it never takes its entries off the step map: the map must not
    grow with the run (one entry per recorded step)."""
    from graddoctor.integrations.lightning import STEP_MAP_FLUSHES, GradDoctorCallback

    class Failing(_Recorder.make().__class__):
        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            if any(k.startswith("graddoctor/") for k in metrics):
                raise RuntimeError("backend down")

    g = torch.Generator().manual_seed(1)
    data = torch.utils.data.TensorDataset(torch.randn(80, 4, generator=g), torch.randn(80, 1, generator=g))
    cb = GradDoctorCallback(flush_every=2)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=1, callbacks=[cb], logger=Failing(),
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                        log_every_n_steps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(_TwoOptimizers(), torch.utils.data.DataLoader(data, batch_size=4))
    assert cb.data.n_steps == 20
    assert len(cb._step_of) <= STEP_MAP_FLUSHES * 2
