"""Regression: a Case stopped pickling (TypeError: cannot pickle 'weakref.ReferenceType' object) once it kept a
weak set of the models its model_fn built (to refuse ``model_fn=lambda: net``, f0da0e3), so a recipe could no
longer be sent to a worker process or saved. Pickling and deep copies now leave that set out; the copy starts
with an empty one and still refuses a model_fn that returns one model twice."""
import copy
import pickle

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.repair.case import CaseError

SHARED = nn.Linear(2, 2)


def _shared() -> nn.Module:
    return SHARED


def test_case_pickles_and_copies():
    case = gd.Case(model_fn=nn.Sequential, train=(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)), steps=7)
    case.build_model()
    for other in (pickle.loads(pickle.dumps(case)), copy.deepcopy(case)):
        assert other.steps == 7 and isinstance(other.build_model(), nn.Sequential)
    shared = pickle.loads(pickle.dumps(gd.Case(model_fn=_shared, train=case.train)))
    shared.build_model()
    with pytest.raises(CaseError, match="same Linear object twice"):
        shared.build_model()
