"""The trained network as a PyTorch script: `model_torch.py`, standalone code a learner reads as
a PyTorch tutorial's (it imports only NumPy and PyTorch), and `test_set.npz`, the data it
evaluates.

The script builds the network as torch.nn.Sequential, loads its parameters from the weight file
with numpy.load(..., allow_pickle=False) and prepares raw inputs inside the model as training
did: pixels 0-255 times 1/255, a table's numeric columns standardised with its training rows'
means and spreads (its one-hot columns as they are), and a regression table's output turned back
into the target's units. Run as a script, it evaluates the test set and prints the accuracy, or
the RMSE in the target's units. The test set holds raw inputs (uint8 pixels; a table's numeric
values as written, then its one-hot columns) and targets (class indices, or values in units).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import textwrap
from pathlib import Path

import numpy as np

from gdplayground.config import ACTIVATION_WORDS, ExperimentConfig
from gdplayground.layer_grammar import layer_words
from gdplayground.data.datasets import Dataset, Split
from gdplayground.engine import TrainingState
from gdplayground.engine.activations import LeakyReLU
from gdplayground.engine.conv import POOLS, conv_padding
from gdplayground.engine.network import describe_network
from gdplayground.files import StagedFolder, atomic_path, holds_only
from gdplayground.store.weights import WEIGHTS_FILE, save_weights

SCRIPT_FILE, TEST_SET_FILE = "model_torch.py", "test_set.npz"
TORCH_FILES = (SCRIPT_FILE, TEST_SET_FILE)
FOLDER_KIND = "a PyTorch export (weights, model_torch.py, test_set.npz)"
POOL_MODULES = {"maxpool": "nn.MaxPool2d(2)", "avgpool": "nn.AvgPool2d(2)"}  # floor, as the engine
MODULES = {"relu": "nn.ReLU()", "leaky_relu": f"nn.LeakyReLU({LeakyReLU.slope!r})",
           "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "softmax": "nn.Softmax(dim=1)"}


def write_torch(folder: Path, weights: Path, config: ExperimentConfig, sizes: list[int],
                dataset: Dataset) -> list[str]:
    """Write model_torch.py and test_set.npz into `folder`, both or neither (each through a
    temporary file, replacing its target only once both are written), for the network of
    `sizes` trained on `dataset` whose weight file is (or will be) `weights`. OSError if a write
    fails. Returns the names of the files."""
    folder = Path(folder)
    script = torch_script(config, sizes, dataset, weights_reference(weights, folder))
    contents = {SCRIPT_FILE: script.encode(), TEST_SET_FILE: _npz_bytes(raw_test_set(dataset))}
    with contextlib.ExitStack() as stack:
        for name, data in contents.items():
            stack.enter_context(atomic_path(folder / name)).write_bytes(data)
    return list(TORCH_FILES)


def write_torch_folder(target: Path, config: ExperimentConfig, state: TrainingState,
                       summary: dict, sizes: list[int], dataset: Dataset) -> None:
    """File ▸ Export PyTorch script…: a folder holding the weights, the script that loads them
    and the test set it evaluates, written all or nothing. The target is new, empty or an
    earlier such folder (replaced whole); OSError otherwise, or if a write fails."""
    with StagedFolder(target, is_torch_folder, FOLDER_KIND) as out:
        save_weights(out.file(WEIGHTS_FILE), config, state, summary, dataset.preparation)
        write_torch(out.staging, out.file(WEIGHTS_FILE), config, sizes, dataset)


def is_torch_folder(folder: Path) -> bool:
    return holds_only(folder, {WEIGHTS_FILE, *TORCH_FILES})


def weights_reference(weights: Path, folder: Path) -> str:
    """The weight file as the script finds it: relative to the script's folder where it can be."""
    try:
        return Path(os.path.relpath(os.path.abspath(weights), os.path.abspath(folder))).as_posix()
    except ValueError:  # on another drive (Windows)
        return Path(os.path.abspath(weights)).as_posix()


def evaluated_split(dataset: Dataset) -> tuple[str, Split]:
    """What the script evaluates: the test set, or the training set of a data set that holds
    nothing out (the linear system), as `gdplayground evaluate` does."""
    if len(dataset.test):
        return "test set", dataset.test
    return "training set", dataset.train


