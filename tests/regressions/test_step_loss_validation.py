"""Regression: run.step(loss=<non-scalar>) raised a clear ModelError without an optimizer, but with one the
same mistake was swallowed as an "internal error" that silently stopped watching. Both now raise the
ModelError naming the shape. Also: a model on the meta device used to be accepted and then failed at the
first flush; it is now refused by watch() with an error that says what to do."""
import pytest
import torch
from torch import nn

import graddoctor as gd


def test_non_scalar_loss_with_optimizer_raises_clear_error():
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt) as run:
        out = model(torch.randn(3, 4))
        out.sum().backward()
        opt.step()
        with pytest.raises(gd.ModelError, match="scalar loss"):
            run.step(loss=out)
    assert run.error is None


def test_meta_model_refused():
    with pytest.raises(gd.ModelError, match="meta device"):
        gd.watch(nn.Linear(4, 2, device="meta"))
