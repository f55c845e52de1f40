"""A fully-connected network: dense layers, hidden activations, dropout, and backprop.

Shapes follow the CS231n convention: inputs x (batch, n_in), weights W (n_in, n_out), bias b
(n_out,), so a layer computes z = x @ W + b. The output layer returns logits; its activation
belongs to the fused loss (losses.py).

Products use np.dot rather than np.matmul: both call BLAS, but np.dot has less overhead per call
and matmul falls back to a slow loop for a batch of one (9 µs instead of 2 for 784x1 @ 1x10).
"""

from __future__ import annotations

import numpy as np

from gdplayground.engine.activations import ACTIVATIONS, Activation

# The output range of each squashing activation. An activation within SATURATION_MARGIN of the
# range from either end has a slope under 8% of its peak (sigmoid 0.0196 of 0.25 at 0.98, tanh
# 0.078 of 1 at 0.96): the gradient through it all but stops.
OUTPUT_LIMITS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
SATURATION_MARGIN = 0.02
NOT_MEASURED = (None, None)  # the (dead, saturated) of a layer whose activation has neither


class Workspace:
    """Arrays reused from step to step, so a warm forward or backward pass allocates nothing.

    `get(name, rows, cols)` returns the first `rows` rows of a buffer kept under `name`, growing
    it when a larger batch comes. The contents are overwritten by the next pass that asks.
    """

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._buffers: dict = {}

    def get(self, name, rows: int, cols: int, dtype=None) -> np.ndarray:
        dtype = np.dtype(dtype or self.dtype)
        buffer = self._buffers.get(name)
        if buffer is None or len(buffer) < rows or buffer.shape[1] != cols or buffer.dtype != dtype:
            buffer = self._buffers[name] = np.empty((rows, cols), dtype)
        return buffer[:rows]


class Dense:
    """One layer's weights, bias and their gradients: views into the network's flat arrays."""

    def __init__(self, W, b, dW, db, activation: Activation):
        self.W, self.b, self.dW, self.db, self.activation = W, b, dW, db, activation

    def parameters(self):
        """(parameter, gradient) pairs, weights first."""
        yield self.W, self.dW
        if self.b is not None:
            yield self.b, self.db


def _carver(flat: np.ndarray, flat_grad: np.ndarray):
    """A function handing out consecutive (parameter, gradient) views of a shape, or Nones."""
    offset = [0]

    def carve(shape):
        if shape is None:
            return None, None
        start, size = offset[0], int(np.prod(shape))
        offset[0] += size
        return flat[start:start + size].reshape(shape), flat_grad[start:start + size].reshape(shape)
    return carve


