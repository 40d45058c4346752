"""Regression: an LSTM whose forget-gate bias was set to 1 (recorded at watch start: 1.003) and which learns
the adding problem at T = 100 gets an `info` time-axis finding (horizon 31 of 100 steps). Its only remedy was
`forget_gate_bias` ("set the LSTM forget-gate bias to 1") beside evidence forget_gate_bias 1.003 and cause
`unknown`: a remedy that is already applied. A gated layer with no cause now gets the generic vanishing
remedies, as a GRU does."""
import numpy as np

from graddoctor.diagnosis import diagnose_run
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def test_bias1_lstm_is_not_told_to_set_its_bias_to_1() -> None:
    T, n = 100, 2
    profile = (0.85 ** np.arange(T)[::-1]).astype(np.float32)
    layers = [LayerInfo(index=0, name="rnn", type="LSTM", order=0, info={"recurrent": True, "forget_gate_bias": 1.003}),
              LayerInfo(index=1, name="head", type="Linear", order=1)]
    stats = {k: np.full((2, n), np.nan, dtype=np.float32) for k in LAYER_STATS}
    data = RunData(layers=layers, steps=np.array([0, 390]), layer_stats=stats,
                   step_stats={"loss": np.array([1.12, 0.16]), "total_grad_norm": np.array([1.0, 1.0]),
                               "nonfinite_grads": np.zeros(n)},
                   series={"time_signal": {"rnn": (np.array([0, 390]), np.stack([profile, profile]))}})
    (f,) = [f for f in diagnose_run(data).findings if f.axis == "time"]
    assert f.severity == "info" and f.evidence["forget_gate_bias"] == 1.003
    assert "forget_gate_bias" not in f.remedies and f.remedies
