"""Regression: the lab's figures (embedded in its self-contained HTML report) carried matplotlib's PNG text chunk
"Software: Matplotlib version 3.x, https://matplotlib.org/", a remote URL, as the run report's did before
02c20cc. lab.figures.save writes them without it."""
from graddoctor.lab.figures import figure, save


def test_lab_figure_holds_no_url(tmp_path):
    fig, (ax,) = figure()
    ax.plot([0, 1], [1, 0])
    written: list[str] = []
    save(fig, tmp_path, "f", written)
    png = (tmp_path / "f.png").read_bytes()
    assert written == [str(tmp_path / "f.png")]
    assert png.startswith(b"\x89PNG") and b"https://" not in png and b"Matplotlib version" not in png
