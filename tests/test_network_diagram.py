"""The network diagram: the engine's unit heatmaps and the widget that draws them."""

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from gdplayground.config import preset
from gdplayground.labs.diagram import (connection_weights, plane_grid, trainer_unit_outputs,
                                         unit_biases, unit_outputs)
from gdplayground.engine.network import Network
from gdplayground.engine.trainer import Trainer
from gdplayground.gui.inside.network_diagram import MAX_SHOWN_UNITS, NetworkDiagram
from gdplayground.gui.training.worker import BOUNDARY_EXTENT, BOUNDARY_GRID

BY_HAND = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


def by_hand(network, points, activations):
    """Each layer's outputs at `points`, from z = x @ W + b and the activations' formulas."""
    outputs, a = [], points
    for layer, name in zip(network.layers, [*activations, None]):
        z = a @ layer.W + layer.b
        a = BY_HAND[name](z) if name else z
        outputs.append(a)
    return outputs


def random_network(activations, sizes, dtype=np.float64, dropout=0.0):
    network = Network(sizes, activations, dropout=dropout, dtype=dtype)
    rng = np.random.default_rng(1)
    network.initialise("he", 0.0, rng)
    for layer in network.layers:
        layer.b[...] = rng.standard_normal(layer.b.shape)
    return network


@pytest.mark.parametrize("activations", [["tanh", "tanh"], ["relu", "sigmoid"]])
def test_the_unit_heatmaps_equal_the_hidden_outputs_on_the_grid(activations):
    network = random_network(activations, [2, 8, 5, 1], dropout=0.5)  # eval mode: no dropout
    grid = plane_grid(BOUNDARY_EXTENT, BOUNDARY_GRID)
    scale = 0.5
    pictures = unit_outputs(network, grid, features=lambda x: x * scale)
    expected = by_hand(network, grid * scale, activations)
    assert [p.shape for p in pictures] == [(8, 80, 80), (5, 80, 80), (1, 80, 80)]
    for picture, layer in zip(pictures, expected):
        for unit in range(layer.shape[1]):
            # Row r of a picture is the grid's y = axis[r]; column c its x = axis[c].
            np.testing.assert_allclose(picture[unit], layer[:, unit].reshape(80, 80),
                                       rtol=1e-12, atol=1e-12)
    axis = np.linspace(-BOUNDARY_EXTENT, BOUNDARY_EXTENT, BOUNDARY_GRID)
    corner = by_hand(network, np.array([[axis[3], axis[70]]]) * scale, activations)
    assert pictures[0][2, 70, 3] == pytest.approx(corner[0][0, 2], abs=1e-12)


def test_the_output_picture_is_the_decision_boundarys_logit():
    trainer = Trainer(preset("spiral"))
    grid = plane_grid(BOUNDARY_EXTENT, BOUNDARY_GRID)
    probability = trainer.predict(grid)[:, 0].reshape(BOUNDARY_GRID, BOUNDARY_GRID)
    logit = trainer_unit_outputs(trainer, grid)[-1][0]
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), probability, atol=1e-5)


@pytest.fixture
def diagram(qtbot):
    widget = NetworkDiagram()
    qtbot.addWidget(widget)
    widget.resize(700, 450)
    widget.show()
    return widget


def draw_network(diagram, network):
    grid = plane_grid(BOUNDARY_EXTENT, 40)
    diagram.draw(unit_outputs(network, grid), connection_weights(network), unit_biases(network))


def test_one_image_per_unit_and_draw_updates_them(diagram):
    network = random_network(["tanh", "tanh"], [2, 8, 8, 1])
    diagram.set_network(network.sizes)
    assert [len(images) for images in diagram.unit_images] == [2, 8, 8, 1]
    draw_network(diagram, network)
    before = diagram.unit_images[1][0].pixmap().toImage()
    network.layers[0].W *= -1
    draw_network(diagram, network)
    assert diagram.unit_images[1][0].pixmap().toImage() != before
    assert diagram.ranges[1].text().startswith("±")


