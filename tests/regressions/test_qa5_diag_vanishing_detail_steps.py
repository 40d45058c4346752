"""Regression: a run records the relative gradient ||gW||/||W|| on detail steps only (every 10th), while the
vanishing detector judged every column of its window (the first step and the last 10) and needed half of them
to show the problem. On the nine columns in ten without a relative gradient a decaying backward signal got the
verdict "compensated" ("the forward signal shrinks as fast, so the weight gradients stay uniform", evidence
grad_ratio_first_last NaN: a claim about weight gradients never measured), so a decay that appeared during
training and showed on every detail step of the window was 1 column of 11: an `info` at most (a 16-layer
Post-LN transformer at Adam lr 3e-3 that stayed at chance got exactly that, with cause 'unknown'). Columns
without a relative gradient are now left out of the fraction."""
import numpy as np

from graddoctor.diagnosis import Context
from graddoctor.diagnosis.detectors.vanishing_depth import VanishingDepth
from graddoctor.store.run_data import LayerInfo, RunData


def _run() -> RunData:
    n_layers, n_steps = 5, 30
    layers = [LayerInfo(index=i, name=f"l{i}", type="Linear", order=i,
                        info={"fan_in": 8, "fan_out": 8, "params": {"weight": [8, 8]}}) for i in range(n_layers)]
    decay = (0.2 ** np.arange(n_layers)[::-1])[:, None]  # the last layer nearest the loss = 1
    signal = np.repeat(decay, n_steps, axis=1)
    signal[:, 0] = 1.0  # healthy at the first step: the decay appears during training
    grad = np.full((n_layers, n_steps), np.nan)
    grad[:, ::10] = 1e-2 * decay  # measured on detail steps 0, 10, 20: the first layers learn slower
    grad[:, 0] = 1e-2
    ls = {"signal_norm": signal.astype(np.float32), "grad_ratio": grad.astype(np.float32),
          "weight_norm": np.ones((n_layers, n_steps), np.float32)}
    return RunData(layers=layers, steps=np.arange(n_steps), layer_stats=ls,
                   step_stats={"loss": np.full(n_steps, 2.3)}, series={})


def test_decay_on_every_measured_step_is_a_warning():
    (f,) = VanishingDepth().detect(Context.from_run(_run()))
    # step 10 already showed the same decay: the finding's step is the first step of the episode (QA pass 6,
    # tests/regressions/test_qa6_diag_vanishing_onset.py); the evidence is the examined step 20's
    assert f.severity != "info" and f.evidence["pattern"] == "slow_first" and f.step == 10
    assert f.evidence["examined_step"] == 20
    assert np.isfinite(f.evidence["grad_ratio_first_last"])
