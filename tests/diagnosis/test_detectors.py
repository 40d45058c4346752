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
from graddoctor.diagnosis.detectors.dead_units import DeadUnits
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


def _depth_run(sig, grad_ratio):
    n = len(sig)
    return _run(n, 1, signal_norm=np.asarray(sig, dtype=float)[:, None],
                grad_ratio=np.asarray(grad_ratio, dtype=float)[:, None], act_rms=np.ones((n, 1)))


@pytest.mark.parametrize("gain,flagged", [(0.25, True), (0.3, True), (0.41, False), (0.6, False), (1.0, False)])
def test_vanishing_per_layer_rate(gain, flagged):
    """Nielsen's 3-hidden-layer shape: three fitted layers (plus the head) whose signal shrinks by ``gain`` per
    layer. At 0.3 the first/last ratio is 0.09, far above the total-route 0.05, so only the per-layer rate
    (max_signal_gain 0.32 over >= 2 transitions) catches it; 0.41 is a ReLU layer at PyTorch's default init
    (sqrt(1/6)), not a steep rate (tests/regressions/test_qa3_diag_default_init_pyramid.py)."""
    sig = [gain ** 2, gain, 1.0, 1.0]  # the head (last) is left out of the fit
    gr = [0.4 ** 2 * 0.05, 0.4 * 0.05, 0.05, 0.05]  # weight gradients decay too (0.4 per layer)
    v = [f for f in diagnose_run(_depth_run(sig, gr)).problems if f.kind == "vanishing_gradient"]
    assert bool(v) == flagged
    if flagged:
        assert v[0].evidence["signal_decay_route"] == "rate" and v[0].evidence["layer_transitions"] == 2
        assert v[0].evidence["signal_gain_per_layer"] == pytest.approx(gain, rel=1e-3)


def test_vanishing_one_transition_is_not_a_trend():
    """Nielsen's 2-hidden-layer net (first layer 1/4.7 of the second) is not flagged; the total route
    (first/last < 0.05) still flags a single huge drop."""
    gr = [0.01, 0.05, 0.05]
    assert not diagnose_run(_depth_run([1 / 4.7, 1.0, 1.0], gr)).by_kind("vanishing_gradient")
    assert diagnose_run(_depth_run([0.01, 1.0, 1.0], gr)).by_kind("vanishing_gradient")


def test_vanishing_compensated_is_info():
    """Glorot & Bengio Fig. 8: the signal shrinks (0.3 per layer) but the weight gradients stay uniform."""
    sig = [0.3 ** 3, 0.3 ** 2, 0.3, 1.0, 1.0]
    f = diagnose_run(_depth_run(sig, [0.01] * 5)).by_kind("vanishing_gradient")
    assert f and f[0].severity == "info" and f[0].evidence["pattern"] == "compensated"


def _relu_run(dead, update=0.01, loss=None):
    """A run of 3 ReLU layers; ``dead`` is (layers x steps) act_dead, NaN on non-detail steps."""
    dead = np.asarray(dead, dtype=float)
    n, steps = dead.shape
    data = _run(n, steps, act_dead=dead, update_ratio=np.full((n, steps), update))
    for layer in data.layers:
        layer.activation = "relu"
    data.step_stats["loss"] = np.asarray(loss if loss is not None else np.linspace(2.0, 1.0, steps))
    return data


def _detail(values, steps=25, every=10):
    """act_dead measured on detail steps 0, 10, 20 only (NaN elsewhere), like watch()'s defaults."""
    out = np.full((len(values), steps), np.nan)
    for i, v in enumerate(values):
        out[i, ::every] = v
    return out


def test_dead_units_threshold_is_above_the_init_baseline():
    """About half of a deep He-init ReLU layer is off for a whole batch at init (collinear samples): 0.55 is
    not a problem, 0.75 is (DeepDiagnosis's 70 %), 0.95 is critical."""
    for frac, sev in ((0.55, None), (0.75, "warning"), (0.95, "critical")):
        data = _relu_run(np.array([[0.1], [frac], [0.2]]))
        f = DeadUnits().detect(Context.from_run(data, source="check"))
        assert (f[0].severity if f else None) == sev
        if f:
            assert f[0].layers == ["l1"]


def test_dead_units_in_a_run_need_every_measured_step():
    """Dead on the first step only (revived later) or on one measured step is not dead; dead on every measured
    step after the first is. Non-detail steps (NaN) are skipped, not read as 'alive'."""
    revived = _relu_run(_detail([[0.0, 0.0, 0.0], [0.95, 0.3, 0.2], [0.0, 0.0, 0.0]]))
    assert not DeadUnits().detect(Context.from_run(revived))
    once = _relu_run(_detail([[0.0, 0.0, 0.0], [0.0, 0.95, 0.1], [0.0, 0.0, 0.0]]))
    assert not DeadUnits().detect(Context.from_run(once))
    died = _relu_run(_detail([[0.0, 0.0, 0.0], [0.0, 0.95, 1.0], [0.0, 0.0, 0.0]]))
    f = DeadUnits().detect(Context.from_run(died))
    assert f and f[0].layers == ["l1"] and f[0].severity == "critical" and f[0].step == 10
    assert f[0].evidence["steps_examined"] == [10, 20] and "high_learning_rate_relu" in f[0].causes