def raw_test_set(dataset: Dataset) -> dict[str, np.ndarray]:
    """The evaluated split as the model takes it: raw inputs x, and targets y in their units.
    A table's split holds prepared features, so its raw values are recovered from them (to the
    last bit or so of a float64)."""
    _, split = evaluated_split(dataset)
    x, y, prep = split.x, split.y, dataset.preparation
    if prep is not None:
        x = x / prep.scale + prep.offset
        if prep.classes is None:
            y = y * prep.target_spread + prep.target_mean
    return {"x": x, "y": y.astype(np.int64) if y.ndim == 1 else y.astype(np.float64)}


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


# --- the script --------------------------------------------------------------------------------
def torch_script(config: ExperimentConfig, sizes: list[int], dataset: Dataset, weights: str) -> str:
    """The text of model_torch.py for the network of `sizes`; `weights` is the weight file's path
    from the script's folder."""
    arch = config.architecture
    split_words, split = evaluated_split(dataset)
    regression = dataset.n_classes is None
    hidden = hidden_words(arch, ACTIVATION_WORDS)
    dropout = f", dropout {arch.dropout:g} while training" if arch.dropout else ""
    measure = "the RMSE in the target's units and the MSE" if regression else "the accuracy"
    about = (f"builds it as torch.nn.Sequential, loads its parameters from {weights} with "
             f"numpy.load(..., allow_pickle=False), and evaluates it on {TEST_SET_FILE}, the "
             f"{split_words} of {len(split):,} examples{_nothing_held_out(dataset)} (x: the raw "
             f"inputs, y: {'the targets in their units' if regression else 'the class indices'}"
             f"), printing {measure}. It needs only NumPy and PyTorch.")
    conv = bool(arch.features)
    kinds = "(nn.Conv2d, nn.Linear)" if conv else "nn.Linear"
    weight = "weight.T if isinstance(layer, nn.Linear) else weight" if conv else "weight.T"
    return f'''"""A network trained by gdplayground on {dataset.name}, as a PyTorch model.

{_paragraph(f"Network {describe_network(arch.features, sizes)}: hidden layers {hidden}; output "
            f"{ACTIVATION_WORDS[arch.output]} ({arch.loss} loss)"
            f"{', no bias' if not arch.bias else ''}{dropout}; trained in {config.dtype}.")}

    python {SCRIPT_FILE}

{_paragraph(about)}

{_paragraph("Inputs: " + _inputs_words(dataset))}

{_paragraph("Outputs: " + _outputs_words(config, dataset))}

Use the model in your own code:

    from model_torch import DTYPE, build_model
    model = build_model()
    outputs = model(torch.tensor(inputs, dtype=DTYPE))  # inputs: (examples, {dataset.n_features})

Written by gdplayground on {datetime.date.today():%Y-%m-%d}.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / {weights!r}
TEST_SET = HERE / {TEST_SET_FILE!r}
DTYPE = torch.{config.dtype}  # as gdplayground trained it
{_constants(dataset)}{_modules(dataset)}

def build_model() -> nn.Sequential:
    """The network with its trained parameters, in evaluation mode{_no_dropout(arch.dropout)}."""
    model = nn.Sequential(
{_layers(config, sizes, dataset)}
    ).to(DTYPE)
    load_parameters(model, WEIGHTS)
    return model.eval()


def load_parameters(model: nn.Sequential, path: Path) -> None:
    """{_load_words(conv)}"""
    layers = [module for module in model if isinstance(module, {kinds})]
    with np.load(path, allow_pickle=False) as saved, torch.no_grad():
        for n, layer in enumerate(layers, start=1):
            weight = saved[f"layer{{n}}.weight"]
            layer.weight.copy_(torch.from_numpy({weight}))
            if layer.bias is not None:
                layer.bias.copy_(torch.from_numpy(saved[f"layer{{n}}.bias"]))


def main() -> None:
    with np.load(TEST_SET, allow_pickle=False) as test_set:
        x, y = test_set["x"], test_set["y"]
    model = build_model()
    with torch.no_grad():
        outputs = model(torch.from_numpy(x).to(DTYPE)).double().numpy()
{_evaluation(sizes, dataset, split_words)}


if __name__ == "__main__":
    main()
'''


def hidden_words(arch, words: dict | None = None) -> str:
    """The hidden layers, each in the --layers grammar with its activation (a pool's only when
    it has one), the activations named by `words` or as the configuration names them:
    conv8x5 relu, pool, 128 relu; none without any."""
    def activation(layer) -> str:
        if layer.kind in POOLS and layer.activation == "identity":
            return ""
        return f" {words[layer.activation] if words else layer.activation}"
    return ", ".join(f"{layer_words(layer)}{activation(layer)}" for layer in arch.hidden) or "none"


