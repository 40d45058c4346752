"""Regression: exploding_training ignores its first `warmup` (3) steps for spikes, meant for fast changes of a
finite gradient norm, and so also skipped NaN/Inf norms there. A plain ReLU RNN at 1.5 x identity (SGD lr 1e-5)
whose gradient norm is non-finite from step 1 got "8 gradient-norm spike(s) (first a non-finite gradient
norm)" at step 3, two steps after the non_finite finding's step 1, and named no layer (no finite weight-gradient
norm at that step). A non-finite norm counts from step 1, and the layers are then those with non-finite
gradients."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import graddoctor as gd


class _Seq(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(2, 16, batch_first=True, nonlinearity="relu")
        self.out = nn.Linear(16, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(1.5 * torch.eye(16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0][:, -1])


def test_non_finite_norm_in_warmup_is_the_first_spike():
    torch.manual_seed(0)
    x, y = torch.rand(32, 40, 2), torch.rand(32, 1)
    m = _Seq()
    opt = torch.optim.SGD(m.parameters(), lr=1e-5)
    with gd.watch(m, opt, store=None) as run:
        for _ in range(12):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            run.step(loss=loss)
    d = run.diagnose()
    (nf,) = [f for f in d.problems if f.kind == "non_finite"]
    (f,) = [f for f in d.problems if f.detector == "exploding_training"]
    assert f.step == nf.step == 1
    assert f.layers
