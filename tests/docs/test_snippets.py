"""The documentation a new user follows works as written.

1. Every ```python block of README.md and docs/**/*.md is run, in a fresh folder per page (the page's blocks in
   order, sharing one namespace, as a reader would paste them). A block that cannot run here (it needs CUDA,
   several processes, torch.compile or an optional framework) is marked in the markdown by an HTML comment on
   the line before it, ``<!-- snippet: not run (why) -->``; it must still compile, and the reason must be
   given, so nothing is skipped silently. A block that builds on names the page does not define gets them
   from an HTML comment ``<!-- snippet setup: CODE -->`` before it, run first (a reader sees that the names
   come from earlier steps; the test sees how).

   The names a snippet may take for granted (a model, its optimizer, a loader, ...) are those of
   :func:`_prelude`: a small, healthy MLP on 2-class data, so that the snippets run in a few seconds.

2. Every ``graddoctor <verb> ... --option`` written in the docs (code blocks and inline code) is an option
   that command accepts (its ``--help``), so a documented flag cannot be renamed or dropped unnoticed.

3. What the docs name exists: every ``gd.NAME`` and ``graddoctor.module.NAME``, every test cited as evidence,
   every relative link, every make target (and the README's table lists them all); every docs page is
   linked from the README.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

#: The marker of a block that is not run, with its reason in parentheses.
NOT_RUN = re.compile(r"<!--\s*snippet:\s*not run\s*\((?P<why>.+)\)\s*-->")
#: The marker of hidden set-up code run before the next block.
SETUP = re.compile(r"<!--\s*snippet setup:\s*(?P<code>.*?)-->", re.S)
FENCE = re.compile(r"^```python\s*\n(?P<body>.*?)^```\s*$", re.M | re.S)


def _blocks(page: Path) -> list[dict[str, Any]]:
    """The ```python blocks of ``page``: line, code, and the marker comments right before each (only blank
    lines or other marker comments between)."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()]
        line = before.count("\n") + 1
        # the comments directly above the fence (possibly several, possibly multi-line)
        tail = before.rstrip()
        markers = []
        while tail.endswith("-->"):
            start = tail.rfind("<!--")
            if start < 0:
                break
            markers.insert(0, tail[start:])
            tail = tail[:start].rstrip()
        why = next((w.group("why").strip() for c in markers if (w := NOT_RUN.fullmatch(c.strip()))), None)
        setup = "\n".join(s.group("code").strip() for c in markers if (s := SETUP.fullmatch(c.strip())))
        out.append({"line": line, "code": m.group("body"), "not_run": why, "setup": setup})
    return out


_PAGES_WITH_CODE = [p for p in PAGES if _blocks(p)]


def _prelude() -> dict[str, Any]:
    """What the snippets may take for granted: ``model``, ``optimizer``, ``loss_fn``, ``loader`` (a list of
    (x, y) batches), ``inputs``/``targets`` (one batch), ``build`` (a fresh model), ``X_train``/``y_train``,
    ``X_val``/``y_val`` and ``x``/``X``/``y``/``Xv``/``yv`` (whole data sets), and the helpers
    ``watched_run(path)`` (a finished watched run stored at ``path``) and ``repair_result()`` (a finished
    ``gd.repair``). No file or folder: a page whose snippets need one creates it (README.md) or names it in a
    set-up comment."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    import graddoctor as gd

    g = torch.Generator().manual_seed(0)
    X_train = torch.randn(256, 8, generator=g)
    y_train = (X_train[:, 0] > 0).long()
    X_val = torch.randn(64, 8, generator=g)
    y_val = (X_val[:, 0] > 0).long()

    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = [(X_train[i:i + 32], y_train[i:i + 32]) for i in range(0, len(X_train), 32)]

    def watched_run(path: str) -> Any:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        m = build()
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        with gd.watch(m, opt, store=path) as run:
            for xb, yb in loader:
                loss = F.cross_entropy(m(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.step(loss=loss)
        return run

    def repair_result() -> Any:
        return gd.repair(gd.Case(model_fn=build, train=(X_train, y_train), val=(X_val, y_val),
                                 loss_fn=F.cross_entropy, optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.1),
                                 steps=20, batch_size=32), progress=False)

    return {"os": os, "torch": torch, "nn": nn, "F": F, "gd": gd, "model": model, "optimizer": optimizer,
            "loss_fn": F.cross_entropy, "loader": loader, "inputs": X_train[:32], "targets": y_train[:32],
            "x": X_train, "y": y_train, "X": X_train, "Xv": X_val, "yv": y_val, "build": build,
            "X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val,
            "watched_run": watched_run, "repair_result": repair_result}


@pytest.mark.parametrize("page", _PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_snippets_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ns = _prelude()
    for block in _blocks(page):
        where = f"{page.relative_to(ROOT)}:{block['line']}"
        code = compile(block["code"], where, "exec")           # a block that is not run must still compile
        if block["not_run"] is not None:
            assert block["not_run"], f"{where}: give the reason a block is not run"
            continue
        if block["setup"]:
            exec(compile(block["setup"], f"{where} (setup)", "exec"), ns)
        try:
            exec(code, ns)
        except Exception as e:  # name the page and line of the block, not just the exec frame
            raise AssertionError(f"the snippet at {where} fails: {type(e).__name__}: {e}") from e


def test_markers_are_well_formed() -> None:
    """A marker comment that does not match the syntax would silently run (or not set up) its block."""
    for page in PAGES:
        for i, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"<!--\s*snippet", line) and not (NOT_RUN.search(line) or "snippet setup:" in line):
                raise AssertionError(f"{page.relative_to(ROOT)}:{i}: malformed snippet marker: {line.strip()}")


def _cli_options() -> dict[str, set[str]]:
    """``"verb"`` or ``"group sub"`` -> the options that command accepts."""
    import click

    from graddoctor.cli import main

    out: dict[str, set[str]] = {}

    def walk(cmd: click.Command, path: list[str], ctx: click.Context) -> None:
        opts = {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
        out[" ".join(path)] = opts | {"--help", "-h"}
        if isinstance(cmd, click.Group):                 # the root group loads its subcommands lazily
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, name
                walk(sub, [*path, name], click.Context(sub, parent=ctx, info_name=name))

    walk(main, [], click.Context(main, info_name="graddoctor"))
    return out


#: ``graddoctor`` followed by a verb (and a sub-verb for groups), then the rest of the command up to a comment,
#: the end of the code span, or the next command of a pipeline/list.
_COMMAND = re.compile(r"graddoctor((?: [a-z][a-z-]*){1,2})([^\n`#;&]*)")


