"""Element-wise activations. Each derivative is written in terms of the activation's output,
which the forward pass keeps anyway, so the backward pass needs no pre-activation values."""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # 1/(1+e^-z) written through tanh: never overflows, even at |z| = 1000.
    out = np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


class Activation:
    """f applied in place to pre-activations, and dL/dz from the output a = f(z) and dL/da."""

    name = ""

    def forward(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, a: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Turn dL/da into dL/dz, in place in `grad`."""
        raise NotImplementedError


class Identity(Activation):
    name = "identity"

    def forward(self, z):
        return z

    def backward(self, a, grad):
        return grad


class ReLU(Activation):
    name = "relu"

    def forward(self, z):
        return np.maximum(z, 0, out=z)

    def backward(self, a, grad):
        # A multiply by the mask is branch-free; copyto(where=) on a random mask is 15x slower.
        grad *= a > 0
        return grad


class LeakyReLU(Activation):
    name = "leaky_relu"
    slope = 0.01

    def forward(self, z):
        return np.maximum(z, z * self.slope, out=z)

    def backward(self, a, grad):
        one, slope = a.dtype.type(1), a.dtype.type(self.slope)
        grad *= np.where(a < 0, slope, one)
        return grad


class Tanh(Activation):
    name = "tanh"

    def forward(self, z):
        return np.tanh(z, out=z)

    def backward(self, a, grad):
        grad *= 1 - a * a
        return grad


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, z):
        return sigmoid(z, out=z)

    def backward(self, a, grad):
        grad *= a * (1 - a)
        return grad


ACTIVATIONS = {cls.name: cls() for cls in (Identity, ReLU, LeakyReLU, Tanh, Sigmoid)}
