"""Regression: the temporal detector summarised a recurrent layer's ||dL/dx_t|| profile at the first and the
last recorded step, and skipped the layer altogether when either profile was not finite. A plain ReLU RNN whose
recurrent weights are 1.5 x identity (the corpus's `rnn_exploding`) has a gradient 5e6x larger 40 steps back at
step 0 and overflows to NaN at step 1, so its last profile is NaN: trained even at SGD lr 1e-5, the run got no
time-axis finding at all, only "learning_rate_too_high" (at lr 1e-5) and "depth_without_normalization" (a
chain of one Linear). The last recorded profile that is finite is now the one judged.

Also the finding's `step` was always the first recorded step, also when the profile only showed the problem
later (a late-onset explosion through time): it is now the first recorded step whose profile shows it."""
import numpy as np

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.temporal import Temporal
from graddoctor.store.run_data import LayerInfo, RunData

from . import exploding_rnn_run


def test_time_explosion_reported_when_the_run_then_goes_nan():
    run = exploding_rnn_run()
    _, values = run.data.series["time_signal"]["rnn"]
    assert values[0][0] / values[0][-1] > 1e3 and not np.isfinite(values[-1]).all()  # the premise
    fs = [f for f in run.diagnose().problems if f.axis == "time"]
    assert fs and fs[0].kind == "exploding_gradient" and fs[0].layers == ["rnn"] and fs[0].step == 0
    assert "plain_rnn_long_sequence" in fs[0].causes
    assert fs[0].evidence["first_last_ratio"] > 1e3


def _profile_run(ratios: list[float]) -> RunData:
    """One RNN layer whose time profile at detail step 10*k grows back in time by ratios[k] over 20 steps."""
    steps = np.arange(10 * len(ratios))
    rows = np.array([r ** (np.arange(20)[::-1] / 19.0) for r in ratios])
    layer = LayerInfo(index=0, name="rnn", type="RNN", order=0, info={})
    return RunData(layers=[layer], steps=steps, layer_stats={"weight_norm": np.ones((1, steps.size))},
                   step_stats={"loss": np.ones(steps.size)},
                   series={"time_signal": {"rnn": (steps[::10], rows)}})


def test_step_is_the_first_recorded_step_showing_it():
    (f,) = Temporal().detect(Context.from_run(_profile_run([1.0, 2.0, 5e3, 1e4])))
    assert f.kind == "exploding_gradient" and f.step == 20
