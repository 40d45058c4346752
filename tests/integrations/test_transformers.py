"""GradDoctorCallback in a real transformers.Trainer: tiny GPT-2 built from a config (no download), gradient
accumulation and max_grad_norm; numbers checked against the Trainer's own pre-clip norms and a plain loop."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import graddoctor as gd

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ACCUM, STEPS, BATCH, SEQ, CLIP, LR = 2, 3, 4, 12, 0.05, 0.05
RTOL = 1e-5


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = tf.GPT2Config(vocab_size=64, n_positions=SEQ, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0.0,
                        embd_pdrop=0.0, attn_pdrop=0.0)
    return tf.GPT2LMHeadModel(cfg)


class _Data(torch.utils.data.Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(1)
        self.ids = torch.randint(0, 64, (STEPS * ACCUM * BATCH, SEQ), generator=g)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def _train(tmp, callbacks, seen=None):
    model = _model()
    if seen is not None:  # record the micro-batches the Trainer feeds, to replay them in the plain loop
        model.register_forward_pre_hook(lambda m, a, kw: seen.append({k: v.clone() for k, v in kw.items()}),
                                        with_kwargs=True)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    args = tf.TrainingArguments(output_dir=str(tmp), per_device_train_batch_size=BATCH, max_steps=STEPS,
                                gradient_accumulation_steps=ACCUM, max_grad_norm=CLIP, logging_steps=1,
                                report_to="none", save_strategy="no", use_cpu=True, disable_tqdm=True,
                                dataloader_num_workers=0, seed=0)
    trainer = tf.Trainer(model=model, args=args, train_dataset=_Data(), optimizers=(opt, sched),
                         callbacks=callbacks)
    trainer.train()
    return trainer, model


def test_trainer_run_matches_trainer_norms_and_plain_loop(tmp_path) -> None:
    from graddoctor.integrations.transformers import GradDoctorCallback

    tmp = tmp_path
    cb = GradDoctorCallback(store=str(tmp / "run.sqlite"), detail_every=1)  # every statistic every step
    seen: list[dict] = []
    trainer, model = _train(tmp, [cb], seen)
    _check_pre_clip_norms(cb, trainer, model, tmp)
    _check_plain_loop(trainer, seen, tmp)
    assert cb.diagnosis is not None and cb.run is None  # stopped, hooks removed
    _, plain = _train(tmp / "plain", [])  # training unchanged by the callback
    for a, b in zip(model.parameters(), plain.parameters()):
        assert torch.equal(a, b)


def _check_pre_clip_norms(cb, trainer, model, tmp) -> None:
    data = gd.load_run(tmp / "run.sqlite")
    np.testing.assert_array_equal(data.steps, np.arange(STEPS))  # per optimizer step, not per micro-batch
    hf_norms = [h["grad_norm"] for h in trainer.state.log_history if "grad_norm" in h]
    assert len(hf_norms) == STEPS
    # the Trainer's grad_norm is clip_grad_norm_'s return value: the total norm *before* clipping
    np.testing.assert_allclose(data.step_stats["total_grad_norm"], hf_norms, rtol=RTOL)
    assert min(hf_norms) > CLIP  # clipping was active, so a post-clip reading would be CLIP
    # weights are read after the update: the last step's weight norms are those of the trained model
    for i, name in enumerate(data.layer_names):
        module = model.get_submodule(name) if name != "<model>" else model
        w = [p for n, p in module.named_parameters(recurse=False) if "bias" not in n]
        if w:
            want = float(torch.sqrt(sum((p.detach().double() ** 2).sum() for p in w)))
            assert data.layer_stats["weight_norm"][i, -1] == pytest.approx(want, rel=1e-5), name


def _check_plain_loop(trainer, seen, tmp) -> None:
    """Replay the Trainer's micro-batches by hand (same loss scaling as the Trainer) under gd.watch."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    pre = []
    with gd.watch(model, opt, detail_every=1) as run:
        for s in range(STEPS):
            window = seen[s * ACCUM:(s + 1) * ACCUM]
            for b in window:  # as recorded: with num_items_in_batch when the Trainer passed it
                loss = model(**b).loss
                (loss if b.get("num_items_in_batch") is not None else loss / ACCUM).backward()
            pre.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)))
            opt.step()
            run.step(loss=loss)
            opt.zero_grad()
    got, want = gd.load_run(tmp / "run.sqlite"), run.data
    assert got.layer_names == want.layer_names
    np.testing.assert_allclose(got.step_stats["total_grad_norm"], pre, rtol=RTOL)
    for name in ("weight_norm", "update_ratio", "signal_norm", "out_rms"):
        np.testing.assert_allclose(got.layer_stats[name], want.layer_stats[name], rtol=1e-4, equal_nan=True,
                                   err_msg=name)
    # the loss of a step is the window's mean loss, the Trainer's logged `loss` (with num_items_in_batch each
    # micro-batch returns a share of it, so the plain loop's last micro-batch `loss` is not comparable)
    hf_loss = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    np.testing.assert_allclose(got.step_stats["loss"], hf_loss, rtol=1e-4)
