"""Regression: lr_warmup's optimizer pre-hook set every group's learning rate to (its first value) x min(1, (k+1)/n)
before every step, for ever: in a repair with the user's own loop (``train_fn``) and a learning-rate scheduler
(cosine, step decay) the schedule was undone before each step, so the warm-up trial trained at the first rate
throughout while the baseline decayed. The warm-up now scales the rate the group has at each of the first n
steps, puts it back after the step, and leaves it alone from step n on."""
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext


def test_warmup_keeps_the_users_schedule() -> None:
    x, y = torch.randn(40, 4), torch.randint(0, 2, (40,))
    case = gd.Case(model_fn=lambda: nn.Linear(4, 2), train=(x, y), steps=100,
                   optimizer_fn=lambda p: torch.optim.SGD(p, lr=1.0))
    new = get_remedy("lr_warmup").apply(case, RepairContext())
    model = nn.Linear(4, 2)
    opt = new.make_optimizer(model.parameters())
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=20, gamma=0.1)
    used = []
    opt.register_step_pre_hook(lambda o, a, k: used.append(o.param_groups[0]["lr"]))  # after the warm-up's hook
    for _ in range(60):
        model(x).sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
    warm = 10  # 10 % of 100 steps
    assert [round(v, 6) for v in used[:warm]] == [round((k + 1) / warm, 6) for k in range(warm)]
    assert used[warm:20] == [1.0] * (20 - warm)
    assert abs(used[25] - 0.1) < 1e-12 and abs(used[45] - 0.01) < 1e-12  # the scheduler's decay, kept
