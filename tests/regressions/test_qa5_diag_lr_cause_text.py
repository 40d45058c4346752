"""Regression (QA pass 5): the explanation of the cause learning_rate_too_high said "the first updates are
comparable to or larger than the weights themselves" under every finding that names it, also under an
unstable_loss warning whose first updates were ~1e-2 of the weights (its sign is the loss climbing back above
its start): a claim of a measurement that was not made. The text now names the cause and every sign that
leads to it, and points at the finding's evidence for the one seen."""
import numpy as np
from tests.diagnosis.test_detectors import _loss_run

from graddoctor.diagnosis.codes import CAUSES
from graddoctor.diagnosis.context import Context
from graddoctor.diagnosis.detectors.unstable import UnstableLoss


def test_cause_text_covers_the_unstable_loss_sign():
    rng = np.random.default_rng(0)
    loss = np.linspace(2.3, 0.5, 60) * np.exp(rng.normal(0, 0.2, 60))
    loss[[40, 47, 52]] = [4.0, 3.9, 4.2]
    (f,) = UnstableLoss().detect(Context.from_run(_loss_run(loss)))
    assert f.causes == ["learning_rate_too_high"]
    text = CAUSES["learning_rate_too_high"]
    assert "climbs back above its start" in text and "evidence" in text
    assert not text.startswith("the first updates")
