"""Regression: ``model_fn`` returning the same model twice raises CaseError, but one that wraps a module built
outside it (``model_fn=lambda: Classifier(encoder)``, a pretrained encoder loaded once) passed: every seed and
every remedy trained (he_init even re-initialised) that one encoder, so the trials did not start from the same
weights and the user's encoder came back changed. A model holding a parameter or buffer of an earlier one is
now refused with the fix (build or load it inside model_fn, or deep-copy it)."""
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair.case import CaseError


def test_shared_encoder_is_refused_before_training() -> None:
    encoder = nn.Linear(4, 8)
    before = encoder.weight.detach().clone()
    X, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    case = gd.Case(model_fn=lambda: nn.Sequential(encoder, nn.ReLU(), nn.Linear(8, 2)), train=(X, y), steps=5,
                   batch_size=8)
    with pytest.raises(CaseError, match="inside model_fn"):
        gd.repair(case, seeds=2, remedies=["he_init"], progress=False)
    assert torch.equal(encoder.weight, before)


def test_fresh_models_pass() -> None:
    X, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), train=(X, y),
                   steps=5, batch_size=8)
    models = [case.build_model() for _ in range(3)]
    assert len({id(m) for m in models}) == 3
