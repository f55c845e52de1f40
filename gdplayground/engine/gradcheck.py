"""Gradient check: backprop's gradients against central finite differences, layer by layer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from gdplayground.config import HIDDEN_ACTIVATIONS, OUTPUTS_FOR_LOSS
from gdplayground.layer_grammar import parse_layer
from gdplayground.engine.conv import feature_shapes
from gdplayground.engine.losses import Loss, make_loss
from gdplayground.engine.network import Network

TOLERANCE = 1e-6
VARIANTS = {"plain": {}, "no bias": {"bias": False}, "L1": {"l1": 0.01}, "L2": {"l2": 0.01},
            "dropout": {"dropout": 0.3},
            # Each layer kind before the dense layers, on 1x7x7 images (pools after a conv, so
            # that the activation under test comes between them); VARIANT_WORDS say which.
            "conv": {"features": "conv2x3"}, "stride 2": {"features": "conv2x3s2valid"},
            "max-pool": {"features": "conv2x3,pool"}, "avg-pool": {"features": "conv2x3,avgpool"},
            "conv+drop": {"features": "conv2x3,pool", "dropout": 0.3}}
VARIANT_WORDS = {
    "conv": "two 3x3 filters ('same' padding) before the dense layers",
    "stride 2": "the same at stride 2 without padding ('valid')",
    "max-pool": "a 3x3 convolution, then 2x2 max-pooling", "avg-pool": "the same, average pooling",
    "conv+drop": "convolution and max-pooling with dropout 0.3 (one fixed mask)"}
IMAGE = (1, 7, 7)  # the check's images: odd sides, so pooling drops a row and a column


@dataclass(frozen=True)
class CheckResult:
    activation: str
    output: str
    loss: str
    variant: str
    errors: dict[str, float]  # parameter name -> relative error

    @property
    def worst(self) -> float:
        return max(self.errors.values())


def objective(network: Network, loss: Loss, x, targets, l1: float, l2: float) -> float:
    """The loss training minimises."""
    return _forward(network, loss, x, targets)[0] + network.penalty(l1, l2)


def backprop(network: Network, loss: Loss, x, targets, l1: float = 0.0, l2: float = 0.0) -> None:
    """Fill the network's gradients with backprop's: dL/dθ of `objective` for every parameter."""
    _, outputs = _forward(network, loss, x, targets)
    network.backward(loss.backward(outputs, targets))
    network.add_penalty_gradient(l1, l2)


def _forward(network: Network, loss: Loss, x, targets):
    """A training forward pass that draws the same dropout mask every time."""
    network.dropout_rng = np.random.default_rng(1)
    return loss.forward(network.forward(x, train=True), targets)


def relative_errors(network: Network, loss: Loss, x, targets, *, l1=0.0, l2=0.0,
                    h: float = 1e-6, layers: int | None = None) -> dict[str, float]:
    """‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) for every parameter of the network, or
    of its first `layers` layers with weights."""
    backprop(network, loss, x, targets, l1, l2)
    errors = {}
    checked = {f"layer{i}.{kind}" for i in range(1, (layers or len(network.layers)) + 1)
               for kind in ("weight", "bias")}
    for name, param, grad in network.parameters():
        if name not in checked:
            continue
        analytic = grad.copy()
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            above = objective(network, loss, x, targets, l1, l2)
            param[index] = saved - h
            below = objective(network, loss, x, targets, l1, l2)
            param[index] = saved
            numeric[index] = (above - below) / (2 * h)
        scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors[name] = float(np.linalg.norm(analytic - numeric) / scale) if scale else 0.0
    return errors


def check_all(seed: int = 0) -> list[CheckResult]:
    """Every hidden activation × output/loss pair × variant, on a small float64 network."""
    results = []
    pairs = [(out, loss) for loss, outs in OUTPUTS_FOR_LOSS.items() for out in outs]
    for activation, (output, loss_name), variant in itertools.product(
            HIDDEN_ACTIVATIONS, pairs, VARIANTS):
        results.append(_check_one(activation, output, loss_name, variant, seed))
    return results


def _check_one(activation, output, loss_name, variant, seed) -> CheckResult:
    options = VARIANTS[variant]
    rng = np.random.default_rng(seed)
    n, n_in, hidden, n_out = 6, 4, 5, 3
    features, input_shape = _features(options.get("features", ""), activation)
    if features:
        n_in = int(np.prod(feature_shapes(features, IMAGE)[-1]))
    network = Network([n_in, hidden, hidden, n_out], [activation, activation],
                      bias=options.get("bias", True), dropout=options.get("dropout", 0.0),
                      dtype=np.float64, features=features, input_shape=input_shape)
    network.initialise("xavier", 0.0, rng)
    for layer in network.layers:  # non-zero biases, so their gradients are exercised
        if layer.b is not None:
            layer.b[...] = rng.normal(0, 0.1, layer.b.shape)
    loss = make_loss(loss_name, output)
    x = rng.normal(0, 1, (n, network.n_inputs))
    labels = rng.integers(0, n_out, n)
    targets = (loss.encode(labels, n_out, np.float64) if loss_name != "mse"
               else rng.uniform(-1, 1, (n, n_out)))
    # A convolution variant checks the convolution's parameters, whose gradients come back
    # through every layer after it: the dense layers' own are the dense variants' (and checking
    # their 500 weights by central differences took 0.35 s a variant, 20 s for the table).
    convolutions = sum(layer.kind == "conv" for layer in features) or None
    errors = relative_errors(network, loss, x, targets, l1=options.get("l1", 0.0),
                             l2=options.get("l2", 0.0), layers=convolutions)
    return CheckResult(activation, output, loss_name, variant, errors)


def _features(words: str, activation: str):
    """The feature layers a variant names, with the activation under test after each
    convolution, and the image shape they read; ((), None) for a dense variant."""
    if not words:
        return (), None
    layers = [parse_layer(word) for word in words.split(",")]
    for layer in layers:
        if layer.kind == "conv":
            layer.activation = activation
    return layers, IMAGE
