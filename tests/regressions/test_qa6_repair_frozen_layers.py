"""Regression: he_init, xavier_init, orthogonal_init, lsuv_init and use_relu_family's re-initialisation redrew
every Linear/Conv/RNN weight, frozen ones included: fine-tuning a head on a pretrained backbone whose weights
have requires_grad=False (or only their biases trained, BitFit) replaced the backbone with random weights that
could not learn. Frozen layers now keep their weights; a model with only frozen layers is "not applicable"."""
import pytest
import torch
from torch import nn

from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext

X = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
CTX = RepairContext(sample=(X, None))


def _net(bias_trained: bool = False) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 2))
    for layer in (net[0], net[2]):  # the "pretrained backbone"
        layer.weight.requires_grad_(False)
        layer.bias.requires_grad_(bias_trained)
    return net


@pytest.mark.parametrize("bias_trained", [False, True], ids=["frozen", "bitfit"])
@pytest.mark.parametrize("code", ["he_init", "xavier_init", "orthogonal_init", "lsuv_init", "use_relu_family"])
def test_frozen_backbone_keeps_its_weights(code: str, bias_trained: bool) -> None:
    net = _net(bias_trained)
    before = [net[0].weight.clone(), net[2].weight.clone()]
    head = net[4].weight.clone()
    new = get_remedy(code)(net, CTX)
    assert torch.equal(new[0].weight, before[0]) and torch.equal(new[2].weight, before[1])
    if code != "use_relu_family":  # the head feeds no swapped activation
        assert not torch.equal(new[4].weight, head)


def test_all_frozen_is_not_applicable() -> None:
    net = _net()
    net[4].requires_grad_(False)
    with pytest.raises(NotApplicable, match="frozen"):
        get_remedy("he_init")(net, CTX)
