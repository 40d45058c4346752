"""Regression: a remedy could "repair" a run while the repaired model still learned nothing. A 3-layer
transformer under SGD at lr 1.0 went NaN (its constant prediction scored 0.218 on a 4-class task); use_adam
ended at 0.234 accuracy, validation loss 1.41 against ln 4 = 1.39 for uniform class scores, and was printed as
the WINNER, "use_adam repairs it". A winner's validation loss must now be below the loss of an all-zero output
(Case.constant_loss: ln C for a cross-entropy, the zero prediction for a regression); the verdict says
"learns nothing" and the no-winner reason says why."""
import math

import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

import graddoctor as gd
from graddoctor.repair.table import print_result


def _tiny():
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.01)
    return model


def output_spread(out, y):  # a user metric that he_init raises whatever the labels
    return float(out.std())


def _case(labels, metric_fn=None):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(300, 6, generator=g)
    return gd.Case(model_fn=_tiny, train=(X[:200], labels[:200]), val=(X[200:], labels[200:]),
                   loss_fn=F.cross_entropy, optimizer_fn=lambda p: torch.optim.SGD(p, lr=1e-4), steps=20,
                   batch_size=20, metric_fn=metric_fn)


def test_constant_loss_is_uniform_cross_entropy():
    y = torch.randint(0, 4, (300,), generator=torch.Generator().manual_seed(1))
    assert math.isclose(_case(y).constant_loss(), math.log(4), rel_tol=1e-6)
    # log-probabilities under nll_loss: uniform too (an all-zero output would be a loss of 0, unbeatable)
    logp = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(6, 4), nn.LogSoftmax(dim=1)),
                   train=_case(y).train, val=_case(y).val, loss_fn=F.nll_loss)
    assert math.isclose(logp.constant_loss(), math.log(4), rel_tol=1e-6)
    # a regression: the zero prediction
    reg = gd.Case(model_fn=lambda: nn.Linear(6, 1), train=(torch.zeros(4, 6), torch.full((4, 1), 3.0)),
                  loss_fn=F.mse_loss)
    assert math.isclose(reg.constant_loss(), 9.0)


def test_a_remedy_that_learns_nothing_does_not_win():
    # random labels: nothing to learn; the metric rises with he_init all the same, so only the
    # constant-output reference can stop it
    y = torch.randint(0, 4, (300,), generator=torch.Generator().manual_seed(1))
    result = gd.repair(_case(y, output_spread), remedies=["he_init"], seeds=1, progress=False)
    (t,) = result.trials
    assert t.gain > t.margin and t.fixes is not False
    assert result.constant_loss > 0 and t.loss >= result.constant_loss
    assert t.learns is False and result.best is None
    console = Console(record=True, width=200)
    print_result(result, console)
    text = console.export_text()
    assert "learns nothing" in text and "WINNER" not in text
