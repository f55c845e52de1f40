"""Export and reopen through the real window: every plot, the run folder, weights while
training, experiments, and the files it must refuse."""

import csv
import os
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from gdplayground.config import ExperimentConfig, Layer, preset
from gdplayground.engine import Trainer
from gdplayground.gui.window.main_window import MainWindow
from gdplayground.store.weights import load_weights, save_weights

TIMEOUT = 20_000


@pytest.fixture
def open_window(qtbot):
    def make(config=None, steps=0) -> MainWindow:
        window = MainWindow(config)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
        if steps:
            window.step(steps)
            qtbot.waitUntil(lambda: window.last_step == steps and not window.running, timeout=TIMEOUT)
            qtbot.waitSignal(window.training.redrawn, timeout=TIMEOUT)
            window.redraw()
        return window
    return make


def written(qtbot, window, action):
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT) as signal:
        action()
    return signal.args


def toy(name="spiral"):
    config = preset(name)
    config.data.samples = 200
    return config


@pytest.mark.parametrize("config, pictures", [
    (None, ["accuracy", "weights"]),
    (toy(), ["accuracy", "decision_boundary"]),
    (preset("linear-system"), ["path_of_x", "residual"]),  # numbers as targets: no accuracy
])
def test_every_plot_exports_as_png_of_the_requested_width_and_as_svg(
        qtbot, open_window, tmp_path, config, pictures):
    from gdplayground.store.export import PLOTS

    window = open_window(config, steps=20)
    names = ["loss", "gradients", *pictures]
    assert sorted(window.training.plots()) == sorted(names)
    assert {f"{name}.{suffix}" for name in names for suffix in ("png", "svg")} <= PLOTS
    ok, _ = written(qtbot, window, lambda: window.files.export_plots(tmp_path, "png", 800))
    assert ok
    ok, message = written(qtbot, window, lambda: window.files.export_plots(tmp_path, "svg"))
    assert ok, message
    for name in names:
        image = QImage(str(tmp_path / f"{name}.png"))
        assert image.width() == 800 and image.height() > 100, name
        root = ElementTree.parse(tmp_path / f"{name}.svg").getroot()
        assert root.tag.endswith("svg") and len(list(root.iter())) > 10, name
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]  # no temporary files


def test_export_run_writes_one_complete_folder(qtbot, open_window, tmp_path):
    window = open_window(toy(), steps=30)
    ok, message = written(qtbot, window, lambda: window.files.export_run(tmp_path / "run"))
    assert ok, message
    files = set(os.listdir(tmp_path / "run"))
    assert {"weights.npz", "model.onnx", "metrics.csv", "config.toml", "summary.json", "README.md",
            "loss.png", "loss.svg", "decision_boundary.png", "gradients.svg"} <= files
    with open(tmp_path / "run" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 31))
    saved = load_weights(tmp_path / "run" / "weights.npz")
    assert saved.state.step == 30 and saved.config == window.config
    assert "| steps | 30 |" in (tmp_path / "run" / "README.md").read_text()


def test_export_run_names_a_new_folder_in_a_save_dialog(qtbot, open_window, tmp_path, monkeypatch):
    """The folder dialog said "a new or empty folder" and then refused a new name ("Directory
    not found"): the run's folder is named in a save dialog, and made."""
    window = open_window(toy(), steps=5)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, title, default, *rest: (
        asked.append((title, default)) or (str(tmp_path / "brand new"), "")))
    window.files._choose_run_folder()
    qtbot.waitUntil(lambda: (tmp_path / "brand new" / "weights.npz").is_file(), timeout=TIMEOUT)
    title, default = asked[0]
    assert title == "Export the run as a new folder" and default.startswith("spiral-run-")