class Network:
    def __init__(self, sizes: list[int], activations: list[str], *, bias: bool = True,
                 dropout: float = 0.0, dtype=np.float32):
        """`sizes` from input to output; one activation name per hidden layer."""
        if len(activations) != len(sizes) - 2:
            raise ValueError("need one activation per hidden layer")
        shapes = [((n_in, n_out), (n_out,) if bias else None) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        total = sum(n_in * n_out + (n_out if bias else 0) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        # All parameters live in one flat array and all gradients in another, so an optimizer
        # step is a handful of NumPy calls over one array rather than a handful per layer.
        self.flat, self.flat_grad = np.zeros(total, dtype), np.zeros(total, dtype)
        carve = _carver(self.flat, self.flat_grad)
        self.layers = []
        for (w_shape, b_shape), name in zip(shapes, [*activations, "identity"]):
            W, dW = carve(w_shape)
            b, db = carve(b_shape)
            self.layers.append(Dense(W, b, dW, db, ACTIVATIONS[name]))
        self.sizes, self.dropout, self.dtype = list(sizes), dropout, np.dtype(dtype)
        self.dropout_rng = np.random.default_rng(0)
        self.workspace = Workspace(dtype)
        self._inputs: list[np.ndarray] = []  # each layer's input, as the forward pass saw it
        self._activated: list[np.ndarray] = []  # each hidden layer's activation, before dropout
        self._masks: list[np.ndarray | None] = []
        self._unit_measures = [self._unit_measure(name) for name in activations]
        self._peaks = [np.empty(n, self.dtype) for n in sizes[1:-1]]  # one per hidden unit
        # Saturated: |a − centre| ≥ reach. In the network's dtype: NumPy compares arrays with
        # its own scalars at half the cost of Python floats.
        self._saturation = {name: (self.dtype.type((low + high) / 2),
                                   self.dtype.type((high - low) * (0.5 - SATURATION_MARGIN)))
                            for name, (low, high) in OUTPUT_LIMITS.items()}

    # --- parameters ----------------------------------------------------------------------
    def initialise(self, scheme: str, sigma: float, rng: np.random.Generator) -> None:
        """Draw the weights (in float64, so both dtypes start from the same values); zero the biases."""
        for layer in self.layers:
            n_in, n_out = layer.W.shape
            std = {"zeros": 0.0, "normal": sigma, "xavier": np.sqrt(2 / (n_in + n_out)),
                   "he": np.sqrt(2 / n_in)}[scheme]
            layer.W[...] = rng.standard_normal((n_in, n_out)) * std if std else 0
            if layer.b is not None:
                layer.b[...] = 0

    def parameters(self):
        """(name, parameter, gradient) for every parameter, named layer1.weight, layer1.bias, …"""
        for i, layer in enumerate(self.layers, start=1):
            for kind, (param, grad) in zip(("weight", "bias"), layer.parameters()):
                yield f"layer{i}.{kind}", param, grad

    @property
    def n_parameters(self) -> int:
        return sum(param.size for _, param, _ in self.parameters())

    # --- passes --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """Logits (batch, n_out), in a workspace buffer that the next pass overwrites.
        With train=True, applies dropout and keeps what backward needs."""
        self._inputs, self._activated, self._masks = [], [], []
        a = x
        for i, layer in enumerate(self.layers[:-1]):
            self._inputs.append(a)
            a = layer.activation.forward(self._affine(i, a))
            self._activated.append(a)
            mask = self._dropout_mask(i, a.shape) if train else None
            self._masks.append(mask)
            if mask is not None:
                a = np.multiply(a, mask, out=self.workspace.get(("dropped", i), *a.shape))
        self._inputs.append(a)
        return self._affine(len(self.layers) - 1, a)

    def backward(self, dz: np.ndarray) -> None:
        """Fill every layer's dW and db from dL/dlogits. Needs a forward pass with train=True.

        The first layer's input gradient is never computed: no parameter depends on it.
        """
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            np.dot(self._inputs[i].T, dz, out=layer.dW)
            if layer.db is not None:
                np.add.reduce(dz, axis=0, out=layer.db)
            if i == 0:
                break
            da = np.dot(dz, layer.W.T, out=self.workspace.get(("da", i), len(dz), layer.W.shape[0]))
            if self._masks[i - 1] is not None:
                da *= self._masks[i - 1]
            dz = self.layers[i - 1].activation.backward(self._activated[i - 1], da)

    @property
    def hidden_activations(self) -> list[np.ndarray]:
        """Each hidden layer's output in the last forward pass, before dropout (the network's
        own buffers: copy what must outlive the next pass)."""
        return self._activated

    def unit_stats(self) -> list[tuple[float | None, float | None]]:
        """(dead, saturated) per layer, from the last forward pass: the fraction of a ReLU-family
        layer's units that fired for no example of the batch, and the fraction of a sigmoid or
        tanh layer's activations near the ends of their range; None where a layer has no such
        units (the output layer never has: its activation belongs to the loss).

        Read from the activations the forward pass kept, into reused buffers: a reduction or two
        and a count per layer, no pass through the network."""
        stats = [measure(i, a) for i, measure, a in zip(range(len(self._activated)),
                                                        self._unit_measures, self._activated)]
        stats.append(NOT_MEASURED)
        return stats

    def _unit_measure(self, activation: str):
        return {"relu": self._dead, "leaky_relu": self._dead, "sigmoid": self._saturated,
                "tanh": self._saturated}.get(activation, self._unmeasured)

    def _dead(self, i: int, a: np.ndarray) -> tuple[float, None]:
        peak = np.maximum.reduce(a, axis=0, out=self._peaks[i])  # each unit's largest output
        return 1 - int(np.count_nonzero(peak > 0)) / len(peak), None

    def _saturated(self, i: int, a: np.ndarray) -> tuple[None, float]:
        centre, reach = self._saturation[self.layers[i].activation.name]
        distance = np.subtract(a, centre, out=self.workspace.get(("from centre", i), *a.shape))
        np.abs(distance, out=distance)
        return None, int(np.count_nonzero(distance >= reach)) / a.size

    def _unmeasured(self, i: int, a: np.ndarray) -> tuple[None, None]:
        return NOT_MEASURED

    def penalty(self, l1: float, l2: float) -> float:
        """L1 and L2 penalties on the weights (not the biases): l1·Σ|w| + l2/2·Σw²."""
        return sum(l1 * float(np.abs(layer.W).sum()) + 0.5 * l2 * float(np.vdot(layer.W, layer.W))
                   for layer in self.layers)

    def add_penalty_gradient(self, l1: float, l2: float) -> None:
        for layer in self.layers:
            if l1:
                layer.dW += l1 * np.sign(layer.W)
            if l2:
                layer.dW += l2 * layer.W

    def _affine(self, i: int, a: np.ndarray) -> np.ndarray:
        layer = self.layers[i]
        z = np.dot(a, layer.W, out=self.workspace.get(("z", i), len(a), layer.W.shape[1]))
        if layer.b is not None:
            z += layer.b
        return z

    def _dropout_mask(self, i: int, shape) -> np.ndarray | None:
        """Inverted dropout: keep each unit with probability 1-p and scale it by 1/(1-p)."""
        if not self.dropout:
            return None
        keep = self.dtype.type(1.0 - self.dropout)
        mask = self.workspace.get(("mask", i), *shape)
        self.dropout_rng.random(shape, dtype=self.dtype, out=mask)
        np.less(mask, keep, out=mask, casting="unsafe")  # 1.0 where kept, 0.0 where dropped
        mask /= keep
        return mask
