"""labs/inside.py and `gdplayground inspect`: confusion matrices, saliency against finite
differences, the MNIST-style preparation of a drawn digit, layer distributions."""

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.config import OUTPUTS_FOR_LOSS, preset
from gdplayground.engine.losses import SoftmaxCrossEntropy
from gdplayground.engine.network import Network
from gdplayground.engine.trainer import Trainer
from gdplayground.labs.gradient_lab import _Model
from gdplayground.labs.inside import (
    PERCENTILES, EmptyCanvas, centre_of_mass, confusion_matrix, layer_distributions, mnist_style,
    per_class_accuracy, saliency, smoothgrad, top_predictions)


def small_network(outputs=4):
    network = Network([5, 7, 6, outputs], ["tanh", "sigmoid"], dtype=np.float64)
    network.initialise("normal", 0.8, np.random.default_rng(3))
    for layer in network.layers:
        layer.b[...] = np.random.default_rng(4).normal(0, 0.3, layer.b.shape)
    return network


def logit(network, example, column, scale):
    """One example's logit, as the network computes it from features example * scale."""
    return network.forward((example * scale)[None, :])[0, column]


def test_the_confusion_matrix_counts_each_true_predicted_pair():
    rng = np.random.default_rng(0)
    true, predicted = rng.integers(0, 6, 500), rng.integers(0, 6, 500)
    counts = np.zeros((6, 6), int)
    for t in range(6):
        for p in range(6):
            counts[t, p] = np.count_nonzero((true == t) & (predicted == p))
    assert np.array_equal(confusion_matrix(true, predicted, 6), counts)


def test_per_class_accuracy_is_the_diagonal_over_each_true_class():
    matrix = np.array([[3, 1, 0], [0, 0, 0], [2, 2, 4]])
    accuracy = per_class_accuracy(matrix)
    assert accuracy[0] == 0.75 and np.isnan(accuracy[1]) and accuracy[2] == 0.5


def test_top_predictions_are_sorted_best_first_and_a_sigmoid_gives_two_classes():
    classes, chances = top_predictions(np.array([[0.1, 0.6, 0.05, 0.25]]), k=3)
    assert classes.tolist() == [[1, 3, 0]] and np.allclose(chances, [[0.6, 0.25, 0.1]])
    classes, chances = top_predictions(np.array([[0.2]]), k=3)
    assert classes.tolist() == [[0, 1]] and np.allclose(chances, [[0.8, 0.2]])


@pytest.mark.parametrize("outputs", [4, 1])
def test_saliency_is_the_logits_gradient_by_central_differences(outputs):
    network, scale, h = small_network(outputs), 0.37, 1e-6
    x = np.random.default_rng(1).uniform(0, 1, (3, 5))
    classes = np.array([2, 0, 3]) if outputs == 4 else np.array([1, 0, 1])
    got = saliency(network, x, classes, scale)
    for i, c in enumerate(classes):
        sign, column = (1.0, c) if outputs > 1 else (1.0 if c == 1 else -1.0, 0)
        for j in range(5):
            step = np.zeros(5)
            step[j] = h
            up = logit(network, x[i] + step, column, scale)
            down = logit(network, x[i] - step, column, scale)
            expected = sign * (up - down) / (2 * h)
            assert abs(got[i, j] - expected) <= 1e-6 * max(abs(expected), 1e-3)


def test_saliency_leaves_the_networks_gradients_alone():
    network = small_network()
    network.flat_grad[...] = 7.0
    saliency(network, np.ones((2, 5)), np.array([0, 1]), 1.0)
    assert np.all(network.flat_grad == 7.0)


def test_smoothgrad_without_noise_is_the_saliency():
    network = small_network()
    x, classes = np.random.default_rng(2).uniform(0, 1, (4, 5)), np.array([0, 1, 2, 3])
    assert np.allclose(smoothgrad(network, x, classes, 0.5, noise=0.0, samples=5),
                       saliency(network, x, classes, 0.5), rtol=1e-12, atol=0)


def test_a_small_stroke_in_a_corner_is_scaled_to_20_pixels_and_centred_by_its_mass():
    canvas = np.zeros((200, 200))
    canvas[190:196, 3:6] = 0.8  # 6 tall, 3 wide, bottom left
    stages = mnist_style(canvas)
    assert stages.cropped.shape == (6, 3) and stages.scaled.shape == (20, 10)
    assert stages.centred.shape == (28, 28) and stages.boxed.shape == (28, 28)
    rows, cols = np.nonzero(stages.centred > 1e-9)
    assert max(np.ptp(rows) + 1, np.ptp(cols) + 1) in (20, 21)  # a sub-pixel shift spreads it a pixel
    assert np.allclose(centre_of_mass(stages.centred), (14, 14), atol=0.5)
    assert abs(stages.centred.max() - 0.8) < 0.05
    assert np.isclose(stages.centred.sum(), stages.scaled.sum())  # no ink lost


