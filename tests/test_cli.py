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


def test_linear_system_prints_the_loss_after_0_1000_and_every_1000_updates(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "linear-system", "--optimizer", "sgd", "--lr", "0.01",
                 "--steps", "10000") == 0
    out = capsys.readouterr().out
    printed = {int(s): float(v) for s, v in re.findall(r"step\s+(\d+)\s+loss (\S+)", out)}
    # The same descent written out directly: x <- x - lr * d/dx mean((Ax - Y)^2), from x = 0,
    # and the loss of x after every thousandth update.
    x, expected = np.zeros(3), {}
    for updates in range(10001):
        residual = LINEAR_SYSTEM_A @ x - LINEAR_SYSTEM_Y
        if updates % 1000 == 0:
            expected[updates] = np.mean(residual**2)
        x -= 0.01 * 2 / 3 * LINEAR_SYSTEM_A.T @ residual
    assert list(printed) == list(range(0, 10001, 1000))
    for updates, loss in expected.items():
        assert printed[updates] == pytest.approx(loss, rel=1e-9)
    # The published tutorial's printout of the same descent.
    assert printed[0] == pytest.approx(5.666666666666667, rel=1e-9)
    assert printed[1000] == pytest.approx(0.5797261956378661, rel=1e-9)
    solution = [float(v) for v in re.search(r"solution x = \[(.*)\]", out).group(1).split()]
    assert solution == pytest.approx([0.71418766, 4.42539244, 6.99559903], abs=1e-6)
    assert solution == pytest.approx([5 / 7, 31 / 7, 7], abs=0.01)  # np.linalg.solve(A, Y)
    residual = [float(v) for v in re.search(r"residual Ax - Y = \[(.*)\]", out).group(1).split()]
    assert residual == pytest.approx(LINEAR_SYSTEM_A @ solution - LINEAR_SYSTEM_Y, abs=2e-6)


