"""The File menu: experiments (TOML) in and out, weights in and out, and the exports: the whole
run as a folder, the weights, ONNX, a PyTorch script, the plots and the metrics. Exports take one
consistent step from the worker while training goes on, and write their files off the GUI
thread, one after the other (export_queue). Every write says what it wrote or why it could not."""

from __future__ import annotations

import copy
import time
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gdplayground.config import ConfigError, ExperimentConfig, differences
from gdplayground.data.datasets import load_dataset
from gdplayground.engine.trainer import needs_reset
from gdplayground.store.export import RunFolder, summarised_metrics_note, write_run
from gdplayground.files import atomic_path
from gdplayground.gui.window.actions import make_action
from gdplayground.gui.widgets.background import Cancelled
from gdplayground.gui.window.export_queue import ExportQueue
from gdplayground.gui.widgets.plot_export import PNG_WIDTHS, choose_plots_target, save_pictures
from gdplayground.gui.widgets.training_run import Snapshot
from gdplayground.labs.replay import StepNetwork
from gdplayground.store.animation import (
    MP4_HINT, Animation, LossCurve, Scene, mp4_available, replay_points, write_animation)
from gdplayground.store.onnx_export import INSTALL_HINT, onnx_available, save_onnx
from gdplayground.store.torch_export import write_torch_folder
from gdplayground.store.weights import WeightFileError, load_weights, save_weights


