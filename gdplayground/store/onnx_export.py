"""The trained network as an ONNX model, for ONNX Runtime and the tools that read ONNX.

The model takes raw inputs as the dataset stores them (for MNIST, pixels 0-255), scales them as
the engine does, and returns what the engine's predict() returns: the output layer's
activations (class probabilities for a softmax network). Needs the optional extra:
pip install "gdplayground[onnx]".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdplayground.config import ExperimentConfig
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


def to_onnx(config: ExperimentConfig, parameters: dict[str, np.ndarray], input_scale: float):
    """Build the ModelProto of a network from its configuration and parameters."""
    try:
        from onnx import TensorProto, checker, helper, numpy_helper
    except ImportError:
        raise OnnxUnavailable(INSTALL_HINT) from None
    arch = config.architecture
    n_layers = len(arch.hidden) + 1
    n_in = parameters["layer1.weight"].shape[0]
    n_out = parameters[f"layer{n_layers}.weight"].shape[1]
    nodes, weights = [], [numpy_helper.from_array(np.array(input_scale, np.float32), "input_scale")]
    nodes.append(helper.make_node("Mul", ["input", "input_scale"], ["h0"]))
    activations = [layer.activation for layer in arch.hidden] + [arch.output]
    current = "h0"
    for i, activation in enumerate(activations, start=1):
        w = f"layer{i}.weight"
        weights.append(numpy_helper.from_array(parameters[w].astype(np.float32), w))
        nodes.append(helper.make_node("MatMul", [current, w], [f"z{i}"]))
        current = f"z{i}"
        if arch.bias:
            b = f"layer{i}.bias"
            weights.append(numpy_helper.from_array(parameters[b].astype(np.float32), b))
            nodes.append(helper.make_node("Add", [current, b], [f"zb{i}"]))
            current = f"zb{i}"
        current = _activation(helper, nodes, activation, current, f"a{i}")
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
              input_scale: float) -> None:
    write_atomic(Path(path), to_onnx(config, parameters, input_scale).SerializeToString())


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
