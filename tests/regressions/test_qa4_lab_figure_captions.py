"""QA4 (lab): the HTML page of 8 of the 9 experiments captioned every figure with the placeholder "Figure
written by the <name> experiment (<file>.png)": only saxe defined ``FIGURE_CAPTIONS``, so a reader of the page
was not told what the figure shows. Now every figure an experiment saves has a caption saying what is
plotted and what to look for."""
from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from graddoctor.lab import registry


def _saved_stems(module: object) -> list[str]:
    """The file stems of the figures a module saves: the literal name in each ``figures.save(fig, out, NAME,
    written)`` call."""
    stems = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):   # type: ignore[arg-type]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "save"
                and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant)):
            stems.append(node.args[2].value)
    return stems


@pytest.mark.parametrize("name", registry.names())
def test_every_saved_figure_has_a_caption(name: str) -> None:
    module = importlib.import_module(registry.EXPERIMENTS[name])
    stems = _saved_stems(module)
    assert stems, f"{name}: no figures.save(...) call found"
    captions = getattr(module, "FIGURE_CAPTIONS", {})
    missing = [s for s in stems if not captions.get(s)]
    assert not missing, f"{name}: figures without a caption on the HTML page: {missing}"


def test_the_page_shows_the_caption(tmp_path) -> None:
    from graddoctor.lab.html import page_html

    (tmp_path / "resnet-fig6.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    html = page_html({"name": "resnet", "checks": [], "figures": ["resnet-fig6.png"]}, tmp_path)
    assert "Figure written by the resnet experiment" not in html
    assert "degradation" in html
