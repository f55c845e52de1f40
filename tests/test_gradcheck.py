import decimal
from dataclasses import replace

import numpy as np
import pytest

from gdplayground.config import preset
from gdplayground.engine import Trainer, activations
from gdplayground.engine.gradcheck import TOLERANCE, check_all, relative_errors
from gdplayground.engine.losses import make_loss
from gdplayground.engine.network import Network
from gdplayground.labs import gradient_lab
from gdplayground.labs.gradient_lab import (
    Cancelled, Probe, best_h, check_layers, conclusion, curve, h_sweep, relative_error,
    theory_lines)
from gdplayground.labs.numpy_gradient import gradient_of_one_loss, numpy_gradient_demo


def test_every_activation_loss_and_variant_passes_in_float64():
    results = check_all()
    # 5 hidden activations x 7 output/loss pairs x 10 variants (plain, no bias, L1, L2, dropout,
    # and five of convolutions and pools)
    assert len(results) == 350
    worst = max(results, key=lambda r: r.worst)
    assert worst.worst < TOLERANCE, worst


def test_a_wrong_derivative_is_caught(monkeypatch):
    monkeypatch.setattr(activations.Tanh, "backward", lambda self, a, grad: grad * (1 - a))
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], ["tanh"], dtype=np.float64)
    net.initialise("xavier", 0, rng)
    loss = make_loss("cross_entropy", "softmax")
    errors = relative_errors(net, loss, rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1]))
    assert errors["layer1.weight"] > 1e-2
    assert errors["layer2.weight"] < TOLERANCE  # the output layer does not use the derivative


# --- the Gradient check tab's engine: gradient_lab ------------------------------------------


def small_probe() -> Probe:
    """A 4-6-5-3 tanh network with non-zero biases, softmax + cross-entropy, 8 examples."""
    rng = np.random.default_rng(3)
    net = Network([4, 6, 5, 3], ["tanh", "tanh"], dtype=np.float64)
    net.initialise("xavier", 0.0, rng)
    for layer in net.layers:
        layer.b[...] = rng.normal(0, 0.1, layer.b.shape)
    return Probe.of(net, "cross_entropy", "softmax", rng.normal(size=(8, 4)), rng.integers(0, 3, 8))


@pytest.fixture(scope="module")
def spiral_sweep():
    return h_sweep(Trainer(preset("spiral")).gradient_probe())


def test_relative_error_is_cs231n_s_and_both_zero_passes():
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert relative_error(-1e-3, 1e-3) == 2.0


def test_the_layer_check_of_a_correct_network_is_excellent_in_float64():
    checks = check_layers(small_probe())
    names = ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight",
             "layer3.bias"]
    assert [(c.parameter, c.dtype) for c in checks] == [
        (name, dtype) for name in names for dtype in ("float64", "float32")]
    for check in checks:
        if check.dtype == "float64":
            assert check.error < 1e-7 and check.verdict == "excellent", check
        else:  # float32 both ways, at h = 4.9e-3: agrees to a few digits, no better
            assert 1e-9 < check.error < 1e-2, check
    assert {c.entries for c in checks if c.parameter == "layer1.bias"} == {6}  # all of them


def test_a_broken_backward_is_flagged_wrong_in_its_layer_only(monkeypatch):
    backward = Network.backward

    def broken(self, dz):  # backprop as usual, then a wrong factor on layer 2's weight gradient
        backward(self, dz)
        self.layers[1].dW *= 1.5
    monkeypatch.setattr(Network, "backward", broken)
    verdicts = {c.parameter: c.verdict for c in check_layers(small_probe()) if c.dtype == "float64"}
    assert verdicts.pop("layer2.weight") == "wrong"
    assert set(verdicts.values()) == {"excellent"}