def _load_words(conv: bool) -> str:
    """The docstring of the script's load_parameters."""
    layers = "nn.Conv2d and nn.Linear layers" if conv else "nn.Linear layers"
    convolutions = (" A convolution's weights, (filters, channels, height, width), are the same "
                    "in both." if conv else "")
    text = (f"Copy layer1.weight, layer1.bias, ... into the model's {layers}, in order. "
            "gdplayground computes x @ W + b with W of shape (inputs, outputs); nn.Linear holds W "
            f"transposed, (outputs, inputs).{convolutions}")
    return textwrap.fill(text, width=88, subsequent_indent="    ", break_on_hyphens=False)


def _paragraph(text: str) -> str:
    return textwrap.fill(text, width=92, break_long_words=False, break_on_hyphens=False)


def _nothing_held_out(dataset: Dataset) -> str:
    return "" if len(dataset.test) else ", as this data set holds nothing out"


def _inputs_words(dataset: Dataset) -> str:
    n, prep = dataset.n_features, dataset.preparation
    if prep is not None:
        return (f"{n} columns in this order (INPUTS): {', '.join(prep.input_names)}. The numeric "
                "columns as the table writes them, then for each text column a column per value, "
                "1 where the row has that value and 0 elsewhere. The model standardises them "
                "itself, (x - OFFSET) * SCALE with the training rows' means and spreads, as "
                "gdplayground did.")
    if dataset.image_shape is not None:
        (height, width), scale = dataset.image_shape, _number(dataset.input_scale)
        return (f"{n} pixel values from 0 to 255, a {height}×{width} image row by row. The "
                f"model scales them by {scale.replace(' / ', '/')} itself, as gdplayground did.")
    if dataset.name == "linear-system":
        return f"the {n} coefficients of an equation, a row of A in A x = Y."
    return f"{n} numbers, a point's coordinates." if n == 2 else f"{n} numbers."


def _outputs_words(config: ExperimentConfig, dataset: Dataset) -> str:
    arch, prep = config.architecture, dataset.preparation
    if dataset.n_classes is None:
        if prep is not None:
            return (f"the predicted {prep.target}, in its own units (the network learnt the "
                    "standardised target; the model's last step undoes that).")
        if dataset.name == "linear-system":
            return "A x for each row of A: training fits it to Y, and the weights are x."
        return "the predicted values."
    names = _class_names(dataset)
    if arch.output == "softmax":
        return f"the probability of each class: {', '.join(names)}."
    if dataset.n_classes == 2 and arch.output == "sigmoid" and arch.loss == "bce":
        return (f"the probability of class {names[1]}: above 0.5, the prediction is {names[1]}, "
                f"else {names[0]}.")
    if dataset.n_classes == 2:
        return (f"a score fitted to the class index ({names[0]} = 0, {names[1]} = 1) with mean "
                f"squared error: above 0.5, the prediction is {names[1]}, else {names[0]}.")
    return (f"a score for each class ({', '.join(names)}), fitted to one-hot targets with mean "
            "squared error: the highest is the prediction.")


def _class_names(dataset: Dataset) -> list[str]:
    prep = dataset.preparation
    return list(prep.classes) if prep is not None else [str(i) for i in range(dataset.n_classes)]


def _constants(dataset: Dataset) -> str:
    """A table's input names and preparation, a line per input (so a reader sees each)."""
    prep = dataset.preparation
    if prep is None:
        return ""
    rows = [f"    ({name!r}, {offset!r}, {scale!r}),"
            for name, offset, scale in zip(prep.input_names, prep.offset.tolist(),
                                           prep.scale.tolist())]
    lines = ["", "# Each input: (name, OFFSET: the training rows' mean, SCALE: 1 / their spread);",
             "# a one-hot column (name=value) is 0 or 1 and stays as it is.",
             "PREPARATION = [", *rows, "]",
             "INPUTS = [name for name, _, _ in PREPARATION]",
             "OFFSET = [offset for _, offset, _ in PREPARATION]",
             "SCALE = [scale for _, _, scale in PREPARATION]"]
    if prep.classes is not None:
        lines.append(f"CLASSES = {list(prep.classes)!r}  # class i is CLASSES[i]")
    else:
        lines.append(f"TARGET_MEAN, TARGET_SPREAD = {prep.target_mean!r}, {prep.target_spread!r}"
                     f"  # of {prep.target} in the training rows")
    return "\n".join(lines) + "\n"


