"""The PyTorch export (store/torch_export.py, `train --torch`, `export-torch`): model_torch.py,
run in a subprocess as a user would, builds the engine's network. Its outputs on the test inputs
match the engine's within 1e-5 for every hidden activation, every loss and output, with and
without bias, on every kind of data (images scaled by 1/255, a 2-D set, the linear system, a
classification table with text columns, a regression table), and the accuracy or RMSE it prints
is the engine's evaluate. Those tests skip where torch is not installed; the others read the
script as text and need no torch."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.cli.flags import parse_layers
from gdplayground.config import Layer, preset
from gdplayground.data.datasets import Split, load_dataset, table_path
from gdplayground.data.table import read_table
from gdplayground.engine import Trainer
from gdplayground.store.torch_export import SCRIPT_FILE, TEST_SET_FILE, write_torch
from gdplayground.store.weights import save_weights

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="torch is not installed (pip install torch==2.13.0)")
STEPS = 20
MNIST_EXAMPLES = 300  # training examples of the MNIST case, and 200 test images


class Case(NamedTuple):
    dataset: str
    hidden: tuple | str = ((5, "tanh"), (3, "tanh"))  # a string: in the --layers grammar
    output: str | None = None  # None: the preset's, with its loss
    loss: str | None = None
    bias: bool = True
    dropout: float = 0.0
    layers: tuple = ()  # the nn.Sequential the script must build, in order


def _toy(activation: str, bias: bool) -> Case:
    module = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)", "tanh": "nn.Tanh()",
              "sigmoid": "nn.Sigmoid()", "identity": None}[activation]
    no_bias = "" if bias else ", bias=False"
    layers = [f"nn.Linear(2, 5{no_bias})", module, f"nn.Linear(5, 3{no_bias})", module,
              f"nn.Linear(3, 1{no_bias})", "nn.Sigmoid()"]
    return Case("xor", ((5, activation), (3, activation)), bias=bias,
                layers=tuple(layer for layer in layers if layer))


def _mse(output: str) -> Case:
    module = {"identity": None, "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()",
              "relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)"}[output]
    layers = ["nn.Linear(2, 6)", "nn.ReLU()", "nn.Linear(6, 1)", module]
    return Case("circles", ((6, "relu"),), output, "mse", layers=tuple(filter(None, layers)))


CASES = {
    **{f"{activation}-{'bias' if bias else 'no-bias'}": _toy(activation, bias)
       for activation in ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
       for bias in (True, False)},
    **{f"mse-{output}": _mse(output)
       for output in ("identity", "sigmoid", "tanh", "relu", "leaky_relu")},
    "mnist": Case("mnist", ((8, "relu"),), dropout=0.3, layers=(
        "Prepare(offset=0.0, scale=1 / 255)", "nn.Linear(784, 8)", "nn.ReLU()",
        "nn.Dropout(0.3)", "nn.Linear(8, 10)", "nn.Softmax(dim=1)")),
    "conv": Case("mnist", "conv3x5,pool,conv4x3:tanh,pool,8", dropout=0.2, layers=(
        "Prepare(offset=0.0, scale=1 / 255)", "nn.Unflatten(1, (1, 28, 28))",
        "nn.Conv2d(1, 3, 5, padding=2)", "nn.ReLU()", "nn.Dropout(0.2)", "nn.MaxPool2d(2)",
        "nn.Conv2d(3, 4, 3, padding=1)", "nn.Tanh()", "nn.Dropout(0.2)", "nn.MaxPool2d(2)",
        "nn.Flatten()", "nn.Linear(196, 8)", "nn.ReLU()", "nn.Dropout(0.2)", "nn.Linear(8, 10)",
        "nn.Softmax(dim=1)")),
    "conv-stride-valid": Case("mnist", "conv3x4s2valid,avgpool:sigmoid", bias=False, layers=(
        "Prepare(offset=0.0, scale=1 / 255)", "nn.Unflatten(1, (1, 28, 28))",
        "nn.Conv2d(1, 3, 4, stride=2, bias=False)", "nn.ReLU()", "nn.AvgPool2d(2)",
        "nn.Sigmoid()", "nn.Flatten()", "nn.Linear(108, 10, bias=False)", "nn.Softmax(dim=1)")),
    "linear-system": Case("linear-system", (), bias=False,
                          layers=("nn.Linear(3, 1, bias=False)",)),
    "penguins": Case("penguins", ((6, "relu"),), layers=(
        "Prepare(OFFSET, SCALE)", "nn.Linear(10, 6)", "nn.ReLU()", "nn.Linear(6, 3)",
        "nn.Softmax(dim=1)")),
    "auto-mpg": Case("auto-mpg", ((6, "tanh"),), layers=(
        "Prepare(OFFSET, SCALE)", "nn.Linear(9, 6)", "nn.Tanh()", "nn.Linear(6, 1)",
        "ToTargetUnits(TARGET_MEAN, TARGET_SPREAD)")),
}


class Exported(NamedTuple):
    folder: Path
    trainer: Trainer
    outputs: np.ndarray  # the engine's, in the target's units for a regression table
    loss: float  # the engine's evaluate on the split the script evaluates
    accuracy: float | None


@pytest.fixture(scope="module")
def small_mnist():
    """The bundled MNIST cut to a few hundred images, so that the case trains in a moment."""
    data = load_dataset(preset("mnist").data, 0)
    cut = lambda split, n: Split(split.x[:n], split.y[:n])  # noqa: E731
    return dataclasses.replace(data, train=cut(data.train, MNIST_EXAMPLES),
                               validation=cut(data.validation, 50), test=cut(data.test, 200))


@pytest.fixture(scope="module")
def exported(tmp_path_factory, small_mnist) -> dict[str, Exported]:
    """Each case trained a few steps and exported into a folder of its own."""
    root = tmp_path_factory.mktemp("torch")
    return {name: _export(case, root / name, small_mnist) for name, case in CASES.items()}


def _export(case: Case, folder: Path, small_mnist) -> Exported:
    config = preset(case.dataset)
    arch = config.architecture
    arch.hidden = (parse_layers(case.hidden, "relu") if isinstance(case.hidden, str) else
                   [Layer(units, activation) for units, activation in case.hidden])
    arch.output, arch.loss = case.output or arch.output, case.loss or arch.loss
    arch.bias, arch.dropout = case.bias, case.dropout
    trainer = Trainer(config, small_mnist if case.dataset == "mnist" else None)
    for _ in range(STEPS):
        trainer.step()
    folder.mkdir()
    save_weights(folder / "weights.npz", trainer.config, trainer.snapshot(), {})
    write_torch(folder, folder / "weights.npz", trainer.config, trainer.network.sizes,
                trainer.dataset)
    data = trainer.dataset
    split = "test" if len(data.test) else "train"
    outputs = trainer.predict(getattr(data, split).x)
    prep = data.preparation
    if prep is not None and prep.classes is None:
        outputs = outputs * prep.target_spread + prep.target_mean
    return Exported(folder, trainer, outputs, *trainer.evaluate(split))


# Runs every case's script in one process (PyTorch takes seconds to import): as `python
# model_torch.py` runs it, and as an import to call build_model() on the test set's inputs.
DRIVER = """
import contextlib, io, json, runpy, sys
import numpy as np
import torch

