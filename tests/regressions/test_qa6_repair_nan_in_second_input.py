"""Regression: for a model taking several inputs (batches of ``((x1, x2), y)``), repair's audit looked for NaN/Inf
only in a single input tensor, so NaN in ``x2`` was never traced to the data (no ``sanitize_inputs`` candidate),
and ``sanitize_inputs`` itself cleaned a lone tensor only: on a pair of inputs it silently did nothing."""
import torch
from torch.utils.data import DataLoader, Dataset

import graddoctor as gd
from graddoctor.repair import get_remedy
from graddoctor.repair.audit import audit
from graddoctor.repair.remedies import RepairContext

from . import TwoInputNet

TwoInputs = TwoInputNet


class Pairs(Dataset):
    def __init__(self, n: int = 32) -> None:
        g = torch.Generator().manual_seed(0)
        self.x1, self.x2 = torch.randn(n, 4, generator=g), torch.randn(n, 3, generator=g)
        self.x2[::4, 0] = float("nan")
        self.y = torch.randint(0, 3, (n,), generator=g)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return (self.x1[i], self.x2[i]), self.y[i]


def test_audit_sees_nan_in_the_second_input_and_sanitize_cleans_it() -> None:
    loader = DataLoader(Pairs(), batch_size=16)
    case = gd.Case(model_fn=TwoInputs, train=loader, steps=2)
    found = audit(case, [])
    assert [f.remedies for f in found] == [["sanitize_inputs"]]
    x, _ = case.sample_batch()
    torch.manual_seed(0)
    model = get_remedy("sanitize_inputs")(TwoInputs(), RepairContext(sample=(x, None)))
    assert bool(torch.isfinite(model(x)).all())
