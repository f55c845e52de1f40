"""A network: optional convolution and pooling layers (conv.py), then dense layers, hidden
activations, dropout, and backprop.

Shapes follow the CS231n convention: inputs x (batch, n_in), weights W (n_in, n_out), bias b
(n_out,), so a layer computes z = x @ W + b. The output layer returns logits; its activation
belongs to the fused loss (losses.py).

Products use np.dot rather than np.matmul: both call BLAS, but np.dot has less overhead per call
and matmul falls back to a slow loop for a batch of one (9 µs instead of 2 for 784x1 @ 1x10).

Inputs always arrive flat, (batch, features); a network with feature layers reads them as
images of `input_shape` (channels, height, width) and flattens its last feature map for the
dense layers.
"""

from __future__ import annotations

import numpy as np

from gdplayground.layer_grammar import layer_words
from gdplayground.engine.activations import ACTIVATIONS, Activation
from gdplayground.engine.conv import POOLS, Conv2D, _buffer, feature_shapes, initial_std

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

    def initialise(self, scheme: str, sigma: float, rng: np.random.Generator) -> None:
        """Draw the weights in float64 (both dtypes start from the same values); zero the bias."""
        std = initial_std(scheme, sigma, *self.W.shape)
        self.W[...] = rng.standard_normal(self.W.shape) * std if std else 0
        if self.b is not None:
            self.b[...] = 0