def test_documented_cli_options_exist() -> None:
    commands = _cli_options()
    checked, wrong = 0, []
    for page in PAGES:
        # a usage line continued on the next, indented ("graddoctor report RUN [--a]\n      [--b]") is one line
        text = re.sub(r"\n[ \t]+(?=\[--)", " ", page.read_text(encoding="utf-8"))
        for i, line in enumerate(text.splitlines(), 1):
            for segment in re.split(r" \| |;|&&", line):
                for m in _COMMAND.finditer(segment):
                    words = m.group(1).split()
                    if words[0] not in commands:
                        continue                                 # prose: "graddoctor never ..."
                    verb = " ".join(words[:2]) if " ".join(words[:2]) in commands else words[0]
                    for opt in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", m.group(2)):
                        checked += 1
                        if opt not in commands[verb]:
                            wrong.append(f"{page.relative_to(ROOT)}:{i}: `graddoctor {verb}` has no {opt}")
    assert not wrong, "\n".join(wrong)
    assert checked > 20, "the docs' commands were not found: the pattern is broken"


def test_every_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in readme]
    assert not missing, f"docs pages a new user cannot reach from README.md: {missing}"


def test_relative_links_resolve() -> None:
    broken = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, "\n".join(broken)



def _top_level_names(source: Path) -> set[str]:
    """The names a module defines at top level (def, class, assignment, import), read from its source: no import,
    so a module of an optional integration is checked without its library (and without its import time)."""
    import ast

    names: set[str] = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def test_named_api_exists() -> None:
    """Every ``gd.NAME`` and dotted ``graddoctor.module.NAME`` the docs mention exists: the longest dotted prefix
    that is a module file under src/graddoctor, then a name that module defines."""
    import graddoctor as gd

    src = ROOT / "src"
    wrong = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        wrong += [f"{page.relative_to(ROOT)}: gd.{n}" for n in set(re.findall(r"\bgd\.(\w+)", text))
                  if not hasattr(gd, n)]
        for dotted in set(re.findall(r"\b(graddoctor(?:\.\w+)+)", text)):
            parts = dotted.split(".")
            for i in range(len(parts), 0, -1):
                base = src.joinpath(*parts[:i])
                module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
                if module.is_file():
                    if i < len(parts) and parts[i] not in _top_level_names(module):
                        wrong.append(f"{page.relative_to(ROOT)}: {dotted}")
                    break
            else:
                wrong.append(f"{page.relative_to(ROOT)}: {dotted}")
    assert not wrong, "\n".join(sorted(wrong))


