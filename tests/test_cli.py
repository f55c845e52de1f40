"""The headless CLI, run as a user would: through main(), reading what it prints and writes."""

import json
import re

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.config import ExperimentConfig
from gdplayground.data.datasets import LINEAR_SYSTEM_A, LINEAR_SYSTEM_Y


def train(tmp_path, *flags):
    return main(["train", *flags, "--out", str(tmp_path / "run")])


def test_linear_system_prints_the_gradient_descent_trace_and_the_solution(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "linear-system", "--optimizer", "sgd", "--lr", "0.01",
                 "--steps", "10000") == 0
    out = capsys.readouterr().out
    printed = {int(s): float(v) for s, v in re.findall(r"step\s+(\d+)\s+loss (\S+)", out)}
    # The same descent written out directly: x <- x - lr * d/dx mean((Ax - Y)^2), from x = 0.
    x, expected = np.zeros(3), {}
    for step in range(1, 10001):
        residual = LINEAR_SYSTEM_A @ x - LINEAR_SYSTEM_Y
        if step % 1000 == 0:
            expected[step] = np.mean(residual**2)
        x -= 0.01 * 2 / 3 * LINEAR_SYSTEM_A.T @ residual
    assert list(printed) == list(range(1000, 10001, 1000))
    for step, loss in expected.items():
        assert printed[step] == pytest.approx(loss, rel=1e-5)
    solution = [float(v) for v in re.search(r"solution x = \[(.*)\]", out).group(1).split()]
    assert solution == pytest.approx(x, abs=1e-6)
    assert solution == pytest.approx([5 / 7, 31 / 7, 7], abs=0.01)  # np.linalg.solve(A, Y)


def test_run_folder_holds_metrics_weights_and_config(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "xor", "--layers", "6:tanh,4", "--steps", "30",
                 "--seed", "7") == 0
    run = tmp_path / "run"
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,epoch,loss,accuracy,learning_rate,val_loss,val_accuracy,"
                              "layer1_grad_norm,layer1_bias_grad_norm,layer1_weight_norm,layer2")
    assert "smoothed" not in rows[0]  # the CSV holds what was measured
    assert len(rows) == 1 + 30 and rows[-1].startswith("30,")
    with np.load(run / "weights.npz", allow_pickle=False) as weights:
        assert weights["layer1.weight"].shape == (2, 6) and weights["layer3.bias"].shape == (1,)
        config = ExperimentConfig.from_toml(str(weights["config"]))
        assert json.loads(str(weights["summary"]))["steps"] == 30
    assert config == ExperimentConfig.load(run / "config.toml")
    assert [(l.units, l.activation) for l in config.architecture.hidden] == [(6, "tanh"), (4, "relu")]
    assert config.seed == 7


@pytest.mark.parametrize("flags, message", [
    (["--lr", "-1"], "--lr: learning_rate.value must be above 0.0 to 100.0 (got -1.0)"),
    (["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["--batch-size", "0"], "--batch-size: batch.size must be from 1 to 100000 (got 0)"),
    (["--dataset", "cifar"], "--dataset 'cifar' is neither a folder nor one of: mnist, mnist-binary"),
    (["--layers", "12x"], "--layers: '12x' is not a layer; write sizes like 256,128"),
    (["--layers", "8:swish"], "architecture.hidden[0].activation 'swish' is not one of"),
    (["--config", "no-such.toml"], "cannot read configuration no-such.toml"),
    (["--steps", "0"], "--steps and --epochs must be at least 1"),
    (["--dataset", "linear-system", "--loss", "cross_entropy", "--output", "softmax"],
     "does not suit linear-system"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, flags, message):
    assert train(tmp_path, *flags) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("gdplayground: error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_corrupt_idx_folder_is_reported_not_raised(tmp_path, capsys):
    folder = tmp_path / "fashion"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    assert train(tmp_path, "--dataset", str(folder)) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte: truncated IDX header" in err


def test_diverging_run_stops_with_the_message_and_still_saves(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "gaussians", "--optimizer", "sgd", "--lr", "100",
                 "--output", "identity", "--loss", "mse", "--steps", "500") == 0
    out = capsys.readouterr().out
    assert "Training diverged at step" in out and "Lower the learning rate" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["diverged"] is True


def test_gradcheck_prints_a_table_and_passes(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "175 of 175 checks passed" in out
    assert re.search(r"sigmoid\s+softmax\+cross_entropy(\s+\d\.\de-\d\d){5}", out)


def test_mnist_binary_reaches_99_5_percent_in_one_epoch(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "mnist-binary", "--epochs", "1") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test_accuracy"] >= 0.995


def test_mnist_784_256_128_10_adam_reaches_97_percent_in_three_epochs(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "mnist", "--layers", "256,128", "--activation", "relu",
                 "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128",
                 "--validation-split", "0", "--epochs", "3") == 0
    out = capsys.readouterr().out
    assert "network 784-256-128-10" in out and "60000 training" in out
    assert len(re.findall(r"^epoch\s+\d", out, re.M)) == 3
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["test_accuracy"] >= 0.970
