"""Inside the network: what a trained classifier gets wrong and what it looks at.

Confusion matrices and top-k predictions, saliency maps (the gradient of a class's logit with
respect to the input pixels, and SmoothGrad's average of it over noisy copies), an MNIST-style
preparation of a digit drawn on a canvas, and per-layer distributions of weights, activations
and weight gradients. Pure NumPy, on the engine's own Network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gdplayground.engine.conv import Conv2D
from gdplayground.engine.network import Network

INSIDE_EXAMPLES = 10_000  # held-out digits a report covers …
# … or, for a network with convolutions, whose forward pass costs some 20 times a dense one's
# per digit: 0.4 s of training per report rather than 2 s (the window asks every 4 s)
CONV_INSIDE_EXAMPLES = 2_000
PERCENTILES = (2, 16, 50, 84, 98)  # ±2σ, ±1σ and the median, were the values normal
MNIST_BOX = 20  # MNIST's digits were scaled so that their larger side fits 20×20 …
MNIST_SIDE = 28  # … then centred by their centre of mass in a 28×28 field
SALIENCY_ROWS = 256  # examples a saliency pass takes at once: a conv network's buffers stay small


# --- what the network predicts ------------------------------------------------------------------
def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    flat = np.asarray(true, np.int64) * n_classes + np.asarray(predicted, np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """For each true class, the fraction predicted right; NaN for a class with no examples."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diagonal(matrix) / totals


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """(n, classes) probabilities from a classifier's outputs; a single sigmoid output p (two
    classes, one probability) becomes the columns 1 − p and p."""
    outputs = np.asarray(outputs)
    if outputs.shape[-1] == 1:
        return np.concatenate([1 - outputs, outputs], axis=-1)
    return outputs


