"""Output activation and loss, fused: each pair computes its loss and dL/dz straight from the
logits z, which is both cheaper and numerically stable (finite at logits of ±1000).

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
        """dL/dz for the mean loss; may overwrite `outputs`."""
        raise NotImplementedError

    def predict(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


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
        z -= z.max(axis=1, keepdims=True)  # the largest logit becomes 0: exp cannot overflow
        picked = z[np.arange(len(z)), targets]
        outputs, total = _exp_normalise(z)
        np.log(total, out=total)
        total -= picked
        return float(np.add.reduce(total)) / len(z), outputs

    def backward(self, outputs, targets):
        outputs[np.arange(len(outputs)), targets] -= 1
        outputs /= len(outputs)
        return outputs

    def predict(self, z):
        z -= z.max(axis=1, keepdims=True)
        return _exp_normalise(z)[0]


def _exp_normalise(shifted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax of logits already shifted so that each row's largest is 0; also each row's sum."""
    outputs = np.exp(shifted, out=shifted)
    total = outputs.sum(axis=1)
    outputs /= total[:, None]
    return outputs, total


class SigmoidBinaryCrossEntropy(Loss):
    name = "bce"

    def forward(self, z, targets):
        # log(1 + e^z) - t z, the stable form of -t log σ(z) - (1-t) log(1-σ(z)).
        loss = float(np.mean(np.logaddexp(0, z) - targets * z))
        return loss, sigmoid(z, out=z)

    def backward(self, outputs, targets):
        outputs -= targets
        outputs /= outputs.size
        return outputs

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
        grad = (outputs - targets) * (2 / outputs.size)
        return self.output.backward(outputs, grad)

    def predict(self, z):
        return self.output.forward(z)


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
