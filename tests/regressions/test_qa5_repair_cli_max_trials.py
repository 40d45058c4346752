"""Regression: ``graddoctor repair`` had no way to cap the number of remedies (``gd.repair(max_trials=...)``),
so a quick look at the first remedy from the command line meant guessing a ``--budget``. Now ``--max-trials N``
passes it on, and the output says that the trials stopped there and which remedies were not tried (terminal
and ``--json``: ``stopped``, ``max_trials``, ``stop_note``)."""
import json

from click.testing import CliRunner

from graddoctor.cli import main

RECIPE = """
import torch, torch.nn.functional as F, graddoctor as gd
from torch import nn

def case():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 8, generator=g), torch.randint(0, 3, (64,), generator=g)
    return gd.Case(model_fn=lambda: nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3)), train=(X, y),
                   loss_fn=F.cross_entropy, steps=4, batch_size=32)
"""


def test_max_trials_from_the_command_line(tmp_path):
    f = tmp_path / "recipe.py"
    f.write_text(RECIPE)
    args = ["repair", f"{f}:case", "--seeds", "1", "--max-trials", "1", "--remedy", "he_init", "--remedy",
            "xavier_init"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "max_trials=1 reached" in text and "not tried: xavier_init" in text, text
    d = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert d["stopped"] == "max_trials" and d["max_trials"] == 1 and [t["remedy"] for t in d["trials"]] == ["he_init"]
    assert CliRunner().invoke(main, [*args[:-4], "--max-trials", "-1"]).exit_code == 2
