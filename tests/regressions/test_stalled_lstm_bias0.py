"""Regression (found by the repair benchmark): an LSTM at PyTorch's forget-gate bias 0 on a 12-step lag kept
its loss at 0.6931 (chance) for 300 updates, its gradient 17 steps back below 1e-3 of the last step's, and was
reported as `info` only (the 1000-step `gated_patience` had not passed), so repair left it alone although
forget-gate bias 1 is the fix. A bias-0 LSTM whose loss has not moved after `stall_steps` is a warning; one
whose loss falls, or that has trained for fewer steps, stays info."""
import numpy as np
import pytest

from graddoctor.diagnosis import diagnose_run
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def lstm_run(last_step: int, loss_end: float) -> RunData:
    T, n = 30, 30
    profile = (0.64 ** np.arange(T)[::-1]).astype(np.float32)
    steps = np.linspace(0, last_step, n).astype(np.int64)
    layers = [LayerInfo(index=0, name="rnn", type="LSTM", order=0, info={"recurrent": True}),
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
