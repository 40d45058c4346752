"""Regression (repair benchmark, `relu4_lr0.5`): the unstable-loss finding on a 4-layer ReLU MLP under SGD at
lr 0.5 was diagnosed but not repaired. Its remedies were lower_learning_rate, lr_warmup and clip_grad_norm,
and the best (clipping) reached 0.71 against the reference's 0.91. Lowering the rate alone cannot help: at
lr 0.15 the PyTorch-default init of this 4-layer ReLU net learns too slowly in 200 steps (0.33). An adaptive
optimizer at its standard rate (Adam 1e-3) reaches 0.89, so `use_adam` is now a remedy of
learning_rate_too_high, tried after the three that keep the optimizer."""
import graddoctor as gd
from graddoctor.diagnosis.causes import CAUSE_REMEDIES
from repair.repair_cases import relu_lr


def test_learning_rate_too_high_offers_an_adaptive_optimizer_last() -> None:
    assert CAUSE_REMEDIES["learning_rate_too_high"] == ["lower_learning_rate", "lr_warmup", "clip_grad_norm",
                                                       "use_adam"]


def test_overshooting_sgd_is_repaired() -> None:
    result = gd.repair(relu_lr(lr=0.5), budget_s=600, progress=False)
    assert result.best is not None and result.best.name == "use_adam"
    assert result.best.metric > 0.8 > result.baseline.metric + 0.3
