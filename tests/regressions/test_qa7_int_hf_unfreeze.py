"""HF Trainer callback: layers unfrozen during training (gradual unfreezing) get their pre-clip gradient norms.

The callback put its post-accumulate-grad hooks (which measure gradients before the Trainer clips them) only on the
parameters that required grad when training began. A backbone unfrozen later by a callback had no hook: its layers'
``weight_grad_norm`` stayed NaN and the recorded total gradient norm left them out (0.57 where the Trainer's own
pre-clip ``grad_norm`` was 1.13). A hook is now put on a parameter before the first forward in which it requires
grad.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEQ = 12


class _Data(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.ids = torch.randint(0, 64, (16, SEQ), generator=torch.Generator().manual_seed(1))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


class _Unfreeze(tf.TrainerCallback):
    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 2:
            for p in model.parameters():
                p.requires_grad_(True)


def test_unfrozen_layers_measured_before_clipping(tmp_path):
    from graddoctor.integrations.transformers import GradDoctorCallback

    torch.manual_seed(0)
    cfg = tf.GPT2Config(vocab_size=64, n_positions=SEQ, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0.0,
                        embd_pdrop=0.0, attn_pdrop=0.0)
    model = tf.GPT2LMHeadModel(cfg)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("transformer.h.1"))  # only the last block trains at first
    cb = GradDoctorCallback(store=None, diagnose=False)
    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=4,
                                max_grad_norm=0.05, logging_steps=1, report_to="none", save_strategy="no",
                                use_cpu=True, disable_tqdm=True, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)  # holds every parameter, frozen or not
    trainer = tf.Trainer(model=model, args=args, train_dataset=_Data(), callbacks=[cb, _Unfreeze()],
                         optimizers=(opt, None))
    trainer.train()
    trainer_norms = [h["grad_norm"] for h in trainer.state.log_history if "grad_norm" in h]
    np.testing.assert_allclose(cb.data.step_stats["total_grad_norm"], trainer_norms, rtol=1e-5)
    wte = cb.data.layer_names.index("transformer.wte")
    g = cb.data.layer_stats["weight_grad_norm"][wte]
    assert np.isnan(g[:2]).all() and np.isfinite(g[2:]).all() and (g[2:] > 0).all()
