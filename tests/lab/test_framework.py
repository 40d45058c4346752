"""The lab framework: registry, offline data, the CLI (list, run, exit status), the JSON contract."""
import json

import torch
from click.testing import CliRunner

from graddoctor.cli import main
from graddoctor.lab import data, registry
from graddoctor.lab.base import Check, LabResult

MINE = ("nielsen", "glorot", "he-init", "saxe", "meanfield")


def test_registry_lists_existing_modules_only():
    for name in MINE:
        assert name in registry.EXPERIMENTS
        m = registry.load(name)
        assert m.NAME == name and m.TITLE and m.SOURCE and callable(m.run)
    for name, mod in registry._ALL.items():
        assert (name in registry.EXPERIMENTS) == registry._exists(mod)


def test_unknown_experiment_is_a_clear_error():
    try:
        registry.load("nope")
    except KeyError as e:
        assert "known:" in str(e)
    else:
        raise AssertionError("no error")


def test_mnist_balanced_is_class_balanced():
    x, y = data.mnist_balanced(100)
    assert x.shape == (1000, 784) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.bincount(y).tolist() == [100] * 10
    x2, _ = data.mnist_balanced(100, offset=100)
    assert not torch.equal(x, x2)


def test_mnist1d_never_downloads(monkeypatch):
    import mnist1d.data

    def boom(*a, **k):
        raise AssertionError("download path called")

    monkeypatch.setattr(mnist1d.data, "get_dataset", boom)
    data._mnist1d_arrays.cache_clear()
    s = data.mnist1d()
    assert s.x_train.shape == (4000, 40) and s.x_test.shape == (1000, 40)


def test_digits():
    x, y = data.digits()
    assert x.shape == (1797, 64) and int(y.max()) == 9


def test_cli_list():
    out = CliRunner().invoke(main, ["lab", "list"])
    assert out.exit_code == 0, out.output
    for name in MINE:
        assert name in out.output


def test_cli_run_writes_json_and_exit_status(tmp_path, monkeypatch):
    from graddoctor.lab import runner

    def fake(name, quick, seeds, out, progress):
        r = LabResult(name, "t", "s", checks=[Check("q", 1.0, 2.0, "+-0%", name == "saxe")])
        r.save_json(out)
        return r

    monkeypatch.setattr(runner, "run_experiment", fake)
    ok = CliRunner().invoke(main, ["lab", "run", "saxe", "--quick", "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "saxe.json").read_text())["checks"][0]["passed"] is True
    bad = CliRunner().invoke(main, ["lab", "run", "nielsen", "--quick", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "checks failed" in bad.output
    unknown = CliRunner().invoke(main, ["lab", "run", "nope"])
    assert unknown.exit_code == 2 and "unknown experiment" in unknown.output


def test_render_prints_checks_notes_doctor_and_remedy():
    from rich.console import Console

    from graddoctor.lab.runner import render

    r = LabResult("x", "title", "src", checks=[Check("Var[dC/ds^i] ratio", 1.0, 0.5, "+-1%", False, note="why")],
                  findings=[{"kind": "vanishing_gradient", "severity": "critical", "causes": ["c"], "remedies": ["r"]}],
                  diagnosed="the net", remedy={"he_init": [0.1, 0.7]})
    console = Console(record=True, width=200, color_system=None)
    render(r, console)
    text = console.export_text()
    assert "Var[dC/ds^i] ratio" in text and "FAIL" in text      # rich markup in quantities is escaped
    assert "note Var[dC/ds^i] ratio: why" in text
    assert "vanishing_gradient (critical" in text and "he_init: [0.1, 0.7]" in text
    r.diagnosed = "the net [diagnosis engine not available]"
    console = Console(record=True, width=200, color_system=None)
    render(r, console)
    assert "not available" in console.export_text()


def test_lab_result_json_roundtrip(tmp_path):
    r = LabResult("x", "t", "s", checks=[Check("q", float("nan"), [1, 2], "tol", True)], series={"a": torch.ones(2)})
    data = json.loads(r.save_json(tmp_path).read_text())
    assert data["checks"][0]["published"] is None and data["series"]["a"] == [1.0, 1.0] and data["passed"]
