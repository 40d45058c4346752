"""Regression: exploding_depth examines the first step and the last `window` (10) steps of a run, and its
finding's `step` was the first examined step that showed the problem. A growth that began mid-run and lasted
to the end was therefore dated to the start of the last-10-steps window (a tanh MLP whose learning rate was
raised 400x at step 100: forward growth above 100x from step 180 on, reported at step 190; in the synthetic run
below, growth from step 20, reported at step 50). `step` is now the first detail step of the episode that
reaches the window: walking back while the steps show the symptom, up to one that measured it and showed none."""
import numpy as np

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.exploding_depth import ExplodingDepth
from graddoctor.store.run_data import LayerInfo, RunData


def _run() -> RunData:
    n_layers, n_steps = 5, 60
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", order=i, activation="relu",
                        info={"fan_in": 8, "fan_out": 8, "params": {"weight": [8, 8]}}) for i in range(n_layers)]
    nan = np.full((n_layers, n_steps), np.nan)
    act, grad = nan.copy(), nan.copy()
    detail = np.arange(0, n_steps, 10)
    act[:, detail] = 1.0
    grad[:, detail] = 1e-2
    grown = detail[detail >= 20]
    act[:, grown] = (10.0 ** np.arange(n_layers))[:, None]  # x10 per layer: 1e4 over the chain from step 20
    ls = {"signal_norm": np.ones((n_layers, n_steps)), "act_rms": act, "grad_ratio": grad,
          "weight_norm": np.ones((n_layers, n_steps))}
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=ls,
                   step_stats={"loss": np.full(n_steps, 2.3)}, series={})


def test_step_is_the_start_of_the_episode():
    (f,) = ExplodingDepth().detect(Context.from_run(_run()))
    assert "forward_growth" in f.evidence["symptoms"]
    assert f.step == 20 and f.evidence["examined_step"] == 50
