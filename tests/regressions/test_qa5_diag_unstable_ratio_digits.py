"""Regression (QA pass 5): unstable_loss's message printed the loss's low point as a ratio with two decimals, so
a loss that fell 1,000-fold before it blew up read "the loss fell to 0.00x its starting level". The ratio now
keeps two significant figures (e.g. "0.0011x")."""
import numpy as np
from tests.diagnosis.test_detectors import _loss_run

from graddoctor.diagnosis.context import Context
from graddoctor.diagnosis.detectors.unstable import UnstableLoss


def test_a_deep_fall_keeps_its_digits():
    rng = np.random.default_rng(0)
    loss = np.geomspace(2.3, 0.0005, 60) * np.exp(rng.normal(0, 0.05, 60))
    loss[[40, 47, 52]] = [4.0, 3.9, 4.2]
    (f,) = UnstableLoss().detect(Context.from_run(_loss_run(loss)))
    ratio = float(f.message.split("the loss fell to ")[1].split("x")[0])
    assert ratio > 0
    assert f"{ratio:.2g}" in f.message and "0.00x" not in f.message
