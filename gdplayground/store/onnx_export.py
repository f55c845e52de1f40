"""The trained network as an ONNX model, for ONNX Runtime and the tools that read ONNX.

The model takes raw inputs as the dataset stores them (for MNIST, pixels 0-255; for a table,
its numeric features as written, then the one-hot columns of its text features: Preparation.
input_names), scales them as the engine does, and returns what the engine's predict() returns:
the output layer's activations (class probabilities for a softmax network), or for a table's
regression the prediction in the label's own units. Needs the optional extra:
pip install "gdplayground[onnx]".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdplayground.config import ExperimentConfig
from gdplayground.data.table import Preparation
from gdplayground.engine.activations import LeakyReLU
from gdplayground.files import write_atomic

INSTALL_HINT = 'ONNX export needs the onnx extra: pip install "gdplayground[onnx]"'
OPSET = 17
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
    n_layers = len(arch.hidden) + 1
    n_in = parameters["layer1.weight"].shape[0]
    n_out = parameters[f"layer{n_layers}.weight"].shape[1]
    nodes, weights = [], []

    def constant(name: str, value) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name
    if preparation is None:
        nodes.append(helper.make_node("Mul", ["input", constant("input_scale", input_scale)],
                                      ["h0"]))
    else:  # (x − offset) × scale, as Preparation.features
        nodes += [helper.make_node("Sub", ["input", constant("offset", preparation.offset)], ["x0"]),
                  helper.make_node("Mul", ["x0", constant("scale", preparation.scale)], ["h0"])]
    activations = [layer.activation for layer in arch.hidden] + [arch.output]
    current = "h0"
    for i, activation in enumerate(activations, start=1):
        w = constant(f"layer{i}.weight", parameters[f"layer{i}.weight"])
        nodes.append(helper.make_node("MatMul", [current, w], [f"z{i}"]))
        current = f"z{i}"
        if arch.bias:
            b = constant(f"layer{i}.bias", parameters[f"layer{i}.bias"])
            nodes.append(helper.make_node("Add", [current, b], [f"zb{i}"]))
            current = f"zb{i}"
        current = _activation(helper, nodes, activation, current, f"a{i}")
    if preparation is not None and preparation.classes is None:  # the label in its own units
        spread = constant("target_spread", preparation.target_spread)
        nodes.append(helper.make_node("Mul", [current, spread], ["y0"]))
        nodes.append(helper.make_node("Add", ["y0", constant("target_mean", preparation.target_mean)],
                                      ["y1"]))
        current = "y1"
    nodes.append(helper.make_node("Identity", [current], ["output"]))
    graph = helper.make_graph(
        nodes, "gdplayground",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", n_in])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_out])],
        initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="gdplayground")
    model.ir_version = 8  # read by ONNX Runtime 1.14 and later
    checker.check_model(model)
    return model


def save_onnx(path: Path, config: ExperimentConfig, parameters: dict[str, np.ndarray],
              input_scale: float, preparation: Preparation | None = None) -> None:
    write_atomic(Path(path), to_onnx(config, parameters, input_scale, preparation).SerializeToString())


def _activation(helper, nodes: list, activation: str, source: str, target: str) -> str:
    if activation == "identity":
        return source
    if activation == "softmax":
        nodes.append(helper.make_node("Softmax", [source], [target], axis=1))
    elif activation == "leaky_relu":
        nodes.append(helper.make_node("LeakyRelu", [source], [target], alpha=LeakyReLU.slope))
    else:
        nodes.append(helper.make_node(ACTIVATION_OPS[activation], [source], [target]))
    return target
