"""The Inside tab's computations on a convolutional network: saliency against central
differences of the class score, SmoothGrad as the mean of its noisy maps, and the per-layer
distributions against direct computations of a convolution's outputs and its dead filters."""

from types import SimpleNamespace

import numpy as np
import pytest

from gdplayground.cli.flags import parse_layers
from gdplayground.engine.conv import feature_shapes
from gdplayground.engine.losses import SoftmaxCrossEntropy
from gdplayground.engine.network import Network
from gdplayground.labs.inside import (PERCENTILES, layer_distributions, layer_names, saliency,
                                      smoothgrad)

SHAPE = (1, 8, 7)  # an odd width: the max-pool drops a column


def conv_network(stack="conv4x3:tanh,pool,conv3x3s2valid:tanh", outputs=3, activation="tanh"):
    """`stack`, a dense layer of 5 and `outputs` on 1x8x7 images, float64; tanh by default, so
    that central differences see no kinks (a max-pool's switch is as unlikely as a tie)."""
    features = parse_layers(stack, activation)
    flat = int(np.prod(feature_shapes(features, SHAPE)[-1]))
    network = Network([flat, 5, outputs], ["tanh"], dtype=np.float64, features=features,
                      input_shape=SHAPE)
    rng = np.random.default_rng(5)
    network.initialise("xavier", 0.0, rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0, 0.2, layer.b.shape)
    return network


def class_score(network, image, column, sign, scale):
    return sign * network.forward((image * scale)[None, :])[0, column]


@pytest.mark.parametrize("stack", ["conv4x3:tanh,pool,conv3x3s2valid:tanh",
                                   "conv3x3:tanh,avgpool,conv2x3:sigmoid,pool"])
@pytest.mark.parametrize("outputs", [3, 1])
def test_a_conv_networks_saliency_is_the_class_scores_gradient_by_central_differences(stack, outputs):
    network, scale, h = conv_network(stack, outputs), 0.6, 1e-6
    x = np.random.default_rng(1).uniform(0, 1, (2, 56))
    classes = np.array([2, 0]) if outputs == 3 else np.array([1, 0])
    got = saliency(network, x, classes, scale)
    assert got.shape == (2, 56)
    for i, c in enumerate(classes):
        column, sign = (c, 1.0) if outputs == 3 else (0, 1.0 if c == 1 else -1.0)
        expected = np.empty(56)
        for j in range(56):
            step = np.zeros(56)
            step[j] = h
            expected[j] = (class_score(network, x[i] + step, column, sign, scale)
                           - class_score(network, x[i] - step, column, sign, scale)) / (2 * h)
        np.testing.assert_allclose(got[i], expected, rtol=1e-6, atol=1e-8)
        assert np.abs(expected).max() > 1e-3  # the pixels do move the score


def test_a_conv_networks_saliency_leaves_its_gradients_alone_and_uses_chunks(monkeypatch):
    network = conv_network()
    network.flat_grad[...] = 7.0
    x = np.random.default_rng(2).uniform(0, 1, (5, 56))
    whole = saliency(network, x, np.arange(5) % 3, 1.0)
    monkeypatch.setattr("gdplayground.labs.inside.SALIENCY_ROWS", 2)  # 2 + 2 + 1 rows
    np.testing.assert_allclose(saliency(network, x, np.arange(5) % 3, 1.0), whole, rtol=1e-12)
    assert np.all(network.flat_grad == 7.0)


def test_smoothgrad_is_the_mean_saliency_of_the_noisy_copies_in_the_order_drawn():
    network, x = conv_network(), np.random.default_rng(3).uniform(0, 1, (2, 56))
    classes = np.array([1, 2])
    rng = np.random.default_rng(9)
    sigma = 0.2 * np.ptp(x)
    one_by_one = np.mean([saliency(network, x + rng.normal(0, sigma, x.shape), classes, 0.5)
                          for _ in range(6)], axis=0)
    got = smoothgrad(network, x, classes, 0.5, noise=0.2, samples=6, rng=np.random.default_rng(9))
    np.testing.assert_allclose(got, one_by_one, rtol=1e-10, atol=1e-14)


