"""The Monitor's fast paths give the same numbers as the reference per-layer computations."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.stats.tensor_stats import (
    activation_batch_stats,
    activation_sample,
    activation_sample_stats,
    dead_units_fast,
)


@pytest.mark.parametrize("kind,module", [("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh()), ("relu", nn.ReLU()),
                                         ("leaky_relu", nn.LeakyReLU(0.2)), ("hardtanh", nn.Hardtanh(-2, 2)),
                                         ("elu", nn.ELU(0.5)), ("softsign", nn.Softsign()), (None, None)])
@pytest.mark.parametrize("shape", [(64, 300), (8, 16, 5, 5), (3, 7)])
def test_batched_activation_stats_match_per_layer(kind: str | None, module: nn.Module | None,
                                                  shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    outs = [torch.randn(*shape) * 3 for _ in range(3)]
    if module is not None:
        outs = [module(o) for o in outs]
    outs[0].view(-1)[5] = float("nan")
    outs[1].view(-1)[2] = float("inf")
    unit_dim = 1 if len(shape) == 4 else -1
    ref = torch.stack([activation_sample_stats(kind, o, module, unit_dim, 512)[0] for o in outs])
    samples = [activation_sample(o, 512) for o in outs]
    dead = torch.stack([dead_units_fast(o, unit_dim)[0] if kind == "relu" else torch.tensor(float("nan"))
                        for o in outs])
    got = activation_batch_stats(kind, torch.stack([x for x, _ in samples]), dead, module, samples[0][1])
    assert torch.allclose(ref, got, equal_nan=True, rtol=1e-5, atol=1e-4)


def test_sample_is_a_copy() -> None:
    """An in-place change of the output after the hook must not change the recorded sample."""
    a = torch.rand(4, 10)
    x, _ = activation_sample(a)
    a.add_(100)
    assert float(x.max()) < 1.5


def _run_many_calls(calls: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gd.watch(model, opt, detail_every=1) as run:
        for _ in range(3):
            opt.zero_grad()
            loss = sum(model(torch.randn(2, 4)).pow(2).mean() for _ in range(calls))
            loss.backward()
            opt.step()
    return {k: torch.from_numpy(v) for k, v in run.data.layer_stats.items()}


def test_overflowing_slots_fold_into_the_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module called more times in one step than the slots hold (200 calls x 2 layers x 12 values >
    16 x 2 + 256 slots) records the same statistics as with room for everything."""
    from graddoctor.probe import monitor

    small = _run_many_calls(200)
    monkeypatch.setattr(monitor, "SLOTS_BASE", 100_000)
    big = _run_many_calls(200)
    for k in ("signal_norm", "in_signal_norm", "out_mean", "out_rms", "act_mean", "act_saturated", "act_deriv"):
        assert torch.allclose(small[k], big[k], rtol=1e-4, equal_nan=True), k
    assert torch.isfinite(small["signal_norm"]).all()
