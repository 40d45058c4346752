"""Regression: ``gd.watch(model, opt, store=with_sinks(existing_path, sink), overwrite=True)`` failed with "already
exists; pass overwrite=True", which the user had just done: with_sinks opens the store itself, before watch() runs,
so watch()'s overwrite= cannot reach it. The error now names with_sinks(..., overwrite=True)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.errors import StoreError
from graddoctor.integrations.sinks import with_sinks


class _Sink:
    def log_batch(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        pass

    def log_findings(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        pass

    def finish(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        pass

    def close(self):  # noqa: ANN201
        pass


def test_existing_store_error_names_with_sinks(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "run.sqlite"
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, store=path):
        model(torch.randn(2, 3)).sum().backward()
        opt.step()
    with pytest.raises(StoreError, match=r"with_sinks\(.*overwrite=True\)"):
        with_sinks(str(path), _Sink())
    store = with_sinks(str(path), _Sink(), overwrite=True)  # what the message says works
    store.close("finished")
