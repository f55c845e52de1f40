"""The Hessian's extreme eigenvalues (labs/sharpness.py) against independent computations: the
linear system's exact Hessian from A, and numpy's eigenvalues of a Hessian built entry by entry
from second differences of the loss."""

import csv

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.cli.train import trained_from
from gdplayground.config import preset
from gdplayground.data.datasets import LINEAR_SYSTEM_A
from gdplayground.engine import Trainer
from gdplayground.engine.gradcheck import backprop, objective
from gdplayground.engine.losses import make_loss
from gdplayground.engine.network import Network
from gdplayground.engine.path import KeptPath
from gdplayground.engine.probe import Probe
from gdplayground.store.runs import read_metrics
from gdplayground.labs.sharpness import (
    Cancelled, growth_factor, hessian_vector_product, sharpness, sharpness_along,
    stability_bound)


def linear_system_probe(steps: int = 5) -> tuple[Probe, np.ndarray]:
    trainer = Trainer(preset("linear-system"))
    for _ in range(steps):  # away from the zero start, though a quadratic's Hessian is constant
        trainer.step()
    return trainer.gradient_probe(), trainer.dataset.train.x


def tiny_probe(seed: int = 3, l2: float = 0.01) -> Probe:
    """A 3-4-3 tanh network, softmax cross-entropy, at random weights: curved every way."""
    rng = np.random.default_rng(seed)
    network = Network([3, 4, 3], ["tanh"], dtype=np.float64)
    network.initialise("normal", 1.0, rng)
    network.flat[...] += rng.normal(0, 0.3, network.flat.size)  # biases too
    x, labels = rng.normal(0, 1, (7, 3)), rng.integers(0, 3, 7)
    return Probe.of(network, "cross_entropy", "softmax", x, labels, l2=l2)


def second_difference_hessian(probe: Probe, h: float = 1e-4) -> np.ndarray:
    """H_ij = [L(+i+j) − L(+i−j) − L(−i+j) + L(−i−j)] / 4h², from the objective's values alone."""
    network = Network(list(probe.sizes), list(probe.activations), bias=probe.bias,
                      dtype=np.float64)
    loss = make_loss(probe.loss, probe.output)
    theta = probe.flat()
    n = theta.size

    def value(i, si, j, sj):
        network.flat[...] = theta
        network.flat[i] += si * h
        network.flat[j] += sj * h
        return objective(network, loss, probe.x, probe.targets, probe.l1, probe.l2)

    hessian = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            hessian[i, j] = hessian[j, i] = (value(i, 1, j, 1) - value(i, 1, j, -1)
                                             - value(i, -1, j, 1) + value(i, -1, j, -1)) / (4 * h * h)
    return hessian


def test_linear_system_lambda_max_is_the_exact_one():
    probe, a = linear_system_probe()
    # mean over 3 examples and 1 output of (a·x − y)²: the Hessian is (2/3)·AᵀA (no bias)
    exact = np.linalg.eigvalsh(2 / 3 * a.T @ a)
    result = sharpness(probe, top=3, smallest=True)
    assert result.largest == pytest.approx(exact[-1], rel=1e-9)
    # within round-off of the spectrum's scale: the central difference's, ε·|∇L|/h
    np.testing.assert_allclose(result.top, exact[::-1], atol=1e-9 * exact[-1])
    assert result.smallest == pytest.approx(exact[0], abs=1e-9 * exact[-1])
    assert result.converged and result.products == 3  # the whole space: exact


def test_a_bias_adds_a_column_of_ones():
    """A linear unit with a bias, on MSE: (2/n)·[X 1]ᵀ[X 1], n the examples (one output)."""
    rng = np.random.default_rng(0)
    network = Network([2, 1], [], dtype=np.float64)
    network.flat[...] = rng.normal(0, 1, 3)
    x, y = rng.normal(0, 1, (6, 2)), rng.normal(0, 1, (6, 1))
    probe = Probe.of(network, "mse", "identity", x, y)
    ones = np.column_stack([x, np.ones(6)])
    exact = np.linalg.eigvalsh(2 / 6 * ones.T @ ones)
    assert sharpness(probe).largest == pytest.approx(exact[-1], rel=1e-9)