def test_run_folder_holds_metrics_weights_and_config(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "xor", "--layers", "6:tanh,4", "--steps", "30",
                 "--seed", "7") == 0
    run = tmp_path / "run"
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,epoch,loss,accuracy,learning_rate,val_loss,val_accuracy,"
                              "test_loss,test_accuracy,layer1_grad_norm,layer1_bias_grad_norm,"
                              "layer1_weight_norm,layer2")
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
    (["--lr", "-1"], "--lr: learning_rate.value must be above 0 and at most 100 (got -1.0)"),
    (["--lr", "0"], "--lr: learning_rate.value must be above 0 and at most 100 (got 0.0)"),
    (["--lr", "1e9"], "--lr: learning_rate.value must be above 0 and at most 100 (got 1000000000.0)"),
    (["--eps", "0"], "--eps: optimizer.eps must be above 0 and at most 1 (got 0.0)"),
    (["--seed", "-1"], "--seed: seed must be from 0 to 4,294,967,295 (got -1)"),
    (["--clip-norm", "2e6"], "--clip-norm: optimizer.clip_norm must be from 0 to 1,000,000 (got 2000000.0)"),
    (["--beta2", "1"], "--beta2: optimizer.beta2 must be from 0 to 0.99999 (got 1.0)"),
    (["--lr", "fast"], "argument --lr: must be a number (got 'fast')"),
    (["--lr", "\uff11"], "argument --lr: must be a number (got '\uff11')"),  # fullwidth one
    (["--seed", "\u0663"], "argument --seed: must be a whole number (got '\u0663')"),
    (["--batch-size", "1_0"], "argument --batch-size: must be a whole number (got '1_0')"),
    (["--steps", "1000000000000000000000"], "at most 1,000,000,000,000"),
    (["--layers", ""], "--layers: '' is not a layer; write comma-separated, input side first: 256 (a dense layer of 256 units)"),
    (["--layers", "8\n9"], "--layers: '8\\n9' is not a layer"),  # one line, whatever was typed
    (["--dataset", "x\ny"], "--dataset 'x\\ny' is neither a folder, a table file (CSV, TSV) nor one of"),
    (["--dataset", "a" * 5000], "--dataset 'aaaaaaaaaaaaaaaa"),  # too long a name for a folder
    (["--dataset", ""], "argument --dataset: the value is empty"),
    (["--dataset", " "], "argument --dataset: the value is empty"),
    (["--dataset", "linear-system", "--loss", "bce", "--output", "sigmoid"],
     "--output: architecture.output 'sigmoid' reaches only 0 to 1, but linear-system's targets run from 0 to 4"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["--batch-size", "0"], "--batch-size: batch.size must be from 1 to 100,000 (got 0)"),
    (["--dataset", "cifar"], "--dataset 'cifar' is neither a folder, a table file (CSV, TSV) nor one of: mnist, mnist-binary"),
    (["--layers", "12x"], "--layers: '12x' is not a layer; write comma-separated"),
    (["--out", "o", "--outp"], "unrecognized arguments: --outp"),  # never taken for --output
    (["--layers", "8:swish"], "--layers: '8:swish': activation 'swish' is not one of: relu, "),
    (["--config", "no-such.toml"], "cannot read configuration no-such.toml"),
    (["--steps", "0"], "argument --steps: must be a whole number of at least 1 and at most 1,000,000,000,000 (got '0')"),
    (["--epochs", "0"], "argument --epochs: must be a whole number of at least 1 and at most 1,000,000,000,000 (got '0')"),
    (["--epochs", "-3"], "argument --epochs: must be a whole number of at least 1 and at most 1,000,000,000,000 (got '-3')"),
    (["--log-every", "0"], "argument --log-every: must be a whole number of at least 1"),
    (["--metrics-every", "1.5"], "argument --metrics-every: must be a whole number of at least 1"),
    (["--epochs", "\u0663"], "argument --epochs: must be a whole number of at least 1"),
    (["--layers", "\u0663\u0662"], "--layers: '\u0663\u0662' is not a layer"),  # Arabic-Indic 32
    (["--layers", "\u00b2"], "--layers: '\u00b2' is not a layer"),  # superscript two
    (["--weights", ""], "argument --weights: the path is empty"),
    (["--dataset", "linear-system", "--loss", "cross_entropy", "--output", "softmax"],
     "does not suit linear-system"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--dataset", "spiral", "--layers", "conv4x3,8"], "--layers: convolution and pooling "
     "layers need images, and spiral holds none: use dense layers only"),
    (["--layers", "conv0x5"], "--layers: 'conv0x5': a convolution's filters must be from 1 to "
                              "8,192 (got 0)"),
    (["--layers", "conv8x4,pool"], "--layers: 'conv8x4': 'same' padding needs an odd kernel "
                                   "size, not 4 (conv8x4valid pads nothing)"),
    (["--layers", "conv8x4same:tanh"], "--layers: 'conv8x4same:tanh': 'same' padding needs an "
                                       "odd kernel size, not 4 (conv8x4valid pads nothing)"),
    (["--layers", "conv8x99"], "--layers: 'conv8x99': a kernel's size must be from 1 to 15 (got 99)"),
    (["--layers", "conv8x5s3"], "--layers: 'conv8x5s3': a stride must be from 1 to 2 (got 3)"),
    (["--layers", "8,0"], "--layers: '0': a layer's units must be from 1 to 8,192 (got 0)"),
    (["--layers", "8,conv8x5"], "--layers: architecture.hidden[1] (convolution) comes after the "
                                "dense layer architecture.hidden[0]"),
    (["--layers", "pool,pool,pool,pool,pool"], "--layers: architecture.hidden: layer 5 does not "
     "fit: 2x2 pooling needs at least a 2x2 input, not 1x1 (the images are 28x28)"),
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
    # The rate ramps up over a long warm-up until it diverges, past the checkpoint at step 1000.
    assert train(tmp_path, "--dataset", "gaussians", "--optimizer", "sgd", "--lr", "100",
                 "--warmup-steps", "100000", "--output", "identity", "--loss", "mse",
                 "--steps", "3000") == 0
    out = capsys.readouterr().out
    assert "Training diverged at step" in out and "Lower the learning rate" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["diverged"] is True
    # Rolled back to the last checkpoint: counter, metrics and weights all stop there.
    restored = int(re.search(r"rolled back to step (\d+)", out).group(1))
    assert restored == 1000 and summary["steps"] == restored and f"trained {restored} steps" in out
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert rows[-1].split(",")[0] == str(restored) and len(rows) == 1 + restored
    last_loss = float(rows[-1].split(",")[rows[0].split(",").index("loss")])
    assert summary["final_train_loss"] == last_loss < 1  # the restored step's, not the exploded
    with np.load(tmp_path / "run" / "weights.npz", allow_pickle=False) as weights:
        assert json.loads(str(weights["state"]))["step"] == restored


