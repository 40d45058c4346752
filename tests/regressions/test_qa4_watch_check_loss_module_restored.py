"""Regression: gd.check restored the model but not a loss that is itself a module with parameters or buffers
(a CosFace/ArcFace margin head, a CRF, a learned loss weighting): its ``.grad`` was left filled by the check's
backward (added to the first training step's gradient when the loop zeroes after backward) and its BatchNorm
statistics were moved. Both are now restored with the model's."""
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd


class CosFace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(5, 16))
        self.bn = nn.BatchNorm1d(16)

    def forward(self, emb, y):
        logits = F.normalize(self.bn(emb)) @ F.normalize(self.W).t()
        return F.cross_entropy(30 * (logits - 0.35 * F.one_hot(y, 5)), y)


def test_a_loss_module_is_left_as_it_was():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))
    crit = CosFace()  # train mode: its BatchNorm statistics move during the pass
    state = {k: v.clone() for k, v in crit.state_dict().items()}
    gd.check(model, torch.randn(16, 8), torch.randint(0, 5, (16,)), crit)
    assert crit.W.grad is None and crit.training
    assert all(torch.equal(v, crit.state_dict()[k]) for k, v in state.items())


def test_the_cli_rerun_leaves_a_loss_module_as_it_was():
    from graddoctor.commands.check import plain_failure

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))
    crit = CosFace()
    state = {k: v.clone() for k, v in crit.state_dict().items()}
    assert plain_failure(model, torch.randn(16, 8), torch.randint(0, 5, (16,)), crit) is None
    assert all(torch.equal(v, crit.state_dict()[k]) for k, v in state.items())
