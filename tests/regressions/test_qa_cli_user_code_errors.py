"""Regression: errors raised by the user's own code gave a Python traceback (exit 1) instead of a message:
`graddoctor repair FILE.py:FUNC` when FUNC() raised; `check` and `repair` when the Case's model_fn raised or
the model could not run on its inputs (shape mismatch), when loss_fn raised; `repair` when the validation
data or metric_fn failed (only after the whole baseline had trained). They now exit with status 2 and one
line naming the call that failed, the error and where in the user's file it was raised; `repair` runs each
part of the recipe once before training (a preflight)."""
import pytest
from click.testing import CliRunner

from graddoctor.cli import main

USER = """
import torch, torch.nn as nn, torch.nn.functional as F
import graddoctor as gd

X, y = torch.randn(40, 3), torch.randint(0, 2, (40,))

def _case(**kw):
    d = dict(model_fn=lambda: nn.Sequential(nn.Linear(3, 8), nn.Sigmoid(), nn.Linear(8, 2)), train=(X, y),
             val=(X, y), loss_fn=F.cross_entropy, optimizer_fn=lambda p: torch.optim.SGD(p, lr=0.1), steps=5,
             batch_size=8)
    d.update(kw)
    return gd.Case(**d)

def raises():
    raise RuntimeError("boom in case")

def _broken_model():
    raise ValueError("model_fn broke")

def model_fn_raises():
    return _case(model_fn=_broken_model)

def wrong_shape():
    return _case(model_fn=lambda: nn.Linear(5, 2))

def loss_raises():
    return _case(loss_fn=lambda out, target: 1 / 0)

def bad_val():
    return _case(val=(torch.randn(10, 7), torch.randint(0, 2, (10,))))

def metric_raises():
    return _case(metric_fn=lambda out, target: {}["no such key"])

def tuple_loss_raises():
    return nn.Linear(3, 2), X, y, lambda out, target: 1 / 0
"""

CASES = [
    ("check", "raises", "boom in case"), ("repair", "raises", "boom in case"),
    ("check", "model_fn_raises", "model_fn broke"), ("repair", "model_fn_raises", "model_fn broke"),
    ("check", "wrong_shape", "cannot be multiplied"), ("repair", "wrong_shape", "cannot be multiplied"),
    ("check", "loss_raises", "ZeroDivisionError"), ("repair", "loss_raises", "ZeroDivisionError"),
    ("check", "tuple_loss_raises", "ZeroDivisionError"),
    ("repair", "bad_val", "validation data"), ("repair", "metric_raises", "KeyError"),
]


@pytest.mark.parametrize(("command", "func", "expected"), CASES)
def test_user_code_errors_are_messages_not_tracebacks(tmp_path, command, func, expected):
    (tmp_path / "net.py").write_text(USER)
    r = CliRunner().invoke(main, [command, f"{tmp_path / 'net.py'}:{func}", *(["--budget", "0"]
                                                                                if command == "repair" else [])])
    assert r.exit_code == 2, (r.output, r.exception)
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output and expected in r.output, r.output
    if func in ("raises", "model_fn_raises", "loss_raises"):
        assert "net.py:" in r.output.split("raised", 1)[1]   # where in the user's file
