"""QA4 (lab): a check whose measured value is one number per configuration (rnn-memory's gradient 15 steps
back per cell type, the cliff's median error per clipping threshold) was shown in the terminal table and on
the HTML page as a Python dict repr with full-precision floats ("{'RNN': 0.000145, 'LSTM': 2.5912345}").
Now it reads "RNN: 0.000145, LSTM: 2.591", numbers to 4 significant digits like every other value."""
from __future__ import annotations

from graddoctor.lab.html import page_html
from graddoctor.lab.runner import fmt_value


def test_dict_value_is_readable() -> None:
    assert fmt_value({"RNN": 0.000145, "LSTM": 2.5912345}) == "RNN: 0.000145, LSTM: 2.591"


def test_page_shows_it(tmp_path) -> None:
    check = {"quantity": "q", "published": "x", "measured": {"0.5x": 0.0015361234}, "tolerance": "t",
             "passed": True}
    html = page_html({"name": "rnn-memory", "checks": [check]}, tmp_path)
    assert "0.5x: 0.001536" in html and "{&#39;0.5x&#39;" not in html and "0.0015361234" not in html
