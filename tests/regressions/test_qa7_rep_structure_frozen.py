"""Regression: the re-initialising remedies keep a frozen layer's weights (``requires_grad=False``: a pretrained
backbone under a fine-tuned head), but add_batchnorm, add_layernorm and add_residual rebuilt frozen layers too:
a trainable BatchNorm/LayerNorm went in after each frozen Linear of the backbone (its features, which the head was
to learn from, renormalised), and add_residual wrapped the backbone's blocks as ``x + a*f(x)`` with ``a = 0``, so
at the start the pretrained features were replaced by the block's input. Frozen layers are now left as they are;
the trainable part is still changed."""
import pytest
import torch
from torch import nn

from graddoctor.repair import NotApplicable, get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.residual import Residual


def frozen_backbone() -> nn.Sequential:
    body = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh())
    for p in body.parameters():
        p.requires_grad = False
    return body


class FineTuned(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = frozen_backbone()
        self.head = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x):
        return self.head(self.backbone(x))


def _ctx() -> RepairContext:
    return RepairContext(sample=(torch.randn(16, 8, generator=torch.Generator().manual_seed(0)), None))


@pytest.mark.parametrize("code", ["add_batchnorm", "add_layernorm", "add_residual"])
def test_frozen_backbone_is_left_as_it_is(code: str) -> None:
    torch.manual_seed(0)
    model = FineTuned()
    x = _ctx().sample[0]
    with torch.no_grad():
        features = model.backbone(x)
    new = get_remedy(code)(model, _ctx())
    assert [type(m) for m in new.backbone] == [type(m) for m in model.backbone], new.backbone
    new.eval()
    with torch.no_grad():
        assert torch.equal(new.backbone(x), features)
    # the trainable head is still changed
    assert len(list(new.head.modules())) > len(list(model.head.modules())), new.head
    if code == "add_residual":
        assert any(isinstance(m, Residual) for m in new.head)


@pytest.mark.parametrize("code", ["add_batchnorm", "add_layernorm", "add_residual"])
def test_only_frozen_layers_is_not_applicable(code: str) -> None:
    model = nn.Sequential(frozen_backbone(), nn.Linear(8, 3))
    with pytest.raises(NotApplicable, match="frozen"):
        get_remedy(code)(model, _ctx())
