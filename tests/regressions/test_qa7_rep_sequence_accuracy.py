"""Regression: the default accuracy took the class scores from dimension 1 of the output (PyTorch's (N, C, ...)
layout). A batch-first sequence model (a tagger or a language model: an LSTM or a small transformer whose output is
(N, T, C) against (N, T) targets, its loss_fn flattening both) is classified that way too (N and the
(N, T) targets match), so evaluating it took the argmax over the time steps: with T != C ``gd.repair`` and the
CLI's preflight failed with "The size of tensor a (5) must match the size of tensor b (12)" after the baseline
had trained, and with T == C the accuracy was silently wrong. The class dimension is now the one whose removal
leaves the targets' shape; the constant-output reference (ln C) uses it too."""
import math

import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd

VOCAB, STEPS = 5, 12


class Tagger(nn.Module):
    """Predicts each token of the sequence; ``flip`` makes it wrong on every token."""

    def __init__(self, flip: bool = False) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(-10.0 if flip else 10.0))

    def forward(self, x):
        return self.scale * F.one_hot(x, VOCAB).float()  # (N, T, C)


def flat_cross_entropy(out, y):
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def _case(flip: bool = False) -> gd.Case:
    x = torch.randint(0, VOCAB, (40, STEPS), generator=torch.Generator().manual_seed(0))
    return gd.Case(model_fn=lambda: Tagger(flip), train=(x, x.clone()), loss_fn=flat_cross_entropy, steps=1)


def test_batch_first_sequence_output_is_scored_per_token() -> None:
    case = _case()
    assert case.metric_name == "accuracy"
    _, acc = case.evaluate(Tagger())
    assert acc == 1.0
    _, acc = _case(flip=True).evaluate(Tagger(flip=True))
    assert acc < 0.5  # the largest score is never the token's
    assert math.isclose(case.constant_loss(), math.log(VOCAB), rel_tol=1e-6)


def test_pytorch_layout_is_unchanged() -> None:
    x = torch.randint(0, VOCAB, (40, STEPS), generator=torch.Generator().manual_seed(0))

    class ChannelsFirst(Tagger):
        def forward(self, x):
            return super().forward(x).transpose(1, 2)  # (N, C, T)

    case = gd.Case(model_fn=ChannelsFirst, train=(x, x.clone()), loss_fn=F.cross_entropy, steps=1)
    assert case.evaluate(ChannelsFirst())[1] == 1.0
