"""Each part-B experiment's quick mode, once: its qualitative claims hold and the doctor says what it should."""
import json
from pathlib import Path

import pytest

from graddoctor.lab.base import LabResult
from graddoctor.lab.experiments import batchnorm, resnet, rnn_memory, transformer_ln


def run_quick(module, out: Path) -> LabResult:
    """Run ``module.run(quick=True)`` into ``out``; assert every check passed and the JSON/PNGs were written."""
    result = module.run(quick=True, out=out)
    path = result.save_json(out)
    failed = [c.to_dict() for c in result.checks if not c.passed]
    assert not failed, failed
    data = json.loads(path.read_text())
    assert data["name"] == module.NAME and data["passed"] is True and data["checks"]
    assert all({"quantity", "published", "measured", "tolerance", "passed"} <= set(c) for c in data["checks"])
    assert result.figures and all(Path(p).stat().st_size > 1000 for p in result.figures)
    return result


def check(result: LabResult, prefix: str):
    """The one check whose quantity starts with ``prefix``."""
    found = [c for c in result.checks if c.quantity.startswith(prefix)]
    assert len(found) == 1, (prefix, [c.quantity for c in result.checks])
    return found[0]


def problem_kinds(result: LabResult, config: str | None = None) -> set[str]:
    """Problem kinds the doctor found (for one ``config`` tag); skips when the diagnosis engine is missing."""
    if result.diagnosed.endswith("[diagnosis engine not available]"):
        pytest.skip("diagnosis engine not available")
    return {f["kind"] for f in result.findings if f["severity"] in ("warning", "critical")
            and (config is None or f.get("config") == config)}



@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("lab_b")


def test_rnn_memory_quick(out):
    r = run_quick(rnn_memory, out)
    wrong = r.series["wrong"]
    for task in ("adding", "order"):
        T = max(rnn_memory.SIZES[True][f"{task}_T"])
        assert wrong[f"{task} T={T} RNN"] >= rnn_memory.RNN_MIN_WRONG
        assert min(wrong[f"{task} T={T} LSTM"], wrong[f"{task} T={T} GRU"]) <= rnn_memory.GATED_MAX_WRONG
        gains = check(r, f"{task} T={T}: gradient reaching").measured
        assert gains["RNN"] < 1e-2 < min(gains["LSTM"], gains["GRU"])      # orders of magnitude apart
    for run in r.series["runs"]:                                     # the papers' stop criterion ends training
        cap = rnn_memory.SIZES[True][f"{run['task']}_steps"]
        if run["solved_at"] is None:
            assert run["updates"] == cap
        else:
            assert run["solved_at"] == run["updates"] * rnn_memory.BATCH and run["updates"] <= cap
    assert all(check(r, "cliff: norm clipping").measured[k] < rnn_memory.CLIFF_CONVERGED
               for k in ("0.5x", "1x", "2x", "5x", "10x"))
    vanishing = [f for f in r.findings if f.get("config") == rnn_memory.RNN_CONFIG
                 and f["kind"] == "vanishing_gradient" and f["severity"] in ("warning", "critical")]
    if not r.diagnosed.endswith("[diagnosis engine not available]"):
        assert vanishing and vanishing[0]["axis"] == "time", r.findings
    assert "exploding_gradient" in problem_kinds(r, rnn_memory.CLIFF_CONFIG)


def test_batchnorm_quick(out):
    r = run_quick(batchnorm, out)
    bn, plain = check(r, "final test accuracy").measured
    assert bn > 0.8 and bn >= plain
    stable_bn, stable_plain = check(r, "movement of the last").measured
    assert stable_bn < 0.5 * stable_plain
    kinds = problem_kinds(r)                                                 # report: what does the doctor say?
    assert kinds, "the stalled sigmoid net without BN should raise a problem finding"


def test_resnet_quick(out):
    r = run_quick(resnet, out)
    e = r.series["train_err"]
    assert e["plain-20"] > e["plain-8"] and e["res-20"] < e["plain-20"]
    assert "vanishing_gradient" not in problem_kinds(r)                     # the degradation is not vanishing


def test_transformer_ln_quick(out):
    r = run_quick(transformer_ln, out)
    post, pre = check(r, f"L={transformer_ln.PROFILE_DEPTH}: last/first").measured
    assert post > 1 > pre                                                    # decoder: Post-LN grows, Pre-LN does not
    profile = r.series["w2_grad_norm"]["post"][transformer_ln.PROFILE_DEPTH]["decoder"]
    assert profile == sorted(profile)                                        # Fig. 3a: rises layer by layer
    ratio = r.series["last_layer_post_over_pre"]
    assert ratio[-1] > ratio[0]                                              # Post/Pre grows with depth
    assert isinstance(r.remedy["problem kinds Post-LN -> Pre-LN"][0], str)   # reported, whatever it is
