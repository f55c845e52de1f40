"""Weight files: round trips, every refused file, ONNX, and writes that fail."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gdplayground import files
from gdplayground.cli import main
from gdplayground.config import Layer, preset
from gdplayground.engine import Trainer
from gdplayground.weights import WeightFileError, _digest, load_weights, save_weights


def small_mnist(activation="relu"):
    config = preset("mnist")
    config.architecture.hidden = [Layer(32, activation), Layer(16, activation)]
    return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    trainer = Trainer(small_mnist())
    for _ in range(60):
        trainer.step()
    path = tmp_path_factory.mktemp("w") / "weights.npz"
    save_weights(path, trainer.config, trainer.snapshot(), {"steps": trainer.step_count})
    return trainer, path


def arrays_of(path):
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def rewrite(path, arrays, reseal=True):
    arrays = dict(arrays)
    if reseal:  # a well-formed file with one thing wrong, not merely an altered one
        arrays.pop("integrity", None)
        arrays["integrity"] = np.array(_digest(arrays))
    np.savez(path, **arrays)
    return path


FRESH_PROCESS = """
import sys, numpy as np
from gdplayground.engine import Trainer
from gdplayground.weights import load_weights
saved = load_weights(sys.argv[1])
trainer = Trainer(saved.config)
trainer.restore(saved.state)
np.save(sys.argv[2], trainer.predict(trainer.dataset.test.x))
for _ in range(25):
    trainer.step()
np.savez(sys.argv[3], **{name: p for name, p, _ in trainer.network.parameters()})
"""


def test_round_trip_in_a_fresh_process_is_bit_identical(trained, tmp_path):
    trainer, path = trained
    predictions, continued = tmp_path / "p.npy", tmp_path / "c.npz"
    subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(path), str(predictions), str(continued)],
                   check=True, capture_output=True)
    assert np.load(predictions).tobytes() == trainer.predict(trainer.dataset.test.x).tobytes()
    for _ in range(25):
        trainer.step()  # the original run goes on in this process
    with np.load(continued) as resumed:
        for name, param, _ in trainer.network.parameters():
            assert resumed[name].tobytes() == param.tobytes(), name


def test_file_is_self_describing_without_pickle(trained):
    _, path = trained
    arrays = arrays_of(path)
    assert arrays["layer1.weight"].shape == (784, 32) and arrays["layer3.bias"].shape == (10,)
    assert "[architecture]" in str(arrays["config"]) and json.loads(str(arrays["summary"]))["steps"] == 60
    assert {"optimizer/all/m", "optimizer/all/v", "data/order"} <= set(arrays)


@pytest.mark.parametrize("spoil, problem", [
    (lambda a: a.update({"layer2.weight": np.array([object()] * 3)}), "holds Python objects"),
    (lambda a: a.update({"layer2.weight": a["layer2.weight"].astype(np.int64)}), "layer2.weight has dtype int64"),
    (lambda a: a["layer3.weight"].__setitem__((0, 0), np.nan), "layer3.weight holds NaN or infinite values"),
    (lambda a: a.pop("layer2.bias"), "missing array layer2.bias"),
    (lambda a: a.pop("config"), "missing array 'config'"),
    (lambda a: a.update({"layer2.weight": a["layer2.weight"][:, :8]}), r"layer2.weight has shape \(32, 8\)"),
    (lambda a: a.update({"config": np.array("[optimizer]\nname = 'newton'")}), "optimizer.name 'newton' is not one of"),
    (lambda a: a.update({"summary": np.array(5)}), "'summary' should be text"),
])
def test_refused_files_name_the_problem(trained, tmp_path, spoil, problem):
    arrays = arrays_of(trained[1])
    spoil(arrays)
    path = tmp_path / "bad.npz"
    if problem == "holds Python objects":  # numpy writes object arrays only with pickle
        np.savez(path, **arrays, allow_pickle=True)
    else:
        rewrite(path, arrays)
    with pytest.raises(WeightFileError, match=problem) as info:
        load_weights(path)
    assert "bad.npz" in str(info.value)


def test_an_edited_configuration_is_refused_as_altered(trained, tmp_path):
    arrays = arrays_of(trained[1])
    arrays["config"] = np.array(str(arrays["config"]).replace("value = 0.001", "value = 0.002"))
    path = rewrite(tmp_path / "edited.npz", arrays, reseal=False)
    with pytest.raises(WeightFileError, match="altered after it was written"):
        load_weights(path)


@pytest.mark.parametrize("write, problem", [
    (lambda p: p.write_bytes(b"hello"), "not a .npz weight file"),
    (lambda p: np.save(p, np.zeros(3)), "single .npy array"),
    (lambda p: p.write_bytes(b"PK\x03\x04broken"), "not a .npz"),
])
def test_files_that_are_not_weight_files(tmp_path, write, problem):
    path = tmp_path / "x.npz"
    write(path)
    if not path.exists():  # np.save appends .npy
        path = tmp_path / "x.npz.npy"
    with pytest.raises(WeightFileError, match=problem):
        load_weights(path)


def test_cli_refuses_a_bad_weight_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"junk")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.npz: not a .npz weight file" in err


def test_cli_resume_refuses_a_network_that_does_not_fit(trained, tmp_path, capsys):
    assert main(["train", "--weights", str(trained[1]), "--layers", "32,8", "--steps", "1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "does not fit this network: layer2.weight has shape (32, 16) in the file, (32, 8)" in \
        capsys.readouterr().err


def test_a_failed_write_keeps_the_previous_file_and_leaves_nothing_behind(trained, tmp_path, monkeypatch):
    trainer, source = trained
    path = tmp_path / "weights.npz"
    path.write_bytes(source.read_bytes())
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_weights(path, trainer.config, trainer.snapshot(), {})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["weights.npz"]


def test_cli_reports_an_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "--dataset", "xor", "--steps", "2", "--out", str(blocker / "run")]) == 2
    assert "cannot write the results to" in capsys.readouterr().err


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"), ("sigmoid", "mse"),
                                          ("identity", "mse")])
def test_onnx_runtime_agrees_with_the_engine(activation, output, loss):
    ort = pytest.importorskip("onnxruntime")
    from gdplayground.onnx_export import to_onnx
    config = small_mnist(activation)
    config.architecture.output, config.architecture.loss = output, loss
    trainer = Trainer(config)
    for _ in range(20):
        trainer.step()
    model = to_onnx(config, trainer.snapshot().parameters, trainer.dataset.input_scale)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    digits = trainer.dataset.test.x[:1000]
    got = session.run(None, {"input": digits.astype(np.float32)})[0]
    np.testing.assert_allclose(got, trainer.predict(digits), atol=1e-5, rtol=0)


def test_onnx_export_without_the_extra_says_what_to_install(monkeypatch):
    import builtins
    from gdplayground import onnx_export
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert not onnx_export.onnx_available()
    with pytest.raises(onnx_export.OnnxUnavailable, match=r'pip install "gdplayground\[onnx\]"'):
        onnx_export.to_onnx(preset("xor"), {}, 1.0)