def confident_probe(loss: str, output: str, outputs: int, margin: float) -> Probe:
    """A 2-6-`outputs` tanh network that classifies 32 points as it itself predicts, its output
    layer scaled until the least confident point is right by `margin` logits: a trained
    network's tiny loss (about e^-margin per point), without training."""
    rng = np.random.default_rng(1)
    net = Network([2, 6, outputs], ["tanh"], dtype=np.float64)
    net.initialise("xavier", 0.0, rng)
    x = rng.normal(size=(200, 2))
    z = net.forward(x).copy()
    ordered = np.sort(z, axis=1)
    margins = np.abs(z[:, 0]) if outputs == 1 else ordered[:, -1] - ordered[:, -2]
    kept = np.flatnonzero(margins >= np.median(margins))[:32]  # no point on the boundary
    net.layers[-1].W *= margin / margins[kept].min()
    net.layers[-1].b *= margin / margins[kept].min()
    labels = z[kept].argmax(axis=1) if outputs > 1 else (z[kept] > 0).astype(np.float64)
    return Probe.of(net, loss, output, x[kept], labels)


@pytest.mark.parametrize("loss, output, outputs", [("bce", "sigmoid", 1),
                                                    ("cross_entropy", "softmax", 3)])
@pytest.mark.parametrize("margin", [20, 40])  # a loss of about 1e-9 and 1e-17 per point
def test_a_confident_network_s_tiny_loss_still_checks_excellent_or_ok(loss, output, outputs,
                                                                       margin):
    probe = confident_probe(loss, output, outputs, margin)
    model_loss = objective_of(probe)
    assert 0 < model_loss < 10 * np.exp(-margin)
    for check in check_layers(probe):
        if check.dtype == "float64":
            assert check.error < 1e-5 and check.verdict in ("excellent", "ok"), check


@pytest.mark.parametrize("margin", [20, 40])
def test_backprop_of_a_confident_network_matches_an_extended_precision_gradient(margin):
    """The 2-6-1 tanh + BCE network's loss written out in 60-digit decimals, differenced at
    h = 1e-25: truncation (h²) and rounding (1e-60 / h) far below float64's own digits."""
    probe = confident_probe("bce", "sigmoid", 1, margin)
    D = decimal.Decimal
    with decimal.localcontext(prec=60):
        params = {name: [[D(float(v)) for v in np.atleast_1d(row)] for row in np.atleast_2d(p)]
                  for name, p in probe.parameters.items()}
        xs = [[D(float(v)) for v in row] for row in probe.x]
        ts = [D(float(t)) for t in probe.targets[:, 0]]

        def loss() -> D:
            (w1, b1), (w2, b2) = [(params[f"layer{i}.weight"], params[f"layer{i}.bias"][0])
                                  for i in (1, 2)]
            total = D(0)
            for x, t in zip(xs, ts):
                hidden = [sum(x[i] * w1[i][j] for i in range(2)) + b1[j] for j in range(6)]
                hidden = [1 - 2 / ((2 * z).exp() + 1) for z in hidden]  # tanh
                z = sum(a * w2[j][0] for j, a in enumerate(hidden)) + b2[0]
                total += (1 + z.exp()).ln() - t * z
            return total / len(xs)

        def gradient(name: str, row: int, column: int) -> float:
            h, kept = D("1e-25"), params[name][row][column]
            params[name][row][column] = kept + h
            above = loss()
            params[name][row][column] = kept - h
            below = loss()
            params[name][row][column] = kept
            return float((above - below) / (2 * h))

        backprop = gradient_lab._Model(probe, np.float64).gradient()
        for name, row, column in [("layer2.weight", j, 0) for j in range(6)] + [
                ("layer2.bias", 0, 0), ("layer1.weight", 0, 3), ("layer1.bias", 0, 2)]:
            analytic = backprop[name][(row, column) if name.endswith("weight") else column]
            assert analytic == pytest.approx(gradient(name, row, column), rel=1e-9, abs=0), name


def objective_of(probe: Probe) -> float:
    return gradient_lab._Model(probe, np.float64).value()


