"""Regression: the report of a ReLU (or sigmoid) net whose values were NaN from the first step said under
"Saturated and dead units": "No saturating or ReLU-family activations were recorded.", though the model table
beside it lists its relu layers; the other figures said that nothing finite was recorded. The saturation section
now says the same when the model has a saturating or dead-capable activation (and keeps its note otherwise)."""
import re

from tests.present.present_fixtures import write_store

from graddoctor.present.html import _missing, render_run_report
from graddoctor.present.sampling import load_for_display


def _saturation_text(html: str) -> str:
    block = html[html.index('id="activations"'):]
    return " ".join(re.sub(r"<[^>]+>", " ", block[:block.index("</section>")]).split())


def test_nan_run_with_sigmoid_layers_says_nothing_finite(tmp_path):
    path = write_store(tmp_path / "nan.sqlite", n_steps=6, stats=("signal_norm",), nonfinite_steps=tuple(range(6)))
    text = _saturation_text(render_run_report(path, tmp_path / "r.html", figures=True).read_text())
    assert "No saturating or ReLU-family activations were recorded" not in text, text
    assert text.count("Nothing finite to draw") == 2, text  # activations and saturation


def test_nan_run_without_such_activations_keeps_its_note(tmp_path):
    path = write_store(tmp_path / "nan.sqlite", n_steps=6, stats=("signal_norm",), nonfinite_steps=tuple(range(6)))
    view, sampling = load_for_display(path)
    missing = _missing(view.meta, sampling.total_steps, sampling, frozenset({None, "gelu"}))
    assert missing["saturation"] == "No saturating or ReLU-family activations were recorded."
