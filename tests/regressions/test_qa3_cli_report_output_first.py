"""Regression: `graddoctor report RUN -o missing_dir/r.html --png-dir figs` read and diagnosed the run and drew
every figure (seconds, and the PNGs were written into figs/) before finding that the report's directory did
not exist. The output path is now checked first: exit 2, nothing written, nothing drawn."""
from click.testing import CliRunner
from tests.present.present_fixtures import write_store

from graddoctor.cli import main
from graddoctor.present import html as html_mod


def test_missing_output_directory_fails_before_any_figure(tmp_path, monkeypatch):
    store = write_store(tmp_path / "run.sqlite", n_steps=12)
    drawn = []
    real = html_mod.run_figures
    monkeypatch.setattr(html_mod, "run_figures", lambda *a, **k: drawn.append(1) or real(*a, **k))
    r = CliRunner().invoke(main, ["report", str(store), "-o", str(tmp_path / "nope" / "r.html"),
                                  "--png-dir", str(tmp_path / "figs")])
    assert r.exit_code == 2, r.output
    assert "directory" in r.output and "does not exist" in r.output
    assert not drawn
    assert not (tmp_path / "figs").exists()


def test_render_run_report_checks_the_path_before_drawing(tmp_path, monkeypatch):
    store = write_store(tmp_path / "run.sqlite", n_steps=12)
    drawn = []
    monkeypatch.setattr(html_mod, "run_figures", lambda *a, **k: drawn.append(1) or {})
    try:
        html_mod.render_run_report(str(store), tmp_path / "nope" / "r.html", png_dir=tmp_path / "figs")
    except FileNotFoundError as e:
        assert "does not exist" in str(e)
    else:
        raise AssertionError("no error for a report in a missing directory")
    assert not drawn
