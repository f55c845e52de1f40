"""What the network diagram of a 2-D data set draws: each unit's output over the plane.

One forward pass over a square grid of points gives each hidden layer's activations (kept by
the forward pass) and the output layer's logits; reshaped, each unit becomes a (G, G) picture
on the same grid as the decision boundary, rows along y from -extent up. A layer's first
MAX_SHOWN_UNITS units are drawn, so only theirs are copied out: a layer of thousands would
otherwise make hundreds of megabytes a picture (seconds of the training thread's time).

The output layer is shown as logits, before the output activation: their sign is the decision
(a sigmoid's 0.5 is a logit's 0), so a colour map centred on 0 puts its white on the boundary.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gdplayground.data import Dataset
from gdplayground.engine.network import Network

Features = Callable[[np.ndarray], np.ndarray]
BOUNDARY_GRID = 80  # points per side of the decision-boundary grid for 2-D data
BOUNDARY_EXTENT = 4.0  # the grid spans [-extent, extent] on both axes, around toy data in ±3
MAX_SHOWN_UNITS = 16  # the diagram draws at most this many units a layer; more are unreadable


def plane_grid(extent: float, size: int) -> np.ndarray:
    """(size², 2) points covering [-extent, extent]², x fastest: rows of the grid run along y."""
    axis = np.linspace(-extent, extent, size)
    xx, yy = np.meshgrid(axis, axis)
    return np.column_stack([xx.ravel(), yy.ravel()])


def plane_outputs(predict: Callable[[np.ndarray], np.ndarray], extent: float) -> np.ndarray:
    """(G, G, outputs) float32: the output layer's activations over the plane_grid of ±extent,
    rows along y; `predict` maps raw points to them (Trainer.predict, StepNetwork.predict)."""
    out = predict(plane_grid(extent, BOUNDARY_GRID))
    return out.reshape(BOUNDARY_GRID, BOUNDARY_GRID, -1).astype(np.float32)


def plane_extent(data: Dataset) -> float:
    """The half side of the square a 2-D data set's pictures span: the toy sets' fixed one, or
    a table's standardised points' farthest coordinate and a margin, to the half unit."""
    points = [p for p in (data.train.x, data.validation.x, data.test.x) if len(p)]
    if data.preparation is None or not points:
        return BOUNDARY_EXTENT
    farthest = max(float(np.abs(p).max()) for p in points)
    return float(np.ceil(farthest * 1.1 * 2) / 2)


def unit_outputs(network: Network, grid_points: np.ndarray,
                 features: Features | None = None) -> list[np.ndarray]:
    """Per layer after the input (hidden layers, then the output layer's logits), an array
    (shown units, G, G) of the output of each of its first MAX_SHOWN_UNITS units at the points
    of a square grid from `plane_grid`.

    `features` turns raw points into what the network was trained on (for a Trainer:
    `lambda x: x * trainer.dataset.input_scale`, which `trainer_unit_outputs` passes); without
    it the points go in as they are. One forward pass in eval mode: no dropout.
    """
    side = int(round(np.sqrt(len(grid_points))))
    if side * side != len(grid_points):
        raise ValueError(f"{len(grid_points)} points do not make a square grid")
    inputs = features(grid_points) if features else grid_points
    logits = network.forward(np.asarray(inputs, network.dtype), train=False)
    # The forward pass keeps each hidden layer's activations, in buffers the next pass reuses:
    # copied out, one shown unit per row.
    shown = [a[:, :MAX_SHOWN_UNITS] for a in (*network.hidden_activations, logits)]
    return [a.T.copy().reshape(a.shape[1], side, side) for a in shown]


def trainer_unit_outputs(trainer, grid_points: np.ndarray) -> list[np.ndarray]:
    """`unit_outputs` of a Trainer's network, with its data set's input scale."""
    scale = trainer.dataset.input_scale
    return unit_outputs(trainer.network, grid_points, features=lambda x: x * scale)


def connection_weights(network: Network) -> list[np.ndarray]:
    """Copies of every layer's weights W (n_in, n_out), input layer first."""
    return [layer.W.copy() for layer in network.layers]


def unit_biases(network: Network) -> list[np.ndarray | None]:
    """Copies of every layer's biases (n_out,), or None for a network without them."""
    return [None if layer.b is None else layer.b.copy() for layer in network.layers]