printed = {}
for folder in sys.argv[1:]:
    script = f"{folder}/model_torch.py"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        runpy.run_path(script, run_name="__main__")
    printed[folder] = out.getvalue()
    model = runpy.run_path(script, run_name="model_torch")
    with np.load(f"{folder}/test_set.npz", allow_pickle=False) as test_set:
        x = torch.from_numpy(test_set["x"]).to(model["DTYPE"])
    with torch.no_grad():
        np.save(f"{folder}/torch_outputs.npy", model["build_model"]()(x).double().numpy())
imported = sorted(name for name in sys.modules if name.split(".")[0] == "gdplayground")
print(json.dumps({"printed": printed, "gdplayground": imported}))
"""


@pytest.fixture(scope="module")
def ran(exported, tmp_path_factory) -> dict:
    folders = [str(e.folder) for e in exported.values()]
    done = subprocess.run([sys.executable, "-c", DRIVER, *folders], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path_factory.mktemp("elsewhere"))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_torch
@pytest.mark.parametrize("name", CASES)
def test_the_scripts_model_gives_the_engines_outputs(exported, ran, name):
    case = exported[name]
    torch_outputs = np.load(case.folder / "torch_outputs.npy")
    assert torch_outputs.shape == case.outputs.shape
    np.testing.assert_allclose(torch_outputs, case.outputs, rtol=1e-5, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("name", CASES)
def test_the_script_prints_the_engines_accuracy_or_rmse(exported, ran, name):
    case = exported[name]
    printed = ran["printed"][str(case.folder)]
    n = len(case.outputs)
    if case.accuracy is None:
        rmse, mse, examples = re.fullmatch(
            r"(?:test|training) set: RMSE (\S+) in the target's units \(MSE (\S+)\), (\d+) "
            r"examples\n", printed).groups()
        in_units = case.trainer.dataset.error_in_units(case.loss)
        assert float(rmse) == pytest.approx(in_units, rel=1e-5)
        assert float(mse) == pytest.approx(in_units ** 2, rel=1e-5)
        assert int(examples) == n
    else:
        correct, total = re.fullmatch(r"test set: accuracy \S+% \((\d+) of (\d+) right\)\n",
                                      printed).groups()
        assert (int(correct), int(total)) == (round(case.accuracy * n), n)


@needs_torch
def test_the_scripts_never_import_gdplayground(ran):
    assert ran["gdplayground"] == []


def test_the_test_sets_targets_are_in_units_and_give_the_engines_rmse(exported):
    """The targets written are the table's own values: against the engine's outputs in units
    they give the engine's RMSE (its loss is on the standardised target: the loss times the
    spread squared is the MSE in units)."""
    case = exported["auto-mpg"]
    y = np.load(case.folder / TEST_SET_FILE)["y"]
    assert np.sqrt(np.mean((case.outputs - y) ** 2)) == pytest.approx(
        case.trainer.dataset.error_in_units(case.loss), rel=1e-5)


# --- read as text: no torch needed ------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_the_script_is_python_building_the_layers_in_order(exported, name):
    text = (exported[name].folder / SCRIPT_FILE).read_text(encoding="utf-8")
    tree = ast.parse(compile(text, SCRIPT_FILE, "exec", ast.PyCF_ONLY_AST))
    sequential = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                      and ast.unparse(node.func) == "nn.Sequential")
    assert tuple(ast.unparse(arg) for arg in sequential.args) == CASES[name].layers


def test_the_script_describes_a_convolutional_network_layer_by_layer(exported):
    text = (exported["conv"].folder / SCRIPT_FILE).read_text(encoding="utf-8")
    assert " ".join(text.split()).startswith(
        '"""A network trained by gdplayground on mnist, as a PyTorch model. Network '
        "conv3x5,pool,conv4x3,pool,196-8-10: hidden layers conv3x5 ReLU, pool, conv4x3 tanh, "
        "pool, 8 ReLU; output softmax (cross_entropy loss), dropout 0.2 while training;")
    assert "model(torch.tensor(inputs, dtype=DTYPE))  # inputs: (examples, 784)" in text


