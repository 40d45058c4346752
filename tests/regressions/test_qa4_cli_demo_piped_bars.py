"""Regression: ``graddoctor demo > log.txt`` (or piped into a CI log) printed each repair trial's finished
progress bar as a line of "━━━━ 20/20 0:00:00", where the docs promise that piped output gets no bars. The
repair trials now draw bars only where the other progress bars do (a terminal, or GRADDOCTOR_PROGRESS=1)."""
import io

import torch
from rich.console import Console

from graddoctor.demo import load_data, repair_step


def test_piped_demo_prints_no_progress_bars(monkeypatch):
    monkeypatch.delenv("GRADDOCTOR_PROGRESS", raising=False)
    torch.set_num_threads(1)
    out = io.StringIO()
    repair_step(load_data(), steps=10, seeds=1, budget_s=2, console=Console(file=out, width=120))
    text = out.getvalue()
    assert "repair" in text
    assert "━━━━━━━━━━" not in text.replace("┏", "").split("repair:", 1)[1].split("candidates", 1)[0], text
