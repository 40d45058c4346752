"""Regression: a run whose learning-rate schedule decays to ~0 (warmup + cosine, the usual transformer recipe)
and whose loss did not improve (a task the model cannot learn) was a `stalled_learning` warning, "training has
stalled", cause init_scale_too_small, remedies He/orthogonal/LSUV init: at the end of the schedule every
layer moves less than 1e-5 of its norm per step, though the relative gradients never fell (a pre-LN
transformer under AdamW: ~7e-3 throughout, updates 1.8e-3 at step 50 and 4.5e-6 at the end). Updates that
were healthy earlier and fell by `annealed_drop` (10x) while the relative gradients did not are now the step
size's doing, not a stall: no finding. A net whose gradients are tiny throughout still stalls."""
import math

import torch
from torch import nn

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.stalled import Stalled

from . import watched_batches


def _noise_labels_run(schedule: bool, lr: float = 1e-3):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    steps = 200
    if schedule:
        opt: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if step and schedule:
            sched.step()
        return torch.randn(64, 32, generator=g), torch.randint(0, 4, (64,), generator=g)  # labels are noise
    return watched_batches(model, opt, batch, steps)[0]


def test_decayed_schedule_is_not_a_stall():
    run = _noise_labels_run(schedule=True)
    assert not run.diagnose().by_kind("stalled_learning")


def test_updates_tiny_throughout_still_stall():
    """Updates that never were healthy (SGD at lr 1e-5: ~1e-6 per step from the first) are still a stall."""
    f = Stalled().detect(Context.from_run(_noise_labels_run(schedule=False, lr=1e-5).data))
    assert [x.kind for x in f] == ["stalled_learning"]
