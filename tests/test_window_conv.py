"""Convolutional networks in the window: the architecture panel's layer kinds, shapes and
parameter counts, the Training tab's filters and feature maps, and the run controls on them."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from gdplayground.config import ConfigError, Layer, preset
from gdplayground.layer_grammar import parse_layer
from gdplayground.engine.network import Network
from gdplayground.gui.training.feature_map_view import ConvView
from gdplayground.gui.training.layer_list import SMALL_CNN
from gdplayground.gui.training.panels import ArchitecturePanel, DataShape
from gdplayground.gui.window.main_window import MainWindow
from gdplayground.labs.feature_maps import feature_maps_of, filter_tiles, map_grid

TIMEOUT = 20_000  # ms
TINY_IMAGES = DataShape(64, (8, 8), 3, "tiny images")


def layers(words: str) -> list[Layer]:
    return [parse_layer(word) for word in words.split(",")]


def tiny_network(words: str, bias: bool = True, seed: int = 0) -> Network:
    """A network of `words` on 1×8×8 images with 3 outputs, as the trainer would build it."""
    hidden = layers(words)
    features = [layer for layer in hidden if layer.is_feature]
    dense = [layer for layer in hidden if not layer.is_feature]
    flat = 64
    if features:
        from gdplayground.engine.conv import feature_shapes
        flat = int(np.prod(feature_shapes(features, (1, 8, 8))[-1]))
    network = Network([flat, *(d.units for d in dense), 3], [d.activation for d in dense],
                      bias=bias, features=features, input_shape=(1, 8, 8) if features else None)
    network.initialise("he", 0.0, np.random.default_rng(seed))
    return network


# --- the architecture panel -----------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_the_panel_shows_each_layers_output_and_parameters_as_the_network_has_them(qtbot, bias):
    panel = ArchitecturePanel()
    qtbot.addWidget(panel)
    panel.set_data(TINY_IMAGES)
    config = preset("mnist")
    config.architecture.bias = bias
    config.architecture.hidden = layers("conv4x3,pool,conv6x3s2,avgpool,5")
    panel.load(config)
    stored = preset("mnist")
    panel.store(stored)
    stored.validate()
    assert stored.architecture.hidden == config.architecture.hidden
    network = tiny_network("conv4x3,pool,conv6x3s2,avgpool,5", bias)
    shown = [row.shape.text() for row in panel.layers.rows]
    shapes = [*("×".join(map(str, shape)) for shape in network.feature_shapes), "5"]
    weighted = iter(sum(p.size for p in layer_parameters) for layer_parameters in
                    ([w for w, _ in layer.parameters()] for layer in network.layers))
    counts = [next(weighted) if layer.has_weights else 0 for layer in stored.architecture.hidden]
    assert shown == [f"→ {shape}, {count:,} parameters" for shape, count in zip(shapes, counts)]
    assert shapes[:3] == ["4×8×8", "4×4×4", "6×2×2"]
    assert panel.parameter_count.text().startswith(f"{network.n_parameters:,} ")


def test_a_dense_network_still_reads_as_its_sizes(qtbot):
    panel = ArchitecturePanel()
    qtbot.addWidget(panel)
    panel.set_data(TINY_IMAGES)
    config = preset("mnist")
    config.architecture.hidden = layers("16,8")
    panel.load(config)
    assert panel.parameter_count.text() == f"{tiny_network('16,8').n_parameters:,}  (64-16-8-3)"


def test_changing_a_rows_kind_starts_it_from_that_kinds_defaults(qtbot):
    panel = ArchitecturePanel()
    qtbot.addWidget(panel)
    panel.set_data(TINY_IMAGES)
    config = preset("mnist")
    config.architecture.hidden = [Layer(8, "tanh", "conv", 3, 2, "valid"), Layer(16)]
    panel.load(config)
    kind = panel.layers.rows[0].kind
    kind.setCurrentIndex(kind.findData("maxpool"))
    assert panel.layers.layers()[0] == Layer(activation="identity", kind="maxpool")
    kind = panel.layers.rows[0].kind
    kind.setCurrentIndex(kind.findData("conv"))
    assert panel.layers.layers()[0] == Layer(8, "relu", "conv", 5, 1, "same")
    row = panel.layers.rows[0]
    assert row.kernel.isVisibleTo(panel) and row.units.isVisibleTo(panel)
    row.kind.setCurrentIndex(row.kind.findData("avgpool"))
    row = panel.layers.rows[0]
    assert not row.kernel.isVisibleTo(panel) and not row.units.isVisibleTo(panel)


def test_convolutions_after_a_dense_layer_are_greyed_and_refused_by_the_config(qtbot):
    panel = ArchitecturePanel()
    qtbot.addWidget(panel)
    panel.set_data(TINY_IMAGES)
    config = preset("mnist")
    config.architecture.hidden = layers("conv4x3,pool,16,8")
    panel.load(config)

    def offered(row: int, kind: str) -> bool:
        combo = panel.layers.rows[row].kind
        return combo.model().item(combo.findData(kind)).isEnabled()
    assert not offered(0, "dense") and offered(1, "dense")  # a pool below row 1 is not, row 0
    assert offered(2, "conv") and not offered(3, "conv") and not offered(3, "maxpool")
    combo = panel.layers.rows[3].kind
    assert "before every dense layer" in combo.itemData(combo.findData("conv"), Qt.ToolTipRole)
    config.architecture.hidden = layers("16,conv4x3")  # as a file could say
    with pytest.raises(ConfigError):
        config.validate()


def test_data_without_images_refuse_convolutions_and_say_why(qtbot):
    panel = ArchitecturePanel()
    qtbot.addWidget(panel)
    panel.set_data(DataShape(2, None, 1, "Spiral"))
    config = preset("spiral")
    panel.load(config)
    kind = panel.layers.rows[0].kind
    for name in ("conv", "maxpool", "avgpool"):
        assert not kind.model().item(kind.findData(name)).isEnabled()
        assert kind.itemData(kind.findData(name), Qt.ToolTipRole).startswith("Spiral holds no images")
    assert not panel.layers.small_cnn.isEnabled()
    config.architecture.hidden = layers("conv4x3,8")  # as a file could say: said, not drawn
    panel.load(config)
    assert "need images" in panel.parameter_count.text()
    assert all(row.shape.text() == "" for row in panel.layers.rows)


def test_the_small_cnn_button_lays_out_the_issues_network(qtbot):
    panel = ArchitecturePanel()
    qtbot.addWidget(panel)
    panel.set_data(DataShape(784, (28, 28), 10, "MNIST"))
    panel.load(preset("mnist"))
    with qtbot.waitSignal(panel.changed):
        panel.layers.small_cnn.click()
    config = preset("mnist")
    panel.store(config)
    assert ",".join(
        {"conv": f"conv{l.units}x{l.kernel}", "maxpool": "pool"}.get(l.kind, str(l.units))
        for l in config.architecture.hidden) == SMALL_CNN
    assert [row.shape.text().split(",")[0] for row in panel.layers.rows] == [
        "→ 8×28×28", "→ 8×14×14", "→ 16×14×14", "→ 16×7×7", "→ 128"]
    assert panel.parameter_count.text().startswith("105,194 ")  # 208 + 3,216 + 100,480 + 1,290


# --- the pictures -----------------------------------------------------------------------------
def test_feature_maps_are_the_networks_and_the_first_is_the_filters_correlation():
    network = tiny_network("conv3x3,pool,conv4x3,5")
    rng = np.random.default_rng(1)
    x = rng.random(64).astype(np.float32)
    maps = feature_maps_of(network, x, network.features, 7, 2)
    network.forward(np.stack([rng.random(64).astype(np.float32), x]))  # a batch: row 1 is x
    for shown, batch in zip(maps.maps, network.feature_maps()):
        np.testing.assert_allclose(shown, batch[1], rtol=1e-5, atol=1e-6)
    conv = network.layers[0]
    padded = np.pad(x.reshape(8, 8), 1)
    by_hand = np.array([[[np.sum(padded[i:i + 3, j:j + 3] * conv.W[f, 0]) + conv.b[f]
                          for j in range(8)] for i in range(8)] for f in range(3)])
    np.testing.assert_allclose(maps.maps[0], np.maximum(by_hand, 0), rtol=1e-5, atol=1e-6)
    assert maps.titles == ("conv 1: 3 filters 3×3, 8×8", "max-pool 1: 3×4×4",
                           "conv 2: 4 filters 3×3, 4×4")
    assert (maps.index, maps.label) == (7, 2) and np.array_equal(maps.image, x.reshape(8, 8))


def test_map_grid_places_each_map_on_one_scale_with_gaps_between():
    maps = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2) - 4
    grid = map_grid(maps, columns=2)
    assert grid.shape == (5, 5)
    np.testing.assert_array_equal(grid[:2, 3:], maps[1] / 7)
    np.testing.assert_array_equal(grid[3:, :2], maps[2] / 7)
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 2]).all() and np.isnan(grid[3:, 3:]).all()
    assert not np.isnan(map_grid(np.zeros((1, 2, 2)))).any()  # a silent map: blank, not NaN


def test_the_filter_view_shows_each_filter_as_a_tile_of_its_weights(qtbot):
    view = ConvView()
    qtbot.addWidget(view)
    W = np.random.default_rng(2).standard_normal((5, 1, 3, 3)).astype(np.float32)
    view.set_layout(np.zeros_like(W), 10)
    view.filters.change.setChecked(False)
    view.show_weights(W)
    mosaic = view.filters
    assert mosaic.n_units == 5 and mosaic.tile_shape == (3, 3) and mosaic.columns == 3
    codes = mosaic.image.image
    scale = np.percentile(np.abs(W), 99.5)
    expected = np.clip(W[:, 0] * (127 / scale) + 127.5, 0, 254).astype(np.uint8)
    for f in range(5):
        row, column = divmod(f, 3)
        np.testing.assert_array_equal(codes[3 * row:3 * row + 3, 3 * column:3 * column + 3],
                                      expected[f])
    assert "5 filters of 3×3" in mosaic.title.text
    tiles, shape = filter_tiles(np.arange(2 * 2 * 2 * 2).reshape(2, 2, 2, 2))
    assert shape == (4, 2) and tiles[:, 1].tolist() == list(range(8, 16))  # channels stacked


# --- the window -----------------------------------------------------------------------------
def tiny_conv_mnist(words: str = "conv2x3,pool,8"):
    config = preset("mnist")
    config.architecture.hidden = layers(words)
    config.batch.size = 16
    return config


@pytest.fixture
def conv_window(qtbot):
    window = MainWindow(tiny_conv_mnist())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    window.confirm = lambda title, text, items: True
    return window


def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    answers = []
    window.session.ask("snapshot", answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)


def test_the_training_tab_shows_the_filters_and_a_chosen_digits_maps_as_they_learn(qtbot, conv_window):
    window = conv_window
    view = window.training.conv_view
    assert window.training.data_view.currentWidget() is view
    assert window.info.layers == ("conv 1→2, 3×3", "392→8", "8→10")
    assert len(window.training.gradient_view.curves) == 3
    view.maps.example.setValue(3)
    window.step(3)
    qtbot.waitUntil(lambda: window.last_step == 3, timeout=TIMEOUT)  # the job's steps came
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: view.maps.shown is not None and view.maps.shown.index == 3,
                    timeout=TIMEOUT)
    window.redraw()
    probes = []
    window.session.ask("probe", probes.append)  # the network as it is now, rebuilt
    qtbot.waitUntil(lambda: bool(probes), timeout=TIMEOUT)
    network = probes[0].network(np.float32)
    np.testing.assert_array_equal(view.filters.weights, filter_tiles(network.layers[0].W)[0])
    assert window.last_step == 3 and not np.array_equal(view.filters.weights, view.filters.initial)
    from gdplayground.data import load_dataset
    data = load_dataset(window.config.data, window.config.seed)
    x = data.test.x[3] * np.float32(data.input_scale)
    network.forward(x.reshape(1, -1).astype(np.float32))
    shown = view.maps.shown
    assert shown.label == int(data.test.y[3])
    for mine, theirs in zip(shown.maps, network.feature_maps()):
        np.testing.assert_allclose(mine, theirs[0], rtol=1e-5, atol=1e-6)
    assert shown.titles == ("conv 1: 2 filters 3×3, 28×28", "max-pool 1: 2×14×14")
    assert [title.toPlainText() for title in view.maps.titles[1:]] == list(shown.titles)
    assert set(window.training.plots()) >= {"filters", "feature_maps"}


def test_a_storm_of_controls_on_a_conv_network_raises_nothing(qtbot, conv_window):
    window = conv_window
    window.toggle_play()
    qtbot.waitUntil(lambda: window.last_step >= 2, timeout=TIMEOUT)
    window.step(1)
    window.reset()
    window.step(2)
    qtbot.waitUntil(lambda: window.last_step == 2, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    rows = window.architecture_panel.layers.rows
    rows[1].kind.setCurrentIndex(rows[1].kind.findData("avgpool"))  # a new run
    qtbot.waitUntil(lambda: window.info.config.architecture.hidden[1].kind == "avgpool",
                    timeout=TIMEOUT)
    window.training.conv_view.maps.example.setValue(5)
    window.toggle_play()
    window.lr_panel.value.widget.setValue(50.0)  # mid-run, a rate that diverges
    qtbot.waitUntil(lambda: "diverged" in window.banner.text(), timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert window.controls.play_action.text() == "Play"  # the divergence paused it
    window.lr_panel.value.widget.setValue(0.01)
    rows = window.architecture_panel.layers.rows
    rows[0].kind.setCurrentIndex(rows[0].kind.findData("dense"))  # greyed: a dense before a pool
    assert "so they come first" in window.banner.text() and window.info.config.architecture.features
    assert window.architecture_panel.layers.layers()[0].kind == "conv"  # the panel went back
    window.architecture_panel.layers.rows[1].row.findChild(QToolButton).click()  # the pool goes
    rows = window.architecture_panel.layers.rows
    rows[0].kind.setCurrentIndex(rows[0].kind.findData("dense"))  # now the network goes dense
    qtbot.waitUntil(lambda: not window.info.config.architecture.features, timeout=TIMEOUT)
    assert window.training.data_view.currentWidget() is window.training.mosaic
    window.architecture_panel.layers.small_cnn.click()
    qtbot.waitUntil(lambda: len(window.info.layers) == 4, timeout=TIMEOUT)
    window.step(1)
    qtbot.waitUntil(lambda: window.last_step == 1, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    window.redraw()
    assert window.training.data_view.currentWidget() is window.training.conv_view
    assert window.training.conv_view.filters.n_units == 8
    window.training.replay_bar.touched.emit()  # the replay asks for the path, and draws step 0
    window.training.replay_bar.moved.emit(0)
    qtbot.waitUntil(lambda: not window.training._asking, timeout=TIMEOUT)


def test_a_conv_network_on_points_is_refused_with_why_and_the_run_goes_on(qtbot):
    config = preset("spiral")
    config.data.samples = 200
    window = MainWindow(config)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    kind = window.architecture_panel.layers.rows[0].kind
    assert not kind.model().item(kind.findData("conv")).isEnabled()
    conv = preset("spiral")
    conv.data.samples = 200
    conv.architecture.hidden = layers("conv4x3,8")  # as a lesson or a settings file could ask
    window.propose(conv)
    qtbot.waitUntil(lambda: "need images" in window.banner.text(), timeout=TIMEOUT)
    assert window.config.architecture.hidden == config.architecture.hidden  # the run's own back
    assert [row.layer() for row in window.architecture_panel.layers.rows] == config.architecture.hidden
    window.step(2)
    qtbot.waitUntil(lambda: window.last_step == 2, timeout=TIMEOUT)