def test_gradcheck_prints_a_table_and_passes(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "350 of 350 checks passed" in out
    assert re.search(r"sigmoid\s+softmax\+cross_entropy(\s+\d\.\de-\d\d){5}", out)


def test_gradcheck_h_sweep_writes_the_csv_and_the_png(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["gradcheck", "--h-sweep", "--out", str(out)]) == 0
    lines = (out / "h_sweep.csv").read_text().splitlines()
    assert lines[0] == "dtype,method,h,error"
    rows = [line.split(",") for line in lines[1:]]
    hs = sorted({float(h) for _, _, h, _ in rows}, reverse=True)
    assert len(hs) == 45 and hs[0] == 1e-1 and hs[-1] == 1e-12
    assert len(rows) == 4 * len(hs)
    assert {(d, m) for d, m, _, _ in rows} == {(d, m) for d in ("float64", "float32")
                                               for m in ("forward", "central")}
    assert all(0 <= float(error) <= 2 for *_, error in rows)
    png = out / "h_sweep.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 30_000
    printed = capsys.readouterr().out
    best = dict(re.findall(r"(float\d\d  central)\s+h = (\S+)", printed))
    assert 1e-6 <= float(best["float64  central"]) <= 1e-4
    assert float(best["float32  central"]) >= 100 * float(best["float64  central"])


@pytest.mark.parametrize("flags, message", [
    (["--h-sweep"], "--h-sweep needs --out DIR"),
    (["--out", "somewhere"], "--out goes with --h-sweep"),
    (["--dataset", "mnist"], "--dataset goes with --h-sweep"),
])
def test_gradcheck_h_sweep_and_out_go_together(flags, message, capsys):
    assert main(["gradcheck", *flags]) == 2
    assert message in capsys.readouterr().err


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


def test_a_convolutional_run_names_its_layers_and_inspect_reads_it(tmp_path, capsys):
    """The run folder's README and summary.json; then inspect's accuracy per class and
    confusion matrix from the file's own network (saliency is labs/inside.py's)."""
    assert train(tmp_path, "--dataset", "mnist", "--layers", "conv2x3:tanh,pool,conv3x3s2valid,"
                 "avgpool,8", "--steps", "2") == 0
    network = "conv2x3,pool,conv3x3s2valid,avgpool,27-8-10"
    assert f"network {network} (" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["network"] == network
    readme = (tmp_path / "run" / "README.md").read_text()
    assert (f"Network {network}: hidden layers conv2x3 tanh, pool, conv3x3s2valid relu, "
            "avgpool, 8 relu; output softmax") in readme
    assert "| network |" not in readme  # in its own line, not among the figures
    assert main(["inspect", str(tmp_path / "run"), "--saliency", "0",
                 "--out", str(tmp_path / "inside")]) == 0
    out = capsys.readouterr().out
    assert f"network {network}, trained 2 steps" in out
    evaluated = float(re.search(r"test accuracy (\S+)%", out).group(1))
    rows = (tmp_path / "inside" / "confusion.csv").read_text().splitlines()[1:]
    matrix = np.array([[int(v) for v in row.split(",")[1:]] for row in rows])
    assert matrix.sum() == 10_000
    assert 100 * np.trace(matrix) / 10_000 == pytest.approx(evaluated, abs=0.005)


def test_out_must_name_a_folder_and_never_one_of_other_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    for out, message in (("", "argument --out: the path is empty"),
                         (".", "is the current folder or holds it"),
                         (str(tmp_path), "is the current folder or holds it"),
                         ("notes.txt", "exists and is not a folder"),
                         ("notes.txt/run", "--out: cannot write to notes.txt/run")):
        assert main(["train", "--dataset", "xor", "--steps", "3", "--out", out]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and captured.err.count("\n") == 1
        assert "trained" not in captured.out  # refused before training
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.png").write_bytes(b"\x89PNG")
    assert main(["train", "--dataset", "xor", "--steps", "3", "--out", "photos"]) == 2
    assert "holds files that are not a gdplayground run" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "photos"]  # nothing touched
    assert [p.name for p in other.iterdir()] == ["cat.png"]


def test_a_run_folder_is_replaced_whole_or_not_at_all(tmp_path, capsys, monkeypatch):
    assert train(tmp_path, "--dataset", "xor", "--steps", "5") == 0
    run = tmp_path / "run"
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    import gdplayground.store.export

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(gdplayground.store.export, "save_onnx", full_disk)  # after weights and metrics
    assert train(tmp_path, "--dataset", "xor", "--steps", "9", "--onnx") == 2
    assert "cannot write the results to" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # the old run, intact
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left behind
    monkeypatch.undo()
    assert train(tmp_path, "--dataset", "xor", "--steps", "9") == 0  # an earlier run is replaced
    assert json.loads((run / "summary.json").read_text())["steps"] == 9
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_onnx_without_the_extra_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import gdplayground.store.onnx_export

    monkeypatch.setattr(gdplayground.store.onnx_export, "onnx_available", lambda: False)
    assert train(tmp_path, "--dataset", "mnist", "--epochs", "3", "--onnx") == 2
    captured = capsys.readouterr()
    assert 'pip install "gdplayground[onnx]"' in captured.err and captured.out == ""
    assert not (tmp_path / "run").exists()


def test_metrics_every_n_steps_and_the_last(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "xor", "--steps", "2345", "--metrics-every", "1000") == 0
    steps = [row.split(",")[0] for row in (tmp_path / "run" / "metrics.csv").read_text().splitlines()]
    assert steps == ["step", "1000", "2000", "2345"]


def test_a_reader_that_leaves_early_costs_no_traceback_and_no_results(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "gdplayground", "train", "--dataset", "xor", "--steps", "20000",
               "--log-every", "10", "--out", str(tmp_path / "run")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first_lines = [process.stdout.readline() for _ in range(2)]  # `| head -2`
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 0
    assert first_lines[0].startswith(b"xor:") and "Traceback" not in err and "Exception" not in err
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 20000


def test_evaluate_gives_the_linear_systems_loss_x_and_residual(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "linear-system", "--steps", "10000") == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "weights.npz")]) == 0
    out = capsys.readouterr().out
    x = np.array([float(v) for v in re.search(r"solution x = \[(.*)\]", out).group(1).split()])
    residual = [float(v) for v in re.search(r"residual Ax - Y = \[(.*)\]", out).group(1).split()]
    loss = float(re.search(r"train\s+loss (\S+)", out).group(1))
    exact = LINEAR_SYSTEM_A @ x - LINEAR_SYSTEM_Y
    assert residual == pytest.approx(exact, abs=2e-6)
    assert loss == pytest.approx(np.mean(exact**2), rel=1e-3)  # x is printed to 6 decimals


