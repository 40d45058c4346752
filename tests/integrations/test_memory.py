"""Memory overhead of watching large models (slow: builds 66 M- and 100 M-parameter models; make test-slow).

Counts exactly the tensor storages the Monitor keeps alive beyond its statistics buffers (bench_memory.py);
docs/performance.md has the figures and the peak-RSS measurements."""
from __future__ import annotations

import pytest
import torch

import graddoctor as gd

from .bench_memory import build, held_tensors

#: The overhead budget: memory held beyond the statistics buffers, as a fraction of parameter memory.
BUDGET = 0.05
STATS_BUFFERS = ("_buf", "_loss", "_gn", "_slots")  # the statistics buffers (layers x flush_every)


def _overhead(name: str, **watch_kwargs) -> float:
    torch.manual_seed(0)
    model = build(name)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(4, model[0].in_features)
    with gd.watch(model, opt, detail_every=1, **watch_kwargs) as run:
        for _ in range(2):
            loss = model(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        held = held_tensors(run, model)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return sum(v for k, v in held.items() if k not in STATS_BUFFERS) / params


@pytest.mark.slow
def test_100m_parameters_at_defaults() -> None:
    assert _overhead("wide100m") < BUDGET


@pytest.mark.slow
def test_1000_layers_with_a_smaller_update_sample() -> None:
    assert _overhead("deep1000w256", update_sample=256) < BUDGET


@pytest.mark.slow
def test_1000_layers_at_defaults() -> None:
    # Was 19 %: an unused int64 index per sampled entry and a 4096-entry sample of every 65k-entry weight.
    # The sample is now at most 1/32 of each weight (UPDATE_MAX_FRACTION) and the index is gone.
    assert _overhead("deep1000w256") < BUDGET
