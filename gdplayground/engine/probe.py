"""A `Probe`: what a gradient check needs of a run, copied so that the check runs beside training
and never touches the run. The trainer makes one (`Trainer.gradient_probe`); the gradient lab
(gdplayground.labs.gradient_lab) checks it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from gdplayground.layer_grammar import layer_words
from gdplayground.engine.network import Network


@dataclass(frozen=True)
class Probe:
    """What a gradient check needs of a run, copied: the network's shape, its weights in
    float64, a fixed batch with its targets, the loss and the penalties.

    Dropout is left out of every check: a fresh mask at every evaluation would make the loss a
    different function each time. `dropout` only records what training uses."""

    sizes: tuple[int, ...]  # the dense layers', input to output
    activations: tuple[str, ...]  # one per hidden dense layer
    bias: bool
    loss: str
    output: str
    parameters: dict[str, np.ndarray]  # "layer1.weight" -> float64 copy
    x: np.ndarray  # (n, features), float64
    targets: np.ndarray  # class labels (n,), or float64 (n, outputs)
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    features: tuple = ()  # convolutions and pools before the dense layers (config.Layer copies)
    input_shape: tuple[int, ...] = ()  # the images they read

    def network(self, dtype) -> Network:
        """A network of the probe's shape in `dtype`, dropout off, at the probe's weights."""
        network = Network(list(self.sizes), list(self.activations), bias=self.bias, dtype=dtype,
                          features=self.features, input_shape=self.input_shape)
        for name, param, _ in network.parameters():
            param[...] = self.parameters[name]
        return network

    @classmethod
    def of(cls, network: Network, loss: str, output: str, x: np.ndarray, targets: np.ndarray,
           l1: float = 0.0, l2: float = 0.0) -> Probe:
        """A probe of `network` as it stands, on inputs `x` (features, as the network sees)."""
        targets = np.array(targets, copy=True)
        if targets.dtype.kind == "f":
            targets = targets.astype(np.float64)
        hidden = tuple(layer.activation.name for layer in network.dense[:-1])
        return cls(tuple(network.sizes), hidden, network.layers[0].b is not None, loss, output,
                   {name: param.astype(np.float64) for name, param, _ in network.parameters()},
                   np.array(x, dtype=np.float64), targets, l1, l2, network.dropout,
                   copy.deepcopy(network.features), network.input_shape)

    def rounded(self, dtype) -> Probe:
        """The same probe with weights and inputs rounded to `dtype` (and kept in float64): the
        function a `dtype` network computes, for float64 to give its true gradient."""
        def through(a):
            return a.astype(dtype).astype(np.float64)
        return replace(self, parameters={k: through(v) for k, v in self.parameters.items()},
                       x=through(self.x))

    def flat(self) -> np.ndarray:
        """The weights as one float64 vector, laid out as Network.flat and a KeptPath's rows."""
        return np.concatenate([param.ravel() for param in self.parameters.values()])

    def at(self, flat: np.ndarray) -> Probe:
        """The same probe at other weights: `flat` laid out as `flat()` gives them."""
        flat = np.asarray(flat, dtype=np.float64)
        sizes = [param.size for param in self.parameters.values()]
        if flat.shape != (sum(sizes),):
            raise ValueError(f"weights of shape {flat.shape} for a network of {sum(sizes)}")
        pieces = np.split(flat, np.cumsum(sizes)[:-1])
        return replace(self, parameters={name: piece.reshape(param.shape).copy()
                                         for (name, param), piece in
                                         zip(self.parameters.items(), pieces)})

    def describe(self) -> str:
        """784-256-128-10 relu, softmax + cross_entropy, 32 examples; 2-8-16-1 tanh,relu, …:
        the hidden layers' activations in their order, once when they are all the same;
        convolutions and pools first: conv8x5 relu,pool,784-128-10 relu, …"""
        same = len(set(self.activations)) == 1
        hidden = (self.activations[0] if same else ",".join(self.activations)) or "no hidden layer"
        features = "".join(f"{layer_words(layer)}{'' if layer.activation == 'identity' else ' ' + layer.activation},"
                           for layer in self.features)
        return (f"{features}{'-'.join(map(str, self.sizes))} {hidden}, {self.output} + "
                f"{self.loss}, {len(self.x)} examples")
