"""Regression: diagnosing a store repeatedly while it was written piled up findings. The dedupe only skipped a
diagnosis identical to the last one, and stored findings carried no batch, so after 4 `graddoctor diagnose`
runs during training `graddoctor report --no-diagnose` said "8 problems" for a run with 2, and `graddoctor
live` listed duplicates. Every diagnosis is now one batch; readers show the latest batch of each source,
earlier ones stay in the store (history), and a diagnosis that finds nothing hides the earlier findings."""
import sqlite3
from pathlib import Path

import torch
from click.testing import CliRunner
from torch import nn

import graddoctor as gd
from graddoctor.cli import main
from graddoctor.present.explain import findings_summary
from graddoctor.present.sampling import load_for_display
from graddoctor.store.sqlite import append_findings


def _train(run: gd.Monitor, model: nn.Module, opt: torch.optim.Optimizer, steps: int) -> None:
    x, y = torch.randn(32, 16), torch.randint(0, 4, (32,))
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        run.step(loss=loss)


def _stored_rows(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT COUNT(*) FROM findings").fetchone()[0])
    finally:
        con.close()


def test_repeated_diagnosis_during_training_shows_the_latest_only(tmp_path: Path) -> None:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(8):  # vanishing and stalled: 2 problems whose evidence (the loss) moves as the run goes on
        lin = nn.Linear(16, 16)
        nn.init.normal_(lin.weight, std=0.05)
        layers += [lin, nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 4))
    opt = torch.optim.SGD(model.parameters(), lr=1e-5)
    path = tmp_path / "run.sqlite"
    diags = []
    with gd.watch(model, opt, store=path, flush_every=5) as run:
        for _ in range(4):
            _train(run, model, opt, 12)
            run.flush()
            diags.append(gd.diagnose(path))  # what `graddoctor diagnose RUN` does, while the run is written
    last = [f.to_dict() for f in diags[-1].findings]
    assert diags[-1].problems
    n_stored = _stored_rows(path)
    assert n_stored == 4 * len(last)  # nothing written is lost: the earlier diagnoses are kept

    def shown(findings: list[dict]) -> list[dict]:
        return [{k: v for k, v in f.items() if k != "source"} for f in findings]

    assert shown(gd.load_run(path).findings) == last
    view, _ = load_for_display(path)  # the reader of `report --no-diagnose` and `live`
    assert shown(view.findings) == last
    assert "findings_latest" not in view.meta

    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(path), "-o", str(out), "--no-diagnose", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert findings_summary(last).split(" (")[0] in out.read_text(encoding="utf-8")

    gd.diagnose(path)  # unchanged store: the same diagnosis is not written again
    assert _stored_rows(path) == n_stored

    append_findings(path, [], source="diagnose")  # a later diagnosis that found nothing
    assert [f for f in gd.load_run(path).findings if f["source"] == "diagnose"] == []
    from graddoctor.store.sqlite import load_findings

    history = load_findings(path, history=True)  # every diagnosis, oldest first, with its time
    assert len(history) == n_stored and [f["kind"] for f in history[-len(last):]] == [f["kind"] for f in last]
    assert [f["created"] for f in history] == sorted(f["created"] for f in history)


def test_memory_store_shows_the_latest_batch_of_each_source() -> None:
    from graddoctor.store.memory import MemoryStore

    store = MemoryStore()
    a = {"kind": "vanishing_gradient", "severity": "warning"}
    b = {"kind": "stalled_learning", "severity": "warning"}
    store.add_findings([a, b], source="run")
    store.add_findings([b], source="diagnose")
    store.add_findings([a], source="run")
    assert [(f["kind"], f["source"]) for f in store.run_data().findings] == [("stalled_learning", "diagnose"),
                                                                             ("vanishing_gradient", "run")]
    assert len(store.findings) == 4


def test_store_written_before_batches_were_marked(tmp_path: Path) -> None:
    """Stores of earlier versions have no 'findings_latest' mark: their rows are grouped by time written."""
    path = tmp_path / "old.sqlite"
    model = nn.Linear(4, 2)
    with gd.watch(model, store=path):
        pass
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO findings(source, created, data) VALUES (?, ?, ?)",
                    [("diagnose", 1.0, '{"kind": "a", "severity": "warning"}'),
                     ("diagnose", 2.0, '{"kind": "b", "severity": "warning"}'),
                     ("diagnose", 2.0, '{"kind": "c", "severity": "info"}')])
    con.commit()
    con.close()
    assert [f["kind"] for f in gd.load_run(path).findings] == ["b", "c"]
