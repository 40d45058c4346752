"""The long-lag task generators follow the papers' definitions; Pascanu's cliff matches the reference grid."""
import math

import torch

from graddoctor.lab import tasks


def test_adding_problem_definition():
    gen = torch.Generator().manual_seed(0)
    for T in (20, 100):
        x, y = tasks.adding_problem(500, T, gen)
        n, length, two = x.shape
        assert two == 2 and T <= length <= T + T // 10 and y.shape == (500, 1)
        values, markers = x[..., 0], x[..., 1]
        assert values.abs().max() <= 1
        marked = markers == 1
        assert (marked.sum(1) == 2).all()                                    # exactly two marked pairs
        pos = marked.float().argsort(dim=1, descending=True, stable=True)[:, :2].sort(dim=1).values
        assert (pos[:, 0] < tasks.ADDING_FIRST_WINDOW).all()                 # one among the first 10
        assert (pos[:, 1] < max(tasks.ADDING_FIRST_WINDOW, T // 2 - 1)).all()  # the other in the first T/2-1
        assert (markers[:, -1] == -1).all()                                  # last pair carries -1
        assert ((markers[:, 0] == -1) | marked[:, 0]).all()
        x12 = (values * marked).sum(1)
        assert torch.allclose(y[:, 0], 0.5 + x12 / 4.0)                      # target 0.5 + (X1+X2)/4


def test_adding_baseline_constants():
    # Constant prediction 0.5: MSE Var[(X1+X2)/4] = 1/24, wrong iff |X1+X2| > 0.16 (84.64 %), when neither
    # marked value is the first pair's (which the paper sets to 0).
    assert math.isclose(tasks.ADDING_BASELINE_MSE, 1 / 24)
    assert math.isclose(tasks.ADDING_BASELINE_WRONG, 0.8464, abs_tol=1e-12)
    T = 200
    x, y = tasks.adding_problem(40000, T, torch.Generator().manual_seed(1), vary_length=False)
    p_zero = 0.1 + 0.9 / (T // 2 - 2)                                        # a marker on the first pair
    assert abs((x[:, 0, 1] == 1).float().mean().item() - p_zero) < 0.006
    expected_mse = ((1 - p_zero) * 2 / 3 + p_zero / 3) / 16
    assert abs(((y - 0.5) ** 2).mean().item() - expected_mse) < 0.001
    ok = ~tasks.adding_wrong(torch.full_like(y, 0.5), y)
    both = (x[:, 0, 1] != 1)
    assert abs(ok[both].float().mean().item() - (1 - tasks.ADDING_BASELINE_WRONG)) < 0.008


def test_temporal_order_definition():
    x, y = tasks.temporal_order(400, 100, torch.Generator().manual_seed(0))
    sym = x.argmax(-1)
    assert x.shape[2] == 8 and 100 <= x.shape[1] <= 110 and set(y.tolist()) == {0, 1, 2, 3}
    assert (sym[:, 0] == tasks.ORDER_SYMBOLS.index("E")).all() and (sym[:, -1] == tasks.ORDER_SYMBOLS.index("B")).all()
    info = sym >= tasks.ORDER_SYMBOLS.index("X")
    assert (info.sum(1) == 2).all()
    t = info.float().argsort(dim=1, descending=True, stable=True)[:, :2].sort(dim=1).values
    assert ((t[:, 0] >= 10) & (t[:, 0] <= 20) & (t[:, 1] >= 50) & (t[:, 1] <= 60)).all()   # the paper's windows
    first = sym.gather(1, t[:, :1])[:, 0] - tasks.ORDER_SYMBOLS.index("X")
    second = sym.gather(1, t[:, 1:])[:, 0] - tasks.ORDER_SYMBOLS.index("X")
    assert torch.equal(y, 2 * first + second)                                # XX, XY, YX, YY


def test_order_correct_criterion():
    probs = torch.tensor([[0.75, 0.1, 0.1, 0.05], [0.65, 0.3, 0.05, 0.0], [0.2, 0.7, 0.1, 0.0]])
    assert tasks.order_correct(probs, torch.tensor([0, 0, 1])).tolist() == [True, False, False]


def test_cliff_matches_reference_grid():
    # The reference's 1401 x 1201 grid has spacing 0.01 in w and b: around the wall the same points.
    w, b, loss, g = tasks.cliff_grid((4.5, 4.9), (-2.6, -2.2), 41, 41)
    r, c = divmod(int(g.argmax()), g.shape[1])
    assert math.isclose(float(w[c]), 4.69, abs_tol=1e-9) and math.isclose(float(b[r]), -2.42, abs_tol=1e-9)
    assert 4.3e2 < float(g.max()) < 4.5e2                                   # reference [C]: 4.4e2


def test_cliff_loss_matches_autograd_of_module():
    m = tasks.CliffRNN(4.0, -2.0)
    m().backward()
    w = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(0.5, dtype=torch.float64)
    for _ in range(50):
        x = w * torch.sigmoid(x) + b
    ((torch.sigmoid(x) - 0.7) ** 2).backward()
    assert torch.allclose(m.w.grad, w.grad) and torch.allclose(m.b.grad, b.grad)