def test_a_wide_layer_shows_at_most_sixteen_units_and_says_so(diagram):
    network = random_network(["relu"], [2, 40, 1])
    diagram.set_network(network.sizes)
    draw_network(diagram, network)
    assert [len(images) for images in diagram.unit_images] == [2, MAX_SHOWN_UNITS, 1]
    titles = [item.text() for item in diagram.scene.items() if hasattr(item, "text")]
    assert any(f"{MAX_SHOWN_UNITS} of 40 shown" in title for title in titles)


def test_a_wide_layers_pictures_are_only_those_the_diagram_shows():
    """A layer of thousands: every unit's picture made 195 MB and 1.9 s of the training thread's
    time a frame (2-7604-1), and the storm's edits queued behind it."""
    network = random_network(["tanh"], [2, 3000, 1])
    grid = plane_grid(BOUNDARY_EXTENT, 6)
    hidden, logit = unit_outputs(network, grid)
    assert hidden.shape == (MAX_SHOWN_UNITS, 6, 6) and logit.shape == (1, 6, 6)
    expected = by_hand(network, grid, ["tanh"])[0][:, :MAX_SHOWN_UNITS]
    np.testing.assert_allclose(hidden, expected.T.reshape(MAX_SHOWN_UNITS, 6, 6), atol=1e-12)


def test_hover_names_a_connections_weight_and_a_units_bias(diagram):
    network = random_network(["tanh", "tanh"], [2, 8, 8, 1])
    diagram.set_network(network.sizes)
    draw_network(diagram, network)
    line, i, j = diagram.connections[1][3 * 8 + 5]
    text = diagram.text_at(line.line().pointAt(0.3))  # midpoints of i+j cross
    assert text == (f"weight {network.layers[1].W[3, 5]:+.4g}: "
                    "hidden 1 unit 4 → hidden 2 unit 6")
    centre = diagram.unit_rects[2][6].center()
    assert diagram.text_at(centre) == f"hidden 2 unit 7: bias {network.layers[1].b[6]:+.4g}"
    assert diagram._hover(centre) == diagram.status.text()


def test_a_spiral_frame_draws_quickly(diagram):
    trainer = Trainer(preset("spiral"))
    grid = plane_grid(BOUNDARY_EXTENT, BOUNDARY_GRID)
    diagram.set_network(trainer.network.sizes)
    network = trainer.network
    args = (trainer_unit_outputs(trainer, grid), connection_weights(network), unit_biases(network))
    diagram.draw(*args)  # warm
    start = time.perf_counter()
    for _ in range(10):
        diagram.draw(*args)
    # about 10 ms here; the bound leaves room for a second test process on the other core
    assert (time.perf_counter() - start) / 10 < 0.05


def test_a_frame_of_another_network_lays_the_diagram_out_again(diagram):
    """The storm's segfault: laid out for 8 units, handed a 3-unit network's frame (its run
    start never reached the diagram), hovering read the old layout against the new weights and
    raised IndexError inside mouseMoveEvent. The layout follows the weights drawn."""
    diagram.set_network([2, 8, 1])
    network = random_network(["tanh"], [2, 3, 1])
    draw_network(diagram, network)
    assert [len(images) for images in diagram.unit_images] == [2, 3, 1]
    rect = diagram.scene.itemsBoundingRect()
    for x in np.linspace(rect.left(), rect.right(), 60):  # every point of the diagram answers
        for y in np.linspace(rect.top(), rect.bottom(), 40):
            diagram.text_at(QPointF(x, y))
    line, i, j = diagram.connections[0][1 * 3 + 2]
    assert diagram.text_at(line.line().pointAt(0.5)) == (
        f"weight {network.layers[0].W[1, 2]:+.4g}: input y → hidden 1 unit 3")
    assert diagram.text_at(diagram.unit_rects[1][2].center()) == (
        f"hidden 1 unit 3: bias {network.layers[0].b[2]:+.4g}")