@pytest.mark.parametrize("name", ["relu-bias", "mnist", "penguins", "auto-mpg", "conv"])
def test_the_script_imports_only_numpy_torch_and_pathlib(exported, name):
    tree = ast.parse((exported[name].folder / SCRIPT_FILE).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"pathlib", "numpy", "torch"}


def test_a_tables_test_set_holds_its_raw_rows_and_the_script_names_its_inputs(exported):
    """Each test row as the table writes it: its numbers, then a 1 for its island and sex."""
    case = exported["penguins"]
    prep = case.trainer.dataset.preparation
    table = read_table(table_path(case.trainer.config.data), "species")
    rows = prep.raw_inputs(table)
    with np.load(case.folder / TEST_SET_FILE, allow_pickle=False) as test_set:
        x, y = test_set["x"], test_set["y"]
    for raw, label in zip(x, y):
        match = np.flatnonzero(np.isclose(rows, raw, rtol=1e-12, atol=0).all(axis=1))
        assert len(match) and prep.classes[label] == table.columns["species"].values[match[0]]
    assert np.isin(x[:, 5:], (0.0, 1.0)).all() and (x[:, 5:8].sum(axis=1) == 1).all()
    text = (case.folder / SCRIPT_FILE).read_text(encoding="utf-8")
    assert "bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, year, island=Biscoe, " \
           "island=Dream, island=Torgersen, sex=female, sex=male" in " ".join(text.split())


def test_images_are_written_as_their_raw_pixels(exported, small_mnist):
    with np.load(exported["mnist"].folder / TEST_SET_FILE, allow_pickle=False) as test_set:
        assert test_set["x"].dtype == np.uint8
        np.testing.assert_array_equal(test_set["x"], small_mnist.test.x)
        np.testing.assert_array_equal(test_set["y"], small_mnist.test.y)


# --- the commands ------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, module", [(["--dataset", "xor"], "nn.Linear(8, 8)"), (
    ["--dataset", "mnist", "--layers", "conv2x3s2valid,pool,8"], "nn.Conv2d(1, 2, 3, stride=2)")])
