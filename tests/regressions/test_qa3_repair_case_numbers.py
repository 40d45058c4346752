"""Case accepted steps/batch_size of any type (``steps="10"`` from a config file, ``steps=2.7``, ``steps=True``)
and a non-callable metric_fn, then failed inside repair() with a TypeError (or silently trained 3 steps for
2.7); ``steps=None``/``nan`` and 0-dim tensors raised TypeError/ValueError/IndexError instead of CaseError.
All are rejected when the Case is built, with a CaseError naming the field; whole-number floats still work."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair.case import CaseError

X, Y = torch.randn(16, 5), torch.randint(0, 3, (16,))


def _case(**kw: Any) -> gd.Case:
    return gd.Case(model_fn=lambda: nn.Linear(5, 3), train=kw.pop("train", (X, Y)), **kw)


@pytest.mark.parametrize("bad", ["10", 2.7, 0.5, None, float("nan"), True, 0, -3])
@pytest.mark.parametrize("field", ["steps", "batch_size"])
def test_steps_and_batch_size_must_be_whole_numbers(field: str, bad: Any) -> None:
    with pytest.raises(CaseError, match=field):
        _case(**{field: bad})


@pytest.mark.parametrize("good", [12, 12.0, np.int64(12)])
def test_whole_numbers_are_stored_as_int(good: Any) -> None:
    case = _case(steps=good, batch_size=good)
    assert type(case.steps) is int and case.steps == 12
    assert type(case.batch_size) is int and case.batch_size == 12
    assert len(list(case.batches(0))) == 12


def test_metric_fn_must_be_callable() -> None:
    with pytest.raises(CaseError, match="metric_fn"):
        _case(metric_fn=3)


@pytest.mark.parametrize("train", [(torch.tensor(1.0), torch.tensor(1)), (X, torch.tensor(1))])
def test_zero_dim_tensors(train: Any) -> None:
    with pytest.raises(CaseError, match="0-dim"):
        _case(train=train)
