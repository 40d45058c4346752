"""Regression: add_residual's ReZero branch scale was always created as a CPU float32 parameter, whatever the
model: a float64 (or CUDA) model came back with one parameter of another dtype (device) than the rest, which
the optimizer, the saved state_dict and multi-tensor gradient norms then had to mix. It is now created like the
block's own parameters."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.residual import Residual


def test_rezero_scale_follows_the_model_dtype() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                        nn.Linear(8, 2)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    new = get_remedy("add_residual")(net, RepairContext(sample=(x, None)))
    scales = [m.scale for m in new.modules() if isinstance(m, Residual) and m.scale is not None]
    assert scales and all(s.dtype == torch.float64 for s in scales)
    assert {p.dtype for p in new.parameters()} == {torch.float64}
