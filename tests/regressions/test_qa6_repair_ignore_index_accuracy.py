"""Regression: Case.evaluate's accuracy divided the right predictions by every target value, also those that
are no class (F.cross_entropy's ignore_index -100: padding tokens of a sequence tagger, unlabelled pixels), so a
model right on every real token of sequences half padding scored 0.5; chance_accuracy counted them in its total
too. Both now leave negative targets out, as the loss does."""
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd


class Tagger(nn.Module):
    """Class scores (N, C, T) that are right on every token: the target is the token's own value."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        return self.scale * F.one_hot(x, 3).float().transpose(1, 2)


def test_padding_is_not_counted_in_accuracy() -> None:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 3, (20, 8), generator=g)
    targets = tokens.clone()
    targets[:, 4:] = -100  # half of every sequence is padding
    case = gd.Case(model_fn=Tagger, train=(tokens, targets), steps=1, batch_size=10)
    assert case.metric_name == "accuracy"
    _, acc = case.evaluate(Tagger())
    assert acc == 1.0
    real = targets[targets >= 0]
    assert abs(case.chance_accuracy() - float(torch.bincount(real).max()) / real.numel()) < 1e-12
