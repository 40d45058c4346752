"""Regression (QA of the diagnosis outside the corpus): a 3-layer ReLU regression MLP trained with MSE on
targets 0-9 (not standardised) was an exploding_gradient "the signal grows through the layers" with cause
depth_without_normalization. Its head's relative gradient is 19.5 because the loss gradient is large, while
the backward signal shrinks towards the input (first/last 0.40) and the forward one too (0.23): nothing grows
through the layers. The finding now names the cause large_loss_gradient and no init/depth cause; standardised
targets stay silent."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


def _mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))


def _batch(standardised: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 64, generator=g)
    y = torch.randint(0, 10, (64, 1), generator=g).float()
    return x, ((y - 4.5) / 2.87 if standardised else y)


def test_large_targets_are_not_a_depth_problem() -> None:
    for seed in (0, 1):
        torch.manual_seed(seed)
        x, y = _batch(False)
        found = gd.check(_mlp(), x, y, F.mse_loss).by_kind("exploding_gradient")
        assert found and found[0].causes[0] == "large_loss_gradient"
        assert "depth_without_normalization" not in found[0].causes
        assert "init_scale_too_large" not in found[0].causes
        assert found[0].evidence["gradient_enters_large"] is True
        assert found[0].layers[-1] == "4"


def test_standardised_targets_are_silent() -> None:
    torch.manual_seed(0)
    x, y = _batch(True)
    assert not gd.check(_mlp(), x, y, F.mse_loss).problems
