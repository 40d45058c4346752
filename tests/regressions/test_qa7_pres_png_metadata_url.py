"""Regression: the self-contained report (no script, nothing from the network, no remote URL in the page) embedded
figures whose PNG text chunk read "Software: Matplotlib version 3.x, https://matplotlib.org/": a remote URL (and
the plotting library's version) in every figure of the page and every --png-dir file. Figures are now written
without that chunk."""
import base64
import re

from tests.present.present_fixtures import write_store

from graddoctor.present.html import render_run_report


def test_embedded_and_written_figures_hold_no_url(tmp_path):
    path = write_store(tmp_path / "run.sqlite", n_steps=12)
    html = render_run_report(path, tmp_path / "r.html", png_dir=tmp_path / "figs").read_text()
    pngs = [base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)]
    pngs += [p.read_bytes() for p in (tmp_path / "figs").glob("*.png")]
    assert len(pngs) >= 8
    for png in pngs:
        assert png.startswith(b"\x89PNG") and b"https://" not in png and b"Matplotlib version" not in png
