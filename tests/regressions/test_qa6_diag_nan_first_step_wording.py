"""Regression: a model whose forward takes torch.sqrt of a Linear's output (negative half: NaN) before its
last layer `c` is NaN from step 0. The run's non_finite finding said "the first NaN/Inf appears at step 0 in c,
with a steady gradient norm before it: the layers before it were finite, so look for log, sqrt, division or exp
inside it": there is no gradient norm before the first recorded step, and `c` is a plain nn.Linear; the sqrt
ran in the parent's forward, on c's input, which the run cannot tell apart from an op inside c. The message
now says it is the first recorded step and names both places."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import graddoctor as gd


class _M(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(torch.sqrt(self.b(torch.relu(self.a(x)))))


def test_nan_at_first_step_not_called_steady_and_parent_forward_named():
    torch.manual_seed(0)
    m = _M()
    x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    with gd.watch(m, opt, store=None) as run:
        for _ in range(5):
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    (f,) = [f for f in run.diagnose().problems if f.kind == "non_finite"]
    assert f.step == 0 and f.origin == "c" and f.causes == ["unsafe_op"]
    assert "before it:" not in f.message and "first recorded step" in f.message
    assert "parent" in f.message
