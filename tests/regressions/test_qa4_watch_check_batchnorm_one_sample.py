"""Regression: gd.check on a BatchNorm model with a batch of one sample (or one per split) failed with torch's
"Expected more than 1 value per channel when training", and `graddoctor check` printed a graddoctor traceback:
re-run in the user's eval mode the model worked, so the failure was taken for graddoctor's own. It is now a
ModelError naming the cause (the check runs in train mode) and the fix, and the model is left as it was."""
import pytest
import torch
from click.testing import CliRunner
from torch import nn
from torch.nn import functional as F

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.errors import ModelError

NET = '''
import torch
from torch import nn
import torch.nn.functional as F

def case():
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)).eval()
    return m, torch.randn(1, 4), torch.randint(0, 2, (1,)), F.cross_entropy
'''


def test_one_sample_batchnorm_batch_is_a_clear_error():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ModelError, match="train mode.*1 row"):
        gd.check(model, torch.randn(1, 4), torch.randint(0, 2, (1,)), F.cross_entropy)
    with pytest.raises(ModelError, match="smaller batches"):
        gd.check(model, torch.randn(2, 4), torch.randint(0, 2, (2,)), F.cross_entropy, batches=2)
    assert not model.training and all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_cli_reports_it_without_a_traceback(tmp_path):
    (tmp_path / "net.py").write_text(NET)
    r = CliRunner().invoke(main, ["check", f"{tmp_path / 'net.py'}:case"])
    assert r.exit_code == 2, r.output
    assert "BatchNorm" in r.output and "Traceback" not in r.output
