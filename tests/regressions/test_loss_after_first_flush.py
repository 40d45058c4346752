"""Regression: without an optimizer, run.step(loss=...) at step 1 lost its loss. Step 0 marks an early flush
as due; log_loss wrote step 1's loss into row 1, then the due flush at the end of step 1 reset the rows and
the loss was recorded as NaN (and step 2's loss landed in the wrong row). log_loss now flushes first."""
import torch
from torch import nn

import graddoctor as gd


def test_every_manual_step_keeps_its_loss():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 4)
    losses = []
    with gd.watch(model, flush_every=3) as run:
        for _ in range(7):
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            run.step(loss=loss)
            losses.append(loss.item())
    recorded = run.data.step_stats["loss"]
    assert recorded.tolist() == torch.tensor(losses, dtype=torch.float32).double().tolist()