def test_a_gradient_below_the_round_off_cannot_be_resolved_rather_than_wrong():
    # An L2 penalty of 1e8 makes L about 1e8: its round-off, ε|L|/h ≈ 4e-3, swamps the biases'
    # gradients (1e-2 and less), which the penalty does not touch; the weights' gradients, which
    # it makes about 1e8, are still measured.
    checks = {(c.parameter, c.dtype): c for c in check_layers(replace(small_probe(), l2=1e8))}
    for name in ("layer1.bias", "layer2.bias", "layer3.bias"):
        check = checks[name, "float64"]
        assert check.verdict == "cannot resolve" and 1e-2 < check.error < check.round_off, check
    for name in ("layer1.weight", "layer2.weight", "layer3.weight"):
        assert checks[name, "float64"].verdict == "excellent", checks[name, "float64"]
    said = conclusion(list(checks.values()))
    assert said.startswith("the finite differences cannot resolve the gradient of layer1.bias, "
                           "layer2.bias, layer3.bias (its round-off, ε|L|/h, is as large); "
                           "elsewhere backprop agrees with them: the worst float64 relative "
                           "error is "), said


def test_a_saturated_mse_output_cannot_be_resolved_rather_than_wrong():
    # σ(z) near 1 is known to about ε: (o − t)² moves by 2|o − t|·ε with it, far more than
    # ε·(o − t)², and central differences of it are noise at margins of 25 and more.
    checks = [c for c in check_layers(confident_probe("mse", "sigmoid", 1, 25))
              if c.dtype == "float64"]
    assert {c.verdict for c in checks} == {"cannot resolve"}, checks


@pytest.mark.parametrize("probe", [small_probe, lambda: confident_probe("bce", "sigmoid", 1, 20),
                                   lambda: confident_probe("cross_entropy", "softmax", 3, 20),
                                   lambda: confident_probe("mse", "sigmoid", 1, 10)])
def test_a_broken_backward_is_still_wrong_whatever_the_loss(monkeypatch, probe):
    backward = Network.backward

    def broken(self, dz):  # backprop as usual, then a wrong factor on layer 1's bias gradient
        backward(self, dz)
        self.layers[0].db *= 1.05
    monkeypatch.setattr(Network, "backward", broken)
    checks = check_layers(probe())
    verdicts = {c.parameter: c.verdict for c in checks if c.dtype == "float64"}
    assert verdicts.pop("layer1.bias") == "wrong"
    assert set(verdicts.values()) <= {"excellent", "ok"}
    assert conclusion(checks).startswith("backprop disagrees with the finite differences in "
                                         "layer1.bias")


