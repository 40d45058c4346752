"""Regression: gd.check puts the model in train mode with model.train(), which runs the user's train()
override; an override that freezes or unfreezes parameters (fine-tuning code that trains a backbone only in
some phases) left the model with changed requires_grad flags after the check, so the next optimizer step
trained other parameters than before. The snapshot now records every parameter's requires_grad."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


class FreezeInEval(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)

    def train(self, mode: bool = True) -> "FreezeInEval":
        super().train(mode)
        self.backbone.requires_grad_(mode)  # the backbone learns only in train mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.backbone(x)))


def test_requires_grad_restored_after_train_override() -> None:
    model = FreezeInEval().eval()
    flags = [p.requires_grad for p in model.parameters()]
    assert flags == [False, False, True, True]
    gd.check(model, torch.randn(8, 4), torch.randint(0, 2, (8,)), F.cross_entropy)
    assert [p.requires_grad for p in model.parameters()] == flags
    assert not model.training and not model.backbone.training