def test_a_lopsided_stroke_has_its_mass_not_its_box_at_the_centre():
    canvas = np.zeros((90, 60))
    canvas[10:80, 20:24] = 1.0  # a bar …
    canvas[10:18, 20:50] = 1.0  # … with a flag at the top: the mass sits above the box's middle
    stages = mnist_style(canvas)
    assert np.allclose(centre_of_mass(stages.centred), (14, 14), atol=1e-9)
    assert not np.allclose(centre_of_mass(stages.boxed), (14, 14), atol=0.5)


def test_an_empty_canvas_is_refused():
    with pytest.raises(EmptyCanvas, match="empty"):
        mnist_style(np.zeros((50, 50)))


def test_layer_distributions_give_percentiles_and_dead_units_and_keep_the_gradients():
    network = Network([4, 6, 3], ["relu"], dtype=np.float64)
    network.initialise("he", 0, np.random.default_rng(0))
    network.layers[0].W[...] = np.abs(network.layers[0].W) + 0.1  # positive inputs: all fire …
    network.layers[0].b[:2] = -100  # … but two, that never do
    network.flat_grad[...] = 5.0
    x = np.random.default_rng(1).uniform(0, 1, (16, 4))
    layers = layer_distributions(network, x, SoftmaxCrossEntropy(), np.arange(16) % 3)
    assert len(layers) == 2 and layers[0].dead == pytest.approx(2 / 6) and layers[1].dead is None
    for layer in layers:
        assert all(len(p) == 5 and np.all(np.diff(p) >= 0)
                   for p in (layer.weights, layer.activations, layer.weight_gradients))
    assert np.all(network.flat_grad == 5.0)
    assert layer_distributions(network, x)[0].weight_gradients is None


def test_inspect_writes_the_confusion_matrix_pictures_and_saliency(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--steps", "50", "--out", str(run)]) == 0
    out = tmp_path / "inside"
    assert main(["inspect", str(run / "weights.npz"), "--saliency", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and printed.count("  class ") == 10
    lines = (out / "confusion.csv").read_text().splitlines()
    assert lines[0] == "true\\predicted,0,1,2,3,4,5,6,7,8,9" and len(lines) == 11
    assert sum(int(v) for line in lines[1:] for v in line.split(",")[1:]) == 10_000
    maps = np.load(out / "saliency.npy")
    assert maps.shape == (5, 28, 28) and maps.dtype == np.float32 and np.abs(maps).max() > 0
    for picture in ("misclassified.png", "saliency.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inspect_refuses_a_2d_data_set_and_a_bad_file(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "spiral", "--steps", "5", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(run / "weights.npz"), "--out", str(tmp_path / "o")]) == 2
    assert f"needs an image data set (mnist, mnist-binary or an IDX folder) or a table of " \
           f"classes; {run / 'weights.npz'} " \
           "was trained on spiral\n" in capsys.readouterr().err
    for dataset, words in (("spiral", "--dataset spiral is not one"),  # not the file's
                           ("", "argument --dataset: the value is empty"),
                           (" ", "argument --dataset: the value is empty")):
        assert main(["inspect", str(run / "weights.npz"), "--dataset", dataset,
                     "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert main(["inspect", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


PAIRS = [(loss, output) for loss, outputs in OUTPUTS_FOR_LOSS.items() for output in outputs]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss, output", PAIRS)
def test_layer_distributions_of_a_trainers_probe_in_every_dtype(loss, output, dtype):
    """As the Inside tab asks: the trainer's float64 probe batch through its own network. With
    MSE a float32 network's backward refused the float64 gradient ('output array is not
    acceptable'). The weight gradients are those of the probe's network in float64."""
    config = preset("xor")
    config.architecture.loss, config.architecture.output, config.dtype = loss, output, dtype
    trainer = Trainer(config)
    trainer.step()
    probe = trainer.gradient_probe(64)
    layers = layer_distributions(trainer.network, probe.x, trainer.loss, probe.targets)
    exact = _Model(probe.rounded(np.dtype(dtype)), np.float64).gradient()
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    for i, layer in enumerate(layers, start=1):
        expected = np.percentile(exact[f"layer{i}.weight"], PERCENTILES)
        scale = np.abs(exact[f"layer{i}.weight"]).max()
        np.testing.assert_allclose(layer.weight_gradients, expected, atol=tolerance * scale)