def _modules(dataset: Dataset) -> str:
    """The small modules the model needs beyond PyTorch's own: input and output scaling."""
    prepares = dataset.preparation is not None or dataset.input_scale != 1
    parts = []
    if prepares:
        parts.append('''

class Prepare(nn.Module):
    """(x - offset) * scale: the raw inputs as the network saw them in training."""

    def __init__(self, offset, scale):
        super().__init__()
        self.register_buffer("offset", torch.tensor(offset, dtype=DTYPE))
        self.register_buffer("scale", torch.tensor(scale, dtype=DTYPE))

    def forward(self, x):
        return (x - self.offset) * self.scale
''')
    if dataset.is_table_regression:
        parts.append('''

class ToTargetUnits(nn.Module):
    """y * spread + mean: the standardised target the network learnt, in the target's units."""

    def __init__(self, mean, spread):
        super().__init__()
        self.mean, self.spread = mean, spread

    def forward(self, y):
        return y * self.spread + self.mean
''')
    return "".join(parts)


def _layers(config: ExperimentConfig, sizes: list[int], dataset: Dataset) -> str:
    arch, prep = config.architecture, dataset.preparation
    layers = []
    if prep is not None:
        layers.append("Prepare(OFFSET, SCALE),")
    elif dataset.input_scale != 1:
        layers.append(f"Prepare(offset=0.0, scale={_number(dataset.input_scale)}),")
    bias = "" if arch.bias else ", bias=False"
    dropout = [f"nn.Dropout({arch.dropout!r})"] if arch.dropout else []
    if arch.features:
        layers.append(f"nn.Unflatten(1, (1, {', '.join(map(str, dataset.image_shape))})),")
        channels = 1
        for spec in arch.features:
            if spec.kind == "conv":
                layers.append(_conv2d(spec, channels, bias))
                channels = spec.units
            else:
                layers.append(f"{POOL_MODULES[spec.kind]},")
            layers += [f"{module}," for module in [*_module(spec.activation),
                                                   *(dropout if spec.kind == "conv" else [])]]
        layers.append("nn.Flatten(),")
    activations = [layer.activation for layer in arch.dense] + [arch.output]
    for i, (n_in, n_out, activation) in enumerate(zip(sizes[:-1], sizes[1:], activations)):
        layers.append(f"nn.Linear({n_in}, {n_out}{bias}),")
        layers += [f"{module}," for module in [*_module(activation),
                                               *(dropout if i < len(arch.dense) else [])]]
    if prep is not None and dataset.n_classes is None:
        layers.append("ToTargetUnits(TARGET_MEAN, TARGET_SPREAD),")
    return "\n".join(" " * 8 + layer for layer in layers)


def _conv2d(spec, channels: int, bias: str) -> str:
    """nn.Conv2d with the engine's padding: k // 2 zeros each side for "same", none for "valid"."""
    padding = conv_padding(spec.kernel, spec.padding)
    stride = f", stride={spec.stride}" if spec.stride != 1 else ""
    pad = f", padding={padding}" if padding else ""
    return f"nn.Conv2d({channels}, {spec.units}, {spec.kernel}{stride}{pad}{bias}),"


def _module(activation: str) -> list[str]:
    """The module of an activation: none for the identity."""
    return [MODULES[activation]] if activation in MODULES else []


def _evaluation(sizes: list[int], dataset: Dataset, split_words: str) -> str:
    if dataset.n_classes is None:
        return f'''    mse = float(np.mean((outputs - y) ** 2))
    print(f"{split_words}: RMSE {{mse ** 0.5:.6g}} in the target's units (MSE {{mse:.6g}}), "
          f"{{len(outputs)}} examples")'''
    predicted = ("outputs[:, 0] > 0.5  # one output: class 1 above 0.5" if sizes[-1] == 1
                 else "outputs.argmax(axis=1)")
    return f'''    predicted = {predicted}
    correct = int(np.count_nonzero(predicted == y))
    print(f"{split_words}: accuracy {{correct / len(predicted):.2%}} ({{correct}} of "
          f"{{len(predicted)}} right)")'''


def _number(value: float) -> str:
    """1 / 255 for the scale of pixels, rather than 0.00392156862745098."""
    inverse = 1 / value
    whole = inverse == int(inverse) and 1 / int(inverse) == value
    return f"1 / {int(inverse)}" if whole else repr(value)


def _no_dropout(dropout: float) -> str:
    return " (dropout is for training only)" if dropout else ""
