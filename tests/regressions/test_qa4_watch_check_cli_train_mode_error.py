"""Regression: `graddoctor check` runs the model in train mode; when the user's model failed only there (a bug
under ``if self.training``) the CLI re-ran it in the user's eval mode to tell the user's error from its own, saw
it run, and printed a graddoctor traceback. The re-run is now in train mode, and leaves the model as it was."""
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.commands.check import plain_failure

NET = '''
import torch
from torch import nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        x = self.bn(x)
        if self.training:
            x = x[:, :3]  # the user's train-only bug
        return self.fc(x)

def case():
    return Net().eval(), torch.randn(8, 4), torch.randint(0, 2, (8,)), F.cross_entropy
'''


def test_a_train_mode_only_error_is_the_users(tmp_path):
    (tmp_path / "net.py").write_text(NET)
    r = CliRunner().invoke(main, ["check", f"{tmp_path / 'net.py'}:case"])
    assert r.exit_code == 2, r.output
    assert "cannot be multiplied" in r.output and "in forward" in r.output, r.output


def test_the_rerun_leaves_the_model_as_it_was(tmp_path):
    import importlib.util

    (tmp_path / "net.py").write_text(NET)
    spec = importlib.util.spec_from_file_location("qa4_net", tmp_path / "net.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model, x, y, loss_fn = mod.case()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert plain_failure(model, x, y, loss_fn) is not None
    assert not model.training
    assert all((v == model.state_dict()[k]).all() for k, v in before.items())
