"""Regression: add_batchnorm put an ``nn.BatchNorm1d(F)`` after every hidden Linear, but a Linear applied per
time step outputs ``(N, T, F)`` and BatchNorm1d reads dimension 1 as the features: the remedy was "not
applicable: the transformed model no longer runs" when T != F, and silently normalised over the time steps
when T == F. Such a Linear now gets a BatchNorm over its last dimension."""
import torch
from torch import nn

from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def test_per_time_step_linear_gets_feature_batchnorm() -> None:
    x = torch.randn(8, 16, 4) * 3 + 1  # T == 16 == F: the wrong axis would have run silently
    new = get_remedy("add_batchnorm")(_net(), RepairContext(sample=(x, None)))
    new.train()
    h = new[1](new[0](x))  # the first Linear's output, normalised per feature over every (sample, time step)
    flat = h.reshape(-1, 16)
    torch.testing.assert_close(flat.mean(0), torch.zeros(16), atol=1e-5, rtol=0)
    assert new(torch.randn(8, 5, 4)).shape == (8, 5, 3)  # another sequence length runs too
    from graddoctor.repair.remedies.normalization import FeatureBatchNorm

    norms = [m for m in new if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 2 and all(isinstance(m, FeatureBatchNorm) for m in norms), new


def test_flat_inputs_keep_plain_batchnorm() -> None:
    new = get_remedy("add_batchnorm")(_net(), RepairContext(sample=(torch.randn(8, 4), None)))
    norms = [m for m in new if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 2 and all(type(m) is nn.BatchNorm1d for m in norms), new
