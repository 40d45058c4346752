"""The HTML report: sections, figures, escaping, offline-ness, PNG export, downsampling note, repair view."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from present_fixtures import REPAIR, VANISHING, XSS_META, XSS_NAMES, write_store

from graddoctor.diagnosis.findings import Diagnosis, Finding
from graddoctor.present.html import render_run_report
from graddoctor.store.run_data import LAYER_STATS, STEP_STATS, LayerInfo, RunData
from graddoctor.store.sqlite import load_run

RUN_SECTIONS = ("summary", "gradient-flow", "learning-speed", "activations", "loss", "layer-stats", "model",
                "metadata")
RUN_FIGURES = ("gradient_flow", "heatmap", "update_speed", "activations", "saturation", "loss")


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> tuple[str, Path]:
    """One report with everything (recurrent series, stored finding, XSS names and metadata, repair, PNGs),
    drawn once for the module."""
    tmp = tmp_path_factory.mktemp("full")
    names = [XSS_NAMES[0], "ok.layer", XSS_NAMES[1], "fc3", "fc4"]
    store = write_store(tmp / "run.sqlite", n_layers=5, names=names, recurrent=(0,),
                        meta={"model_class": "<b>Evil</b>", "user": {"note": XSS_META}},
                        findings=[{**VANISHING, "layers": names[:2], "message": XSS_META}])
    out = render_run_report(load_run(store), tmp / "r.html", repair=REPAIR, png_dir=tmp / "figs")
    return _html(out), tmp / "figs"


def test_run_report_has_every_section_and_figure(full_report):
    html, _ = full_report
    for sec in RUN_SECTIONS + ("recurrent", "repair"):
        assert f'id="{sec}"' in html, sec
    for fig in RUN_FIGURES + ("time_signal", "repair_curves"):
        assert f'id="fig-{fig}"' in html, fig
    # the stored finding is explained with its cause, remedies and Nielsen factors
    assert "vanishing_gradient" in html and "saturating_activation" in html and "use_relu_family" in html
    assert "activation factor" in html and "Dominant factor" in html
    assert "Bengio, Simard &amp; Frasconi 1994" in html  # the plain-language reference


def test_figures_are_embedded_pngs_and_nothing_is_fetched(full_report):
    html, _ = full_report
    uris = re.findall(r'<img src="([^"]+)"', html)
    assert len(uris) == len(RUN_FIGURES) + 2
    for uri in uris:
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_user_strings_are_escaped(full_report):
    html, _ = full_report
    assert "<script>document.title" not in html and "<img src=x" not in html and "<b>Evil</b>" not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html and "&lt;b&gt;Evil&lt;/b&gt;" in html
    assert html.lower().count("<script") == 0


def test_png_dir_writes_each_figure(full_report):
    _, png_dir = full_report
    written = sorted(p.stem for p in png_dir.glob("*.png"))
    assert written == sorted(RUN_FIGURES + ("time_signal", "repair_curves"))
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in png_dir.glob("*.png"))


def test_downsampling_is_said_on_the_page(make_store, tmp_path):
    store = make_store(n_steps=120, chunk=60, nonfinite_steps=(77,))
    html = _html(render_run_report(store, tmp_path / "r.html", max_steps=10, figures=False))
    assert 'id="downsample-note"' in html and "120 steps" in html
    assert "Figure left out" in html and "<img" not in html
    html_full = _html(render_run_report(store, tmp_path / "r2.html", figures=False))
    assert 'id="downsample-note"' not in html_full


def test_repair_section_with_and_without_a_result(make_store, tmp_path):
    data = load_run(make_store())
    html = _html(render_run_report(data, tmp_path / "r.html", repair=REPAIR, figures=False))
    assert 'id="repair"' in html
    assert re.search(r'<tr class="winner">\s*<td class="name">use_relu_family', html)
    assert "beat the baseline" in html
    no_winner = {**REPAIR, "best": None}
    html = _html(render_run_report(data, tmp_path / "r2.html", repair=no_winner, figures=False))
    assert "No remedy beat the baseline" in html and 'class="winner"' not in html
    html = _html(render_run_report(data, tmp_path / "r3.html", repair=None, figures=False))
    assert 'id="repair"' not in html


def test_a_given_diagnosis_replaces_the_stored_findings(make_store, tmp_path):
    data = load_run(make_store(findings=[VANISHING]))
    diag = Diagnosis(findings=[Finding(kind="dead_units", severity="warning", layers=["layers.1"], step=5)])
    html = _html(render_run_report(data, tmp_path / "r.html", diagnosis=diag, figures=False))
    assert "dead_units" in html and "vanishing_gradient" not in html
    html = _html(render_run_report(data, tmp_path / "r2.html", diagnosis=Diagnosis(), figures=False))
    assert "No problems found" in html


def test_empty_run_renders_with_explanations(make_store, tmp_path):
    html = _html(render_run_report(load_run(make_store(n_steps=0)), tmp_path / "r.html"))
    assert "Nothing to draw: no steps were recorded." in html and "needs the optimizer" not in html
    assert "No steps were recorded, so nothing was diagnosed." in html and "No problems found" not in html


def test_check_report(tmp_path):
    rows = [{"layer": XSS_NAMES[0], "type": "Linear", "activation": "sigmoid", "signal": 1e-6, "grad_ratio": 1e-7},
            {"layer": "fc2", "type": "Linear", "activation": None, "signal": 1e-1, "grad_ratio": 1e-2}]
    diag = Diagnosis(findings=[Finding(**{k: v for k, v in VANISHING.items()})], layers=rows, source="check",
                     meta={"model_class": "Net"})
    out = diag.report(str(tmp_path / "c.html"))
    html = _html(Path(out))
    assert 'id="fig-check_layers"' in html and 'id="summary"' in html and 'id="layer-stats"' in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "one-batch check" in html or "first seen at step 3" in html


def test_bad_output_paths_raise_clear_errors(make_store, tmp_path):
    data = load_run(make_store())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render_run_report(data, tmp_path / "missing" / "r.html", figures=False)
    with pytest.raises(ValueError, match="is a directory"):
        render_run_report(data, tmp_path, figures=False)


MATHTEXT_NAMES = ["a$b^{", r"$\frac{1}{0}$", "x_1$", "100%$", "\\$"]


def test_names_that_look_like_mathtext_draw_as_text(make_store, tmp_path):
    """Regression guard: matplotlib parses text between $ signs as mathtext and raises on bad input."""
    from graddoctor.present import plots

    data = load_run(make_store(n_layers=5, names=MATHTEXT_NAMES, n_steps=6))
    for fig in (plots.gradient_flow(data), plots.activations(data), plots.heatmap(data), plots.update_speed(data)):
        assert plots.to_png(fig)[:4] == b"\x89PNG"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and s.strip()),
                      min_size=2, max_size=4, unique=True),
       meta=st.text(max_size=40))
def test_any_name_or_metadata_is_escaped(tmp_path, names, meta):
    layers = [LayerInfo(index=i, name=n, type=n + "Type", activation=None, order=i) for i, n in enumerate(names)]
    data = RunData(layers=layers, steps=np.zeros(0, dtype=np.int64),
                   layer_stats={k: np.zeros((len(names), 0), dtype=np.float32) for k in LAYER_STATS},
                   step_stats={k: np.zeros(0) for k in STEP_STATS}, meta={"model_class": meta, "user": {"x": meta}})
    with open(render_run_report(data, tmp_path / "p.html", figures=False), encoding="utf-8", newline="") as fh:
        html = fh.read()
    for n in names + [meta]:
        assert str(escape(n)) in html
    assert "<script" not in html.lower()


def test_monitor_report_of_an_in_memory_run(tmp_path):
    import torch
    from torch import nn

    import graddoctor as gd

    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    with gd.watch(model, opt) as run:  # store=None: memory only
        for _ in range(12):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log_loss(loss)
    html = Path(run.report(str(tmp_path / "m.html"), figures=False)).read_text(encoding="utf-8")
    assert "12 recorded steps" in html and 'id="model"' in html and ">tanh<" in html
