"""Regression: when the user's model failed inside `graddoctor check` with dict (or tuple) inputs, the CLI re-ran
it as ``model(inputs)`` to tell the user's error from graddoctor's, not as ``model(**inputs)`` like the check:
it reported "forward() missing 1 required positional argument" instead of the real error and its line."""
from click.testing import CliRunner

from graddoctor.cli import main

NET = '''
import torch
from torch import nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x, scale):
        return self.fc(x) * scale.unsqueeze(1)  # the user's bug: scale has 3 rows, x has 8

def case():
    return Net(), {"x": torch.randn(8, 4), "scale": torch.ones(3)}, torch.randint(0, 2, (8,)), F.cross_entropy

def tuple_case():
    model, d, y, loss = case()
    return model, (d["x"], d["scale"]), y, loss
'''


def test_the_users_own_error_is_reported_for_dict_and_tuple_inputs(tmp_path):
    (tmp_path / "net.py").write_text(NET)
    for fn in ("case", "tuple_case"):
        r = CliRunner().invoke(main, ["check", f"{tmp_path / 'net.py'}:{fn}"])
        assert r.exit_code == 2, r.output
        assert "must match the size" in r.output and "missing" not in r.output, r.output
        assert "in forward" in r.output, r.output
