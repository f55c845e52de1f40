"""A run at any step it kept: a network of the run's shape set to the kept weights (a KeptPath row),
and what the Training tab draws of it: the first layer's weights, the decision boundary of 2-D
data, the shown units' outputs for the network diagram, the linear system's x; and its loss on a
sample. The replay slider and the animation both draw from it, so the two agree with the live
views, which draw the same things of the training network (gui/training/worker.py)."""

from __future__ import annotations

import numpy as np

from gdplayground.config import ExperimentConfig
from gdplayground.engine.losses import make_loss
from gdplayground.engine.memory import evaluation_rows, feature_floats
from gdplayground.engine.network import Network
from gdplayground.labs.diagram import (
    BOUNDARY_EXTENT, BOUNDARY_GRID, connection_weights, plane_grid, unit_biases, unit_outputs)


class StepNetwork:
    """The run's network at the weights of one step: set them with `at`, then read the pictures."""

    def __init__(self, config: ExperimentConfig, sizes, input_scale: float,
                 image_shape: tuple[int, int] | None = None):
        """`sizes` of the dense layers from input to output, as the run built them (RunInfo.sizes,
        Network.sizes); `input_scale` what turns the data's raw inputs into the network's
        (Dataset.input_scale); `image_shape` the data's (H, W) (Dataset.image_shape), which the
        convolutions and pools of the architecture read, one channel, as the trainer's do."""
        arch = config.architecture
        input_shape = (1, *image_shape) if arch.features else None
        self.network = Network(list(sizes), [layer.activation for layer in arch.dense],
                               bias=arch.bias, dtype=config.dtype, features=arch.features,
                               input_shape=input_shape)
        # Examples per forward pass, as the trainer evaluates: a convolution's buffers are large.
        self.rows = evaluation_rows(feature_floats(arch.features, input_shape)[0],
                                    self.network.dtype.itemsize)
        self.loss = make_loss(arch.loss, arch.output)
        self.scale = self.network.dtype.type(input_scale)

    def at(self, weights: np.ndarray) -> StepNetwork:
        """Take the weights of a step, laid out as Network.flat (a KeptPath's row)."""
        weights = np.asarray(weights)
        if weights.shape != self.network.flat.shape:
            raise ValueError(f"weights of shape {weights.shape} for a network of "
                             f"{self.network.flat.size} parameters")
        self.network.flat[...] = weights
        return self

    def flat_of(self, parameters: dict[str, np.ndarray]) -> np.ndarray:
        """A snapshot's parameters ({"layer1.weight": …}) laid out as Network.flat."""
        return np.concatenate([np.asarray(parameters[name], self.network.dtype).ravel()
                               for name, _, _ in self.network.parameters()])

    def first_layer(self) -> np.ndarray:
        """A copy of the first layer's weights (inputs, units): the weight mosaic's tiles."""
        return self.network.layers[0].W.copy()

    def unknowns(self) -> np.ndarray:
        """The linear system's x: the one layer's weights into its one output."""
        return self.network.layers[0].W[:, 0].copy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output-layer activations for raw inputs, as Trainer.predict gives them."""
        return self.loss.predict(self.network.forward(self._features(x))).copy()

    def units(self, extent: float = BOUNDARY_EXTENT) -> tuple:
        """What the network diagram draws: the shown units' outputs over the boundary's grid (of
        ±extent: a table's is its data's), and copies of the weights and biases (as the
        training worker sends them)."""
        grid = plane_grid(extent, BOUNDARY_GRID)
        return (unit_outputs(self.network, grid, self._features),
                connection_weights(self.network), unit_biases(self.network))

    def loss_on(self, x: np.ndarray, y: np.ndarray) -> float:
        """The mean loss on raw inputs `x` with labels or targets `y` (no penalty, no dropout)."""
        targets = self.loss.encode(y, self.network.sizes[-1], self.network.dtype)
        total = 0.0
        for start in range(0, len(x), self.rows):
            rows = slice(start, start + self.rows)
            loss, _ = self.loss.forward(self.network.forward(self._features(x[rows])), targets[rows])
            total += float(loss) * len(targets[rows])
        return total / len(x)

    def _features(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x * self.scale, self.network.dtype)  # as Trainer._features rounds it


def exact_solution(dataset) -> np.ndarray | None:
    """The linear system's x that solves Ax = Y exactly; None for any other data set."""
    if dataset.name != "linear-system":
        return None
    return np.linalg.solve(dataset.train.x, dataset.train.y[:, 0])
