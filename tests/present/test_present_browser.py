"""Reports as a person sees them: headless Chromium opens each report, takes a screenshot, and the test checks
that there are no console messages, that every section and figure is there, and that hostile module names and
metadata show as text without running. Marker ``browser`` (``make test-browser``)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from present_fixtures import REPAIR, VANISHING, XSS_META, XSS_NAMES, write_store
from torch import nn

import graddoctor as gd
from graddoctor.diagnosis.findings import Diagnosis, Finding
from graddoctor.present.html import render_run_report
from graddoctor.store.sqlite import load_run

pytestmark = pytest.mark.browser

#: Chromium flags: headless, no sandbox (CI containers run as root), nothing fetched in the background.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--disable-default-apps", "--enable-logging=stderr", "--v=0")
#: Window of the screenshot: laptop width, tall enough for the first sections.
WINDOW = "1280,3000"
#: Generous limit for one browser run on a loaded machine (not a timing assertion).
BROWSER_TIMEOUT_S = 180
RUN_SECTIONS = ("summary", "gradient-flow", "learning-speed", "activations", "loss", "layer-stats", "model",
                "metadata")
RUN_FIGURES = ("gradient_flow", "heatmap", "update_speed", "activations", "saturation", "loss")


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary; installed with apt-get when missing."""
    path = shutil.which("chromium")
    if path is None:
        for cmd in (["apt-get", "install", "-y", "-q", "chromium"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "chromium"]):
            subprocess.run(cmd, check=False, capture_output=True)
            path = shutil.which("chromium")
            if path is not None:
                break
    if path is None:
        pytest.fail("headless chromium is needed for the browser tests and could not be installed; "
                    "run 'apt-get update && apt-get install -y chromium'")
    return path


def open_in_browser(chromium: str, html: Path, tmp: Path) -> tuple[str, list[str], Path]:
    """Load ``html`` in a fresh headless profile; return the DOM after load, the console lines, the screenshot."""
    shot = tmp / (html.stem + ".png")
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / ('profile-' + html.stem)}",
           f"--window-size={WINDOW}", f"--screenshot={shot}", "--dump-dom", html.resolve().as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    console = [line for line in res.stderr.splitlines() if ":CONSOLE" in line]
    assert res.stdout.strip(), f"chromium printed no DOM (exit {res.returncode}): {res.stderr[-2000:]}"
    return res.stdout, console, shot


def assert_screenshot_shows_a_page(shot: Path) -> None:
    import matplotlib.image as mpimg

    assert shot.exists(), "no screenshot was written"
    img = mpimg.imread(str(shot))
    assert img.shape[1] == 1280 and img.shape[0] >= 1000
    assert float(np.std(img)) > 0.05, "the screenshot is blank"


def assert_no_injection(dom: str) -> None:
    assert "<script" not in dom.lower(), "a script element reached the page"
    assert not re.search(r"<img[^>]+src=\"x\"", dom), "the <img onerror> payload became an element"
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert "pwned" not in title.lower() or "&lt;" in title, "a payload changed document.title"
    assert "&lt;script&gt;document.title=" in dom, "the hostile name is not shown as text"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    names = [XSS_NAMES[0], "ok.layer", XSS_NAMES[1], "fc3", "fc4"]
    store = write_store(tmp / "hostile.sqlite", n_layers=5, names=names, recurrent=(0,), nonfinite_steps=(17,),
                        meta={"model_class": "<b>Evil</b>", "user": {"note": XSS_META}},
                        findings=[{**VANISHING, "layers": names[:2], "message": XSS_META}])
    out = {"synthetic": render_run_report(load_run(store), tmp / "synthetic.html", repair=REPAIR)}
    rows = [{"layer": XSS_NAMES[0], "type": "Linear", "activation": "sigmoid", "signal": 1e-6},
            {"layer": "fc2", "type": "Linear", "activation": None, "signal": 1e-1}]
    diag = Diagnosis(findings=[Finding(**{**VANISHING, "message": XSS_META})], layers=rows, source="check",
                     meta={"model_class": XSS_NAMES[1]})
    out["check"] = Path(diag.report(str(tmp / "check.html")))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
    with gd.watch(model, opt, store=str(tmp / "real.sqlite")) as run:
        for _ in range(30):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log_loss(loss)
    out["real"] = Path(run.report(str(tmp / "real.html")))
    return out


@pytest.mark.parametrize("name", ["synthetic", "real"])
def test_run_report_in_the_browser(chromium, reports, tmp_path, name):
    dom, console, shot = open_in_browser(chromium, reports[name], tmp_path)
    assert console == [], f"console messages: {console}"
    for sec in RUN_SECTIONS:
        assert f'id="{sec}"' in dom, sec
    for fig in RUN_FIGURES:
        assert re.search(rf'<figure id="fig-{fig}"[^>]*>\s*<img src="data:image/png;base64,', dom), fig
    assert_screenshot_shows_a_page(shot)
    if name == "synthetic":
        assert 'id="recurrent"' in dom and 'id="repair"' in dom and 'id="fig-time_signal"' in dom
        assert_no_injection(dom)
        assert "&lt;b&gt;Evil&lt;/b&gt;" in dom


def test_check_report_in_the_browser(chromium, reports, tmp_path):
    dom, console, shot = open_in_browser(chromium, reports["check"], tmp_path)
    assert console == [], f"console messages: {console}"
    for sec in ("summary", "gradient-flow", "layer-stats", "metadata"):
        assert f'id="{sec}"' in dom, sec
    assert 'id="fig-check_layers"' in dom
    assert_no_injection(dom)
    assert_screenshot_shows_a_page(shot)


def test_the_console_check_catches_errors(chromium, tmp_path):
    """Control: a page with a failing script does produce console lines, so an empty list means something."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><title>t</title></head><body><p>x</p>"
                   "<script>undefinedFunction()</script></body></html>")
    _, console, _ = open_in_browser(chromium, bad, tmp_path)
    assert any("undefinedFunction" in line for line in console)
