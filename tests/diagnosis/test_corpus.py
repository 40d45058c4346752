"""The corpus (tests/cases): every known condition is found, localised and explained by gd.check and by
watch + diagnose over a short training; healthy controls get no warning or critical finding."""
import pytest

from cases import CASES
from cases.run import run_check, run_train, score

TRAINED = [c for c in CASES if c.expect_train is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check(case):
    diag, _ = run_check(case)
    assert score(diag, case.expect, case.allow) == []
    if case.healthy:
        assert diag.healthy


@pytest.mark.parametrize("case", TRAINED, ids=[c.name for c in TRAINED])
def test_training(case):
    diag, _ = run_train(case)
    assert score(diag, case.expect_train, case.allow_train) == []


def test_corpus_shape():
    families = {c.family for c in CASES}
    assert len(CASES) >= 30
    assert {"mlp", "cnn", "rnn", "transformer", "resnet"} <= families
    assert sum(c.healthy for c in CASES) * 3 >= len(CASES)
    assert len(TRAINED) >= 10
