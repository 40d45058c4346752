"""Regression: exploding_training ignores its first `warmup` (3) steps for spikes, meant for fast changes of a
finite gradient norm, and so also skipped NaN/Inf norms there. A plain ReLU RNN at 1.5 x identity (SGD lr 1e-5)
whose gradient norm is non-finite from step 1 got "8 gradient-norm spike(s) (first a non-finite gradient
norm)" at step 3, two steps after the non_finite finding's step 1, and named no layer (no finite weight-gradient
norm at that step). A non-finite norm counts from step 1, and the layers are then those with non-finite
gradients."""


from . import exploding_rnn_run


def test_non_finite_norm_in_warmup_is_the_first_spike():
    run = exploding_rnn_run()
    d = run.diagnose()
    (nf,) = [f for f in d.problems if f.kind == "non_finite"]
    (f,) = [f for f in d.problems if f.detector == "exploding_training"]
    assert f.step == nf.step == 1
    assert f.layers
