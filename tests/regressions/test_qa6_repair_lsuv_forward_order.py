"""Regression: lsuv_init rescales layer by layer "in forward order" (Mishkin & Matas 2016: each layer after the
ones that feed it), but took the layers in ``__init__`` order: a head defined before the body was rescaled
first, and rescaling the body afterwards moved the head's output variance far from 1 again. The order now comes
from a forward pass on the training batch."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.lsuv import TOL_VAR


class HeadFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(64, 64)
        self.body = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())

    def forward(self, x):
        return self.head(self.body(x))


def test_every_layer_ends_at_unit_variance() -> None:
    torch.manual_seed(0)
    x = torch.randn(256, 32) * 5.0  # unscaled inputs: the first layer's rescale is large
    new = get_remedy("lsuv_init")(HeadFirst(), RepairContext(sample=(x, None)))
    seen = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, float(o.var())))
               for n, m in new.named_modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        new(x)
    for h in handles:
        h.remove()
    assert all(abs(v - 1.0) < 2 * TOL_VAR for v in seen.values()), seen
