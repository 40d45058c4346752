"""Regression (QA pass 5): after the learning-rate tier of stalled_learning (79561e9), a short run whose
updates were small (below small_update, 1e-4) but NOT tiny (no layer below tiny_update, 1e-5), with healthy
relative gradients, fell through to the init tier when the learning-rate tier did not apply (fewer than
min_steps steps): "0% of the layers move less than 1e-05 of their norm per step ...: training has stalled",
causes init_scale_too_small and depth_without_normalization. That tier is for tiny updates only; such a run
now gets no stalled finding (the learning-rate tier needs min_steps). Seen in repair: he_init on the recipe of
test_qa4_repair_winner_learns kept that finding, so it could not "fix" the baseline."""
import numpy as np
import torch

import graddoctor as gd

from .test_qa4_repair_winner_learns import _case


def test_small_but_not_tiny_updates_are_not_an_init_stall():
    y = torch.randint(0, 4, (300,), generator=torch.Generator().manual_seed(1))
    result = gd.repair(_case(y), remedies=["he_init"], seeds=1, progress=False)
    (trial,) = result.trials
    found = [f for f in trial.findings if f.kind == "stalled_learning"]
    assert not any("init_scale_too_small" in f.causes for f in found), [f.message for f in found]
    assert not any(f.message.startswith("0%") for f in found)
    assert np.isfinite(trial.loss)