def test_export_while_training_takes_one_consistent_step(qtbot, open_window, tmp_path):
    window = open_window(toy())
    window.toggle_play()
    qtbot.waitUntil(lambda: window.last_step >= 50, timeout=TIMEOUT)
    ok, _ = written(qtbot, window, lambda: window.files.export_run(tmp_path / "live"))
    assert ok
    at_export = window.last_step
    qtbot.waitUntil(lambda: window.last_step > at_export + 50, timeout=TIMEOUT)  # it went on
    window.toggle_play()
    saved = load_weights(tmp_path / "live" / "weights.npz")
    with open(tmp_path / "live" / "metrics.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == list(range(1, saved.state.step + 1))  # the CSV stops at the snapshot's step
    assert saved.summary["steps"] == saved.state.step


def test_reopened_weights_switch_architecture_only_when_accepted(qtbot, open_window, tmp_path):
    config = toy()
    config.architecture.hidden = [Layer(5, "relu")]
    other = Trainer(config)
    for _ in range(12):
        other.step()
    path = tmp_path / "other.npz"
    save_weights(path, other.config, other.snapshot(), {"steps": 12})
    window = open_window(toy(), steps=3)
    asked = []
    window.confirm = lambda title, text, items: asked.append(text + " " + "; ".join(items)) or False
    assert window.files.open_weights(path) is False
    assert "Architecture › Hidden layers: 2 → 1" in asked[0]
    assert "Architecture › Hidden layer 1 units: 8 → 5" in asked[0]
    assert window.info.sizes == (2, 8, 8, 1)
    window.confirm = lambda title, text, items: True
    assert window.files.open_weights(path)
    qtbot.waitUntil(lambda: window.info.sizes == (2, 5, 1), timeout=TIMEOUT)
    assert window.last_step == 12 and window.config.architecture.hidden == [Layer(5, "relu")]
    window.step(1)
    qtbot.waitUntil(lambda: window.last_step == 13, timeout=TIMEOUT)
    assert window.history.column("step").tolist() == [13]


def test_a_bad_weight_file_is_explained_and_the_window_goes_on(qtbot, open_window, tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not an archive")
    window = open_window(toy(), steps=2)
    assert window.files.open_weights(path) is False
    assert "broken.npz: not a .npz weight file" in window.banner.text() and window.banner.isVisible()
    window.step(1)
    qtbot.waitUntil(lambda: window.last_step == 3, timeout=TIMEOUT)


def test_experiment_saves_and_reopens(qtbot, open_window, tmp_path):
    window = open_window(toy())
    window.config.learning_rate.value = 0.02  # as if edited
    written(qtbot, window, lambda: window.files.save_experiment(tmp_path / "e.toml"))
    assert ExperimentConfig.load(tmp_path / "e.toml").learning_rate.value == 0.02
    xor = toy("xor")
    xor.save(tmp_path / "xor.toml")
    assert window.files.open_experiment(tmp_path / "xor.toml")
    qtbot.waitUntil(lambda: window.info.dataset == "xor", timeout=TIMEOUT)
    assert window.data_panel.dataset.value == "xor"


def test_a_failed_write_says_why_and_leaves_nothing(qtbot, open_window, tmp_path):
    window = open_window(toy(), steps=5)
    ok, message = written(qtbot, window, lambda: window.files.export_metrics(tmp_path / "missing" / "m.csv"))
    assert not ok and "Could not write metrics" in message and "No such file or directory" in message
    assert window.banner.isVisible()
    assert os.listdir(tmp_path) == []


def test_onnx_export_from_the_window_runs_in_onnx_runtime(qtbot, open_window, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    window = open_window(toy(), steps=10)
    ok, _ = written(qtbot, window, lambda: window.files.export_onnx(tmp_path / "m.onnx"))
    assert ok
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": np.zeros((4, 2), np.float32)})[0]
    assert out.shape == (4, 1) and ((0 < out) & (out < 1)).all()


def test_evaluate_reports_every_split(qtbot, open_window):
    window = open_window(toy(), steps=10)
    ok, message = written(qtbot, window, window.evaluate)
    assert ok and "train: loss" in message and "test: loss" in message and "accuracy" in message


def test_an_exporter_that_writes_nothing_is_an_error_and_leaves_nothing(
        tmp_path, monkeypatch, qtbot, open_window):
    from gdplayground.gui.widgets import plot_export
    window = open_window(toy(), steps=10)
    monkeypatch.setattr(plot_export.SVGExporter, "export", lambda self, **how: None)
    ok, message = written(qtbot, window, lambda: window.files.export_plots(tmp_path / "p", "svg"))
    assert not ok and "the SVG exporter gave nothing" in message
    assert not (tmp_path / "p").exists() or os.listdir(tmp_path / "p") == []


def test_big_png_exports_scale_their_lines_and_text_with_the_picture(qtbot, open_window, tmp_path):
    """At 3,200 pixels the legends and curves must not shrink to hairlines and specks."""
    window = open_window(toy(), steps=200)
    for width in (800, 3200):
        ok, message = written(qtbot, window, lambda: window.files.export_plots(tmp_path, "png", width))
        assert ok, message
        image = QImage(str(tmp_path / "loss.png")).convertToFormat(QImage.Format_Grayscale8)
        pixels = np.frombuffer(image.constBits(), np.uint8).reshape(
            image.height(), image.bytesPerLine())[:, :image.width()]
        ink = (pixels < 200).mean()
        if width == 800:
            small = ink
    assert ink > 0.6 * small  # unscaled lines and fonts left a quarter of the ink


def idx_folder(folder, n_train, seed=0):
    """A small MNIST-format folder: n_train training and 20 test images of 8x8 pixels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", 20)):
        images = rng.integers(0, 255, (n, 8, 8), dtype=np.uint8)
        labels = rng.integers(0, 3, n, dtype=np.uint8)
        for kind, array, ndim_code in (("images", images, 3), ("labels", labels, 1)):
            header = bytes([0, 0, 8, ndim_code]) + np.array(array.shape, ">u4").tobytes()
            (folder / f"{prefix}-{kind}-idx{ndim_code}-ubyte").write_bytes(header + array.tobytes())
    return folder


def test_weights_that_do_not_fit_their_data_are_refused_on_screen_and_the_run_goes_on(
        qtbot, open_window, tmp_path):
    config = preset("mnist")
    config.data.name, config.data.path = "idx", str(idx_folder(tmp_path / "digits", 100))
    config.data.validation_split, config.architecture.hidden = 0.0, [Layer(6, "relu")]
    config.batch.size = 32
    trainer = Trainer(config)
    for _ in range(5):  # mid-epoch: the file holds the order of the 100 training examples
        trainer.step()
    save_weights(tmp_path / "w.npz", trainer.config, trainer.snapshot(), {"steps": 5})
    idx_folder(tmp_path / "digits", 80, seed=1)  # the folder changed since
    window = open_window(toy(), steps=3)
    window.confirm = lambda title, text, items: True
    assert window.files.open_weights(tmp_path / "w.npz")
    qtbot.waitUntil(window.banner.isVisible, timeout=TIMEOUT)
    qtbot.wait(300)  # whatever the worker does next, the message stays
    assert window.banner.isVisible() and "80 training examples" in window.banner.text()
    assert window.info.dataset == "spiral" and window.last_step == 3  # the run as it was
    window.step(1)
    qtbot.waitUntil(lambda: window.last_step == 4, timeout=TIMEOUT)


def test_an_export_writes_its_files_off_the_gui_thread_and_captures_one_plot_a_turn(
        qtbot, open_window, tmp_path, monkeypatch):
    """Export run held the window for seconds (PNG encoding, SVG, ONNX, CSV): the window must
    answer between the plots it draws and while the files are written."""
    import threading

    from gdplayground.gui.window import export_queue
    from gdplayground.gui.widgets import plot_export
    window = open_window(toy(), steps=20)
    threads, turned = set(), []  # at each capture: has the event loop turned since the last?
    encode = plot_export.save_png
    monkeypatch.setattr(plot_export, "save_png", lambda picture, path: (
        threads.add(threading.current_thread()), encode(picture, path)))
    take = export_queue.capture

    def capture(*how):
        turned.append(len(turned) == 0 or marks[-1])
        marks.append(False)
        QTimer.singleShot(0, lambda: marks.__setitem__(-1, True))
        return take(*how)
    marks = []
    monkeypatch.setattr(export_queue, "capture", capture)
    ok, message = written(qtbot, window, lambda: window.files.export_run(tmp_path / "run"))
    assert ok, message
    assert threads and threading.main_thread() not in threads
    assert len(turned) == 8 and all(turned)  # 4 plots, PNG and SVG, each in a turn of its own
    assert (tmp_path / "run" / "loss.png").stat().st_size and (tmp_path / "run" / "README.md").exists()


def test_a_cancelled_export_leaves_nothing_and_the_next_one_goes_on(
        qtbot, open_window, tmp_path, monkeypatch):
    import threading

    from gdplayground.gui.window import file_actions
    window = open_window(toy(), steps=20)
    writing, go_on = threading.Event(), threading.Event()
    save = file_actions.save_pictures
    monkeypatch.setattr(file_actions, "save_pictures", lambda *args: (
        writing.set(), go_on.wait(10), save(*args)))
    said = []
    window.files.written.connect(lambda *args: said.append(args))
    window.files.export_run(tmp_path / "run")
    window.files.export_weights(tmp_path / "w.npz")  # queued behind it
    qtbot.waitUntil(writing.is_set, timeout=TIMEOUT)
    window.files.exports.cancel()
    go_on.set()
    qtbot.waitUntil(lambda: len(said) == 2, timeout=TIMEOUT)
    (ok, message), (weights_ok, _) = said
    assert not ok and message == f"Cancelled: the run to {tmp_path / 'run'} was not written"
    assert weights_ok and sorted(os.listdir(tmp_path)) == ["w.npz"]  # no staging folder left
    assert not window.banner.isVisible()  # a cancel the user asked for is no failure to show
    ok, _ = written(qtbot, window, lambda: (window.files.export_weights(tmp_path / "v.npz"),
                                            window.files.exports.cancel()))  # before the snapshot
    assert not ok and not (tmp_path / "v.npz").exists()


def test_closing_the_window_during_an_export_finishes_it(qtbot, open_window, tmp_path):
    window = open_window(toy(), steps=20)
    window.files.export_run(tmp_path / "run")
    window.files.export_plots(tmp_path / "plots", "svg")
    window.close()
    assert (tmp_path / "run" / "README.md").exists() and (tmp_path / "run" / "loss.svg").exists()
    assert (tmp_path / "plots" / "loss.svg").exists()
