"""Each experiment's quick mode, once: its qualitative checks pass and the doctor names the expected problem."""


def test_nielsen_quick(tmp_path, run_quick, expect_doctor):
    r = run_quick("nielsen", tmp_path)
    assert r.seeds >= 100
    ratios = [c.measured for c in r.checks if "median HL" in c.quantity]
    assert len(ratios) == 3 and ratios[0] < ratios[1] < ratios[2]          # deeper nets: steeper profile
    assert r.remedy["4HL median HL4/HL1, ReLU + He init"] < 10 < r.remedy["4HL median HL4/HL1, sigmoid + network2 init"]
    expect_doctor(r, "4-HL sigmoid net", {"vanishing_gradient"})
    expect_doctor(r, "w=100 chain", {"exploding_gradient"})


def test_he_init_quick(tmp_path, run_quick, expect_doctor):
    r = run_quick("he-init", tmp_path)
    acc = r.series["train_acc"]
    assert acc["xavier+sgd"] < acc["xavier+adam"] < acc["he+adam"]
    assert acc["he+sgd"] > acc["xavier+sgd"] + 0.4
    # accuracies are measured as fractions: published and tolerance columns in the same unit (QA6: "> 60 %" beside
    # a measured 0.738)
    for c in r.checks:
        if "accuracy" in c.quantity:
            assert 0.0 <= c.measured <= 1.0 and "%" not in c.tolerance and "%" not in str(c.published), c
    expect_doctor(r, None, {"vanishing_gradient", "stalled_learning"})


def test_glorot_quick(tmp_path, run_quick, expect_doctor):
    r = run_quick("glorot", tmp_path)
    means = r.series["saturation_means"]
    assert means[-1][-1] < means[-1][0]                                      # top layer below the first
    expect_doctor(r, None, {"vanishing_gradient", "saturation", "stalled_learning"})


def test_saxe_quick(tmp_path, run_quick, expect_doctor):
    from markupsafe import escape

    r = run_quick("saxe", tmp_path)
    assert r.series["orthogonal_max_dev"] < 1e-6
    lt = r.series["learning_time"]
    deepest = max(lt["gaussian"])
    assert lt["gaussian"][deepest]["median"] > lt["gaussian"][2]["median"]       # Fig. 6A: grows with depth
    assert lt["pretrained"][deepest]["median"] < 0.5 * lt["gaussian"][deepest]["median"]  # pretraining fixes it
    assert any("saxe_learning_time" in f for f in r.figures)
    page = (tmp_path / "saxe.html").read_text()                               # the HTML page, figures embedded
    assert all(str(escape(c.quantity)) in page for c in r.checks)
    assert page.count('class="verdict">pass<') == len(r.checks)
    assert page.count('src="data:image/png;base64,') == len(r.figures) == 2 and "://" not in page
    expect_doctor(r, None, {"vanishing_gradient"})


def test_meanfield_quick(tmp_path, run_quick, expect_doctor):
    r = run_quick("meanfield", tmp_path)
    grid = r.series["grid"]
    assert grid["1.0/10"]["trained"] and not grid["1.0/50"]["trained"]
    expect_doctor(r, "ordered sigma_w^2=1.0", {"vanishing_gradient"})
    expect_doctor(r, "chaotic sigma_w^2=4.0", {"exploding_gradient"})
