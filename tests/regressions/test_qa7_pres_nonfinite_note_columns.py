"""Regression: ``graddoctor diagnose`` of a ReLU net whose outputs were NaN/Inf at its last step said "no finite
value for sat., so those columns are not shown": the saturated fraction is measured only after saturating
activations, so a ReLU net never has one, NaN or not. The note names only columns that some layer of the model
could fill (sat. after sigmoid/tanh-like activations, dead after ReLU)."""
from graddoctor.present.console import diagnosis_nonfinite_note


def _row(name: str, activation: str | None) -> dict:
    return {"layer": name, "activation": activation, "signal": 4e16, "grad_ratio": 0.02, "saturated": None,
            "dead": 0.0 if activation == "relu" else None, "nonfinite": 1}


def test_relu_net_note_leaves_out_saturation():
    assert diagnosis_nonfinite_note([_row("0", "relu"), _row("2", None)]) == ""


def test_sigmoid_net_note_still_names_it():
    rows = [_row("0", "sigmoid"), _row("2", None)]
    assert "sat." in diagnosis_nonfinite_note(rows)