class FileActions(QObject):
    def __init__(self, window):
        """`window` is the MainWindow: its session, history, configuration, views and banner."""
        super().__init__(window)
        self.window = window
        self.exports = ExportQueue(window)
        self.written = self.exports.written  # after a save or export: (succeeded, its message)
        self._export = self.exports.add
        entries = [
            ("Open experiment…", ["Ctrl+O"], "Load an experiment file (TOML), as saved here or "
             "used by gdplayground train --config", self._choose_experiment),
            ("Save experiment…", ["Ctrl+S"], "Save the experiment's settings as a TOML file",
             self._choose_experiment_target),
            None,
            ("Open weights…", ["Ctrl+Shift+O"], "Reopen exported weights (.npz) to evaluate them "
             "or go on training with their settings", self._choose_weights),
            None,
            ("Export run…", ["Ctrl+E"], "Write weights, ONNX, plots, metrics, settings, every "
             "change of a setting and a README into one folder", self._choose_run_folder),
            ("Export weights…", [], "Save the trained weights as .npz (NumPy reads it without "
             "pickle)", self._choose_weights_target),
            ("Export ONNX…", [], "Save the network as an ONNX model for ONNX Runtime",
             self._choose_onnx_target),
            ("Export PyTorch script…", [], "Save the network as a standalone PyTorch script "
             "(model_torch.py, which needs only NumPy and PyTorch) with the weights it loads and "
             "the test set it evaluates, in a new folder", self._choose_torch_folder),
            ("Export plots…", [], "Save every plot as PNG or SVG", self._choose_plots_folder),
            ("Export metrics (CSV)…", [], "Save loss, accuracy, learning rate and gradient "
             "norms: a row per step (a long run's early steps as blocks, at each block's mean, "
             "to keep the window's memory bounded)", self._choose_csv_target),
            ("Export animation…", [], "Save the run's replay for slides: a frame per kept step, "
             "its picture beside the loss curve, as an animated GIF (or MP4 with "
             "imageio-ffmpeg)", self._choose_animation_target),
        ]
        self.actions = [None if entry is None else make_action(window, *entry) for entry in entries]
        self.export_run_action = self.actions[5]

    # --- experiments and weights -------------------------------------------------------------
    def open_experiment(self, path: Path) -> bool:
        try:
            config = ExperimentConfig.load(path)
        except ConfigError as exc:
            self._say(str(exc), "open")
            return False
        opened = self.window.propose(config, f"Opening {Path(path).name} starts a new run with "
                                     "these settings:", differences(self.window.config, config))
        if opened:
            self.window.banner.clear("open")
        return opened

    def save_experiment(self, path: Path) -> None:
        config = copy.deepcopy(self.window.config)
        self._export(f"the experiment to {path}", lambda _: ({}, lambda *_: config.save(path)))

    def open_weights(self, path: Path) -> bool:
        """Reopen a weight file with its own configuration, asking first if that changes the
        data or the network (and listing every setting that differs)."""
        window = self.window
        try:
            saved = load_weights(path)
        except WeightFileError as exc:
            self._say(str(exc), "open")
            return False
        if needs_reset(window.config, saved.config) and not window.confirm(
                "Switch to the file's network?",
                f"{Path(path).name} was trained with other settings:",
                differences(window.config, saved.config)):
            return False
        for kind in ("open", "note"):  # a file opened; the panels change
            window.banner.clear(kind)
        window.config = copy.deepcopy(saved.config)
        window.load_panels(window.config)
        window.keeper.keep()  # the run on show joins the run list
        window.session.resume(saved)
        return True

    # --- exports: each prepared from the window on its thread, written on another ---------
    def export_run(self, folder: Path) -> None:
        def prepare(snap: Snapshot):
            self.window.redraw()  # the snapshot's frames have arrived: draw them before exporting
            history, summary = copy.deepcopy(self.window.history), self._summary(snap)
            plots = self._plots({"png": PNG_WIDTHS[1], "svg": None})

            def write(pictures: dict, progress, cancelled) -> None:
                """The run folder, all or nothing: metrics, plots, then weights, settings and
                README."""
                with RunFolder(folder) as run:
                    with atomic_path(run.file("metrics.csv")) as tmp, open(tmp, "w", newline="") as f:
                        history.write_csv(f, until_step=snap.state.step)
                    save_pictures(pictures, run.staging, progress, cancelled)
                    write_run(run, snap.config, snap.state, summary, snap.input_scale,
                              started_with=snap.started_with, changes=snap.changes,
                              notes=summarised_metrics_note(history.summarised_until),
                              preparation=snap.preparation)
                    if cancelled():
                        raise Cancelled
            return plots, write
        self._export(f"the run to {folder}", prepare, snapshot=True)

    def export_weights(self, path: Path) -> None:
        def prepare(snap: Snapshot):
            summary = self._summary(snap)
            return {}, lambda *_: save_weights(path, snap.config, snap.state, summary,
                                                            snap.preparation)
        self._export(f"weights to {path}", prepare, snapshot=True)

    def export_onnx(self, path: Path) -> None:
        self._export(f"the ONNX model to {path}", lambda snap: ({}, lambda *_: save_onnx(
            path, snap.config, snap.state.parameters, snap.input_scale, snap.preparation)),
            snapshot=True)

    def export_torch(self, folder: Path) -> None:
        def prepare(snap: Snapshot):
            summary, sizes = self._summary(snap), self.window.info.sizes

            def write(_, progress, cancelled) -> None:
                # The run's own data: the same settings and seed split and prepare it the same
                # way; loaded here, off the window's thread (MNIST takes a second).
                dataset = load_dataset(snap.config.data, snap.config.seed, snap.preparation)
                if cancelled():
                    raise Cancelled
                write_torch_folder(folder, snap.config, snap.state, summary, sizes, dataset)
            return {}, write
        self._export(f"the PyTorch script to {folder}", prepare, snapshot=True)

    def export_plots(self, folder: Path, suffix: str, width: int | None = None) -> None:
        def prepare(_):
            self.window.redraw()
            plots = self._plots({suffix: width})
            return plots, lambda pictures, *how: save_pictures(pictures, folder, *how)
        self._export(f"the plots to {folder}", prepare)

    def export_metrics(self, path: Path) -> None:
        def prepare(_):
            history = copy.deepcopy(self.window.history)

            def write(*_) -> None:
                with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="") as f:
                    history.write_csv(f)
            return {}, write
        self._export(f"metrics to {path}", prepare)

    def export_animation(self, path: Path) -> None:
        def prepare(snap: Snapshot):
            info, history = self.window.info, self.window.history
            rows = history.rows(until_step=snap.state.step)
            curve = LossCurve(rows[:, 0], rows[:, history.measured.index("loss")], "training loss")
            stepper = StepNetwork(snap.config, info.sizes, snap.input_scale, info.image_shape)
            steps, weights = replay_points(snap.state.path, snap.state.step,
                                           stepper.flat_of(snap.state.parameters))
            scene = Scene(info.dataset, info.points, info.labels, info.image_shape, info.solution,
                          info.extent, info.n_classes)
            animation = Animation(stepper, scene, steps, weights, curve)

            def write(_, progress, cancelled) -> None:
                if not write_animation(path, animation, progress, cancelled):
                    raise Cancelled
            return {}, write
        self._export(f"the animation to {path}", prepare, snapshot=True)

    def _plots(self, formats: dict) -> dict:
        """The plots on show as {file name: (item, PNG width)}, in each of `formats`
        {suffix: PNG width}."""
        return {f"{name}.{suffix}": (item, width) for suffix, width in formats.items()
                for name, item in self.window.training.plots().items()}

    def _summary(self, snap: Snapshot) -> dict:
        state = snap.state
        return {"steps": state.step, "epochs": state.epochs, "samples_seen": state.samples_seen,
                "seconds": self.window.training_seconds(),
                **self.window.history.latest(until_step=state.step)}

    def _say(self, message: str, kind: str) -> None:
        """A file's problem, on the tab it was met on (File ▸ Open weights on the Runs tab, say:
        there the user looks for what happened)."""
        self.window.banner.say(message, kind, self.window.tabs.currentWidget())

    # --- dialogs -----------------------------------------------------------------------------
    def _choose_experiment(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open experiment", "", "Experiment (*.toml)")
        if path:
            self.open_experiment(Path(path))

    def _choose_experiment_target(self) -> None:
        path = _save_path(self.window, "Save experiment", "experiment.toml", "Experiment", ".toml")
        if path:
            self.save_experiment(path)

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open weights", "", "Weights (*.npz)")
        if path:
            self.open_weights(Path(path))

    def _choose_run_folder(self) -> None:
        """A new folder, named in a save dialog (a folder dialog refuses a name that does not
        exist yet); an earlier run's folder, named again, is replaced whole."""
        default = f"{self.window.config.data.name}-run-{time.strftime('%Y%m%d-%H%M%S')}"
        folder, _ = QFileDialog.getSaveFileName(self.window, "Export the run as a new folder",
                                                default)
        if folder:
            self.export_run(Path(folder))

    def _choose_weights_target(self) -> None:
        path = _save_path(self.window, "Export weights", "weights.npz", "Weights", ".npz")
        if path:
            self.export_weights(path)

    def _choose_onnx_target(self) -> None:
        if not onnx_available():
            QMessageBox.information(self.window, "ONNX export",
                                    INSTALL_HINT + ", then restart gdplayground.")
            return
        path = _save_path(self.window, "Export ONNX", "model.onnx", "ONNX", ".onnx")
        if path:
            self.export_onnx(path)

    def _choose_torch_folder(self) -> None:
        """A new folder, named in a save dialog as for Export run…; an earlier PyTorch export's
        folder, named again, is replaced whole."""
        default = f"{self.window.config.data.name}-torch"
        folder, _ = QFileDialog.getSaveFileName(self.window, "Export the PyTorch script as a new "
                                                "folder", default)
        if folder:
            self.export_torch(Path(folder))

    def _choose_plots_folder(self) -> None:
        target = choose_plots_target(self.window, self.window.training.plots())
        if target:
            self.export_plots(*target)

    def _choose_animation_target(self) -> None:
        """GIF always; MP4 offered where imageio-ffmpeg is installed, or said how to get it."""
        kinds = "Animated GIF (*.gif)" + (";;MP4 video (*.mp4)" if mp4_available() else "")
        title = "Export animation" + ("" if mp4_available() else f" (GIF; {MP4_HINT})")
        path, chosen = QFileDialog.getSaveFileName(self.window, title, "replay.gif", kinds)
        if path:
            path = Path(path)
            typed = path.suffix.lower() == ".gif" or (path.suffix.lower() == ".mp4" and mp4_available())
            self.export_animation(path if typed else
                                  with_suffix(path, ".mp4" if "mp4" in chosen else ".gif"))

    def _choose_csv_target(self) -> None:
        path = _save_path(self.window, "Export metrics", "metrics.csv", "CSV", ".csv")
        if path:
            self.export_metrics(path)


def _save_path(parent, title: str, default: str, kind: str, suffix: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, default, f"{kind} (*{suffix})")
    return with_suffix(Path(path), suffix) if path else None


def with_suffix(path: Path, suffix: str) -> Path:
    """The path with the file type's suffix: a file saved without it would be hidden by the Open
    dialog's filter later."""
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)
