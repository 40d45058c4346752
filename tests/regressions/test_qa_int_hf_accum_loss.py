"""HF Trainer with gradient accumulation: the recorded loss was 1/accumulation of the real loss.

When the Trainer passes ``num_items_in_batch`` (models that accept loss kwargs: every causal LM), the loss a
model returns for one micro-batch is its share of the window's token-mean, so recording "the last
micro-batch's loss" stored ~loss/accumulation, and a partial window at the end of an epoch (fewer
micro-batches) showed as a jump. The callback now adds the shares of the window (or averages micro-batch
means when no ``num_items_in_batch`` is passed): the recorded loss is the Trainer's own logged ``loss``.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import graddoctor as gd

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: 10 micro-batches, 4 per window: windows of 4, 4 and 2 (a partial last window).
ACCUM, BATCH, N, SEQ = 4, 4, 40, 12


class _Data(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.ids = torch.randint(0, 64, (N, SEQ), generator=torch.Generator().manual_seed(1))

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def test_recorded_loss_is_the_trainers_loss(tmp_path) -> None:
    from graddoctor.integrations.transformers import GradDoctorCallback

    torch.manual_seed(0)
    model = tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=64, n_positions=SEQ, n_embd=16, n_layer=2, n_head=2))
    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=BATCH, num_train_epochs=1,
                                gradient_accumulation_steps=ACCUM, logging_steps=1, report_to="none",
                                save_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
                                seed=0)
    cb = GradDoctorCallback(store=str(tmp_path / "run.sqlite"))
    trainer = tf.Trainer(model=model, args=args, train_dataset=_Data(), callbacks=[cb])
    trainer.train()
    hf_loss = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    got = gd.load_run(tmp_path / "run.sqlite").step_stats["loss"]
    assert len(hf_loss) == len(got) == 3
    np.testing.assert_allclose(got, hf_loss, rtol=1e-4)
    assert got.min() > 0.9 * np.log(64)  # a token-mean cross-entropy near ln(vocab) at init, not a share of it