def test_referenced_tests_exist() -> None:
    """A test the docs cite as evidence (``test_x.py``, ``test_x.py::test_y``, ```test_y```) exists."""
    tests = ROOT / "tests"
    files = {p.name: p for p in tests.rglob("test_*.py")}
    defined = set(re.findall(r"def (test_\w+)", "\n".join(p.read_text(encoding="utf-8") for p in files.values())))
    wrong = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for file, name in re.findall(r"\b(test_\w+\.py)(?:::(test_\w+))?", text):
            if file not in files:
                wrong.append(f"{page.relative_to(ROOT)}: {file}")
            elif name and not name.endswith("_") and f"def {name}" not in files[file].read_text(encoding="utf-8"):
                wrong.append(f"{page.relative_to(ROOT)}: {file}::{name}")
        wrong += [f"{page.relative_to(ROOT)}: {n}" for n in re.findall(r"`(test_\w+)`", text) if n not in defined]
    assert not wrong, "\n".join(sorted(wrong))


def test_make_targets_match_the_readme() -> None:
    """The README's table of make targets names every target of the Makefile, and only those."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split())  # type: ignore[union-attr]
    user_facing = phony - {"venv", "clean"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`make ([\w-]+)`", readme)) | set(re.findall(r"^make ([\w-]+)", readme, re.M))
    assert not user_facing - named, f"make targets missing from README.md: {sorted(user_facing - named)}"
    assert not named - phony, f"README.md names make targets that do not exist: {sorted(named - phony)}"


def test_install_extras_match_the_readme() -> None:
    """The README's install line names every optional extra of pyproject.toml (but dev) that exists."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")   # no tomllib: Python 3.10 is supported
    section = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([\w-]+)\s*=", section, re.M)) - {"dev"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = readme[readme.index("pip install -e ."):].split("\n\n", 1)[0]
    named = set(re.findall(r"`'?\.?\[?([a-z]+)\]?'?`", line)) - {"pip"}
    assert named == extras, f"README names extras {sorted(named)}, pyproject.toml has {sorted(extras)}"


def test_referenced_examples_exist() -> None:
    """``examples/FILE.py[:FUNCTION]`` named in the docs exists (and defines FUNCTION)."""
    wrong = []
    for page in PAGES:
        for file, func in re.findall(r"\b(examples/[\w/]+\.py)(?::(\w+))?", page.read_text(encoding="utf-8")):
            path = ROOT / file
            if not path.is_file():
                wrong.append(f"{page.relative_to(ROOT)}: {file}")
            elif func and not re.search(rf"^def {func}\(", path.read_text(encoding="utf-8"), re.M):
                wrong.append(f"{page.relative_to(ROOT)}: {file}:{func}")
    assert not wrong, "\n".join(wrong)
