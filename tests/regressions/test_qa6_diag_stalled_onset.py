"""Regression: the stalled_learning finding's `step` was always the first of the last `window` (10) steps, so a
net stalled from its first step (He's 30-layer Xavier ReLU net: updates ~1e-7 from step 0) was reported as
stalled from step 15 of a 25-step run, and from step 30 of the 40-step run below. It is now the first step of
the stall: back over the steps whose update ratio was recorded while the layers moved less than the bound."""
import numpy as np

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.stalled import Stalled
from graddoctor.store.run_data import LayerInfo, RunData


def _run(healthy_until: int) -> RunData:
    n_layers, n_steps = 5, 40
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", order=i, activation="relu",
                        info={"fan_in": 8, "fan_out": 8, "params": {"weight": [8, 8]}}) for i in range(n_layers)]
    upd = np.full((n_layers, n_steps), 1e-7)
    upd[:, :healthy_until] = 1e-3
    grad = np.full((n_layers, n_steps), 5e-6)
    grad[:, :healthy_until] = 1e-2  # the gradients vanished with the updates: not a decayed schedule
    ls = {"update_ratio": upd, "grad_ratio": grad, "weight_norm": np.ones((n_layers, n_steps)),
          "signal_norm": np.ones((n_layers, n_steps))}
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=ls,
                   step_stats={"loss": np.full(n_steps, 2.3)}, series={})


def test_stalled_from_the_first_step_is_dated_there():
    (f,) = Stalled().detect(Context.from_run(_run(0)))
    assert f.kind == "stalled_learning" and f.step == 0


def test_stall_after_healthy_steps_starts_where_the_updates_fell():
    (f,) = Stalled().detect(Context.from_run(_run(12)))
    assert f.step == 12
