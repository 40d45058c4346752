"""The analytic and theory checks as exact unit tests (published_results.md §1.5, §2.3, §5.3, §5.4)."""
import math

import numpy as np
import pytest

from graddoctor.lab.experiments import glorot, meanfield, nielsen, saxe
from graddoctor.lab.experiments.meanfield_theory import critical_line_point, critical_sigma_w2, theory


def test_nielsen_analytic_facts():
    f = nielsen.analytic_facts()
    assert f["max_sigma_prime"] == pytest.approx(0.25, abs=1e-6)
    assert f["chain_factor"] == pytest.approx(25.0, abs=1e-6)
    assert f["chain_gain"] == pytest.approx(25.0 ** nielsen.CHAIN_LAYERS, rel=1e-6)
    assert f["min_w_for_gain_1"] == pytest.approx(4.0, abs=1e-5)
    assert f["max_gain_w_below_4"] < 1.0
    assert f["max_width"] == pytest.approx(0.4477, abs=5e-4)
    assert f["argmax_width"] == pytest.approx(6.894, abs=0.01)
    assert all(c.passed for c in nielsen.analytic_checks(f))


def test_nielsen_width_formula_matches_brute_force():
    # eq. 123 against the measured width of {a : |w sigma'(w a + b)| >= 1} on a fine grid (b = 0 wlog).
    a = np.linspace(-2, 2, 400_001)
    for w in (5.0, 6.9, 12.0):
        inside = np.abs(w * nielsen.sigmoid_prime(w * a)) >= 1.0
        assert inside.sum() * (a[1] - a[0]) == pytest.approx(float(nielsen.width_eq123(np.array(w))), abs=1e-4)


def test_glorot_identities():
    v = glorot.identities()
    assert v["n_var_standard_exact"] == pytest.approx(1 / 3, abs=1e-12)
    assert v["var_normalized_exact"] == pytest.approx(v["var_normalized_target"], abs=1e-15)
    assert all(c.passed for c in glorot.identity_checks(v))


def test_saxe_singular_value_table():
    stats = saxe.sv_statistics(200, 2)
    assert 0.75 <= stats[30]["frac_below_0.1"] <= 0.88                    # §5.3's proposed unit test
    assert all(c.passed for c in saxe.gaussian_checks(stats))
    for d, s in saxe.product_singular_values(200, [1, 10, 100], "orthogonal", seed=3).items():
        assert np.abs(s - 1).max() < 1e-6, d


def test_saxe_fuss_catalan_edge():
    assert saxe.fuss_catalan_edge(1) == pytest.approx(2.0)
    assert saxe.fuss_catalan_edge(2) == pytest.approx(math.sqrt(27 / 4))


def test_saxe_moment_loss_is_the_full_batch_mse():
    """The learning-time runs descend MSE(P) written through the data's second moments: it and its gradient
    must equal the plain full-batch MSE on the 1,797 digits."""
    import torch

    problem = saxe.LinearProblem()
    ws = [w.requires_grad_(True) for w in saxe.linear_init(3, "gaussian", seed=0)]
    p = ws[2] @ ws[1] @ ws[0]
    direct = ((problem.x @ p.T - problem.y) ** 2).sum(1).mean()
    moments = problem.mse(p)
    assert moments.item() == pytest.approx(direct.item(), rel=1e-10)
    g_direct = torch.autograd.grad(direct, ws, retain_graph=True)
    for a, b in zip(g_direct, torch.autograd.grad(moments, ws)):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)
    assert problem.optimum < problem.threshold < problem.zero
    assert float(problem.mse(torch.zeros(10, 64, dtype=torch.float64))) == pytest.approx(problem.zero)


def test_saxe_linear_init():
    import torch

    ortho = saxe.linear_init(4, "orthogonal", seed=1)
    assert [tuple(w.shape) for w in ortho] == [(64, 64)] * 3 + [(10, 64)]
    for w in ortho:                                          # orthonormal rows
        assert torch.allclose(w @ w.T, torch.eye(len(w), dtype=w.dtype), atol=1e-10)
    gauss = torch.cat([w.flatten() for w in saxe.linear_init(4, "gaussian", seed=1)])
    assert float(gauss.std()) == pytest.approx(1 / 8, rel=0.05)


