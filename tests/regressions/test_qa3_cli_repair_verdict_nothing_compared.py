"""Regression: when every remedy of a repair was skipped (none applies to the model) or failed while training,
the report's Repair section and print_repair said "No remedy beat the baseline by more than the seed-to-seed
spread", as if remedies had trained and lost. RepairResult.describe() and the repair table were fixed in
b888858; the present layer (which reads RepairResult.to_dict()) now says the same: nothing was compared, and why."""
from rich.console import Console

from graddoctor.present.console import print_repair
from graddoctor.present.repair_view import repair_context

BASE = {"remedy": None, "name": "baseline", "metric": 0.3, "loss": 2.0, "findings": [], "seeds": [0],
        "skipped": "", "failed": ""}


def _result(trials):
    return {"metric_name": "accuracy", "baseline": BASE, "trials": trials, "best": None}


def test_all_skipped_or_failed_is_not_beaten():
    trials = [{**BASE, "remedy": "he_init", "name": "he_init", "skipped": "no layer with a weight matrix"},
              {**BASE, "remedy": "use_adam", "name": "use_adam", "failed": "RuntimeError: boom"}]
    verdict = repair_context(_result(trials))["verdict"]
    assert "beat the baseline" not in verdict
    assert "of the 2 tried, 1 did not apply to this model and 1 failed while training" in verdict
    console = Console(width=200, record=True)
    print_repair(_result(trials), console)
    assert "could be compared" in console.export_text()


def test_trained_trials_that_lost_keep_the_old_sentence():
    trials = [{**BASE, "remedy": "he_init", "name": "he_init", "metric": 0.31}]
    assert "No remedy beat the baseline" in repair_context(_result(trials))["verdict"]
