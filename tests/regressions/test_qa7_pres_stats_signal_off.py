"""Regression: ``graddoctor stats`` of a run watched with ``activations=False`` (which also turns the backward
signal off) or ``signal=False`` printed a ‖∂L/∂out‖ column of "-" with no word why, while the live view of the
same store says "‖∂L/∂out‖ was not recorded (watch(signal=True) records it)". The table's caption now says so."""
import io

from rich.console import Console
from tests.present.present_fixtures import write_store

from graddoctor.present.console import print_layer_table
from graddoctor.present.sampling import load_for_display


def _table(path) -> str:  # noqa: ANN001
    data, _ = load_for_display(path)
    out = io.StringIO()
    print_layer_table(data, console=Console(file=out, width=200))
    return out.getvalue()


def test_signal_off_is_said(tmp_path):
    path = write_store(tmp_path / "off.sqlite", stats=("grad_ratio", "update_ratio", "weight_grad_norm"),
                       meta={"settings": {"activations": False, "signal": False}})
    assert "‖∂L/∂out‖ was not recorded (watch(signal=True) records it)" in _table(path)


def test_signal_on_says_nothing(tmp_path):
    path = write_store(tmp_path / "on.sqlite", meta={"settings": {"activations": True, "signal": True}})
    assert "not recorded" not in _table(path)
