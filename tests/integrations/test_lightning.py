"""GradDoctorCallback in a real lightning.Trainer (CPU, gradient accumulation, gradient clipping), checked
against a plain loop that trains the same model on the same micro-batches."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd

from .common import batches, deep_sigmoid

L = pytest.importorskip("lightning")

ACCUM, STEPS, CLIP, LR = 2, 4, 0.05, 0.5
#: Statistics recorded identically by both runs (float32 sums in the same order; tiny rounding only).
RTOL = 1e-5


class Module(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = deep_sigmoid(depth=5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=LR)


def _data():
    return batches(STEPS * ACCUM)


def _plain_loop():
    """Same training by hand: accumulate, clip by norm, step. Pre-clip norms computed independently."""
    model = deep_sigmoid(depth=5)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    pre_total, pre_layer = [], []
    with gd.watch(model, opt) as run:
        data = _data()
        for s in range(STEPS):
            for j in range(ACCUM):
                x, y = data[s * ACCUM + j]
                loss = nn.functional.mse_loss(model(x), y)
                (loss / ACCUM).backward()
            pre_layer.append([float(torch.linalg.vector_norm(m.weight.grad)) for m in model if hasattr(m, "weight")])
            pre_total.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)))
            opt.step()
            run.step(loss=loss)
            opt.zero_grad()
    return run.data, np.array(pre_total), np.array(pre_layer).T


def _fit(tmp):
    from lightning.pytorch.loggers import CSVLogger

    from graddoctor.integrations.lightning import GradDoctorCallback

    xs, ys = zip(*_data())
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.cat(xs), torch.cat(ys)),
                                         batch_size=len(xs[0]), shuffle=False)
    cb = GradDoctorCallback(store=str(tmp / "run.sqlite"), flush_every=3)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=STEPS, accumulate_grad_batches=ACCUM,
                        gradient_clip_val=CLIP, gradient_clip_algorithm="norm", callbacks=[cb],
                        logger=CSVLogger(str(tmp), name="csv"), enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, log_every_n_steps=1)
    trainer.fit(Module(), loader)
    return cb, trainer, tmp


def test_statistics_and_logger_match_plain_loop(tmp_path) -> None:
    cb, trainer, tmp = _fit(tmp_path)
    got = gd.load_run(tmp / "run.sqlite")
    want, pre_total, pre_layer = _plain_loop()
    assert [n.removeprefix("net.") for n in got.layer_names] == want.layer_names
    np.testing.assert_array_equal(got.steps, np.arange(STEPS))  # per optimizer step, not per micro-batch
    # Gradients before clipping: the plain loop's own pre-clip norms (clip_grad_norm_'s return value).
    np.testing.assert_allclose(got.step_stats["total_grad_norm"], pre_total, rtol=RTOL)
    np.testing.assert_allclose(got.layer_stats["weight_grad_norm"], pre_layer, rtol=RTOL)
    assert np.all(pre_total > CLIP)  # clipping was active: a post-clip reading would be CLIP
    # Weights, updates, forward and backward signals: identical to the plain loop's.
    for name in ("weight_norm", "update_ratio", "signal_norm", "out_rms", "act_rms", "act_saturated"):
        np.testing.assert_allclose(got.layer_stats[name], want.layer_stats[name], rtol=RTOL, equal_nan=True,
                                   err_msg=name)
    np.testing.assert_allclose(got.step_stats["loss"], want.step_stats["loss"], rtol=RTOL)
    # findings and key statistics went through trainer.logger
    assert cb.diagnosis is not None
    kinds = {f.kind for f in cb.diagnosis.findings}
    rows = list(csv.DictReader(open(Path(trainer.logger.log_dir) / "metrics.csv")))
    cols = set(rows[0])
    assert "graddoctor/weight_grad_norm/net.0" in cols and "graddoctor/total_grad_norm" in cols
    logged = [float(r["graddoctor/total_grad_norm"]) for r in rows if r.get("graddoctor/total_grad_norm")]
    np.testing.assert_allclose(logged, cb.data.step_stats["total_grad_norm"], rtol=1e-6)
    assert int(float(next(r["graddoctor/n_findings"] for r in rows if r.get("graddoctor/n_findings")))) == \
        len(cb.diagnosis.findings)
    for kind in kinds:
        assert f"graddoctor/finding/{kind}" in cols


def test_training_unchanged(tmp_path: Path) -> None:
    """Parameters after fit are bit-identical with and without the callback."""
    from graddoctor.integrations.lightning import GradDoctorCallback

    xs, ys = zip(*_data())
    ds = torch.utils.data.TensorDataset(torch.cat(xs), torch.cat(ys))
    finals = []
    for cbs in ([], [GradDoctorCallback()]):
        torch.manual_seed(0)
        m = Module()
        L.Trainer(accelerator="cpu", max_steps=STEPS, accumulate_grad_batches=ACCUM, gradient_clip_val=CLIP,
                  callbacks=cbs, logger=False, enable_progress_bar=False, enable_model_summary=False,
                  enable_checkpointing=False).fit(m, torch.utils.data.DataLoader(ds, batch_size=8))
        finals.append(torch.cat([p.detach().reshape(-1) for p in m.parameters()]))
    assert torch.equal(finals[0], finals[1])


class _ShardedModule(Module):
    """Each rank reads the interleaved half of every global batch (a DistributedSampler without shuffling)."""

    def train_dataloader(self):
        xs, ys = zip(*_data())
        ds = torch.utils.data.TensorDataset(torch.cat(xs), torch.cat(ys))
        sampler = torch.utils.data.DistributedSampler(ds, num_replicas=self.trainer.world_size,
                                                      rank=self.global_rank, shuffle=False)
        return torch.utils.data.DataLoader(ds, batch_size=len(xs[0]) // 2, sampler=sampler)


@pytest.mark.slow
def test_ddp_spawn_two_processes_match_plain_loop(tmp_path: Path) -> None:
    """Lightning's DDP strategy on 2 CPU processes: the callback's statistics are the global ones (rank 0
    writes), equal to one process on the global batch (DistributedSampler without shuffling splits each
    global batch of 8 into two local batches of 4)."""
    from graddoctor.integrations.lightning import GradDoctorCallback

    cb = GradDoctorCallback(store=str(tmp_path / "run.sqlite"))
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", max_steps=STEPS,
                        accumulate_grad_batches=ACCUM, gradient_clip_val=CLIP, callbacks=[cb], logger=False,
                        use_distributed_sampler=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False)
    trainer.fit(_ShardedModule())
    got = gd.load_run(tmp_path / "run.sqlite")
    want, pre_total, pre_layer = _plain_loop()
    assert got.meta["distributed"]["world_size"] == 2
    np.testing.assert_array_equal(got.steps, np.arange(STEPS))
    np.testing.assert_allclose(got.step_stats["total_grad_norm"], pre_total, rtol=1e-4)
    np.testing.assert_allclose(got.layer_stats["weight_grad_norm"], pre_layer, rtol=1e-4)
    for name in ("weight_norm", "update_ratio", "signal_norm", "out_rms"):
        np.testing.assert_allclose(got.layer_stats[name], want.layer_stats[name], rtol=1e-4, equal_nan=True,
                                   err_msg=name)
