"""HF Trainer, gradient accumulation: a parameter that gets its gradient only in an earlier micro-batch of the
window (a mixture-of-experts expert, a task head that the last micro-batch does not route to) must be measured.

The callback's post-accumulate-grad hooks recorded only during the backward of the window's last (synchronising)
micro-batch, so such a parameter's gradient, which the optimizer applies, was left out: its layer's
``weight_grad_norm`` was NaN and ``total_grad_norm`` was below the Trainer's own pre-clip ``grad_norm``. The hooks
mark such a parameter during earlier micro-batches and measure it when the synchronising backward ends.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class _TwoHeads(nn.Module):
    """Routes a micro-batch to head a or head b by its first feature's sign (the data keeps micro-batches pure)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.a = nn.Linear(8, 1)
        self.b = nn.Linear(8, 1)

    def forward(self, x, labels):
        h = torch.tanh(self.body(x))
        out = self.a(h) if bool(x[0, 0] > 0) else self.b(h)
        return {"loss": nn.functional.mse_loss(out, labels)}


class _Data(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(i)
        x = torch.randn(4, generator=g)
        x[0] = abs(x[0]) + 0.1 if (i // 4) % 2 else -abs(x[0]) - 0.1  # micro-batches of 4: b, a, b, a
        return {"x": x, "labels": torch.randn(1, generator=g)}


def test_parameter_used_only_in_earlier_micro_batch_is_measured(tmp_path):
    from graddoctor.integrations.transformers import GradDoctorCallback

    torch.manual_seed(0)
    cb = GradDoctorCallback(store=None, diagnose=False)
    args = tf.TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, gradient_accumulation_steps=2,
                                max_steps=2, max_grad_norm=1e-3, logging_steps=1, report_to="none",
                                save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0)
    trainer = tf.Trainer(model=_TwoHeads(), args=args, train_dataset=_Data(), callbacks=[cb])
    trainer.train()
    trainer_norms = [h["grad_norm"] for h in trainer.state.log_history if "grad_norm" in h]
    np.testing.assert_allclose(cb.data.step_stats["total_grad_norm"], trainer_norms, rtol=1e-5)
    b = cb.data.layer_names.index("b")
    assert np.isfinite(cb.data.layer_stats["weight_grad_norm"][b]).all()
