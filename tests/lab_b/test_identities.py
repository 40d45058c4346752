"""Exact identities: BN scale invariance (Ioffe & Szegedy §3.3), Xiong et al.'s lemmas, clipping's bound."""
from graddoctor.lab.experiments import batchnorm, rnn_memory, transformer_ln


def test_bn_scale_invariance_exact():
    for a in (0.01, 3.7, 250.0):
        errs = batchnorm.scale_invariance(a)
        assert max(errs.values()) < 1e-12, errs


def test_lemmas_monte_carlo():
    lem = transformer_ln.lemmas(seed=1)
    assert abs(lem["lemma1"] - 1) < transformer_ln.LEMMA_REL
    assert abs(lem["post5"] - 1) < transformer_ln.LEMMA_REL
    for l, v in enumerate(lem["pre"], start=1):
        assert 1 + l / 2 <= v * 1.05 and v <= (1 + 1.5 * l) * 1.05


def test_clipped_step_never_exceeds_lr_times_threshold():
    r = rnn_memory.descend(rnn_memory.CLIFF_START, 0.1, 100, threshold=0.3)
    assert r["max_move"] <= 0.1 * 0.3 * (1 + 1e-12)
    plain = rnn_memory.descend(rnn_memory.CLIFF_START, 0.1, 100)
    assert plain["max_move"] > 1.0                                           # the wall throws plain GD far
