"""Regression (found by the QA7 diagnosis pass, runs watched with every=N): under gd.watch(every=5) one batch with
a NaN pixel at step 7 made the weights NaN, and the first recorded non-finite step was 10. The finding said "the
first NaN/Inf appears at step 10 in 0 ... look for a NaN/Inf in that step's input batch": step 10's batch was
clean, and steps 6-9 were never seen. The message now says the NaN/Inf is first *recorded* at step 10, that it
appeared at one of steps 6-10, and points at the input batches of those steps (evidence `last_finite_step`)."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _run_nan_at_step_7(steps: int, **watch_kwargs: object) -> gd.Monitor:
    """A small ReLU net whose batch holds one NaN pixel at step 7, watched with ``watch_kwargs``."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 16, generator=g), torch.randint(0, 4, (32,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=None, **watch_kwargs) as run:  # type: ignore[arg-type]
        for step in range(steps):
            xb = x.clone()
            if step == 7:
                xb[0, 3] = float("nan")
            loss = F.cross_entropy(model(xb), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    return run


def test_nan_between_recorded_steps_names_the_unseen_steps() -> None:
    run = _run_nan_at_step_7(20, every=5)
    (f,) = [f for f in run.diagnose().problems if f.kind == "non_finite"]
    assert f.step == 10 and f.evidence["last_finite_step"] == 5
    assert "steps 6-10" in f.message and "that step's input batch" not in f.message


def test_every_step_recorded_keeps_the_plain_wording() -> None:
    run = _run_nan_at_step_7(12)
    (f,) = [f for f in run.diagnose().problems if f.kind == "non_finite"]
    assert f.step == 7 and "last_finite_step" not in f.evidence
    assert f.message.startswith("the first NaN/Inf appears at step 7") and "that step's input batch" in f.message
