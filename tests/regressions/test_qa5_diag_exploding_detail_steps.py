"""Regression: a run records the forward rms and the relative gradient ||gW||/||W|| on detail steps only (every
10th), while exploding_depth needed half of its window (the first step and the last 10) to show a symptom and
counted the nine columns in ten where a forward growth or a large relative gradient cannot show as healthy. A
relative gradient above 10 on every detail step of the window (none at the first step) was 1 column of 11 and
no finding. Each symptom is now judged over the columns where it was measured."""
import numpy as np

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.exploding_depth import ExplodingDepth
from graddoctor.store.run_data import LayerInfo, RunData


def _run(late_ratio: float) -> RunData:
    n_layers, n_steps = 4, 30
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", order=i,
                        info={"fan_in": 8, "fan_out": 8, "params": {"weight": [8, 8]}}) for i in range(n_layers)]
    full = np.ones((n_layers, n_steps))
    detail = np.full((n_layers, n_steps), np.nan)
    detail[:, ::10] = 1.0
    grad = detail * 0.01
    grad[:, 10::10] = late_ratio  # measured on detail steps 10 and 20
    ls = {"signal_norm": full.astype(np.float32), "act_rms": detail.astype(np.float32),
          "grad_ratio": grad.astype(np.float32), "weight_norm": full.astype(np.float32)}
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=ls,
                   step_stats={"loss": np.full(n_steps, 2.3)}, series={})


def test_large_relative_gradient_on_every_detail_step_is_found():
    (f,) = ExplodingDepth().detect(Context.from_run(_run(50.0)))
    # step 10 also showed it: the finding's step is the first step of the episode (QA pass 6,
    # tests/regressions/test_qa6_diag_exploding_depth_onset.py); the evidence is the examined step 20's
    assert f.kind == "exploding_gradient" and f.step == 10 and f.evidence["grad_ratio_max"] == 50.0
    assert f.evidence["examined_step"] == 20


def test_healthy_detail_steps_stay_silent():
    assert ExplodingDepth().detect(Context.from_run(_run(0.01))) == []
