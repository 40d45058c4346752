"""Regression: `graddoctor report` of a model whose module names are in a script that matplotlib's bundled font
lacks (Japanese, Chinese, emoji) printed one "UserWarning: Glyph NNNNN (...) missing from font(s) DejaVu Sans"
per character and figure on stderr (16 lines for one 8-character name). The figures draw such characters as
boxes and the page shows the names as text, so the warnings are silenced where the figures are saved."""
import warnings

from tests.present.present_fixtures import write_store

from graddoctor.present.html import render_run_report


def test_report_of_cjk_layer_names_warns_nothing(tmp_path):
    store = write_store(tmp_path / "cjk.sqlite", names=["日本語レイヤー", "层二", "🙂 emoji", "out"], n_steps=12)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        render_run_report(str(store), tmp_path / "r.html", png_dir=tmp_path / "png")
    glyph = [str(w.message) for w in seen if "Glyph" in str(w.message)]
    assert not glyph, glyph[:3]
    assert "日本語レイヤー" in (tmp_path / "r.html").read_text(encoding="utf-8")
