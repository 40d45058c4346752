"""Security: nothing graddoctor reads is unpickled, the CLI runs only the file the user names, no network
access at run time, and the HTML report escapes every user-controlled string.

(The report engineer's browser test checks that no script runs; these tests check the HTML itself.)
"""
from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import graddoctor as gd

SRC = Path(gd.__file__).resolve().parent
NASTY_NAME = "<img src=x onerror=alert(1)>"
NASTY_META = "</script><script>alert('meta')</script>"


# ---------------------------------------------------------------------------------------------- no pickles
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal", "joblib"}


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_calls(tree: ast.AST) -> list[str]:
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"line {node.lineno}: imports {n}" for n in names if n and n.split(".")[0] in UNSAFE_MODULES]
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
        attr = node.func.attr
        if owner == "torch" and attr == "load":
            wo = _kw(node, "weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                bad.append(f"line {node.lineno}: torch.load without weights_only=True")
        if owner in ("np", "numpy") and attr == "load":
            ap = _kw(node, "allow_pickle")
            if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                bad.append(f"line {node.lineno}: np.load with allow_pickle")
        if owner in ("pd", "pandas") and attr == "read_pickle":
            bad.append(f"line {node.lineno}: pandas.read_pickle")
        if owner == "yaml" and attr in ("load", "unsafe_load", "full_load"):
            bad.append(f"line {node.lineno}: yaml.{attr}")
    return bad


def test_unsafe_call_finder_finds_them():
    code = textwrap.dedent("""
        import pickle
        import torch, numpy as np
        torch.load(p)
        torch.load(p, weights_only=False)
        np.load(p, allow_pickle=True)
        torch.load(p, weights_only=True)
    """)
    found = unsafe_calls(ast.parse(code))
    assert len(found) == 4, found


def test_nothing_in_the_library_unpickles():
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        problems += [f"{path.relative_to(SRC)}: {p}" for p in unsafe_calls(ast.parse(path.read_text(), str(path)))]
    assert not problems, "graddoctor must never unpickle what it reads:\n" + "\n".join(problems)


def test_the_store_holds_no_pickles(tmp_path):
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin, self.rnn, self.head = nn.Linear(4, 8), nn.LSTM(8, 8), nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.rnn(torch.tanh(self.lin(x)))[0][-1])

    model = Net()
    opt = torch.optim.Adam(model.parameters())
    path = tmp_path / "run.sqlite"
    with gd.watch(model, opt, store=path, meta={"obj": "a string"}) as run:
        for _ in range(4):
            opt.zero_grad()
            loss = F.mse_loss(model(torch.randn(6, 3, 4)), torch.randn(3, 2))
            loss.backward()
            opt.step()
            run.step(loss=loss)
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        n_blobs = 0
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        n_blobs += 1
                        assert not value.startswith(b"\x80"), f"pickle-like blob in {table}"
                        assert len(value) % 4 == 0  # little-endian float32 arrays only
                    elif isinstance(value, str) and table in ("meta", "findings") and value.startswith(("{", "[")):
                        json.loads(value)  # JSON, never a serialised object
    finally:
        con.close()
    assert n_blobs > 0


# ---------------------------------------------------------------------------------------------- the CLI
USER_FILE = """
import torch
from torch import nn
from torch.nn import functional as F

def case():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    return model, torch.randn(16, 4), torch.randint(0, 2, (16,)), F.cross_entropy
"""
TRAP = """
from pathlib import Path
Path(__file__).with_name("IMPORTED-" + Path(__file__).stem).write_text("imported")
"""


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graddoctor.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


@pytest.mark.parametrize("command", ["check", "repair"])
def test_cli_help_says_only_the_named_file_is_imported(command, tmp_path):
    from click.testing import CliRunner

    from graddoctor.cli import main

    if main.get_command(None, command) is None:  # type: ignore[arg-type]
        pytest.skip(f"graddoctor {command} does not exist yet")
    out = CliRunner().invoke(main, [command, "--help"]).output
    assert "only the file you name" in " ".join(out.lower().split()), out


def test_check_cli_imports_only_the_named_file(tmp_path):
    from graddoctor.cli import main

    if main.get_command(None, "check") is None:  # type: ignore[arg-type]
        pytest.skip("graddoctor check does not exist yet")
    (tmp_path / "net.py").write_text(USER_FILE)
    # Files a careless loader might pick up: neighbours, package markers, site hooks, a .pth, a conftest.
    for trap in ("neighbour.py", "conftest.py", "sitecustomize.py", "usercustomize.py", "__init__.py", "setup.py",
                 # graddoctor's own dependencies, some imported lazily after the user's file was loaded
                 "rich.py", "jinja2.py", "matplotlib.py", "click.py", "numpy.py", "sklearn.py", "json.py"):
        (tmp_path / trap).write_text(TRAP)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(TRAP)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "sitecustomize.py").write_text(TRAP)
    result = cli("check", str(tmp_path / "net.py") + ":case", cwd=elsewhere)  # the text view imports rich late
    assert result.returncode in (0, 1), result.stderr[-3000:]
    result = cli("check", str(tmp_path / "net.py") + ":case", "--json", cwd=elsewhere)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    json.loads(result.stdout)
    imported = sorted(p.name for p in tmp_path.rglob("IMPORTED-*"))
    assert imported == [], f"graddoctor check imported files the user did not name: {imported}"


