"""Regression: in a terminal narrower than about 70 columns, `graddoctor live` cut the numbers of its layer
panel short ("2.83" for 2.83e-05, "0.00" for 0.00176) and dropped the layer names: the sparkline column was
sized below its own heading, so rich squeezed the other columns. The panel now leaves out the update ratio, the
activation, then the latest value (naming them) and never cuts a number."""
import io
import re

import torch
from rich.console import Console
from torch import nn

from graddoctor.present.live import run_live

from . import watched_sgd


def test_narrow_live_view_keeps_whole_numbers(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 3))
    store = str(tmp_path / "run.sqlite")
    watched_sgd(model, torch.randn(32, 8) * 4, torch.randint(0, 3, (32,)), steps=12, store=store)
    for width in (40, 50, 60, 70, 80, 120):
        buf = io.StringIO()
        run_live(store, once=True, console=Console(file=buf, width=width))
        text = buf.getvalue()
        rows = [line for line in text.splitlines() if re.match(r"^ [0-4] ", line)]
        assert len(rows) == 3, text
        for row in rows:
            assert max(len(line) for line in text.splitlines()) <= width
            name = row.split()[1]
            assert name in ("0", "2", "4"), (width, text)  # the layer name is there
            numbers = re.findall(r"\d[\d.e+-]*", row)[2:]
            for n in numbers:  # every number printed is a whole one
                assert re.fullmatch(r"\d\.\d+e[+-]\d\d|\d+(\.\d+)?", n), (width, n, text)
        if width < 70:
            assert "not shown for width" in text, text
