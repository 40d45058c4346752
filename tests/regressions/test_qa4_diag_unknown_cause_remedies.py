"""Regression: a problem finding whose only cause is `unknown` came with no remedy at all (a GRU whose gradient
through time still collapsed after 1,200 steps: a warning, causes ["unknown"], remedies []), leaving the user
with nothing to try and `graddoctor repair` with nothing to trial. Such a finding now gets its kind's generic
remedies (causes.GENERIC_REMEDIES: orthogonal init, LSUV, Adam for a vanishing gradient), which do not depend
on a cause."""
import numpy as np

from graddoctor.diagnosis import Context, diagnose_context
from graddoctor.diagnosis.causes import rank_remedies
from graddoctor.store.run_data import LayerInfo


def test_gru_collapsed_through_time_gets_remedies():
    steps = np.arange(1200)
    profile = 10.0 ** (-0.5 * np.arange(20)[::-1])  # x0.32 per step back: 1e-9.5 over 20 steps
    ctx = Context(layers=[LayerInfo(0, "gru", "GRU", info={"recurrent": True})], steps=steps, stats={},
                  step_stats={"loss": np.linspace(1.0, 0.5, steps.size)},
                  series={"time_signal": {"gru": (np.array([0, 1199]), np.stack([profile, profile]))}})
    (f,) = diagnose_context(ctx).by_kind("vanishing_gradient")
    assert f.is_problem and f.axis == "time" and f.causes == ["unknown"]
    assert f.remedies and f.remedies[0] == "orthogonal_init"


def test_unknown_cause_ranks_generic_remedies():
    assert rank_remedies(["unknown"], "vanishing_gradient") == ["orthogonal_init", "lsuv_init", "use_adam"]
    assert rank_remedies(["unknown"], "exploding_gradient") == ["clip_grad_norm"]
    assert rank_remedies(["saturating_activation", "unknown"], "vanishing_gradient")[0] == "use_relu_family"