@pytest.mark.parametrize("text, flags, message", [
    ("seed = [1]", [], "c.toml: seed must be a whole number (got [1])"),
    ("[batch]\nsize = []", [], "c.toml: batch.size must be a whole number (got [])"),
    ("[learning_rate]\nvalue = []", [], "c.toml: learning_rate.value must be a number (got [])"),
    ("[architecture]\nhidden = [{units = []}]", [], "c.toml: architecture.hidden[0].units must be a whole number"),
    ("x = " + "[" * 3000 + "]" * 3000, [], "c.toml is nested too deeply to be a configuration"),
    ("seed = -1", [], "c.toml: seed must be from 0 to 4,294,967,295 (got -1)"),  # not --seed
    ("[data]\nname = \"x\\ny\"", None, "c.toml: data.name 'x\\ny' is not one of"),
    ("[architecture]\nloss = 'bce'", ["--loss", "cross_entropy", "--output", "softmax"], None),
    ("\ufeffseed = 3", [], None),  # a byte-order mark, as Notepad writes
])
def test_experiment_files_are_checked_by_type_and_named_when_wrong(tmp_path, capsys, text, flags, message):
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    flags = ["--dataset", "xor", *flags] if flags is not None else []
    code = main(["train", "--config", str(tmp_path / "c.toml"), *flags,
                 "--steps", "2", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    if message is None:  # a flag corrects the file, or the file is fine
        assert code == 0, err
    else:
        assert code == 2 and err.count("\n") == 1 and message in err and str(tmp_path) in err


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
def test_special_files_are_refused_at_once(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "fifo")
    for command in (["train", "--config"], ["evaluate"], ["train", "--weights"]):
        for path in (str(tmp_path / "fifo"), "/dev/zero"):
            assert main([*command, path, "--out", str(tmp_path / "o")] if command[0] == "train"
                        else [*command, path]) == 2
            err = capsys.readouterr().err
            assert "not a regular file" in err and err.count("\n") == 1


def test_a_full_or_closed_standard_output_is_one_line_after_the_work(tmp_path, capsys, monkeypatch):
    import errno
    import sys

    class Full:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def fileno(self):
            raise ValueError("no file")
    monkeypatch.setattr(sys, "stdout", Full())
    assert train(tmp_path, "--dataset", "xor", "--steps", "3") == 2
    assert capsys.readouterr().err == \
        "gdplayground: error: cannot write to standard output: No space left on device\n"
    assert (tmp_path / "run" / "weights.npz").exists()  # the run itself was written
    monkeypatch.setattr(sys, "stdout", None)  # `>&-`
    assert main(["train", "--dataset", "xor", "--steps", "3", "--out", str(tmp_path / "b")]) == 0


def test_terminating_training_saves_what_was_trained(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "gdplayground", "train", "--dataset", "xor",
                                "--steps", "100000000", "--out", str(tmp_path / "run")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    process.send_signal(signal.SIGTERM)  # as `timeout` and `kill` send it
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 130 and "saving what has been trained" in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left


def test_long_names_and_links_are_handled(tmp_path, capsys, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    long_name = "a" * 240
    assert main(["train", "--dataset", "xor", "--steps", "2", "--out", long_name]) == 0
    os.symlink("loop", "loop")
    assert main(["train", "--dataset", "xor", "--steps", "2", "--out", "loop"]) == 2
    assert "loop is a link that leads nowhere" in capsys.readouterr().err
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "README.md").write_text("# gdplayground run: a folder that also holds my work\n")
    (fake / "thesis.png").write_bytes(b"mine")
    assert main(["train", "--dataset", "xor", "--steps", "2", "--out", "fake"]) == 2
    assert "holds files that are not a gdplayground run" in capsys.readouterr().err
    assert (fake / "thesis.png").exists()


def test_screenshot_refuses_bad_settings_and_outputs_before_drawing(tmp_path, capsys):
    shot = str(tmp_path / "s.png")
    for flags, message in (
            (["--layers", ",".join(["8192"] * 32), "--out", shot], "needs about"),
            (["--dataset", str(tmp_path), "--out", shot], "no train images file"),
            (["--out", str(tmp_path / "missing" / "s.png")], "is not a folder"),
            (["--out", str(tmp_path)], "--out must name a .png file")):
        assert main(["screenshot", "--steps", "3", *flags]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_link_to_an_earlier_run_folder_is_replaced_by_the_new_run(tmp_path, capsys):
    import os

    assert train(tmp_path, "--dataset", "xor", "--steps", "2") == 0
    os.symlink(tmp_path / "run", tmp_path / "latest")
    assert main(["train", "--dataset", "xor", "--steps", "3", "--out", str(tmp_path / "latest")]) == 0
    assert not (tmp_path / "latest").is_symlink()
    assert json.loads((tmp_path / "latest" / "summary.json").read_text())["steps"] == 3
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "run"]


def test_a_resumed_run_reports_the_steps_and_speed_of_this_run(tmp_path, capsys):
    assert train(tmp_path, "--dataset", "xor", "--steps", "3000") == 0
    capsys.readouterr()
    assert main(["train", "--weights", str(tmp_path / "run" / "weights.npz"), "--steps", "1000",
                 "--out", str(tmp_path / "more")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"trained 1000 steps in \S+ s \(\d+ epochs, now at step 4,000\)", out)
    summary = json.loads((tmp_path / "more" / "summary.json").read_text())
    assert summary["steps"] == 4000
    # The speed of this run's 16,000 samples, not of all 64,000 since step 0.
    assert summary["samples_per_second"] * summary["seconds"] == pytest.approx(16_000, rel=0.2)

