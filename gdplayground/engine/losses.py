"""Output activation and loss, fused: each pair computes its loss and dL/dz straight from the
logits z, which is both cheaper and numerically stable (finite at logits of ±1000), and keeps
every digit of a small loss: a trained network's loss of 1e-7 or 1e-30 is summed from terms that
are all ≥ 0, never left over from subtracting two large numbers, so finite differences of it
measure the gradient and not the rounding.

Targets come encoded once per split by `encode`: class labels (n,) for softmax cross-entropy,
float matrices (n, outputs) otherwise. Every loss is a mean over examples and outputs.
"""

from __future__ import annotations

import numpy as np

from gdplayground.engine.activations import ACTIVATIONS, Activation, sigmoid


class Loss:
    name = ""

    def n_outputs(self, n_classes: int | None, n_targets: int) -> int:
        """Output units for a dataset: one per class, or one for two classes with one probability."""
        if n_classes is None:
            return n_targets
        return 1 if n_classes == 2 else n_classes

    def encode(self, y: np.ndarray, n_outputs: int, dtype) -> np.ndarray:
        if y.ndim == 2:
            return y.astype(dtype)
        if n_outputs == 1:
            return y.astype(dtype)[:, None]
        return np.eye(n_outputs, dtype=dtype)[y]

    def forward(self, z: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, outputs) from logits z; z may be overwritten."""
        raise NotImplementedError

    def backward(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """dL/dz for the mean loss, in the outputs' dtype (float64 targets, as a probe encodes
        them, must not make a float32 network's gradient float64); may overwrite `outputs`."""
        raise NotImplementedError

    def predict(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def rounding(self, z: np.ndarray, targets: np.ndarray) -> float:
        """How far rounding can move the mean loss at logits z, in units of ε, to first order:
        its own terms (all ≥ 0) by about the loss itself, and the logits, each known to about
        ε|z|, by Σ |∂L/∂z|·|z|. Finite differences of the loss cannot see below that."""
        loss, outputs = self.forward(z.copy(), targets)
        return abs(loss) + float(np.abs(self.backward(outputs, targets) * z).sum())


class SoftmaxCrossEntropy(Loss):
    name = "cross_entropy"

    def n_outputs(self, n_classes, n_targets):
        if n_classes is None:
            raise ValueError("cross_entropy needs class labels; this dataset has real-valued targets")
        return n_classes

    def encode(self, y, n_outputs, dtype):
        if y.ndim != 1:
            raise ValueError("cross_entropy needs class labels; this dataset has real-valued targets")
        return y

    def forward(self, z, targets):
        rows = np.arange(len(z))
        picked = z[rows, targets]
        outputs, others, top = _softmax(z)
        picked -= top  # z_y − max z ≤ 0
        # log Σ e^z_j − z_y = log1p(others) − (z_y − max z): two terms ≥ 0. log(1 + others)
        # would give 0 for a confident right answer, as soon as others < ε.
        return float(np.add.reduce(np.log1p(others)) - np.add.reduce(picked)) / len(z), outputs

    def backward(self, outputs, targets):
        # p_y − 1 as −Σ_{j≠y} p_j: 1 − p_y rounds to 0 long before the others' p_j do.
        rows = np.arange(len(outputs))
        outputs[rows, targets] = 0
        outputs[rows, targets] = -outputs.sum(axis=1)
        outputs /= len(outputs)
        return outputs

    def predict(self, z):
        return _softmax(z)[0]


def _softmax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Softmax of the logits, in place in z; also Σ e^(z_j − max z) over all but each row's
    largest logit (whose term is 1, so the row sums to 1 + that), and the largest logits."""
    rows, top = np.arange(len(z)), z.argmax(axis=1)
    largest = z[rows, top]
    z -= largest[:, None]  # the largest logit becomes 0: exp cannot overflow
    outputs = np.exp(z, out=z)
    outputs[rows, top] = 0
    others = outputs.sum(axis=1)
    outputs[rows, top] = 1
    outputs /= (1 + others)[:, None]
    return outputs, others, largest


class SigmoidBinaryCrossEntropy(Loss):
    """Keeps dL/dz of its last forward pass for `backward`: σ(z) − 1 is −σ(−z), which σ(z)
    near 1 no longer holds (in float64 from z ≈ 37, in float32 from z ≈ 17)."""

    name = "bce"

    def __init__(self):
        self._gradient: tuple[np.ndarray, np.ndarray] | None = None  # (outputs, their dL/dz)

    def forward(self, z, targets):
        # −t log σ(z) − (1−t) log(1 − σ(z)) = t·softplus(−z) + (1−t)·softplus(z), and
        # softplus(±z) = max(±z, 0) + log1p(e^−|z|): terms ≥ 0 for t in [0, 1]. (The usual
        # log(1 + e^z) − t·z subtracts two numbers near z: at a loss of 1e-7, most of it noise.)
        small = np.exp(-np.abs(z))
        above = np.maximum(z, 0)
        below = above - z  # max(−z, 0), exactly
        total = (np.add.reduce(np.log1p(small), axis=None) + np.vdot(targets, below)
                 + np.vdot(1 - targets, above))
        # σ(z) and σ(−z) = 1 − σ(z) each to full precision; dL/dz = (1−t)·σ(z) − t·σ(−z).
        denominator = 1 + small
        positive = z >= 0
        outputs = np.where(positive, 1, small)
        outputs /= denominator
        complement = np.where(positive, small, 1)
        complement /= denominator
        gradient = np.multiply(1 - targets, outputs, dtype=outputs.dtype)
        gradient -= targets * complement
        self._gradient = (outputs, gradient)
        return float(total) / z.size, outputs

    def backward(self, outputs, targets):
        kept, self._gradient = self._gradient, None
        gradient = (kept[1] if kept and kept[0] is outputs
                    else np.subtract(outputs, targets, out=outputs))
        gradient /= gradient.size
        return gradient

    def predict(self, z):
        return sigmoid(z, out=z)


class MeanSquaredError(Loss):
    name = "mse"

    def __init__(self, output: Activation):
        self.output = output

    def forward(self, z, targets):
        outputs = self.output.forward(z)
        loss = float(np.mean(np.square(outputs - targets)))
        return loss, outputs

    def backward(self, outputs, targets):
        grad = np.subtract(outputs, targets, dtype=outputs.dtype)
        grad *= 2 / outputs.size
        return self.output.backward(outputs, grad)

    def predict(self, z):
        return self.output.forward(z)

    def rounding(self, z, targets):
        """… and the outputs f(z), each known to about ε|f(z)|, by Σ |∂L/∂f|·|f|: near a
        saturated sigmoid's 1 they carry more rounding than the loss (o − t)² itself."""
        outputs = self.output.forward(z.copy())
        moved = np.abs((outputs - targets) * outputs).sum() * 2 / outputs.size
        return super().rounding(z, targets) + float(moved)


# What each output activation can reach: targets outside it can never be fitted.
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0),
                 "relu": (0.0, np.inf), "leaky_relu": (-np.inf, np.inf), "identity": (-np.inf, np.inf)}


def make_loss(loss: str, output: str) -> Loss:
    if loss == "cross_entropy":
        return SoftmaxCrossEntropy()
    if loss == "bce":
        return SigmoidBinaryCrossEntropy()
    return MeanSquaredError(ACTIVATIONS[output])


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float | None:
    """Fraction of examples whose predicted class is the label; None for regression targets."""
    if labels.ndim != 1 or len(labels) == 0:
        return None
    predicted = outputs[:, 0] > 0.5 if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    return np.count_nonzero(predicted == labels) / len(labels)