def test_train_torch_writes_the_script_beside_the_weights_and_lists_it(tmp_path, capsys, flags,
                                                                       module):
    out = tmp_path / "run"
    assert main(["train", *flags, "--steps", "3", "--torch", "--out", str(out)]) == 0
    readme = (out / "README.md").read_text(encoding="utf-8")
    for name in (SCRIPT_FILE, TEST_SET_FILE):
        assert f"- `{name}`: " in readme
    script = (out / SCRIPT_FILE).read_text(encoding="utf-8")
    assert "WEIGHTS = HERE / 'weights.npz'" in script and f"        {module}," in script


def test_export_torch_writes_into_the_run_folder_or_out(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "xor", "--steps", "3", "--out", str(run)]) == 0
    assert not (run / SCRIPT_FILE).exists()
    assert main(["export-torch", str(run)]) == 0
    assert "WEIGHTS = HERE / 'weights.npz'" in (run / SCRIPT_FILE).read_text(encoding="utf-8")
    assert main(["export-torch", str(run / "weights.npz"), "--out", str(tmp_path / "new")]) == 0
    text = (tmp_path / "new" / SCRIPT_FILE).read_text(encoding="utf-8")
    assert "WEIGHTS = HERE / '../run/weights.npz'" in text
    assert (tmp_path / "new" / TEST_SET_FILE).read_bytes() == (run / TEST_SET_FILE).read_bytes()


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("out, message", [
    ("run/README.md", "--out {tmp}/run/README.md: not a folder"),
    ("missing/out", "--out {tmp}/missing/out: the folder {tmp}/missing does not exist"),
    ("blocked", "cannot write the results to {tmp}/blocked: {tmp}/blocked/test_set.npz is not "
                "a regular file"),
])
def test_an_unwritable_out_is_one_line_and_writes_nothing(tmp_path, capsys, out, message):
    """The last: test_set.npz is taken by a folder, so model_torch.py, written first, is
    removed again: both files or neither."""
    assert main(["train", "--dataset", "xor", "--steps", "2", "--out", str(tmp_path / "run")]) == 0
    (tmp_path / "blocked" / TEST_SET_FILE).mkdir(parents=True)
    (tmp_path / "blocked" / SCRIPT_FILE).write_text("# earlier")
    capsys.readouterr()
    before = _tree(tmp_path)
    assert main(["export-torch", str(tmp_path / "run"), "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err == f"gdplayground: error: {message.format(tmp=tmp_path)}\n"
    assert _tree(tmp_path) == before


# --- the window: File ▸ Export PyTorch script… -------------------------------------------------
WINDOW_TIMEOUT = 20_000


def _exported_from_window(qtbot, window, folder: Path):
    with qtbot.waitSignal(window.files.written, timeout=WINDOW_TIMEOUT) as signal:
        window.files.export_torch(folder)
    return signal.args


def test_the_window_exports_the_script_its_weights_and_test_set(qtbot, tmp_path, capsys):
    """A folder of other files is refused, said and left as it was; a new folder gets the same
    files as export-torch writes for the weights the window saved beside them. (One test: the
    window takes seconds to open.)"""
    from gdplayground.gui.window.main_window import MainWindow

    window = MainWindow(preset("penguins"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=WINDOW_TIMEOUT)
    window.step(10)
    qtbot.waitUntil(lambda: window.last_step == 10 and not window.running, timeout=WINDOW_TIMEOUT)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("mine")
    ok, message = _exported_from_window(qtbot, window, tmp_path / "mine")
    assert not ok and message.startswith(f"Could not write the PyTorch script to {tmp_path}/mine: ")
    assert "holds files that are not a PyTorch export" in message and window.banner.isVisible()
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["thesis.txt"]

    ok, message = _exported_from_window(qtbot, window, tmp_path / "pt")
    assert ok and message == f"Wrote the PyTorch script to {tmp_path / 'pt'}"
    assert sorted(p.name for p in (tmp_path / "pt").iterdir()) == [
        SCRIPT_FILE, TEST_SET_FILE, "weights.npz"]
    assert main(["export-torch", str(tmp_path / "pt" / "weights.npz"),
                 "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "pt" / TEST_SET_FILE).read_bytes() == \
        (tmp_path / "cli" / TEST_SET_FILE).read_bytes()
    window_script, cli_script = ((tmp_path / folder / SCRIPT_FILE).read_text(encoding="utf-8")
                                 for folder in ("pt", "cli"))
    words = lambda text: text.split()  # noqa: E731 - the docstring wraps at other places
    assert words(window_script) == words(cli_script.replace("../pt/weights.npz", "weights.npz"))
