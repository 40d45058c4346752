"""Regression (QA pass 5): a recipe error raised inside code Python generates (the dataclass ``__init__`` of
``gd.Case``, whose frames are named ``<string>``) was located "(at <string>:14 in __init__)", a line no one can
open. The location now skips generated frames and points at the user's line that built the Case."""
import textwrap

from click.testing import CliRunner

from graddoctor.cli import main

RECIPE = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn
    import graddoctor as gd


    def case():
        X = torch.randn(40, 4)
        y = torch.randint(0, 2, (40,))
        return gd.Case(model_fn=lambda: nn.Linear(4, 2), train=(X, y), loss_fn=F.cross_entropy, steps=0)
''').lstrip()


def test_recipe_error_points_at_the_users_line(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(RECIPE)
    res = CliRunner().invoke(main, ["repair", f"{path}:case"])
    assert res.exit_code == 2
    assert "steps must be >= 1" in res.output
    assert f"(at {path}:10 in case)" in res.output
    assert "<string>" not in res.output
