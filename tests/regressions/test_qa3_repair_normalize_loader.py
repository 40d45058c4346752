"""normalize_inputs on a DataLoader recipe measured the per-feature mean/std on the loader's first batch only
(docs: "training-data mean/std"). A feature that happens to be constant in that batch (a border pixel, a rare
indicator) got std MIN_STD = 1e-3, so its values elsewhere reached the model scaled 1000x. The statistics now
come from up to MAX_SAMPLES training samples of the loader (measured once per recipe, global RNG untouched)."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import graddoctor as gd
from graddoctor.repair import get_remedy
from graddoctor.repair.remedies import RepairContext
from graddoctor.repair.remedies.inputs import InputTransform


def test_statistics_come_from_more_than_the_first_batch() -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.rand(512, 6, generator=g) * 50 + 10      # far from standardised
    X[:32, 0] = 10.0                                    # feature 0 constant in the first batch only
    y = torch.randint(0, 2, (512,), generator=g)
    case = gd.Case(model_fn=lambda: nn.Linear(6, 2), train=DataLoader(TensorDataset(X, y), batch_size=32),
                   steps=4)
    ctx = RepairContext(sample=case.sample_batch())
    state = torch.random.get_rng_state()
    new = get_remedy("normalize_inputs").apply(case, ctx)
    assert torch.equal(torch.random.get_rng_state(), state)
    model = new.build_model()
    assert isinstance(model, InputTransform)
    assert torch.allclose(model.std.double(), X.double().std(0, unbiased=False), rtol=1e-3)
    assert float(((X - model.mean) / model.std).abs().max()) < 5