def test_the_check_reports_progress_and_stops_when_cancelled():
    probe = small_probe()
    saved = {name: p.copy() for name, p in probe.parameters.items()}
    seen = []
    checks = check_layers(probe, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (sum(c.entries for c in checks),) * 2  # one per entry and dtype
    asked = []
    with pytest.raises(Cancelled):
        check_layers(probe, cancelled=lambda: asked.append(1) or len(asked) >= 5)
    assert len(asked) == 5  # asked between evaluations, stopped at the first yes
    assert all(np.array_equal(saved[name], p) for name, p in probe.parameters.items())


def test_the_trainer_s_probe_is_a_float64_copy_of_the_network_and_a_fixed_batch():
    trainer = Trainer(preset("spiral"))
    probe = trainer.gradient_probe()
    assert probe.sizes == (2, 8, 8, 1) and probe.activations == ("tanh", "tanh")
    assert probe.x.shape == (32, 2) and probe.x.dtype == np.float64
    assert probe.targets.shape == (32, 1) and (probe.loss, probe.output) == ("bce", "sigmoid")
    probe.parameters["layer1.weight"][...] = 0  # a copy: the run is untouched
    assert np.abs(trainer.network.layers[0].W).sum() > 0
    again = trainer.gradient_probe()
    assert np.array_equal(again.x, probe.x)  # the same examples every time, from the seed


@pytest.mark.parametrize("activations, said", [
    (["tanh", "relu"], "2-8-16-1 tanh,relu,"), (["relu", "tanh"], "2-8-16-1 relu,tanh,"),
    (["relu", "relu"], "2-8-16-1 relu,")])
def test_the_description_names_the_hidden_activations_in_their_order(activations, said):
    net = Network([2, 8, 16, 1], activations, dtype=np.float64)
    probe = Probe.of(net, "bce", "sigmoid", np.zeros((4, 2)), np.zeros((4, 1)))
    assert probe.describe() == f"{said} sigmoid + bce, 4 examples"
    linear = Probe.of(Network([2, 1], [], dtype=np.float64), "bce", "sigmoid", np.zeros((4, 2)),
                      np.zeros((4, 1)))
    assert linear.describe() == "2-1 no hidden layer, sigmoid + bce, 4 examples"


def test_float64_central_differences_are_best_within_a_decade_of_1e_5(spiral_sweep):
    best64 = best_h(spiral_sweep, "float64", "central")
    assert 1e-6 <= best64 <= 1e-4, best64
    assert best_h(spiral_sweep, "float32", "central") >= 100 * best64
    forward64 = best_h(spiral_sweep, "float64", "forward")
    assert best_h(spiral_sweep, "float32", "forward") >= 100 * forward64
    assert len(spiral_sweep) == 4 * 45
    assert {(r.dtype, r.method) for r in spiral_sweep} == {
        (d, m) for d in ("float64", "float32") for m in ("forward", "central")}


def test_truncation_falls_as_h_forward_and_h_squared_central(spiral_sweep):
    for method, slope in (("forward", 1.0), ("central", 2.0)):
        h, error = curve(spiral_sweep, "float64", method)
        large = h >= 1e-3
        fitted = np.polyfit(np.log10(h[large]), np.log10(error[large]), 1)[0]
        assert fitted == pytest.approx(slope, abs=0.1), method


def test_round_off_rises_as_1_over_h_and_the_theory_lines_cross_near_the_best_h(spiral_sweep):
    h, error = curve(spiral_sweep, "float64", "central")
    small = (h <= 1e-7) & (h >= 1e-11)
    slope = np.polyfit(np.log10(h[small]), np.log10(error[small]), 1)[0]
    assert slope == pytest.approx(-1, abs=0.2)
    lines = {line.name: line for line in theory_lines(spiral_sweep)}
    assert sorted(line.power for line in lines.values()) == [-1, -1, 1, 2]
    truncation, round_off = lines["truncation ∝ h² (central)"], lines["round-off ∝ ε/h (float64)"]
    crossing = (round_off.scale / truncation.scale) ** (1 / 3)
    assert crossing / best_h(spiral_sweep, "float64", "central") == pytest.approx(1, abs=0.7)


def test_numpy_gradient_is_central_inside_one_sided_at_the_edges():
    demo = numpy_gradient_demo("sin x", spacing=0.4)
    f, d = demo.values, 0.4
    expected = np.concatenate([[(f[1] - f[0]) / d], (f[2:] - f[:-2]) / (2 * d),
                               [(f[-1] - f[-2]) / d]])
    np.testing.assert_allclose(demo.estimate, expected, rtol=1e-12)
    assert demo.edge_error > 3 * demo.interior_error
    halved = numpy_gradient_demo("sin x", spacing=0.2)  # first order at the edges, second inside
    assert demo.edge_error / halved.edge_error == pytest.approx(2, rel=0.15)
    assert demo.interior_error / halved.interior_error == pytest.approx(4, rel=0.15)
    parabola = numpy_gradient_demo("x²", spacing=0.5)  # exact inside; h·|f''|/2 = Δ at the edges
    assert parabola.interior_error < 1e-12 and parabola.edge_error == pytest.approx(0.5)


def test_numpy_gradient_without_the_spacing_takes_samples_1_apart():
    passed, not_passed = numpy_gradient_demo("x³", 0.25), numpy_gradient_demo("x³", 0.25, False)
    np.testing.assert_allclose(not_passed.estimate, passed.estimate * 0.25)


def test_numpy_gradient_of_one_loss_value_gives_no_derivative():
    assert np.gradient(np.float64(2.3)) == ()  # a 0-d value has no axis to difference along
    with pytest.raises(ValueError, match="too small to calculate a numerical gradient"):
        np.gradient(np.array([2.3]))  # one sample has no neighbour
    said = gradient_of_one_loss(2.3)
    assert said.as_value == "numpy.gradient(2.3) returns (): no derivative at all"
    assert said.in_a_list.startswith(
        "numpy.gradient([2.3]) raises ValueError: Shape of array too small")
