"""Regression (found by the lab's rnn-memory full run): an LSTM with forget bias 1 that stayed 100 % wrong for
3,000 updates, its gradient 40 steps back 5.9e-12 of the last step's, was diagnosed "no problem found": the
temporal detector gave gated layers `info` whatever happened in training. After `gated_patience` steps a
still-collapsed gated layer is a warning."""
import numpy as np

from graddoctor.diagnosis import diagnose_run
from graddoctor.store.run_data import LAYER_STATS, LayerInfo, RunData


def test_lstm_still_forgetting_after_3000_updates_is_reported() -> None:
    T, n = 100, 2
    first = 0.8 ** np.arange(T)[::-1]
    last = np.geomspace(6e-12, 1.0, T)
    layers = [LayerInfo(index=0, name="rnn", type="LSTM", order=0, info={"recurrent": True}),
              LayerInfo(index=1, name="head", type="Linear", order=1)]
    stats = {k: np.full((2, n), np.nan, dtype=np.float32) for k in LAYER_STATS}
    data = RunData(layers=layers, steps=np.array([0, 2990]), layer_stats=stats,
                   step_stats={"loss": np.array([0.69, 0.69]), "total_grad_norm": np.array([1.0, 1.0]),
                               "nonfinite_grads": np.zeros(n)},
                   series={"time_signal": {"rnn": (np.array([0, 2990]), np.stack([first, last]).astype(np.float32))}})
    found = [f for f in diagnose_run(data).findings if f.kind == "vanishing_gradient" and f.axis == "time"]
    assert found and found[0].severity == "warning" and found[0].layers == ["rnn"]
    assert "forget_gate_bias" in found[0].remedies