def top_predictions(probabilities: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(classes, probabilities) of the k likeliest classes, best first, along the last axis."""
    probabilities = class_probabilities(probabilities)
    k = min(k, probabilities.shape[-1])
    order = np.argsort(-probabilities, axis=-1, kind="stable")[..., :k]
    return order, np.take_along_axis(probabilities, order, axis=-1)


# --- what it looks at ---------------------------------------------------------------------------
def saliency(network: Network, x: np.ndarray, classes: np.ndarray, input_scale: float) -> np.ndarray:
    """d(logit of classes[i]) / d x[i], shaped like x (n, n_inputs), in the network's dtype.

    The network sees x * input_scale (Trainer._features), so the gradient with respect to x is
    input_scale times the gradient with respect to the features: pass pixels in [0, 1] and the
    scale from [0, 1] to features to get gradients per unit of [0, 1] brightness. The logit is
    the output layer's pre-activation, before softmax or sigmoid. With one sigmoid output (two
    classes), class 1's score is the logit z and class 0's is −z (σ(−z) = 1 − σ(z)).

    The network's own forward pass in eval mode (no dropout) and its own backward pass, through
    convolutions and pools too, in chunks of SALIENCY_ROWS; the parameter gradients that
    backward writes are put back as they were, so a trainer's network is not disturbed. Where a
    max-pool's window holds equal values (on a digit's blank paper they often do), the max has
    no derivative: its gradient goes to the first of them, as PyTorch's does.
    """
    x, classes = np.asarray(x), np.asarray(classes)
    starts = range(0, max(len(x), 1), SALIENCY_ROWS)
    chunks = [slice(start, start + SALIENCY_ROWS) for start in starts]
    kept = network.flat_grad.copy()
    try:
        return np.concatenate([_input_gradient(network, x[rows] * input_scale, classes[rows])
                               for rows in chunks]) * input_scale
    finally:
        network.flat_grad[...] = kept


def _input_gradient(network: Network, features: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """d(logit of classes[i]) / d features[i]: one forward and one backward pass. A copy: the
    network's buffer is the next chunk's."""
    logits = network.forward(features.astype(network.dtype), train=False)
    seed = np.zeros_like(logits)
    if logits.shape[1] == 1:
        seed[:, 0] = np.where(classes == 1, 1.0, -1.0)
    else:
        seed[np.arange(len(features)), classes] = 1.0
    return network.backward(seed, input_grad=True).copy()


def smoothgrad(network: Network, x: np.ndarray, classes: np.ndarray, input_scale: float,
               noise: float = 0.15, samples: int = 25,
               rng: np.random.Generator | None = None) -> np.ndarray:
    """The mean saliency over `samples` copies of x with Gaussian noise of standard deviation
    noise × (the range of x's values): less speckled than one saliency map (Smilkov et al. 2017).
    The noisy copies go through the network together, in saliency's chunks."""
    x = np.asarray(x, np.float64)
    rng = rng or np.random.default_rng(0)
    sigma = noise * float(np.ptp(x)) if x.size else 0.0
    noisy = x + rng.normal(0.0, sigma, (samples, *x.shape))  # sample after sample, as drawn
    maps = saliency(network, noisy.reshape(-1, *x.shape[1:]), np.tile(classes, samples),
                    input_scale)
    return maps.reshape(samples, *x.shape).mean(axis=0)


# --- a drawn digit, as MNIST would have it ------------------------------------------------------
class EmptyCanvas(ValueError):
    """A canvas with no ink: there is no digit to prepare."""


class Stages(NamedTuple):
    """A drawn digit on its way to MNIST's form, every stage kept for display."""

    cropped: np.ndarray  # the stroke's bounding box, at the canvas's resolution
    scaled: np.ndarray  # larger side MNIST_BOX px, aspect ratio and grey levels kept
    boxed: np.ndarray  # 28×28, the scaled box in the middle: before the centring shift
    centred: np.ndarray  # 28×28, centre of mass at the centre: what the network is shown


def mnist_style(canvas: np.ndarray) -> Stages:
    """Prepare a digit drawn on a canvas (grey levels 0 to 1, bright ink, any size) as MNIST's
    digits were: crop to the ink's bounding box, scale it so its larger side is 20 px (area
    averaging to shrink, bilinear to enlarge), and place it in a 28×28 field with its centre of
    mass at the field's centre.

    Convention: pixel (r, c) covers [r, r+1) × [c, c+1), its mass at (r + ½, c + ½); the centre
    of the field is (14, 14), i.e. (13.5, 13.5) in pixel indices. The sub-pixel shift is done by
    bilinear interpolation, which moves the centre of mass exactly. Raises EmptyCanvas for a
    canvas with no ink (no value above 0).
    """
    canvas = np.asarray(canvas, np.float64)
    if canvas.ndim != 2:
        raise ValueError(f"a canvas is a 2-D image, not shape {canvas.shape}")
    rows, cols = np.nonzero(canvas > 0)
    if not len(rows):
        raise EmptyCanvas("the canvas is empty: draw a digit first")
    cropped = canvas[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = cropped.shape
    factor = MNIST_BOX / max(h, w)
    size = (max(1, round(h * factor)), max(1, round(w * factor)))
    scaled = _resample_matrix(h, size[0]) @ cropped @ _resample_matrix(w, size[1]).T
    box_offset = ((MNIST_SIDE - size[0]) / 2, (MNIST_SIDE - size[1]) / 2)
    boxed = _place(scaled, box_offset)
    centre = MNIST_SIDE / 2
    mass_centre = np.array(centre_of_mass(scaled))
    return Stages(cropped, scaled, boxed, _place(scaled, tuple(centre - mass_centre)))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of an image's centre of mass, pixel (r, c) weighing in at (r + ½, c + ½)."""
    total = image.sum()
    rows = (image.sum(axis=1) @ (np.arange(image.shape[0]) + 0.5)) / total
    cols = (image.sum(axis=0) @ (np.arange(image.shape[1]) + 0.5)) / total
    return float(rows), float(cols)


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights resizing one axis: the average over each output pixel's span of
    the input when shrinking, bilinear interpolation (edges held) when enlarging. A constant
    stays the same constant either way."""
    if n_out <= n_in:
        edges = np.arange(n_out + 1) * (n_in / n_out)  # output pixel j spans edges[j:j+2]
        left, right = edges[:-1, None], edges[1:, None]
        pixels = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(right, pixels + 1) - np.maximum(left, pixels), 0, None)
        return overlap / overlap.sum(axis=1, keepdims=True)
    source = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    return _linear_weights(source, n_in)


def _linear_weights(source: np.ndarray, n_in: int) -> np.ndarray:
    """(len(source), n_in): linear interpolation at fractional source positions; a position
    outside 0 … n_in − 1 draws zeros from beyond the edge."""
    low = np.floor(source).astype(int)
    fraction = source - low
    weights = np.zeros((len(source), n_in))
    for index, weight in ((low, 1 - fraction), (low + 1, fraction)):
        inside = (index >= 0) & (index < n_in)
        weights[np.nonzero(inside)[0], index[inside]] += weight[inside]
    return weights


def _place(image: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
    """A 28×28 field holding `image` with its top-left corner at `offset` (fractional: bilinear)."""
    targets = np.arange(MNIST_SIDE)
    row_weights = _linear_weights(targets - offset[0], image.shape[0])
    col_weights = _linear_weights(targets - offset[1], image.shape[1])
    return row_weights @ image @ col_weights.T


# --- per-layer distributions --------------------------------------------------------------------
class LayerDistribution(NamedTuple):
    """One layer's spread of values, as percentiles at PERCENTILES."""

    name: str  # what the layer is (layer_names)
    weights: np.ndarray
    activations: np.ndarray  # hidden: after the activation function; output: the logits
    weight_gradients: np.ndarray | None  # of the batch's mean loss; None when not asked for
    dead: float | None  # ReLU family: fraction of units silent for the whole batch
    saturated: float | None  # sigmoid, tanh: fraction of activations near their limits


def layer_distributions(network: Network, x: np.ndarray, loss=None,
                        targets: np.ndarray | None = None) -> list[LayerDistribution]:
    """Percentiles per layer with weights (convolutions, dense layers, the output layer; pools
    have none) on the batch of features x (eval mode): a convolution's over all its filters'
    weights and over every place of every feature map. With a loss (losses.Loss) and its
    encoded targets, the weight gradients too; the network's stored gradients are put back as
    they were, so a running trainer is not disturbed. Inputs and real-valued targets
    are taken in the network's dtype: a float64 probe's MSE gradient cannot flow back through
    a float32 network's buffers."""
    x = np.asarray(x, network.dtype)
    if targets is not None and targets.dtype.kind == "f":
        targets = targets.astype(network.dtype)
    logits = network.forward(x, train=False)
    activations = [a.copy() for a in network.hidden_activations] + [logits.copy()]
    stats = network.unit_stats()
    gradients = _weight_gradients(network, logits, loss, targets) if loss is not None else None
    return [LayerDistribution(name, _percentiles(layer.W), _percentiles(a),
                              None if gradients is None else _percentiles(gradients[i]),
                              dead, saturated)
            for i, (name, layer, a, (dead, saturated))
            in enumerate(zip(layer_names(network), network.layers, activations, stats))]


def layer_names(network: Network) -> list[str]:
    """Each layer with weights in words, numbered as its parameters are (layer1.weight …):
    "layer 1: conv, 8 filters 5×5 → 8×28×28", "layer 3: dense, 128 units", "layer 4: output,
    10 units"."""
    names = []
    for number, layer in enumerate(network.layers, start=1):
        if isinstance(layer, Conv2D):
            shape = "×".join(map(str, network.feature_shapes[layer.key]))
            stride = ", stride 2" if layer.stride == 2 else ""
            what = f"conv, {layer.c_out} filters {layer.k}×{layer.k}{stride} → {shape}"
        else:
            units = layer.W.shape[1]
            kind = "output" if number == len(network.layers) else "dense"
            what = f"{kind}, {units:,} unit{'s' * (units != 1)}"
        names.append(f"layer {number}: {what}")
    return names


def _weight_gradients(network: Network, logits: np.ndarray, loss, targets) -> list[np.ndarray]:
    kept = network.flat_grad.copy()
    _, outputs = loss.forward(logits, targets)
    network.backward(loss.backward(outputs, targets))
    gradients = [layer.dW.copy() for layer in network.layers]
    network.flat_grad[...] = kept
    return gradients


def _percentiles(values: np.ndarray) -> np.ndarray:
    return np.percentile(values, PERCENTILES)



@dataclass
class InsideReport:
    """What the Inside tab shows of an image data set's run: a copy of the network, held-out
    digits in [0, 1] (the network's features: input_scale 1) and its probabilities on them."""

    network: object
    input_scale: float
    images01: np.ndarray  # (n, height, width) float32
    labels: np.ndarray
    probabilities: np.ndarray  # (n, classes)
    step: int


def inside_report(trainer) -> InsideReport | None:
    """A Trainer's report for the Inside tab (None for data that are not images), on the first
    INSIDE_EXAMPLES held-out digits (CONV_INSIDE_EXAMPLES for a network with convolutions)."""
    data = trainer.dataset
    if data.image_shape is None:
        return None
    split = data.test if len(data.test) else data.validation
    x = split.x[:CONV_INSIDE_EXAMPLES if trainer.network.stages else INSIDE_EXAMPLES]
    probabilities = class_probabilities(trainer.predict(x))
    images = (x.astype(np.float32) * data.input_scale).reshape(-1, *data.image_shape)
    return InsideReport(weights_copy(trainer.network), 1.0, images, split.y[:len(x)].copy(),
                        probabilities, trainer.step_count)


def weights_copy(network: Network) -> Network:
    """A network of the same layers at a copy of the same parameters, and nothing else: a deep
    copy took the workspace too, the columns and maps of the last evaluation chunk (151 MB for
    conv8x5,pool,conv16x5,pool,128, over a second to copy at every report)."""
    twin = Network(network.sizes, [layer.activation.name for layer in network.dense[:-1]],
                   bias=network.dense[0].b is not None, dropout=network.dropout,
                   dtype=network.dtype, features=network.features, input_shape=network.input_shape)
    twin.flat[...] = network.flat
    return twin
