"""Detectors on synthetic statistics: each fires on its pattern, stays quiet without it, and degrades
gracefully when statistics are missing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graddoctor as gd
from graddoctor.diagnosis import diagnose_run
from graddoctor.diagnosis.context import Context, robust_slope
from graddoctor.diagnosis.detectors import REGISTRY, build_detectors
from graddoctor.diagnosis.detectors.temporal import Temporal
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def _run(n_layers=1, n_steps=1, series=None, types=None, **stats):
    layers = [LayerInfo(index=i, name=f"l{i}", type=(types or ["Linear"] * n_layers)[i], order=i,
                        info={"fan_in": 8, "fan_out": 8, "params": {"weight": [8, 8]}}) for i in range(n_layers)]
    ls = {k: np.full((n_layers, n_steps), np.nan, dtype=np.float32) for k in LAYER_STATS}
    ls.update({k: np.asarray(v, dtype=np.float32) for k, v in stats.items()})
    step_stats = {"loss": np.full(n_steps, np.nan), "total_grad_norm": np.full(n_steps, np.nan),
                  "nonfinite_grads": np.zeros(n_steps)}
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=ls, step_stats=step_stats,
                   series=series or {})


def test_registry_has_every_builtin_and_documented_thresholds():
    dets = build_detectors()
    assert {d.name for d in dets} == set(REGISTRY) >= {"vanishing_depth", "exploding_depth", "temporal",
                                                        "saturation", "dead_units", "non_finite", "stalled",
                                                        "weight_decay", "exploding_training", "init_audit"}
    for d in dets:
        assert type(d).__doc__ and "Args:" in type(d).__doc__, d.name
        for arg in d.thresholds():
            assert arg in type(d).__doc__, (d.name, arg)


def test_time_axis_vanishing_and_exploding():
    T = 50
    decay = 0.8 ** np.arange(T)[::-1]  # last step nearest the loss = 1
    series = {"time_signal": {"rnn": (np.array([0]), decay[None, :].astype(np.float32))}}
    data = _run(series=series, types=["RNN"])
    data.layers[0].name = "rnn"
    f = Temporal().detect(Context.from_run(data, source="check"))
    assert f[0].kind == "vanishing_gradient" and f[0].axis == "time"
    assert f[0].evidence["memory_horizon"] == 31  # 0.8**31 < 1e-3 <= 0.8**30
    assert f[0].evidence["per_step_factor"] == pytest.approx(0.8, rel=1e-3)
    assert "plain_rnn_long_sequence" in f[0].causes and f[0].remedies[0] == "use_lstm_or_gru"
    grow = {"time_signal": {"rnn": (np.array([0]), (1.3 ** np.arange(T)[::-1])[None, :].astype(np.float32))}}
    data = _run(series=grow, types=["RNN"])
    data.layers[0].name = "rnn"
    f = Temporal().detect(Context.from_run(data, source="check"))
    assert f[0].kind == "exploding_gradient" and f[0].remedies[0] == "clip_grad_norm"
    flat = {"time_signal": {"rnn": (np.array([0]), np.ones((1, T), dtype=np.float32))}}
    data = _run(series=flat, types=["RNN"])
    data.layers[0].name = "rnn"
    assert Temporal().detect(Context.from_run(data, source="check")) == []


def test_gated_layer_is_info_only():
    decay = (0.8 ** np.arange(50)[::-1])[None, :].astype(np.float32)
    data = _run(series={"time_signal": {"l0": (np.array([0]), decay)}}, types=["LSTM"])
    f = Temporal().detect(Context.from_run(data, source="check"))
    assert f[0].severity == "info" and "forget_gate_closed" in f[0].causes


def test_non_finite_first_step_and_origin():
    out_nf = np.zeros((3, 6))
    out_nf[1, 4:] = 0.5
    out_nf[2, 4:] = 1.0
    data = _run(3, 6, out_nonfinite=out_nf)
    data.step_stats["loss"] = np.array([1.0, 1.0, 1.0, 1.0, np.nan, np.nan])
    diag = diagnose_run(data)
    f = diag.by_kind("non_finite")[0]
    assert f.step == 4 and f.origin == "l1" and f.severity == "critical"


def test_nan_loss_not_logged_is_not_non_finite():
    data = _run(2, 5, out_nonfinite=np.zeros((2, 5)))
    assert not diagnose_run(data).by_kind("non_finite")  # NaN loss = never logged


def test_gradient_spike_in_training():
    g = np.ones(20)
    g[12] = 500.0
    data = _run(1, 20, weight_grad_norm=np.ones((1, 20)))
    data.step_stats["total_grad_norm"] = g
    f = [f for f in diagnose_run(data).findings if f.detector == "exploding_training"]
    assert f and f[0].step == 12 and "gradient_cliff" in f[0].causes


def test_missing_statistics_degrade_gracefully():
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    with gd.watch(model, opt, activations=False) as run:  # parameter statistics only
        for _ in range(3):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    diag = run.diagnose()
    assert diag.healthy and len(diag.layers) == 2
    with gd.watch(model) as empty:
        pass
    assert diagnose_run(empty.data).findings == []


def test_diagnose_rejects_wrong_types():
    with pytest.raises(TypeError, match="RunData"):
        diagnose_run("run.sqlite")
    with pytest.raises(TypeError, match="store path or a RunData"):
        gd.diagnose(42)
    with pytest.raises(gd.StoreError):
        gd.diagnose("/nonexistent/run.sqlite")


def test_robust_slope_ignores_an_outlier():
    x = np.arange(10.0)
    y = 2 * x
    y[7] = 100.0
    assert robust_slope(x, y) == pytest.approx(2.0)
    assert np.isnan(robust_slope(np.array([1.0]), np.array([1.0])))


@pytest.mark.parametrize("first_over_last,flagged", [(20.0, False), (1e3, True)])
def test_backward_growth_threshold(first_over_last, flagged):
    """A residual+BatchNorm net's first-layer gradient 10-20x the last is healthy; 1000x is exploding."""
    n = 8
    sig = np.geomspace(first_over_last, 1.0, n)[:, None]
    data = _run(n, 1, signal_norm=sig, grad_ratio=np.full((n, 1), 0.01), act_rms=np.ones((n, 1)),
                weight_norm=np.full((n, 1), 1.0))
    found = [f for f in diagnose_run(data).problems if f.kind == "exploding_gradient"]
    assert bool(found) == flagged


@pytest.mark.parametrize("opt,flagged", [("SGD", True), ("Adam", False)])
def test_weight_decay_only(opt, flagged):
    """He et al. 2015 footnote 2: data gradient far below the decay term (SGD only; Adam rescales it)."""
    data = _run(3, 12, grad_ratio=np.full((3, 12), 1e-7))
    data.meta["optimizer"] = {"class": opt, "param_groups": [{"lr": 0.01, "weight_decay": 5e-4}]}
    f = [f for f in diagnose_run(data).findings if "weight_decay_only" in f.causes]
    assert bool(f) == flagged
    if flagged:
        assert f[0].kind == "vanishing_gradient" and f[0].layers == ["l0", "l1", "l2"]
