"""Regression (found by the repair benchmark): an LSTM at PyTorch's forget-gate bias 0 on a 12-step lag kept
its loss at 0.6931 (chance) for 300 updates, its gradient 17 steps back below 1e-3 of the last step's, and was
reported as `info` only (the 1000-step `gated_patience` had not passed), so repair left it alone although
forget-gate bias 1 is the fix. A bias-0 LSTM whose loss has not moved after `stall_steps` is a warning; one
whose loss falls, or that has trained for fewer steps, stays info."""
import numpy as np
import pytest
import torch
from torch import nn

import graddoctor as gd
from graddoctor.diagnosis import diagnose_run
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def lstm_run(last_step: int, loss_end: float, bias: float | None = None) -> RunData:
    T, n = 30, 30
    profile = (0.64 ** np.arange(T)[::-1]).astype(np.float32)
    steps = np.linspace(0, last_step, n).astype(np.int64)
    info = {"recurrent": True, **({"forget_gate_bias": bias} if bias is not None else {})}
    layers = [LayerInfo(index=0, name="rnn", type="LSTM", order=0, info=info),
              LayerInfo(index=1, name="head", type="Linear", order=1)]
    stats = {k: np.full((2, n), np.nan, dtype=np.float32) for k in LAYER_STATS}
    return RunData(layers=layers, steps=steps, layer_stats=stats,
                   step_stats={"loss": np.linspace(0.6931, loss_end, n), "total_grad_norm": np.ones(n),
                               "nonfinite_grads": np.zeros(n)},
                   series={"time_signal": {"rnn": (steps[[0, -1]], np.stack([profile, profile]))}})


@pytest.mark.parametrize("last_step,loss_end,severity", [
    (290, 0.6931, "warning"),  # 290 updates, loss still at chance
    (290, 0.30, "info"),       # the loss falls: the gates are opening
    (100, 0.6931, "info"),     # too early to tell
])
def test_bias0_lstm_with_a_flat_loss(last_step: int, loss_end: float, severity: str) -> None:
    found = [f for f in diagnose_run(lstm_run(last_step, loss_end)).findings
             if f.kind == "vanishing_gradient" and f.axis == "time"]
    assert found and found[0].severity == severity and found[0].causes == ["forget_gate_closed"]
    if severity == "warning":
        assert found[0].remedies[0] == "forget_gate_bias"
        assert found[0].evidence["relative_loss_progress"] == pytest.approx(0.0, abs=1e-6)


def test_bias1_lstm_with_a_flat_loss_waits_for_gated_patience() -> None:
    """The rule is for bias-0 LSTMs: with forget-gate bias 1 recorded at watch start, 290 flat updates stay info."""
    found = [f for f in diagnose_run(lstm_run(290, 0.6931, bias=1.0)).findings
             if f.kind == "vanishing_gradient" and f.axis == "time"]
    assert found and found[0].severity == "info" and "forget_gate_closed" not in found[0].causes
    assert found[0].evidence["forget_gate_bias"] == 1.0
    bias0 = [f for f in diagnose_run(lstm_run(290, 0.6931, bias=-0.16)).findings if f.axis == "time"]
    assert bias0[0].severity == "warning" and bias0[0].evidence["forget_gate_bias"] == pytest.approx(-0.16)


def test_watch_records_the_forget_gate_bias() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    with torch.no_grad():
        lstm.bias_ih_l0[4:8].fill_(1.0)
        lstm.bias_hh_l0[4:8].fill_(0.5)
        lstm.bias_ih_l1[4:8].fill_(0.0)
        lstm.bias_hh_l1[4:8].fill_(0.5)
    model = nn.Sequential(lstm)
    with gd.watch(model, store=None) as run:
        model(torch.randn(2, 5, 3))[0].sum().backward()
        run.step()
    info = run.data.layers[0].info
    assert info["forget_gate_bias"] == pytest.approx((1.5 + 0.5) / 2)


def test_forget_gate_bias_of_unusual_lstms_is_none_or_exact() -> None:
    """The summary never raises: a meta-device LSTM gives None; a bidirectional one averages both directions."""
    from graddoctor.probe.model_map import lstm_forget_bias
    with torch.device("meta"):
        meta = nn.LSTM(3, 4)
    assert lstm_forget_bias(meta) is None
    assert lstm_forget_bias(nn.LSTM(3, 4, bias=False)) is None
    bi = nn.LSTM(3, 4, bidirectional=True)
    with torch.no_grad():
        for name, p in bi.named_parameters():
            if name.startswith("bias"):
                p.zero_()
        bi.bias_ih_l0[4:8].fill_(2.0)
    assert lstm_forget_bias(bi) == pytest.approx(1.0)  # 2 forward, 0 reverse
