"""docs/statistics.md defined ``weight_norm`` as ||W|| after the step with no exception, but a layer frozen when
watching began (a fine-tuned backbone) records NaN for it, and for ``grad_ratio``, until it is unfrozen and joins
the update sample at the next detail cycle: a user saw NaN weight norms for a frozen backbone with nothing to say
why. The page now says so; this checks the behaviour it describes and the sentence."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

import graddoctor as gd

DOC = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"


def test_frozen_weight_norm_is_nan_until_unfrozen_and_documented() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    with gd.watch(model, opt, detail_every=1) as run:
        for step in range(5):
            if step == 2:
                for p in model[0].parameters():
                    p.requires_grad_(True)
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    wn = run.data.stat("weight_norm")
    assert np.isnan(wn[0, :3]).all() and np.isfinite(wn[0, 3:]).all()  # joins at the next detail cycle
    assert np.isclose(wn[0, -1], float(model[0].weight.norm()), rtol=1e-5)
    assert np.isfinite(wn[1]).all()
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert "NaN for a weight frozen (`requires_grad=False`) when watching began" in text
