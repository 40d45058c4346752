"""Regression: vanishing_depth examines the first step and the last `window` (10) steps of a run, and its
finding's `step` was the first examined step that showed the decay, so a decay that began mid-run and lasted to
the end was dated to the start of the last-10-steps window (below: decay from step 20 of 60, reported at 50).
`step` is now the first detail step of the episode, as for exploding_depth."""
import numpy as np

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.vanishing_depth import VanishingDepth
from graddoctor.store.run_data import LayerInfo, RunData


def _run() -> RunData:
    n_layers, n_steps = 5, 60
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", order=i,
                        info={"fan_in": 8, "fan_out": 8, "params": {"weight": [8, 8]}}) for i in range(n_layers)]
    decay = (0.2 ** np.arange(n_layers)[::-1])[:, None]  # the last layer nearest the loss = 1
    signal = np.ones((n_layers, n_steps))
    signal[:, 20:] = decay  # healthy until step 20, then the signal decays x0.2 per layer
    grad = np.full((n_layers, n_steps), np.nan)
    grad[:, ::10] = 1e-2
    grad[:, 20::10] = 1e-2 * decay  # and the first layers learn slower from step 20 on
    ls = {"signal_norm": signal, "grad_ratio": grad, "weight_norm": np.ones((n_layers, n_steps))}
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=ls,
                   step_stats={"loss": np.full(n_steps, 2.3)}, series={})


def test_step_is_the_start_of_the_episode():
    (f,) = VanishingDepth().detect(Context.from_run(_run()))
    assert f.is_problem and f.step == 20 and f.evidence["examined_step"] == 50
