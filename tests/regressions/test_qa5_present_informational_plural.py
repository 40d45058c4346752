"""Regression: a healthy run with one informational finding (an LSTM's memory horizon, say) was summed up as
"No problems found (1 informational findings)." in the terminal, the HTML report and the live view. One finding
is now "1 informational finding"; several stay plural."""
from graddoctor.present.explain import findings_summary


def _info() -> dict:
    return {"kind": "vanishing_gradient", "severity": "info"}


def test_one_informational_finding_is_singular():
    assert findings_summary([_info()]) == "No problems found (1 informational finding)."


def test_several_informational_findings_are_plural():
    assert findings_summary([_info(), _info()]) == "No problems found (2 informational findings)."
    assert findings_summary([]) == "No problems found."
