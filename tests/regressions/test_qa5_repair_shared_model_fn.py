"""Regression: a Case whose model_fn returned one existing model (``model_fn=lambda: net``, a common slip for
``lambda: Net()``) was repaired without a word: seed 1 of the baseline went on training the model seed 0 had
trained, ``use_relu_family`` swapped the user's own ``net``'s sigmoids for ReLUs in place, and the next remedy
(``xavier_init``) was declared the WINNER on that already-repaired, already-trained model; the user's ``net``
came back changed. Now ``Case.build_model`` raises CaseError when model_fn returns a model it already returned,
naming the fix, before any training, and the user's model is untouched."""
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.repair.case import CaseError


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)


def test_same_model_object_is_refused_and_left_untouched():
    net = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    case = gd.Case(model_fn=lambda: net, train=_data(), loss_fn=F.cross_entropy, steps=4, batch_size=32)
    with pytest.raises(CaseError, match="model_fn returned the same Sequential object twice"):
        gd.repair(case, seeds=2, remedies=["use_relu_family"], progress=False)
    assert isinstance(net[1], nn.Sigmoid)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_fresh_models_still_repair():
    case = gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3)), train=_data(),
                   loss_fn=F.cross_entropy, steps=4, batch_size=32)
    result = gd.repair(case, seeds=2, remedies=["use_relu_family"], progress=False)
    assert result.trials[0].failed is None and result.trials[0].skipped is None


def test_cli_names_the_problem(tmp_path):
    f = tmp_path / "shared.py"
    f.write_text("import torch, graddoctor as gd\nfrom torch import nn\n"
                 "net = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))\n"
                 "def case():\n"
                 "    g = torch.Generator().manual_seed(0)\n"
                 "    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)\n"
                 "    return gd.Case(model_fn=lambda: net, train=(X, y), steps=4, batch_size=32)\n")
    out = CliRunner().invoke(main, ["repair", f"{f}:case", "--seeds", "1"])
    assert out.exit_code == 2, out.output
    assert "model_fn returned the same Sequential object twice" in out.output and "Traceback" not in out.output
