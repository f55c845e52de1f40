"""The File menu: experiments (TOML) in and out, weights in and out, and the exports: the whole
run as a folder, the weights, ONNX, the plots and the metrics. Exports take one consistent step
from the worker while training goes on. Every write says what it wrote or why it could not."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gdplayground.config import ConfigError, ExperimentConfig, differences
from gdplayground.engine.trainer import needs_reset
from gdplayground.export import RunFolder, summarised_metrics_note, write_run
from gdplayground.files import atomic_path
from gdplayground.gui.actions import make_action
from gdplayground.gui.plot_export import PNG_WIDTHS, choose_plots_target, export_plots
from gdplayground.gui.worker import Snapshot
from gdplayground.onnx_export import INSTALL_HINT, onnx_available, save_onnx
from gdplayground.weights import WeightFileError, load_weights, save_weights


class FileActions(QObject):
    written = Signal(bool, str)  # after an export or save: (succeeded, what it says to the user)

    def __init__(self, window):
        """`window` is the MainWindow: its session, history, configuration, views and banner."""
        super().__init__(window)
        self.window = window
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
            ("Export plots…", [], "Save every plot as PNG or SVG", self._choose_plots_folder),
            ("Export metrics (CSV)…", [], "Save one row per step: loss, accuracy, learning rate, "
             "gradient norms", self._choose_csv_target),
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
        self._write(f"the experiment to {path}", lambda: self.window.config.save(path))

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

    # --- exports -----------------------------------------------------------------------------
    def export_run(self, folder: Path) -> None:
        def write(snap: Snapshot) -> None:
            self.window.redraw()  # the snapshot's frames have arrived: draw them before exporting
            self._write_run(folder, snap)
        self._from_snapshot(f"the run to {folder}", write)

    def _write_run(self, folder: Path, snap: Snapshot) -> None:
        """The run folder, all or nothing: metrics, plots, then weights, settings and README."""
        history, plots = self.window.history, self.window.training.plots()
        with RunFolder(folder) as run:
            with atomic_path(run.file("metrics.csv")) as tmp, open(tmp, "w", newline="") as f:
                history.write_csv(f, until_step=snap.state.step)
            export_plots(plots, run.staging, "png", PNG_WIDTHS[1])
            export_plots(plots, run.staging, "svg")
            write_run(run, snap.config, snap.state, self._summary(snap), snap.input_scale,
                      started_with=snap.started_with, changes=snap.changes,
                      notes=summarised_metrics_note(history.summarised_until))

    def export_weights(self, path: Path) -> None:
        self._from_snapshot(f"weights to {path}", lambda snap: save_weights(
            path, snap.config, snap.state, self._summary(snap)))

    def export_onnx(self, path: Path) -> None:
        self._from_snapshot(f"the ONNX model to {path}", lambda snap: save_onnx(
            path, snap.config, snap.state.parameters, snap.input_scale))

    def export_plots(self, folder: Path, suffix: str, width: int | None = None) -> None:
        self.window.redraw()
        self._write(f"the plots to {folder}",
                    lambda: export_plots(self.window.training.plots(), folder, suffix, width))

    def export_metrics(self, path: Path) -> None:
        def write() -> None:
            with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="") as f:
                self.window.history.write_csv(f)
        self._write(f"metrics to {path}", write)

    def _summary(self, snap: Snapshot) -> dict:
        state = snap.state
        return {"steps": state.step, "epochs": state.epochs, "samples_seen": state.samples_seen,
                "seconds": self.window.training_seconds(),
                **self.window.history.latest(until_step=state.step)}

    def _from_snapshot(self, what: str, write: Callable[[Snapshot], None]) -> None:
        """Write `what` from a consistent copy of the run, which the worker is asked for."""
        def answered(snap: Snapshot | None) -> None:
            if snap is None:
                self._failed_to_write(f"Could not write {what}: there is no run")
            else:
                self._write(what, lambda: write(snap))
        self.window.session.ask("snapshot", answered,
                                lambda why: self._failed_to_write(f"Could not write {what}. {why}"))

    def _write(self, what: str, action: Callable) -> None:
        """Run a write, and tell the user what was written or what failed (and why)."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - OSError, or an exporter's own: say it, keep the app
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self._failed_to_write(f"Could not write {what}: {reason}")
            return
        self.window.banner.clear("write")  # an earlier failure is not the news any more
        self.window.statusBar().showMessage(f"Wrote {what}", 8000)
        self.written.emit(True, f"Wrote {what}")

    def _failed_to_write(self, message: str) -> None:
        self._say(message, "write")
        self.written.emit(False, message)

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

    def _choose_plots_folder(self) -> None:
        target = choose_plots_target(self.window, self.window.training.plots())
        if target:
            self.export_plots(*target)

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
