"""Gradient check: backprop's gradients against central finite differences, layer by layer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from gdplayground.config import HIDDEN_ACTIVATIONS, OUTPUTS_FOR_LOSS
from gdplayground.engine.losses import Loss, make_loss
from gdplayground.engine.network import Network

TOLERANCE = 1e-6
VARIANTS = {"plain": {}, "no bias": {"bias": False}, "L1": {"l1": 0.01}, "L2": {"l2": 0.01},
            "dropout": {"dropout": 0.3}}


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
                    h: float = 1e-6) -> dict[str, float]:
    """‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) for every parameter of the network."""
    backprop(network, loss, x, targets, l1, l2)
    errors = {}
    for name, param, grad in network.parameters():
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
    network = Network([n_in, hidden, hidden, n_out], [activation, activation],
                      bias=options.get("bias", True), dropout=options.get("dropout", 0.0),
                      dtype=np.float64)
    network.initialise("xavier", 0.0, rng)
    for layer in network.layers:  # non-zero biases, so their gradients are exercised
        if layer.b is not None:
            layer.b[...] = rng.normal(0, 0.1, layer.b.shape)
    loss = make_loss(loss_name, output)
    x = rng.normal(0, 1, (n, n_in))
    labels = rng.integers(0, n_out, n)
    targets = (loss.encode(labels, n_out, np.float64) if loss_name != "mse"
               else rng.uniform(-1, 1, (n, n_out)))
    errors = relative_errors(network, loss, x, targets, l1=options.get("l1", 0.0),
                             l2=options.get("l2", 0.0))
    return CheckResult(activation, output, loss_name, variant, errors)

