"""Regression: the "numbers" table of a finding in the HTML report showed each row of a list in the evidence
(the init audit's per-layer rows) with its first six entries only, and no mark that anything was left out: the
row's verdict (``too_small``, ``ok``), its seventh entry, was never shown. Rows now show up to eight entries, as
dict evidence does, and end in "..." when there are more."""
from graddoctor.present.explain import evidence_items

ROW = {"layer": "0", "variance": 0.005, "xavier": 0.02, "he": 0.03, "reference": "xavier", "factor": 0.25,
       "verdict": "too_small", "last": False}


def test_init_audit_row_shows_its_verdict():
    (key, cell), = evidence_items({"init_audit": [ROW]})
    assert key == "init_audit" and "verdict=too_small" in cell, cell


def test_longer_rows_say_that_entries_were_left_out():
    row = {**ROW, "extra": 1.0, "more": 2.0}
    (_, cell), = evidence_items({"init_audit": [row]})
    assert cell.endswith("...}]"), cell