def test_stalled_learning_defers_to_dead_units():
    """Every ReLU died: updates are exactly 0 and the loss is flat. dead_units (critical) is the problem;
    stalled_learning is info with cause dead_relu_units, not a second problem."""
    flat = np.full(25, 2.0)
    data = _relu_run(_detail([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), update=0.0, loss=flat)
    diag = diagnose_run(data)
    assert {f.kind for f in diag.problems} == {"dead_units"}
    s = diag.by_kind("stalled_learning")
    assert s and s[0].severity == "info" and s[0].causes == ["dead_relu_units"]
    assert s[0].evidence["explained_by"] == "dead_units" and s[0].remedies[0] == "lower_learning_rate"
    alive = _relu_run(_detail([[0.0, 0.1, 0.1]] * 3), update=0.0, loss=flat)  # stalled, units alive
    s = diagnose_run(alive).by_kind("stalled_learning")
    assert s and s[0].severity == "warning" and "dead_relu_units" not in s[0].causes


@pytest.mark.parametrize("first_update,flagged", [(1.0, True), (0.05, False)])
def test_oversized_update_is_an_exploding_step(first_update, flagged):
    """SGD at a huge learning rate: the first step moves the weights by their own norm, then the ReLUs die and
    the gradient norm collapses (no spike, nothing non-finite). The step itself is the exploding signature."""
    steps = 25
    upd = np.full((3, steps), np.nan)
    upd[:, 0] = first_update
    upd[:, 10::10] = 0.0
    data = _run(3, steps, update_ratio=upd, weight_grad_norm=np.ones((3, steps)))
    data.step_stats["total_grad_norm"] = np.concatenate([[1.0, 0.5], np.full(steps - 2, 1e-3)])
    f = [f for f in diagnose_run(data).findings if f.detector == "exploding_training"]
    assert bool(f) == flagged
    if flagged:
        assert f[0].kind == "exploding_gradient" and f[0].step == 0 and f[0].severity == "warning"
        assert f[0].causes == ["learning_rate_too_high"] and f[0].remedies[0] == "lower_learning_rate"
        assert f[0].evidence["oversized_updates"] == [{"step": 0, "median_update_ratio": first_update}]


def _gated_run(ratio_last: float, last_step: int, ltype: str = "LSTM"):
    T = 100
    first = (0.8 ** np.arange(T)[::-1]).astype(np.float32)  # at step 0: the usual fast forgetting
    last = np.geomspace(ratio_last, 1.0, T).astype(np.float32)
    data = _run(series={"time_signal": {"l0": (np.array([0, last_step]), np.stack([first, last]))}},
                types=[ltype])
    return Temporal().detect(Context.from_run(data, source="watch"))


def test_gated_layer_still_closed_after_long_training_is_a_warning():
    """The lab's LSTM with forget bias 1 on temporal order T=100: 3,000 updates, 100 % wrong, and the
    gradient 40 steps back still 5.9e-12 of the last step's (docs/lab/rnn-memory.md)."""
    f = _gated_run(1e-11, 3000)
    assert f[0].severity == "warning" and f[0].kind == "vanishing_gradient" and f[0].axis == "time"
    assert f[0].evidence["steps_trained"] == 3000
    assert "forget_gate_closed" in f[0].causes and f[0].remedies == ["forget_gate_bias", "orthogonal_init"]


def test_gated_layer_early_or_healthy_stays_info():
    assert _gated_run(1e-11, 15)[0].severity == "info"      # 15 steps: it may still learn to open its gates
    assert all(x.severity == "info" for x in _gated_run(1e-4, 3000))  # decays, but within critical_ratio
    assert _gated_run(0.5, 3000) == []                       # gates open: no vanishing at all
    assert _gated_run(1e-11, 3000, "GRU")[0].severity == "warning"


def _sigmoid_mlp(std: float | None):
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list = []
    for _ in range(4):
        lin = nn.Linear(64, 64)
        if std is not None:
            nn.init.normal_(lin.weight, 0.0, std)
        layers += [lin, nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def _check_saturation(model):
    import torch

    import graddoctor as gd

    torch.manual_seed(1)
    x, y = torch.randn(256, 64), torch.randint(0, 10, (256,))
    return [f for f in gd.check(model, x, y, torch.nn.functional.cross_entropy).findings
            if f.kind == "saturation"]


def test_partly_saturated_sigmoids_with_oversized_weights_are_a_warning():
    """The repair benchmark's sigmoid4_big_init: N(0, 1) weights (64x Xavier), 16-32 % of units flat, mean
    derivative about a third of its maximum, 65 % accuracy, and (before this rule) no finding."""
    f = _check_saturation(_sigmoid_mlp(1.0))
    assert f and f[0].severity == "warning" and f[0].evidence["pattern"] == "low_mean_derivative"
    assert "init_scale_too_large" in f[0].causes
    assert all(v < 0.4 for v in f[0].evidence["mean_derivative_of_max"].values())


def test_sigmoids_at_sane_scales_are_not_partly_saturated():
    assert _check_saturation(_sigmoid_mlp(None)) == []            # PyTorch's default init
    assert _check_saturation(_sigmoid_mlp((1 / 64) ** 0.5)) == []  # Xavier for 64 -> 64


def _slow_run(update, n_steps=60, loss_end=2.29):
    """Three layers with per-layer update ratios ``update`` on every step; the loss goes 2.30 -> loss_end."""
    u = np.tile(np.asarray(update, dtype=np.float32)[:, None], (1, n_steps))
    data = _run(3, n_steps, update_ratio=u)
    data.step_stats["loss"] = np.linspace(2.30, loss_end, n_steps)
    return data


@pytest.mark.parametrize("update,n_steps,loss_end,fires", [
    ([3e-5, 3e-5, 7e-5], 60, 2.29, True),     # small, uniform, no progress: too low a learning rate
    ([3e-5, 3e-5, 7e-5], 60, 1.50, False),    # the loss falls: a slow but working rate
    ([1e-3, 3e-3, 1e-2], 60, 2.29, False),    # healthy-sized updates
    ([1e-9, 1e-6, 5e-5], 60, 2.29, False),    # spread over 5e4: a vanishing profile, not the step size
    ([3e-5, 3e-5, 7e-5], 30, 2.29, False),    # too few steps to judge
])
def test_stalled_by_a_low_learning_rate(update, n_steps, loss_end, fires):
    from graddoctor.diagnosis.detectors.stalled import Stalled
    f = Stalled().detect(Context.from_run(_slow_run(update, n_steps, loss_end)))
    if not fires:
        assert not [x for x in f if "learning_rate_too_low" in x.causes]
        return
    assert len(f) == 1 and f[0].kind == "stalled_learning" and f[0].severity == "warning"
    assert f[0].causes == ["learning_rate_too_low"] and f[0].remedies == ["raise_learning_rate", "use_adam"]
    assert f[0].evidence["update_spread"] == pytest.approx(7 / 3, rel=1e-3)
    assert "learning rate is too low" in f[0].message


def test_tiny_updates_stay_the_stalled_tier():
    """Every layer below 1e-5 is He's "completely stalled" net (init/depth causes), not a learning-rate finding."""
    from graddoctor.diagnosis.detectors.stalled import Stalled
    f = Stalled().detect(Context.from_run(_slow_run([1e-7, 2e-7, 1e-7])))
    assert f and "learning_rate_too_low" not in f[0].causes


def _loss_run(loss):
    data = _run(2, len(loss))
    data.step_stats["loss"] = np.asarray(loss, dtype=float)
    return data


def _falling(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return np.linspace(2.3, 0.5, n) * np.exp(rng.normal(0, 0.2, n))  # noisy mini-batch losses, falling


@pytest.mark.parametrize("case,fires", [("spikes", True), ("healthy", False), ("one_spike", False),
                                        ("short", False), ("negative", False), ("not_logged", False),
                                        ("never_learned", False)])
def test_unstable_loss(case, fires):
    from graddoctor.diagnosis.detectors.unstable import UnstableLoss
    loss = _falling()
    if case == "spikes":
        loss[[40, 47, 52]] = [4.0, 3.9, 4.2]
    elif case == "one_spike":
        loss[40] = 4.0
    elif case == "short":
        loss = loss[:40]
        loss[[25, 30]] = 4.0
    elif case == "negative":
        loss = loss - 3.0
    elif case == "not_logged":
        loss[:] = np.nan
    elif case == "never_learned":  # noise around the starting (chance) level, crossing 1.1x now and then
        loss = 2.3 * np.exp(np.random.default_rng(1).normal(0, 0.08, 60))
        loss[[40, 47, 52]] = [2.6, 2.7, 2.6]
    f = UnstableLoss().detect(Context.from_run(_loss_run(loss)))
    if not fires:
        assert f == []
        return
    assert len(f) == 1 and f[0].kind == "unstable_loss" and f[0].severity == "warning" and f[0].step == 40
    assert f[0].causes == ["learning_rate_too_high"] and f[0].remedies[0] == "lower_learning_rate"
    assert f[0].evidence["steps_above"] == 3 and f[0].evidence["peak_over_start"] == pytest.approx(
        4.2 / f[0].evidence["loss_start"], rel=1e-3)