def parameter_shapes(sizes, bias: bool, features=(), channels: int = 1) -> list[tuple]:
    """(weight shape, bias shape or None) of each layer with weights, input side first: the
    convolutions among `features`, (filters, channels in, k, k) on images of `channels`, then
    the dense layers of `sizes`, (inputs, outputs). The one statement of these rules: the
    Network carves its parameters by it, and a weight file is checked by it."""
    shapes, c = [], channels
    for spec in features:
        if spec.kind == "conv":  # a pool keeps its input's channels
            bias_shape = (spec.units,) if bias else None
            shapes.append(((spec.units, c, spec.kernel, spec.kernel), bias_shape))
            c = spec.units
    return shapes + [((n_in, n_out), (n_out,) if bias else None)
                     for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def describe_network(features, sizes) -> str:
    """784-256-128-10; with feature layers, in the --layers grammar first:
    conv8x5,pool,conv16x5,pool,784-128-10 (the dense part from the flattened maps)."""
    return "".join(f"{layer_words(spec)}," for spec in features) + "-".join(map(str, sizes))


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
                 dropout: float = 0.0, dtype=np.float32, features=(), input_shape=None):
        """`sizes` from the dense layers' input to the output; one activation name per hidden
        dense layer. `features`: convolution and pooling layers before them (config.Layer
        settings), on inputs of `input_shape` (channels, height, width); sizes[0] is then the
        size of their last output."""
        if len(activations) != len(sizes) - 2:
            raise ValueError("need one activation per hidden layer")
        self.features, self.input_shape = tuple(features), tuple(input_shape or ())
        self.feature_shapes = feature_shapes(self.features, self.input_shape) if features else []
        if features and sizes[0] != np.prod(self.feature_shapes[-1]):
            raise ValueError(f"the feature layers give {np.prod(self.feature_shapes[-1])} "
                             f"values, not {sizes[0]}")
        channels = self.input_shape[0] if features else 1
        shapes = parameter_shapes(sizes, bias, self.features, channels)
        n_conv = len(shapes) - (len(sizes) - 1)
        conv_shapes, dense_shapes = shapes[:n_conv], shapes[n_conv:]
        total = sum(int(np.prod(shape)) for pair in shapes for shape in pair if shape)
        # All parameters live in one flat array and all gradients in another, so an optimizer
        # step is a handful of NumPy calls over one array rather than a handful per layer.
        self.flat, self.flat_grad = np.zeros(total, dtype), np.zeros(total, dtype)
        self.sizes, self.dropout, self.dtype = list(sizes), dropout, np.dtype(dtype)
        self.workspace = Workspace(dtype)
        carve = _carver(self.flat, self.flat_grad)
        self.stages = self._build_stages(carve, conv_shapes)  # the feature layers, pools included
        self.dense = []
        for (w_shape, b_shape), name in zip(dense_shapes, [*activations, "identity"]):
            W, dW = carve(w_shape)
            b, db = carve(b_shape)
            self.dense.append(Dense(W, b, dW, db, ACTIVATIONS[name]))
        # The layers with parameters, input side first: convolutions, then dense layers.
        self.layers = [*(stage for stage in self.stages if isinstance(stage, Conv2D)), *self.dense]
        self.dropout_rng = np.random.default_rng(0)
        self._inputs: list[np.ndarray] = []  # each dense layer's input, as the forward pass saw it
        self._dense_outputs: list[np.ndarray] = []  # each hidden dense layer's, before dropout
        self._masks: list[np.ndarray | None] = []  # each hidden dense layer's dropout mask
        self._stage_outputs: list[np.ndarray] = []  # each feature layer's activation, before dropout
        self._stage_masks: list[np.ndarray | None] = []
        hidden = self.layers[:-1]
        self._unit_measures = [self._unit_measure(layer.activation.name) for layer in hidden]
        self._peaks = [np.empty(_units(layer), self.dtype) for layer in hidden]  # one per unit
        # Saturated: |a − centre| ≥ reach. In the network's dtype: NumPy compares arrays with
        # its own scalars at half the cost of Python floats.
        self._saturation = {name: (self.dtype.type((low + high) / 2),
                                   self.dtype.type((high - low) * (0.5 - SATURATION_MARGIN)))
                            for name, (low, high) in OUTPUT_LIMITS.items()}

    def _build_stages(self, carve, conv_shapes: list[tuple]) -> list:
        shapes, stages = iter(conv_shapes), []
        for key, spec in enumerate(self.features):
            activation = ACTIVATIONS[spec.activation]
            if spec.kind in POOLS:
                stages.append(POOLS[spec.kind](self.workspace, key=key, activation=activation))
                continue
            w_shape, b_shape = next(shapes)
            (W, dW), (b, db) = carve(w_shape), carve(b_shape)
            c_out, c_in, k, _ = w_shape
            stages.append(Conv2D(c_in, c_out, k, W, b, dW, db, self.workspace, stride=spec.stride,
                                 padding=spec.padding, key=key, activation=activation))
        return stages

    # --- parameters ----------------------------------------------------------------------
    def initialise(self, scheme: str, sigma: float, rng: np.random.Generator) -> None:
        """Draw the weights (in float64, so both dtypes start from the same values); zero the
        biases. The spread follows each layer's fan-in and fan-out."""
        for layer in self.layers:
            layer.initialise(scheme, sigma, rng)

    def parameters(self):
        """(name, parameter, gradient) for every parameter, named layer1.weight, layer1.bias, …"""
        for i, layer in enumerate(self.layers, start=1):
            for kind, (param, grad) in zip(("weight", "bias"), layer.parameters()):
                yield f"layer{i}.{kind}", param, grad

    @property
    def n_parameters(self) -> int:
        return sum(param.size for _, param, _ in self.parameters())

    def describe(self) -> str:
        return describe_network(self.features, self.sizes)

    @property
    def n_inputs(self) -> int:
        """The length of an input row: the image's values for a network with feature layers."""
        return int(np.prod(self.input_shape)) if self.stages else self.sizes[0]

    # --- passes --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """Logits (batch, n_out) for flat inputs (batch, n_inputs), in a workspace buffer that
        the next pass overwrites. With train=True, applies dropout. Keeps what backward needs."""
        self._inputs, self._dense_outputs, self._masks = [], [], []
        a = self._features_forward(x, train) if self.stages else x
        for i, layer in enumerate(self.dense[:-1]):
            self._inputs.append(a)
            a = layer.activation.forward(self._affine(i, a))
            self._dense_outputs.append(a)
            mask = self._dropout_mask(("mask", i), a.shape) if train else None
            self._masks.append(mask)
            if mask is not None:
                a = np.multiply(a, mask, out=self.workspace.get(("dropped", i), *a.shape))
        self._inputs.append(a)
        return self._affine(len(self.dense) - 1, a)

    def _features_forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        """The feature layers' last output flattened in C order of (C, H, W), as torch.flatten
        reads it: a copy out of the maps' row layout (conv.py) into a workspace buffer."""
        self._stage_outputs, self._stage_masks = [], []
        a = x.reshape(len(x), *self.input_shape)
        for key, stage in enumerate(self.stages):
            a = stage.activation.forward(stage.forward(a, train))
            self._stage_outputs.append(a)
            # Dropout silences a convolution's units, not a pool's: a pool has none of its own.
            mask = (self._dropout_mask(("stage mask", key), a.shape)
                    if train and isinstance(stage, Conv2D) else None)
            self._stage_masks.append(mask)
            if mask is not None:
                a = np.multiply(a, mask, out=_buffer(self.workspace, ("stage dropped", key), a.shape))
        flat = _buffer(self.workspace, "flattened", (len(a), a[0].size))
        np.copyto(flat.reshape(a.shape), a)
        return flat

    def backward(self, dz: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Fill every layer's dW and db from dL/dlogits; return dL/dx (batch, n_inputs) if
        `input_grad` (saliency asks), else None. Backpropagates the last forward pass.

        The input gradient is otherwise never computed: no parameter depends on it.
        """
        for i in range(len(self.dense) - 1, -1, -1):
            layer = self.dense[i]
            np.dot(self._inputs[i].T, dz, out=layer.dW)
            if layer.db is not None:
                np.add.reduce(dz, axis=0, out=layer.db)
            if i == 0 and not (input_grad or self.stages):
                return None
            da = np.dot(dz, layer.W.T, out=self.workspace.get(("da", i), len(dz), layer.W.shape[0]))
            if i == 0:
                break
            if self._masks[i - 1] is not None:
                da *= self._masks[i - 1]
            dz = self.dense[i - 1].activation.backward(self._dense_outputs[i - 1], da)
        return self._features_backward(da, input_grad) if self.stages else da

    def _features_backward(self, da: np.ndarray, input_grad: bool) -> np.ndarray | None:
        da = da.reshape(len(da), *self.feature_shapes[-1])
        for key in range(len(self.stages) - 1, -1, -1):
            stage = self.stages[key]
            if self._stage_masks[key] is not None:
                da *= self._stage_masks[key]
            dz = stage.activation.backward(self._stage_outputs[key], da)
            da = stage.backward(dz, need_input_grad=key > 0 or input_grad)
        return da.reshape(len(da), -1) if input_grad else None

    @property
    def hidden_activations(self) -> list[np.ndarray]:
        """Each hidden layer's output in the last forward pass, before dropout, convolutions
        first (batch, channels, height, width), then dense layers (batch, units). The network's
        own buffers: copy what must outlive the next pass."""
        convolutions = [a for a, stage in zip(self._stage_outputs, self.stages)
                        if isinstance(stage, Conv2D)]
        return [*convolutions, *self._dense_outputs]

    def feature_maps(self) -> list[np.ndarray]:
        """Every feature layer's output in the last forward pass (pools included), before
        dropout: (batch, channels, height, width) each, the network's own buffers."""
        return self._stage_outputs

    def unit_stats(self) -> list[tuple[float | None, float | None]]:
        """(dead, saturated) per layer, from the last forward pass: the fraction of a ReLU-family
        layer's units that fired for no example of the batch, and the fraction of a sigmoid or
        tanh layer's activations near the ends of their range; None where a layer has no such
        units (the output layer never has: its activation belongs to the loss).

        Read from the activations the forward pass kept, into reused buffers: a reduction or two
        and a count per layer, no pass through the network."""
        hidden = self.hidden_activations
        stats = [measure(i, a) for i, measure, a in zip(range(len(hidden)), self._unit_measures, hidden)]
        stats.append(NOT_MEASURED)
        return stats

    def _unit_measure(self, activation: str):
        return {"relu": self._dead, "leaky_relu": self._dead, "sigmoid": self._saturated,
                "tanh": self._saturated}.get(activation, self._unmeasured)

    def _dead(self, i: int, a: np.ndarray) -> tuple[float, None]:
        """A convolution's unit is a filter: dead if it fires at no place of any image."""
        axes = (0, 2, 3) if a.ndim == 4 else 0
        peak = np.maximum.reduce(a, axis=axes, out=self._peaks[i])  # each unit's largest output
        return 1 - int(np.count_nonzero(peak > 0)) / len(peak), None

    def _saturated(self, i: int, a: np.ndarray) -> tuple[None, float]:
        centre, reach = self._saturation[self.layers[i].activation.name]
        distance = np.subtract(a, centre, out=_buffer(self.workspace, ("from centre", i), a.shape))
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
        layer = self.dense[i]
        z = np.dot(a, layer.W, out=self.workspace.get(("z", i), len(a), layer.W.shape[1]))
        if layer.b is not None:
            z += layer.b
        return z

    def _dropout_mask(self, key, shape) -> np.ndarray | None:
        """Inverted dropout: keep each unit with probability 1-p and scale it by 1/(1-p)."""
        if not self.dropout:
            return None
        keep = self.dtype.type(1.0 - self.dropout)
        mask = _buffer(self.workspace, key, shape)
        self.dropout_rng.random(shape, dtype=self.dtype, out=mask)
        np.less(mask, keep, out=mask, casting="unsafe")  # 1.0 where kept, 0.0 where dropped
        mask /= keep
        return mask


def _units(layer) -> int:
    """A layer's units: a dense layer's outputs, a convolution's filters."""
    return layer.c_out if isinstance(layer, Conv2D) else layer.W.shape[1]
