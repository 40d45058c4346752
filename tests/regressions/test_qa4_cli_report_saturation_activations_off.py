"""Regression: the report of a run watched with ``activations=False`` said under "Saturated and dead units" that
"No saturating or ReLU-family activations were recorded", a claim about the model (a sigmoid MLP has them) where
the truth is that activations were not recorded at all. It now says so and how to record them."""
from tests.present.present_fixtures import write_store

from graddoctor.present.html import render_run_report


def test_activations_off_saturation_section_says_why(tmp_path):
    run = write_store(tmp_path / "run.sqlite", n_steps=5, stats=("signal_norm", "grad_ratio", "update_ratio"),
                      meta={"settings": {"activations": False, "detail_every": 10}})
    html = render_run_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No saturating or ReLU-family activations were recorded" not in html
    assert html.count("watch(activations=True) records them") == 2
