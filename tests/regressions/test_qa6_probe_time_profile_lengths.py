"""RNN time profiles (``series["time_signal"]``) of sequences of varying length, as batches padded to their own
longest sequence give: (1) two micro-batches of one step (gradient accumulation), or two calls of the layer, with
different lengths kept only the last one's profile (the other was dropped, not added); (2) ``run.data`` (and so
``run.diagnose()``) during the run dropped every unwritten step whose length differed from the stored steps', while
the store keeps them all. Profiles are now added, and the steps joined, aligned on the end of the sequence (nearest
the loss), as the store aligns them."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(4, 8, batch_first=True)
        self.out = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def test_micro_batches_of_different_lengths_add_up() -> None:
    torch.manual_seed(0)
    model = _Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xs, y = [torch.randn(8, 5, 4), torch.randn(8, 7, 4)], torch.randint(0, 3, (8,))
    ref = np.zeros(7)
    for x in xs:  # autograd: the squares of dL/dx_t, aligned on the last time step
        xx = x.clone().requires_grad_()
        F.cross_entropy(model(xx), y).backward()
        ref[7 - x.shape[1]:] += (xx.grad.double() ** 2).sum(dim=(0, 2)).numpy()
    opt.zero_grad()
    with gd.watch(model, opt, detail_every=1) as run:
        for x in xs:
            F.cross_entropy(model(x), y).backward()
        opt.step()
    steps, prof = run.data.series["time_signal"]["rnn"]
    assert steps.tolist() == [0]
    np.testing.assert_allclose(prof[0], np.sqrt(ref), rtol=1e-5)


def test_run_data_during_the_run_keeps_steps_of_other_lengths(tmp_path) -> None:
    torch.manual_seed(0)
    model = _Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lengths = [5, 7, 5, 9, 5, 6, 5]
    with gd.watch(model, opt, detail_every=1, flush_every=3, store=tmp_path / "r.sqlite") as run:
        for T in lengths:
            x, y = torch.randn(16, T, 4), torch.randint(0, 3, (16,))
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        live = run.data.series["time_signal"]["rnn"]
    stored = gd.load_run(tmp_path / "r.sqlite").series["time_signal"]["rnn"]
    assert live[0].tolist() == stored[0].tolist() == list(range(len(lengths)))
    np.testing.assert_array_equal(live[1], stored[1])
    assert [int(np.isfinite(r).sum()) for r in live[1]] == lengths