def test_tiny_network_agrees_with_eigvalsh_of_a_finite_difference_hessian():
    probe = tiny_probe()
    hessian = second_difference_hessian(probe)
    exact = np.linalg.eigvalsh(hessian)
    assert exact[0] < 0  # a saddle's curvature: the smallest is asked for a reason
    result = sharpness(probe, top=3, smallest=True, tolerance=1e-8)
    assert result.converged
    scale = exact[-1]
    np.testing.assert_allclose(result.top, exact[::-1][:3], rtol=1e-3)
    assert result.smallest == pytest.approx(exact[0], abs=1e-3 * scale)
    v = np.random.default_rng(1).normal(0, 1, probe.flat().size)
    np.testing.assert_allclose(hessian_vector_product(probe, v), hessian @ v,
                               atol=1e-4 * np.linalg.norm(hessian @ v))


def test_the_seed_fixes_the_answer_and_another_seed_agrees_within_the_tolerance():
    probe = tiny_probe()
    first, again = sharpness(probe, top=2, seed=4), sharpness(probe, top=2, seed=4)
    assert first == again
    other = sharpness(probe, top=2, seed=5)
    assert other.largest == pytest.approx(first.largest, rel=1e-3)


def test_too_few_products_say_not_converged():
    probe = tiny_probe()  # 31 parameters
    result = sharpness(probe, max_products=2, tolerance=1e-10)
    assert result.products == 2 and not result.converged
    assert result.largest <= sharpness(probe, tolerance=1e-10).largest + 1e-9  # a Ritz value


def test_progress_counts_products_and_cancel_stops():
    probe = tiny_probe()
    seen = []
    with pytest.raises(Cancelled):
        sharpness(probe, max_products=50, progress=lambda done, total: seen.append((done, total)),
                  cancelled=lambda: len(seen) >= 3)
    assert seen == [(1, 50), (2, 50), (3, 50)]


def test_along_a_path_each_point_is_its_own_lambda_max():
    probe = tiny_probe()
    rng = np.random.default_rng(2)
    weights = probe.flat() + rng.normal(0, 0.2, (3, probe.flat().size))
    path = KeptPath(np.array([0, 4, 8]), weights, np.full(3, 0.1))
    steps, values = sharpness_along(probe, path)
    assert list(steps) == [0, 4, 8]
    expected = [sharpness(probe.at(w)).largest for w in weights]
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert len(set(np.round(values, 6))) == 3


def test_along_a_path_cancels():
    probe = tiny_probe()
    path = KeptPath(np.array([0, 1]), np.tile(probe.flat(), (2, 1)), np.full(2, 0.1))
    with pytest.raises(Cancelled):
        sharpness_along(probe, path, cancelled=lambda: True)


def test_the_stability_bound_and_the_growth_along_a_curvature():
    assert stability_bound(0.1) == pytest.approx(20)
    assert stability_bound(0.0) == np.inf
    assert growth_factor(0.1, 42) == pytest.approx(3.2)  # |1 − 0.1·42|
    assert growth_factor(0.1, 20) == pytest.approx(1)  # at the bound: neither grows nor shrinks


