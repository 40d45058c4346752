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


def _finite_percentiles_reference(p: torch.Tensor, qs: tuple[float, ...]) -> torch.Tensor:
    """Nearest rank among the finite entries of each row, in plain Python."""
    import math
    out = []
    for row in p.tolist():
        f = sorted(v for v in row if math.isfinite(v))
        out.append([f[int(q * (len(f) - 1) + 0.5)] if f else float("nan") for q in qs])
    return torch.tensor(out, dtype=p.dtype)


def test_finite_percentiles_topk_and_sort_paths_match_a_python_reference() -> None:
    """finite_percentiles reads ranks near either end with topk and others with a sort
    (TOPK_MAX_FRACTION): both must give exactly the nearest-rank percentile of the finite entries, with ties,
    NaN/Inf mixed in, rows with one or no finite entry, and any order of qs."""
    from graddoctor.stats.tensor_stats import finite_percentiles

    g = torch.Generator().manual_seed(0)
    bad = torch.tensor([float("nan"), float("inf"), float("-inf")])
    for trial in range(400):
        r = int(torch.randint(1, 5, (1,), generator=g))
        m = int(torch.randint(1, 700, (1,), generator=g))
        p = torch.randn(r, m, generator=g) * 10 ** float(torch.randint(-3, 4, (1,), generator=g))
        if trial % 3:
            p = p.round()  # ties
        mask = torch.rand(r, m, generator=g) < float(torch.rand(1, generator=g)) * (trial % 2)
        p = torch.where(mask, bad[torch.randint(0, 3, (r, m), generator=g)], p)
        if trial % 7 == 0:
            p[0] = float("nan")  # a row without a finite entry
        for qs in ((0.02, 0.98), (0.5,), (0.1, 0.9), (0.0, 1.0), (0.98, 0.02), (0.3, 0.7)):
            got, want = finite_percentiles(p, qs), _finite_percentiles_reference(p, qs)
            assert torch.equal(got.isnan(), want.isnan()), (trial, qs)
            assert torch.equal(got.nan_to_num(7.5), want.nan_to_num(7.5)), (trial, qs)
