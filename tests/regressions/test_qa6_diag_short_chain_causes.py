"""Regression: a plain ReLU RNN at 1.5 x identity with a Linear readout (SGD lr 1e-5; its gradient explodes
through time and overflows at step 1). The exploding_depth finding on its large relative gradients said "the
signal grows through the layers (relative gradient): backward first/last nan, forward last/first nan", quoting
fits that were never measured (the depth chain is the readout alone), and named `depth_without_normalization`
("many layers in a row") for a chain of one layer, while the plain RNN whose weights have the large relative
gradient was not a cause. depth_without_normalization now needs MIN_DEPTH_LAYERS (3) chain layers, the message
quotes only measured numbers, and a plain RNN among the named layers adds `plain_rnn_long_sequence`."""


from . import exploding_rnn_run


def test_one_layer_chain_is_not_depth_and_no_nan_quoted():
    run = exploding_rnn_run()
    (f,) = [f for f in run.diagnose().problems if f.detector == "exploding_depth"]
    assert "depth_without_normalization" not in f.causes
    assert "plain_rnn_long_sequence" in f.causes
    assert "nan" not in f.message.lower()
