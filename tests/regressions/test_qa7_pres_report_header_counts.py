"""Regression: the run report's header said "1 layers" for a one-layer model, "1 recorded step (0 to 0)" for a
one-step run, and "3000 recorded steps" right above the note "This run recorded 3,000 steps" (the check report:
"1 layers" too). Counts now agree in number and are written with thousands separators, as the notes write them."""
import re

import torch
from tests.present.present_fixtures import write_store
from torch import nn

import graddoctor as gd
from graddoctor.present.html import render_check_report, render_run_report


def _overview(html: str) -> str:
    block = re.search(r'<section id="overview">(.*?)</p>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", block).split())


def test_one_layer_one_step(tmp_path):
    path = write_store(tmp_path / "one.sqlite", n_layers=1, n_steps=1)
    text = _overview(render_run_report(path, tmp_path / "one.html", figures=False).read_text())
    assert "· 1 layer ·" in text and "1 recorded step (step 0)" in text, text


def test_thousands_as_the_note_writes_them(tmp_path):
    path = write_store(tmp_path / "long.sqlite", n_steps=1200, chunk=600)
    text = _overview(render_run_report(path, tmp_path / "long.html", figures=False, max_steps=100).read_text())
    assert "6 layers" in text and "1,200 recorded steps (0 to 1199)" in text, text


def test_check_report_one_layer(tmp_path):
    torch.manual_seed(0)
    diag = gd.check(nn.Sequential(nn.Linear(3, 2)), torch.randn(8, 3), torch.randint(0, 2, (8,)),
                    nn.functional.cross_entropy)
    text = _overview(render_check_report(diag, tmp_path / "c.html").read_text())
    assert text.endswith("· 1 layer"), text