# --- the command line ------------------------------------------------------------------------
def test_train_sharpness_every_adds_a_column_and_changes_nothing_else(tmp_path, capsys):
    """Full-batch SGD on the spiral (all 200 examples: λ_max of the very loss it descends)."""
    flags = ["train", "--dataset", "spiral", "--optimizer", "sgd", "--lr", "1", "--batch",
             "full", "--steps", "60"]
    assert main([*flags, "--out", str(tmp_path / "plain")]) == 0
    assert main([*flags, "--sharpness-every", "20", "--out", str(tmp_path / "sharp")]) == 0
    out = capsys.readouterr().out
    plain, sharp = (list(csv.reader((tmp_path / run / "metrics.csv").read_text().splitlines()))
                    for run in ("plain", "sharp"))
    assert sharp[0] == [*plain[0], "sharpness"]
    assert [row[:-1] for row in sharp] == plain  # the run's numbers, digit for digit
    measured = {int(row[0]): row[-1] for row in sharp[1:] if row[-1]}
    assert list(measured) == [20, 40, 60]
    with np.load(tmp_path / "plain" / "weights.npz") as a, \
            np.load(tmp_path / "sharp" / "weights.npz") as b:
        weights = [k for k in a.files if k.startswith("layer")]
        assert len(weights) == 6 and all(np.array_equal(a[k], b[k]) for k in weights)
    trainer = trained_from(tmp_path / "sharp" / "weights.npz")  # its weights after step 60
    expected = sharpness(trainer.gradient_probe(1000)).largest
    assert float(measured[60]) == pytest.approx(expected, rel=1e-12)
    assert f"λ_max {expected:.4g} (2/lr 2, step 60)" in out
    history = read_metrics(tmp_path / "sharp" / "metrics.csv", 3)  # the run list reads it back
    assert history.last("sharpness") == pytest.approx(expected, rel=1e-12)


def test_the_sharpness_command_prints_lambda_max_beside_2_over_lr(tmp_path, capsys):
    assert main(["train", "--dataset", "linear-system", "--steps", "20",
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["sharpness", str(tmp_path / "run" / "weights.npz")]) == 0
    out = capsys.readouterr().out
    a = LINEAR_SYSTEM_A
    exact = np.linalg.eigvalsh(2 / 3 * a.T @ a)
    assert f"λ_max = {exact[-1]:.6g}, below 2/lr = 200:" in out
    assert "plain gradient descent at lr 0.01 is stable" in out
    assert f"smallest: {exact[0]:.6g} (none negative)" in out
    assert "converged to 0.001 of the spectrum's scale, 3 Hessian-vector products" in out


@pytest.mark.parametrize("argv, message", [
    (["sharpness", "missing.npz"], "cannot read missing.npz"),
    (["sharpness", "x.npz", "--samples", "0"], "--samples: must be a whole number of at least 1"),
    (["train", "--dataset", "xor", "--sharpness-every", "-3"], "--sharpness-every: must be")])
def test_bad_sharpness_input_gets_one_line_and_exit_2(argv, message, capsys, tmp_path,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_weights_where_the_loss_overflows_give_no_estimate_and_say_so():
    probe = tiny_probe()
    result = sharpness(probe.at(probe.flat() * 1e306))
    assert np.isnan(result.largest) and not result.converged and result.products == 1


def test_a_convolutional_networks_curvature_is_measured_in_chunks_of_examples(tmp_path, monkeypatch):
    from gdplayground.engine import memory
    from gdplayground.labs.sharpness import _Curvature
    from tiny_images import conv_config, image_folder
    config = conv_config(image_folder(tmp_path / "images"), "conv3x3,pool,conv4x3s2,8")
    config.optimizer.l2 = 0.01
    trainer = Trainer(config)
    for _ in range(5):
        trainer.step()
    probe = trainer.gradient_probe(96)
    whole = _Curvature(probe)
    monkeypatch.setattr(memory, "FEATURE_EVAL_BYTES", 1)  # as if an example's maps filled memory
    chunked = _Curvature(probe)
    assert whole.rows >= 96 and chunked.rows == 1
    v = np.random.default_rng(0).standard_normal(probe.flat().size)
    np.testing.assert_allclose(chunked.product(v), whole.product(v), rtol=1e-6, atol=1e-9)
    model = whole.model  # the gradient itself, penalty included, against one pass of backprop
    model.network.flat[...] = probe.flat()
    backprop(model.network, model.loss, model.x, model.targets, model.l1, model.l2)
    np.testing.assert_allclose(chunked.gradient(probe.flat()), model.network.flat_grad, rtol=1e-9,
                               atol=1e-12)
    found = sharpness(probe)
    assert found.converged and found.largest > 0
