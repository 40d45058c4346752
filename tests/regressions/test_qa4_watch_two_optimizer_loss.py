"""Regression: in a loop with two optimizers (GAN style: the watched one steps, then a second loss is
backpropagated through the watched model for the other), ``run.step(loss=l1)`` after both steps put each loss on
the next step (the second backward was read as the next step having started): the first recorded loss was NaN
and the others were shifted by one. A loss logged after the watched optimizer stepped goes to that step."""
import numpy as np
import torch

import graddoctor as gd


def test_second_optimizers_backward_does_not_move_the_loss():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 8), torch.nn.Linear(8, 1)
    o1, o2 = torch.optim.SGD(a.parameters(), lr=0.1), torch.optim.SGD(b.parameters(), lr=0.1)
    losses = []
    with gd.watch(torch.nn.Sequential(a, b), o1, flush_every=2) as run:
        for _ in range(5):
            x = torch.randn(8, 4)
            l1 = b(torch.tanh(a(x))).pow(2).mean()
            o1.zero_grad()
            l1.backward()
            o1.step()
            l2 = b(torch.tanh(a(x))).pow(2).mean()
            o2.zero_grad()
            l2.backward()
            o2.step()
            run.step(loss=l1)
            losses.append(l1.item())
    data = run.data
    np.testing.assert_allclose(data.step_stats["loss"], np.array(losses)[data.steps], rtol=1e-6)
    assert data.meta["loss_every_step"] is True
