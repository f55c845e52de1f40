"""The --layers grammar: a hidden layer in words (128, 64:tanh, conv8x5, conv16x3s2valid, pool,
avgpool) and back, as the command line reads them and every description names a network."""

from __future__ import annotations

import re

from gdplayground.config import Layer

LAYERS_GRAMMAR = ("comma-separated, input side first: 256 (a dense layer of 256 units), 64:tanh "
                  "(with its activation), conv8x5 (8 filters of 5x5, 'same' padding, stride 1), "
                  "conv16x3s2valid (stride 2, no padding), pool (2x2 max-pooling), avgpool; "
                  "convolutions and pools first, on images; 'none' for a linear model")


def layer_words(layer: Layer) -> str:
    """A layer in the --layers grammar (LAYERS_GRAMMAR): 128, conv8x5, conv16x3s2valid, pool.
    The activation is left to the caller."""
    if layer.kind == "dense":
        return str(layer.units)
    if layer.kind != "conv":
        return {"maxpool": "pool", "avgpool": "avgpool"}[layer.kind]
    stride = f"s{layer.stride}" if layer.stride != 1 else ""
    return f"conv{layer.units}x{layer.kernel}{stride}{'valid' if layer.padding == 'valid' else ''}"


def parse_layer(word: str) -> Layer | None:
    """The layer a word of the --layers grammar names (activation aside), or None."""
    if re.fullmatch("[0-9]+", word):
        return Layer(int(word))
    if word in ("pool", "maxpool", "avgpool"):
        return Layer(activation="identity", kind="avgpool" if word == "avgpool" else "maxpool")
    conv = re.fullmatch(r"conv([0-9]+)x([0-9]+)(?:s([0-9]+))?(valid|same)?", word)
    if conv is None:
        return None
    filters, kernel, stride, padding = conv.groups()
    return Layer(int(filters), "relu", "conv", int(kernel), int(stride or 1), padding or "same")