def test_check_cli_bad_target_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    from graddoctor.cli import main

    if main.get_command(None, "check") is None:  # type: ignore[arg-type]
        pytest.skip("graddoctor check does not exist yet")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "missing.py") + ":case"])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------- no network
NO_NETWORK = """
import socket, sys
class NetworkUsed(RuntimeError):
    pass
def refuse(*a, **k):
    raise NetworkUsed(f"graddoctor tried to use the network: {a[:2]}")
class NoSocket(socket.socket):
    def __init__(self, family=-1, *a, **k):
        if family in (socket.AF_INET, socket.AF_INET6):
            refuse(family)
        super().__init__(family, *a, **k)
    def connect(self, *a, **k):
        refuse(*a)
socket.socket = NoSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse
socket.gethostbyname = refuse
sys.argv = ["graddoctor"] + sys.argv[1:]
from graddoctor.cli import main
main()
"""


def test_the_guard_blocks_the_network(tmp_path):
    probe = NO_NETWORK.replace("from graddoctor.cli import main\nmain()",
                               "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/')")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "graddoctor tried to use the network" in r.stderr


def test_demo_runs_with_the_network_disabled(tmp_path):
    from graddoctor.cli import main

    if main.get_command(None, "demo") is None:  # type: ignore[arg-type]
        pytest.skip("graddoctor demo does not exist yet")
    r = subprocess.run([sys.executable, "-c", NO_NETWORK, "demo", "--steps", "30", "--budget", "5", "--seeds", "1",
                        "--out", str(tmp_path / "runs")], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    assert "NetworkUsed" not in r.stderr, r.stderr[-3000:]
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    assert list((tmp_path / "runs").rglob("*.sqlite")), "the demo wrote no run store"


def test_watch_diagnose_report_with_the_network_disabled(tmp_path):
    script = NO_NETWORK.replace("from graddoctor.cli import main\nmain()", textwrap.dedent(f"""
        import torch, graddoctor as gd
        from torch import nn
        m = nn.Sequential(*[l for _ in range(6) for l in (nn.Linear(16, 16), nn.Sigmoid())], nn.Linear(16, 2))
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        with gd.watch(m, opt, store={str(tmp_path / 'r.sqlite')!r}) as run:
            for _ in range(20):
                opt.zero_grad(); l = nn.functional.cross_entropy(m(torch.randn(32, 16)), torch.randint(0, 2, (32,)))
                l.backward(); opt.step(); run.step(loss=l)
        run.diagnose()
        try:
            from graddoctor.present.html import render_run_report
        except ImportError:
            render_run_report = None
        if render_run_report is not None:
            render_run_report(run.data, {str(tmp_path / 'r.html')!r}, diagnosis=run.diagnose(), figures=False)
        print("OK")
    """))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]


# ---------------------------------------------------------------------------------------------- the report
class Nasty(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.add_module(NASTY_NAME, nn.Linear(4, 8))
        self.add_module("act</td><script>alert(2)</script>", nn.Sigmoid())
        self.add_module("x\"'><svg onload=alert(3)>", nn.Linear(8, 2))

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x


class Tags(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_escaped(html: str) -> None:
    for raw in (NASTY_NAME, "<script>alert(", "<svg onload", NASTY_META):
        assert raw not in html, f"unescaped user string in the report: {raw!r}"
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, escaped
    parser = Tags()
    parser.feed(html)
    names = {t for t, _ in parser.tags}
    assert not names & {"script", "svg", "iframe", "object", "embed"}, names
    for tag, attrs in parser.tags:
        for k, v in attrs:
            assert not k.startswith("on"), f"event handler attribute {k}= on <{tag}>"
            if k in ("src", "href") and v and not v.startswith(("data:image/", "#")):
                raise AssertionError(f"<{tag} {k}={v[:60]!r}>: the report must load nothing from outside")


def test_run_report_escapes_user_strings(tmp_path):
    html_mod = pytest.importorskip("graddoctor.present.html")
    model = Nasty()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    store = tmp_path / "nasty.sqlite"
    with gd.watch(model, opt, store=store, meta={"note": NASTY_META, NASTY_NAME: NASTY_META}) as run:
        for _ in range(5):
            opt.zero_grad()
            loss = F.mse_loss(model(torch.randn(8, 4)), torch.randn(8, 2))
            loss.backward()
            opt.step()
            run.step(loss=loss)
    out = html_mod.render_run_report(gd.load_run(store), tmp_path / "r.html", diagnosis=run.diagnose(),
                                     title=NASTY_META, figures=False)
    html = Path(out).read_text()
    assert_escaped(html)
    assert "&lt;/script&gt;" in html  # the metadata value is shown, escaped


def test_check_report_escapes_user_strings(tmp_path):
    html_mod = pytest.importorskip("graddoctor.present.html")
    model = Nasty()
    with torch.no_grad():
        model.get_submodule(NASTY_NAME).weight.mul_(20)  # saturate the sigmoid: a finding naming the layer
    diag = gd.check(model, torch.randn(32, 4), torch.randn(32, 2), F.mse_loss)
    out = html_mod.render_check_report(diag, tmp_path / "c.html", title=NASTY_META)
    html = Path(out).read_text()
    assert_escaped(html)