def test_saxe_learning_time_deep_gap():
    """One seed at depths 2 and 20 (< 1 s): orthogonal flat, Gaussian several times slower at depth 20."""
    problem = saxe.LinearProblem()
    steps = {(kind, d): saxe.steps_to_learn(problem, d, kind, seed=0)[0]
             for kind in ("orthogonal", "gaussian") for d in (2, 20)}
    assert all(s is not None for s in steps.values()), steps
    assert steps["orthogonal", 20] <= saxe.LT_ORTHO_SPREAD * steps["orthogonal", 2]
    assert steps["gaussian", 20] >= saxe.LT_GAP_MIN * steps["orthogonal", 20]
    assert saxe.steps_to_learn(problem, 2, "gaussian", seed=0, budget=3) == (None, None)


def test_saxe_learning_checks_fail_on_flat_gaussian():
    row = {"steps": [70], "lr": [1.0], "median": 70.0}
    flat = {"orthogonal": {2: row, 6: row, 30: row}, "gaussian": {2: row, 6: row, 30: row}}
    checks = saxe.learning_checks(flat)
    assert [c.passed for c in checks] == [True, False, False, False]


@pytest.mark.parametrize("sw2", sorted(meanfield.TABLE))
def test_meanfield_table(sw2):
    q, chi, c, xq, xc = meanfield.TABLE[sw2]
    t = theory(sw2, meanfield.SIGMA_B2)
    assert t["q*"] == pytest.approx(q, rel=1e-3, abs=5e-5)
    assert t["chi_1"] == pytest.approx(chi, rel=1e-3, abs=5e-5)
    assert t["c*"] == pytest.approx(c, rel=1e-3, abs=5e-5)
    assert t["xi_q"] == pytest.approx(xq, rel=0.015)
    assert t["xi_c"] == pytest.approx(xc, rel=0.015)


def test_meanfield_critical_point_and_line():
    assert critical_sigma_w2(0.05) == pytest.approx(1.7610, rel=1e-3)
    for q, (sw2, sb2) in meanfield.CRITICAL_LINE.items():
        w, b = critical_line_point(q)
        assert w == pytest.approx(sw2, rel=1e-3) and b == pytest.approx(sb2, rel=0.015)
        assert theory(w, b)["chi_1"] == pytest.approx(1.0, abs=1e-6)        # really on the critical line
        assert theory(w, b)["q*"] == pytest.approx(q, rel=1e-6)


def test_saxe_greedy_pretraining():
    """Each pretrained layer is a converged tied linear autoencoder of its input on the leading modes
    (W^T W = identity there: an isometry of what the data spans, like an orthogonal init), the gradient used
    is the autoencoder loss's (checked against autograd), and the greedy prefix property holds: the first
    d - 1 pretrained layers of a deeper net are those of depth d."""
    import torch

    problem = saxe.LinearProblem()
    two = saxe.pretrain_hidden(problem, 2, seeds=1)[0]
    three = saxe.pretrain_hidden(problem, 3, seeds=1)[0]
    assert len(three) == 3 and all(torch.equal(a, b) for a, b in zip(two, three[:2]))
    evals, evecs = torch.linalg.eigh(problem.sxx)
    top = evecs[:, -20:]                                       # the 20 strongest input modes
    w = three[0]
    assert torch.allclose(top.T @ w.T @ w @ top, torch.eye(20, dtype=w.dtype), atol=1e-3)
    gaussian = saxe.linear_init(4, "gaussian", seed=0)[0]
    assert not torch.allclose(top.T @ gaussian.T @ gaussian @ top, torch.eye(20, dtype=w.dtype), atol=0.1)
    p = w.T.clone().requires_grad_(True)                       # the update rule's gradient, against autograd
    s = problem.sxx
    loss = torch.trace(s) - 2 * torch.trace(p.T @ p @ s) + torch.trace(p.T @ p @ s @ p.T @ p)
    (g,) = torch.autograd.grad(loss, p)
    m = p.detach().T @ p.detach()
    assert torch.allclose(g, 2 * p.detach() @ (s @ m + m @ s - 2 * s), atol=1e-10)
