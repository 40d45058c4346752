"""Regression (found by the QA7 diagnosis pass on the repair benchmark's `sqrt_of_zero`): a model that
normalises a ReLU layer's output by hand, h / sqrt(sum h^2), is NaN from step 0 (an all-zero row: 0/0), and the
same op's huge derivative on a row with a tiny norm makes the first SGD update of the layer before it 14 % of its
weights. The run's non_finite finding gave the single cause `learning_rate_too_high` (remedies: lower the
learning rate, clip) because "the first update exceeded 10 % of the weights"; but step 0's forward ran before
any update, so nothing the optimizer did can have made that NaN. The first update now counts only when the first
NaN/Inf comes after it: the finding is a sudden NaN with cause `unsafe_op`."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import graddoctor as gd


class _NormNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 3)
        with torch.no_grad():
            self.a.weight.copy_(torch.eye(4))
            self.a.bias.fill_(-0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.a(x))
        return self.b(h / torch.sqrt((h * h).sum(1, keepdim=True)))


def test_nan_in_the_first_forward_is_not_put_down_to_the_learning_rate() -> None:
    torch.manual_seed(0)
    m = _NormNet()
    x = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.2002, 0.2005, 0.0, 0.0], [1.0, 0.5, 0.3, 0.9]])
    y = torch.tensor([0, 1, 2])
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    with gd.watch(m, opt, store=None) as run:
        for _ in range(3):
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(loss=loss)
    assert float(run.data.stat("update_ratio")[0, 0]) > 0.1  # the op's derivative, not the learning rate
    (f,) = [f for f in run.diagnose().problems if f.kind == "non_finite"]
    assert f.step == 0 and f.origin == "b"
    assert f.causes == ["unsafe_op"] and f.evidence["sudden"] is True
    assert "lower_learning_rate" not in f.remedies
