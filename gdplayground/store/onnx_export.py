"""The trained network as an ONNX model, for ONNX Runtime and the tools that read ONNX.

The model takes raw inputs as the dataset stores them (for MNIST, pixels 0-255; for a table,
its numeric features as written, then the one-hot columns of its text features: Preparation.
input_names); a network with convolutions takes them as images, (batch, channels, height,
width), as ONNX's Conv does (an MNIST row reshaped to (1, 28, 28)). It scales them as the engine
does, and returns what the engine's predict() returns: the output layer's activations (class
probabilities for a softmax network), or for a table's regression the prediction in the
label's own units. Needs the optional extra:
pip install "gdplayground[onnx]".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdplayground.config import ExperimentConfig
from gdplayground.data.table import Preparation
from gdplayground.engine.activations import LeakyReLU
from gdplayground.engine.conv import conv_padding
from gdplayground.files import write_atomic

INSTALL_HINT = 'ONNX export needs the onnx extra: pip install "gdplayground[onnx]"'
OPSET = 17
POOL_OPS = {"maxpool": "MaxPool", "avgpool": "AveragePool"}
ACTIVATION_OPS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyRelu"}


class OnnxUnavailable(RuntimeError):
    """The onnx package is not installed."""


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def to_onnx(config: ExperimentConfig, parameters: dict[str, np.ndarray], input_scale: float,
            preparation: Preparation | None = None):
    """Build the ModelProto of a network from its configuration and parameters; a table's
    network standardises its raw inputs as `preparation` says."""
    try:
        from onnx import TensorProto, checker, helper, numpy_helper
    except ImportError:
        raise OnnxUnavailable(INSTALL_HINT) from None
    arch = config.architecture
    n_layers = len(arch.weighted) + 1
    n_out = parameters[f"layer{n_layers}.weight"].shape[1]
    nodes, weights = [], []

    def constant(name: str, value) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(op: str, inputs: list[str], **attributes) -> str:
        """Add a node; its output's name."""
        output = f"{op.lower()}{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def layer_constants(i: int) -> list[str]:
        """The names of layer i's weight and bias (none without biases), as constants."""
        names = ["weight", "bias"] if arch.bias else ["weight"]
        return [constant(f"layer{i}.{name}", parameters[f"layer{i}.{name}"]) for name in names]

    if preparation is None:
        current = node("Mul", ["input", constant("input_scale", input_scale)])
    else:  # (x − offset) × scale, as Preparation.features
        current = node("Sub", ["input", constant("offset", preparation.offset)])
        current = node("Mul", [current, constant("scale", preparation.scale)])
    numbers = iter(range(1, n_layers + 1))
    for spec in arch.features:
        if spec.kind == "conv":
            pad = conv_padding(spec.kernel, spec.padding)
            current = node("Conv", [current, *layer_constants(next(numbers))],
                           kernel_shape=[spec.kernel] * 2, strides=[spec.stride] * 2, pads=[pad] * 4)
        else:  # 2x2 windows at stride 2, an odd last row and column dropped (ceil_mode 0); a
            # tie of a max-pool has one value, whichever element the engine sends the gradient to
            current = node(POOL_OPS[spec.kind], [current], kernel_shape=[2, 2], strides=[2, 2])
        current = _activation(node, spec.activation, current)
    if arch.features:
        current = node("Flatten", [current], axis=1)  # C order, as the engine's reshape
    for i, activation in zip(numbers, [*(layer.activation for layer in arch.dense), arch.output]):
        weight, *bias = layer_constants(i)
        current = node("MatMul", [current, weight])
        if bias:
            current = node("Add", [current, *bias])
        current = _activation(node, activation, current)
    if preparation is not None and preparation.classes is None:  # the label in its own units
        current = node("Mul", [current, constant("target_spread", preparation.target_spread)])
        current = node("Add", [current, constant("target_mean", preparation.target_mean)])
    nodes.append(helper.make_node("Identity", [current], ["output"]))
    graph = helper.make_graph(
        nodes, "gdplayground",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, _input_shape(arch, parameters))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_out])],
        initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="gdplayground")
    model.ir_version = 8  # read by ONNX Runtime 1.14 and later
    checker.check_model(model)
    return model


def _input_shape(arch, parameters: dict[str, np.ndarray]) -> list:
    """Rows of raw inputs; a convolutional network's images, (batch, channels, height, width),
    of any height and width its layers fit (its weights do not say the size it was trained on;
    the first dense layer's weights then take only that size's features); the channels are
    the first convolution's, when there is one (pools alone have no weights to say)."""
    first = parameters["layer1.weight"]
    if not arch.features:
        return ["batch", first.shape[0]]
    return ["batch", first.shape[1] if first.ndim == 4 else "channels", "height", "width"]


def save_onnx(path: Path, config: ExperimentConfig, parameters: dict[str, np.ndarray],
              input_scale: float, preparation: Preparation | None = None) -> None:
    write_atomic(Path(path), to_onnx(config, parameters, input_scale, preparation).SerializeToString())


def _activation(node, activation: str, source: str) -> str:
    """The output of `activation` applied to `source` (itself for the identity)."""
    if activation == "identity":
        return source
    if activation == "softmax":
        return node("Softmax", [source], axis=1)
    if activation == "leaky_relu":
        return node("LeakyRelu", [source], alpha=LeakyReLU.slope)
    return node(ACTIVATION_OPS[activation], [source])