def convolve_by_hand(images, W, b):
    """'same' cross-correlation, as PyTorch's conv2d: (n, C_out, H, W) by explicit sums."""
    k = W.shape[-1]
    padded = np.pad(images, ((0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    n, _, h, w = images.shape
    out = np.empty((n, W.shape[0], h, w))
    for r in range(h):
        for c in range(w):
            patch = padded[:, :, r:r + k, c:c + k]
            out[:, :, r, c] = np.einsum("nikl,oikl->no", patch, W) + b
    return out


def test_a_conv_layers_distributions_are_its_filters_and_feature_maps_and_dead_filters_counted():
    network = conv_network("conv4x3,pool,conv3x3s2valid", activation="relu")
    conv = network.layers[0]
    conv.b[:2] = -100  # two filters that never fire on images in [0, 1]
    x = np.random.default_rng(4).uniform(0, 1, (6, 56))
    network.flat_grad[...] = 3.0
    layers = layer_distributions(network, x, SoftmaxCrossEntropy(), np.arange(6) % 3)
    assert len(layers) == 4  # two convolutions, the dense layer, the output: no pools
    maps = np.maximum(convolve_by_hand(x.reshape(6, *SHAPE), conv.W, conv.b), 0)
    np.testing.assert_allclose(layers[0].activations, np.percentile(maps, PERCENTILES), atol=1e-12)
    np.testing.assert_allclose(layers[0].weights, np.percentile(conv.W, PERCENTILES))
    never_fire = sum(not (maps[:, f] > 0).any() for f in range(4))
    assert never_fire == 2 and layers[0].dead == pytest.approx(never_fire / 4)
    assert np.all(network.flat_grad == 3.0)
    assert [layer.name for layer in layers] == [
        "layer 1: conv, 4 filters 3×3 → 4×8×7", "layer 2: conv, 3 filters 3×3, stride 2 → 3×1×1",
        "layer 3: dense, 5 units", "layer 4: output, 3 units"]
    assert layer_names(network) == [layer.name for layer in layers]


def digit_network(stack="conv2x5:tanh,avgpool"):
    """`stack`, then 10 classes, on 28x28 digits in float64: 2x14x14 = 392 values reach the
    dense layer, not the image's 784. An average pool: on a drawn digit's blank background a
    max-pool's window is a tie, where the max has no derivative for differences to measure."""
    features = parse_layers(stack, "tanh")
    flat = int(np.prod(feature_shapes(features, (1, 28, 28))[-1]))
    network = Network([flat, 10], [], dtype=np.float64, features=features, input_shape=(1, 28, 28))
    rng = np.random.default_rng(6)
    network.initialise("xavier", 0.0, rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0, 0.2, layer.b.shape)
    return network


def test_a_drawn_digit_is_read_by_a_conv_network_with_its_saliency(qtbot):
    from gdplayground.gui.inside.drawing import DrawingView
    from gdplayground.gui.inside.pictures import network_probabilities

    network, scale = digit_network(), 0.8
    view = DrawingView()
    qtbot.addWidget(view)
    view.show_report(SimpleNamespace(network=network, input_scale=scale))
    view.canvas.stroke_to(40, 100, start=True)
    view.canvas.stroke_to(240, 180)  # a slanted bar, stamped along its length
    view.refresh()
    x = view.stages.centred.reshape(-1)
    logits = network.forward(x[None] * scale)[0].copy()
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(view.probabilities, expected, rtol=1e-12)
    np.testing.assert_allclose(network_probabilities(network, x[None] * scale)[0], expected)
    predicted, h = int(np.argmax(expected)), 1e-6
    steps = np.eye(784)[::3] * h  # every third pixel nudged up and down, in one batch
    up = network.forward((x + steps) * scale)[:, predicted].copy()
    down = network.forward((x - steps) * scale)[:, predicted]
    np.testing.assert_allclose(view.map.ravel()[::3], (up - down) / (2 * h), rtol=1e-5, atol=1e-9)
    assert f"reads a {predicted}" in view.caption.text()


def test_an_image_sets_conv_network_ending_in_two_values_gets_the_image_views_not_the_diagram(qtbot):
    """conv2x5,pool,pool,pool,pool leaves 2x1x1 values for the dense layers: the tab took
    sizes[0] == 2 for 2-D points and laid out the diagram of a plane the digits are not on."""
    from gdplayground.config import preset
    from gdplayground.gui.inside.images import ImageInside
    from gdplayground.gui.inside.tab import InsideTab
    from gdplayground.gui.widgets.training_run import RunInfo

    tab = InsideTab(lambda what, callback: None, ImageInside())
    qtbot.addWidget(tab)
    tab.start(RunInfo(run_id=1, config=preset("mnist"), dataset="mnist", step=0, epoch=0,
                      sizes=(2, 10), n_parameters=0, steps_per_epoch=1, image_shape=(28, 28),
                      n_classes=10))
    assert tab.views.currentWidget() is tab.images
    assert tab.pages.tabText(0) == "Errors and explanations"


def test_a_conv_networks_inside_report_covers_fewer_digits_counted_as_trainer_predicts():
    """On MNIST itself (loading it is most of the test's 2-3 s): the report the window asks for."""
    from gdplayground.config import preset
    from gdplayground.engine.trainer import Trainer
    from gdplayground.labs.inside import CONV_INSIDE_EXAMPLES, confusion_matrix, inside_report

    config = preset("mnist")
    config.architecture.hidden = parse_layers("conv2x5,pool", "relu")
    trainer = Trainer(config)
    trainer.step()
    report = inside_report(trainer)
    test = trainer.dataset.test
    assert len(report.labels) == report.images01.shape[0] == CONV_INSIDE_EXAMPLES < len(test)
    predicted = trainer.predict(test.x[:CONV_INSIDE_EXAMPLES]).argmax(axis=1)
    direct = np.zeros((10, 10), int)
    for true, guess in zip(test.y[:CONV_INSIDE_EXAMPLES], predicted):
        direct[true, guess] += 1
    assert np.array_equal(confusion_matrix(report.labels, report.probabilities.argmax(1), 10), direct)
    assert not report.network.workspace._buffers  # the weights, not the evaluation's 150 MB
    x = test.x[:5] * trainer.dataset.input_scale
    np.testing.assert_array_equal(report.network.forward(x), trainer.network.forward(x))


@pytest.mark.parametrize("bias", [True, False])
def test_a_weights_copy_computes_as_the_network_and_shares_nothing(bias):
    from gdplayground.labs.inside import weights_copy

    features = parse_layers("conv3x3:tanh,pool,conv2x3s2valid", "relu")
    network = Network([2 * 1 * 1, 4, 3], ["sigmoid"], bias=bias, dropout=0.3, dtype=np.float32,
                      features=features, input_shape=SHAPE)
    network.initialise("he", 0.0, np.random.default_rng(7))
    x = np.random.default_rng(8).uniform(0, 1, (4, 56)).astype(np.float32)
    twin = weights_copy(network)
    np.testing.assert_array_equal(twin.forward(x), network.forward(x))
    assert twin.describe() == network.describe() and twin.dtype == network.dtype
    twin.flat[...] = 0
    assert np.abs(network.flat).max() > 0


def test_smoothgrad_is_computed_off_the_gui_thread_and_only_the_latest_request_is_shown(qtbot, monkeypatch):
    import threading

    from gdplayground.gui.inside import saliency as view_module
    from gdplayground.gui.inside.pictures import network_probabilities
    from gdplayground.gui.inside.saliency import SaliencyView

    network = digit_network("conv2x5:relu,pool")
    images = np.random.default_rng(9).uniform(0, 1, (4, 28, 28)).astype(np.float32)
    report = SimpleNamespace(network=network, input_scale=1.0, images01=images,
                             labels=np.array([0, 1, 2, 3]), step=3,
                             probabilities=network_probabilities(network, images.reshape(4, -1)))
    computed_on = []

    def recorded(*args, **kwargs):
        computed_on.append(threading.current_thread())
        return smoothgrad(*args, **kwargs)
    monkeypatch.setattr(view_module, "smoothgrad", recorded)
    view = SaliencyView()
    qtbot.addWidget(view)
    view.show_report(report)
    view.choose(1)
    plain = view.map.copy()
    view.smooth.setChecked(True)
    assert "averaging the gradient" in view.caption.text() and np.array_equal(view.map, plain)
    view.choose(2)  # while digit 1's is computed: digit 1's is never shown
    qtbot.waitUntil(lambda: view._smoothed[0] is not None, timeout=10_000)
    assert view._smoothed[0][1] == 2 and "Digit #2" in view.caption.text()
    cls = int(report.probabilities[2].argmax())
    expected = smoothgrad(network, images[2].reshape(1, -1), np.array([cls]), 1.0).reshape(28, 28)
    np.testing.assert_allclose(view.map, expected, rtol=1e-10)
    assert computed_on and threading.main_thread() not in computed_on
    asked = len(computed_on)
    view.percentile.setValue(90.0)  # only the colours change: nothing is computed again
    qtbot.wait(50)
    assert len(computed_on) == asked and np.array_equal(view.map, expected)
    view.choose(3)  # two redraws (the index box's and choose's own), one map
    qtbot.waitUntil(lambda: view._smoothed[0][1] == 3, timeout=10_000)
    qtbot.wait(50)
    assert len(computed_on) == asked + 1
    view.choose(1)
    view.smooth.setChecked(False)  # off while digit 1's is computed, and on again
    plain = view.map.copy()
    qtbot.waitUntil(lambda: view._smoothed[0][1] == 1, timeout=10_000)
    assert np.array_equal(view.map, plain)  # not shown while SmoothGrad is off …
    view.smooth.setChecked(True)
    assert view.map_box.title.text.startswith("SmoothGrad") and len(computed_on) == asked + 2


def test_a_map_finished_after_its_view_closed_is_dropped_quietly(qtbot):
    """The thread's answer to a deleted view raised 'Signal source has been deleted' in the
    thread (an error under pytest's warnings, a traceback in the window's terminal)."""
    import threading

    from PySide6.QtCore import QCoreApplication, QEvent

    from gdplayground.gui.inside.saliency import MapMaker

    go, failures = threading.Event(), []
    maker = MapMaker()
    maker.start("key", lambda: go.wait(5) and np.zeros(2))
    worker = next(t for t in threading.enumerate() if t.name == "saliency maps")
    maker.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    hook, threading.excepthook = threading.excepthook, lambda args: failures.append(args.exc_value)
    try:
        go.set()
        worker.join(5)
    finally:
        threading.excepthook = hook
    assert not worker.is_alive() and failures == []
