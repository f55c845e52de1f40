"""The main window: panels on the left, live views in the middle, run controls on top.

The window holds the one experiment configuration the panels edit, sends it to the training
session, and draws what the session reports. It never runs a training step and never reads an
array the worker writes: frames arrive as copies, and views redraw at most ~30 times a second.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget, QFileDialog, QGridLayout, QInputDialog, QLabel, QMainWindow, QMessageBox,
    QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from gdplayground.config import DATASET_WORDS, ConfigError, ExperimentConfig, differences, preset
from gdplayground.export import RunFolder, summarised_metrics_note, write_run
from gdplayground.files import atomic_path
from gdplayground.onnx_export import INSTALL_HINT, onnx_available, save_onnx
from gdplayground.weights import WeightFileError, load_weights, save_weights
from gdplayground.engine.history import History
from gdplayground.engine.trainer import needs_reset
from gdplayground.gui.decision_boundary import DecisionBoundaryView
from gdplayground.gui.linear_system_view import LinearSystemView
from gdplayground.gui.panels import (
    ArchitecturePanel, DataPanel, LearningRatePanel, OptimizerPanel)
from gdplayground.gui.plot_export import PNG_WIDTHS, export_plots
from gdplayground.gui.plots import AccuracyView, GradientView, LossView
from gdplayground.gui.weight_mosaic import WeightMosaic
from gdplayground.gui.worker import Frame, RunInfo, Snapshot, TrainingSession

REDRAW_INTERVAL_MS = 33  # at most ~30 redraws a second, however fast training runs
SLOWEST_REDRAW_MS = 45  # while training, redraws slow down to this at most: gaps stay under 50 ms
GUI_CPU_BUDGET = 0.08  # share of a core the window may spend while training; the rest trains
BANNER_STYLE = "background:#fdecea; color:#8a1c12; padding:8px; border:1px solid #f5c2bd;"


def _same(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


class MainWindow(QMainWindow):
    redrawn = Signal()  # after views were redrawn from new data (tests and screenshots wait on it)
    written = Signal(bool, str)  # after an export or save: (succeeded, what it says to the user)

    def __init__(self, config: ExperimentConfig | None = None):
        pg.setConfigOptions(antialias=True, background="w", foreground="k", imageAxisOrder="row-major")
        super().__init__()
        self.setWindowTitle("gdplayground")
        self.config = copy.deepcopy(config or preset("mnist")).validate()
        self.run_config = copy.deepcopy(self.config)  # what the current run was built from
        self.history = History(0)
        self.info: RunInfo | None = None
        self.last_step, self.last_epoch, self.last_lr = 0, 0, self.config.learning_rate.value
        self.running = False  # the worker is training (as last reported)
        self.diverged = False  # the last step diverged or was refused for it
        self.playing, self._play_ticket = False, None  # the user pressed Play and not since paused
        self._dirty, self._picture = False, None  # new curve data; a frame with a new picture
        self._stale, self._turn = set(), 0  # plots with undrawn data, and whose turn it is
        self._pace_mark: tuple[float, float] | None = None  # (wall clock, GUI thread CPU clock)
        self._elapsed, self._run_started_at = 0.0, None
        self._rate, self._rate_mark = 0.0, None
        self.confirm = self._ask  # replaced in tests
        self._build_views()
        self._build_panels()
        self._build_actions()
        self._build_status_bar()
        self.session = TrainingSession(self.config, self)
        self.session.started.connect(self._on_started)
        self.session.framed.connect(self._on_frame)
        self.session.job_changed.connect(self._on_job_changed)
        self.session.failed.connect(self._on_failed)
        self.redraw_timer = QTimer(self)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start(REDRAW_INTERVAL_MS)
        self.resize(1440, 900)

    # --- layout ----------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.loss_view, self.accuracy_view = LossView(), AccuracyView()
        self.gradient_view = GradientView()
        self.mosaic, self.boundary = WeightMosaic(), DecisionBoundaryView()
        self.linear_view = LinearSystemView()
        self.placeholder = QLabel("This dataset has no picture of its own.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.data_view = QStackedWidget()
        for view in (self.mosaic, self.boundary, self.linear_view, self.placeholder):
            self.data_view.addWidget(view)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        grid = QGridLayout()
        grid.addWidget(self.loss_view, 0, 0)
        grid.addWidget(self.accuracy_view, 0, 1)
        grid.addWidget(self.gradient_view, 1, 0)
        grid.addWidget(self.data_view, 1, 1)
        for i in (0, 1):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addLayout(grid)
        self.setCentralWidget(central)

    def _build_panels(self) -> None:
        self.panels = [DataPanel(), ArchitecturePanel(), OptimizerPanel(), LearningRatePanel()]
        self.data_panel, self.architecture_panel, self.optimizer_panel, self.lr_panel = self.panels
        column = QWidget()
        layout = QVBoxLayout(column)
        for panel in self.panels:
            panel.load(self.config)
            panel.changed.connect(self._on_panel_changed)
            layout.addWidget(panel)
        layout.addStretch()
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(column.sizeHint().width() + 20)
        dock = QDockWidget("Experiment")
        dock.setObjectName("experiment")
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)

    def _build_actions(self) -> None:
        def action(text, shortcuts, tip, slot):
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
            act.setToolTip(f"{tip} ({', '.join(shortcuts)})")
            act.setStatusTip(tip)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.play_action = action("Play", ["Space"], "Train continuously; press again to pause",
                                  self.toggle_play)
        self.step_action = action("Step", ["Right", "N"], "Pause, then train exactly one iteration",
                                  lambda: self.step(1))
        self.epoch_action = action("Step epoch", ["Shift+Right"],
                                   "Pause, then train to the end of the current epoch",
                                   lambda: self.step(-1))
        self.reset_action = action("Reset", ["Ctrl+R"],
                                   "Start the run again from fresh weights and the same seed", self.reset)
        quit_action = action("Quit", ["Ctrl+Q"], "Close the playground", self.close)
        evaluate_action = action("Evaluate", ["Ctrl+T"], "Measure loss and accuracy of the current "
                                 "weights on the training, validation and test sets", self.evaluate)
        file_actions = [
            action("Open experiment…", ["Ctrl+O"], "Load an experiment file (TOML), as saved here "
                   "or used by gdplayground train --config", self._choose_experiment),
            action("Save experiment…", ["Ctrl+S"], "Save the experiment's settings as a TOML file",
                   self._choose_experiment_target),
            None,
            action("Open weights…", ["Ctrl+Shift+O"], "Reopen exported weights (.npz) to evaluate "
                   "them or go on training with their settings", self._choose_weights),
            None,
            action("Export run…", ["Ctrl+E"], "Write weights, ONNX, plots, metrics, settings and a "
                   "README into one folder", self._choose_run_folder),
            action("Export weights…", [], "Save the trained weights as .npz (NumPy reads it without "
                   "pickle)", self._choose_weights_target),
            action("Export ONNX…", [], "Save the network as an ONNX model for ONNX Runtime",
                   self._choose_onnx_target),
            action("Export plots…", [], "Save every plot as PNG or SVG", self._choose_plots_folder),
            action("Export metrics (CSV)…", [], "Save one row per step: loss, accuracy, learning "
                   "rate, gradient norms", self._choose_csv_target),
            None, quit_action]
        self.export_run_action = file_actions[5]
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run")
        toolbar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        run_actions = [self.play_action, self.step_action, self.epoch_action, self.reset_action]
        for act in run_actions:
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.export_run_action)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for act in file_actions:
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        run_menu = menu.addMenu("&Run")
        for act in [*run_actions, evaluate_action]:
            run_menu.addAction(act)
        view_menu = menu.addMenu("&View")
        log_action = view_menu.addAction("Log-scale loss")
        log_action.setCheckable(True)
        log_action.toggled.connect(self.loss_view.log_scale.setChecked)
        self.loss_view.log_scale.toggled.connect(log_action.setChecked)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self._update_status()

    # --- commands --------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.playing:
            self._stop_playing()
            self.session.pause()
        else:
            self.playing, self._play_ticket = True, self.session.play()
            self._show_playing()

    def step(self, steps: int) -> None:
        self._stop_playing()
        self.session.step(steps)

    def reset(self) -> None:
        self._stop_playing()
        self.session.reset()

    def _stop_playing(self) -> None:
        self.playing = False
        self._show_playing()

    def _on_panel_changed(self) -> None:
        new = copy.deepcopy(self.config)
        for panel in self.panels:
            panel.store(new)
        if new.data.name != self.config.data.name:
            new = self._switch_dataset(new)
        self.propose(new)

    def propose(self, new: ExperimentConfig, question: str = "") -> bool:
        """Make `new` the experiment: at once if training can go on, after asking if it starts a
        new run of one already under way. Returns False if it was refused or declined."""
        try:
            new.validate()
        except ConfigError as exc:
            self.show_problem(str(exc))
            self._load_panels(self.config)
            return False
        resets = needs_reset(self.config, new)
        if resets and self.last_step > 0 and not self.confirm(
                "Start a new run?", question or
                "Changing the data or the network starts a new run from fresh weights; the "
                "curves of this run will be cleared."):
            self._load_panels(self.config)
            return False
        self.config = new
        self._load_panels(new)
        self.session.apply(new)
        self._show_smoothing()
        return True

    def _switch_dataset(self, edited: ExperimentConfig) -> ExperimentConfig:
        """A new dataset comes with the network and optimizer suited to it."""
        fresh = preset(edited.data.name)
        fresh.data.path, fresh.seed = edited.data.path, edited.seed
        return fresh

    def _load_panels(self, config: ExperimentConfig) -> None:
        for panel in self.panels:
            panel.load(config)

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.Ok | QMessageBox.Cancel)
        return answer == QMessageBox.Ok

    def show_problem(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()

    # --- what the session reports ----------------------------------------------------------
    @Slot(object)
    def _on_started(self, info: RunInfo) -> None:
        """A new run (or the same one reset): clear the curves, and lay the views out again
        only where the data or the network changed (rebuilding them costs a reset's time)."""
        previous, self.info = self.info, info
        self.run_config = copy.deepcopy(self.session.config)
        self.history = History(len(info.sizes) - 1)
        self.last_step, self.last_epoch, self._elapsed, self._rate = info.step, info.epochs, 0.0, 0.0
        self.banner.hide()
        for view in (self.loss_view, self.accuracy_view, self.gradient_view):
            view.restart()
        same_data = previous is not None and previous.dataset == info.dataset and \
            _same(previous.points, info.points) and _same(previous.test_points, info.test_points)
        if previous is None or previous.sizes != info.sizes:
            self.gradient_view.set_layers(info.sizes)
        self.accuracy_view.set_classes(info.n_classes is not None)
        self._show_smoothing()
        self.architecture_panel.set_io(info.sizes[0], info.sizes[-1])
        if info.image_shape is not None:
            self.mosaic.set_layout(info.image_shape, info.initial_first_layer,
                                   class_templates=len(info.sizes) == 2)
            self.data_view.setCurrentWidget(self.mosaic)
        elif info.points is not None:
            if not same_data:
                self.boundary.set_points(info.points, info.labels, info.test_points, info.test_labels)
            self.data_view.setCurrentWidget(self.boundary)
        elif info.solution is not None:
            self.linear_view.set_solution(info.solution)
            self.data_view.setCurrentWidget(self.linear_view)
        else:
            self.data_view.setCurrentWidget(self.placeholder)
        self.setWindowTitle(f"gdplayground — {DATASET_WORDS.get(info.dataset, info.dataset)}")

    @Slot(object)
    def _on_frame(self, frame: Frame) -> None:
        self.history.add(frame.reports)
        problems = [r for r in frame.reports if r.status != "ok"]
        if problems:
            self.show_problem(problems[-1].message)
        elif frame.reports:
            self.banner.hide()  # training goes on again: the problem is solved
        if frame.reports:
            last = frame.reports[-1]
            self.last_step, self.last_epoch, self.last_lr = last.step, last.epoch, last.learning_rate
            self.diverged = last.status != "ok"
        if self.data_view.currentWidget() is self.linear_view:
            rollbacks = [r.step for r in problems if r.status == "diverged"]
            self.linear_view.add_path(frame.path, rollbacks[-1] if rollbacks else None)
        self._measure_rate(frame)
        self._dirty = True
        if frame.first_layer is not None:
            self._picture = frame

    @Slot(bool, int)
    def _on_job_changed(self, running: bool, ticket: int) -> None:
        """A training job started or ended; if it was the Play job, playing is over."""
        now = time.perf_counter()
        if running and not self.running:
            self._run_started_at = now
        elif not running and self._run_started_at is not None:
            self._elapsed += now - self._run_started_at
            self._run_started_at, self._rate_mark = None, None
        self.running = running
        if not running and ticket == self._play_ticket:
            self._stop_playing()  # it ended by itself: diverged

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        """A configuration the worker could not use: say why and go back to the run's own."""
        self.show_problem(f"Could not start that run: {message}")
        self.config = copy.deepcopy(self.run_config)
        self._load_panels(self.config)
        self.session.apply(self.config)

    # --- drawing ---------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        """Draw the data that arrived since the last redraw: while training one plot a frame,
        in turn (each frame stays cheap, so frames stay frequent); when paused, everything."""
        self._update_status()
        self._pace()
        plots = (self.loss_view, self.accuracy_view, self.gradient_view)
        if self._dirty:
            self._dirty, self._stale = False, set(plots)
        if self._stale:
            for _ in range(len(plots) if not self.running else 1):
                view = self._next_stale(plots)
                if view is None:
                    break
                view.draw(self.history)
            if not self._stale:
                self.redrawn.emit()
        if self._picture is not None:
            self._draw_picture(self._picture)
            self._picture = None

    def _next_stale(self, plots):
        """The next plot, in turn, that has data it has not drawn; None when all are current."""
        for _ in plots:
            self._turn = (self._turn + 1) % len(plots)
            if plots[self._turn] in self._stale:
                self._stale.discard(plots[self._turn])
                return plots[self._turn]
        return None

    def _draw_picture(self, frame: Frame) -> None:
        """The data view, from a frame that brings a picture (at most 5 a second: see Frame)."""
        current = self.data_view.currentWidget()
        if current is self.mosaic:
            self.mosaic.show_weights(frame.first_layer)
        elif current is self.boundary and frame.boundary is not None:
            self.boundary.show_boundary(frame.boundary)
        elif current is self.linear_view:
            self.linear_view.draw(self.history)

    def _pace(self) -> None:
        """While training, stretch the redraw interval so that the window's own CPU time stays
        near GUI_CPU_BUDGET: drawing and training share one interpreter lock and two cores."""
        now, cpu = time.perf_counter(), time.thread_time()
        interval = REDRAW_INTERVAL_MS
        if self.running and self._pace_mark is not None:
            busy = (cpu - self._pace_mark[1]) / max(now - self._pace_mark[0], 1e-6)
            wanted = self.redraw_timer.interval() * busy / GUI_CPU_BUDGET
            smoothed = 0.7 * self.redraw_timer.interval() + 0.3 * wanted
            interval = int(min(max(smoothed, REDRAW_INTERVAL_MS), SLOWEST_REDRAW_MS))
        self._pace_mark = (now, cpu)
        if interval != self.redraw_timer.interval():
            self.redraw_timer.setInterval(interval)

    def _show_smoothing(self) -> None:
        """Full-batch curves are exact: a moving average would only lag behind them."""
        noisy = self.config.batch.mode != "full"
        self.loss_view.show_smoothed(noisy)
        self.gradient_view.show_smoothed(noisy)

    def _show_playing(self) -> None:
        self.play_action.setText("Pause" if self.playing else "Play")

    def _measure_rate(self, frame: Frame) -> None:
        """Training samples per second, timed on the worker's clock and smoothed."""
        if frame.running and self._rate_mark is not None:
            seconds = frame.time - self._rate_mark[0]
            if seconds > 0:
                rate = (frame.samples_seen - self._rate_mark[1]) / seconds
                self._rate = rate if not self._rate else 0.8 * self._rate + 0.2 * rate
        self._rate_mark = (frame.time, frame.samples_seen) if frame.running else None

    def _update_status(self) -> None:
        elapsed = self._elapsed
        if self._run_started_at is not None:
            elapsed += time.perf_counter() - self._run_started_at
        minutes, seconds = divmod(int(elapsed), 60)
        self.status_label.setText(
            f"step {self.last_step:,}   epoch {self.last_epoch}   "
            f"{f'{self._rate:,.0f}' if self._rate else '—'} samples/s   "
            f"{minutes}:{seconds:02d} elapsed   "
            f"learning rate {self.last_lr:.3g}")

    # --- files ---------------------------------------------------------------------------------
    def open_experiment(self, path: Path) -> bool:
        try:
            config = ExperimentConfig.load(path)
        except ConfigError as exc:
            self.show_problem(str(exc))
            return False
        return self.propose(config, f"Opening {Path(path).name} starts a new run: "
                            + "; ".join(differences(self.config, config)[:6]))

    def save_experiment(self, path: Path) -> None:
        self._write(f"the experiment to {path}", lambda: self.config.save(path))

    def open_weights(self, path: Path) -> bool:
        """Reopen a weight file with its own configuration, asking first if that changes the
        data or the network (and saying which layers differ)."""
        try:
            saved = load_weights(path)
        except WeightFileError as exc:
            self.show_problem(str(exc))
            return False
        changes = differences(self.config, saved.config)
        if needs_reset(self.config, saved.config) and not self.confirm(
                "Switch to the file's network?",
                f"{Path(path).name} was trained with different settings: " + "; ".join(changes[:6])
                + ". Switch to its settings and go on from its weights?"):
            return False
        self.config = copy.deepcopy(saved.config)
        self._load_panels(self.config)
        self.session.resume(saved)
        return True

    def export_run(self, folder: Path) -> None:
        def write(snap: Snapshot) -> None:
            self.redraw()  # the snapshot's frames have arrived: draw them before exporting
            self._write(f"the run to {folder}", lambda: self._write_run(folder, snap))
        self.session.ask("snapshot", write)

    def _write_run(self, folder: Path, snap: Snapshot) -> None:
        """The run folder, all or nothing: metrics, plots, then weights, settings and README."""
        with RunFolder(folder) as run:
            with atomic_path(run.file("metrics.csv")) as tmp, open(tmp, "w", newline="") as f:
                self.history.write_csv(f, until_step=snap.state.step)
            export_plots(self.plots(), run.staging, "png", PNG_WIDTHS[1])
            export_plots(self.plots(), run.staging, "svg")
            write_run(run, snap.config, snap.state, self._summary(snap), snap.input_scale,
                      notes=summarised_metrics_note(self.history.summarised_until))

    def export_weights(self, path: Path) -> None:
        self.session.ask("snapshot", lambda snap: self._write(
            f"weights to {path}", lambda: save_weights(path, snap.config, snap.state, self._summary(snap))))

    def export_onnx(self, path: Path) -> None:
        self.session.ask("snapshot", lambda snap: self._write(
            f"the ONNX model to {path}",
            lambda: save_onnx(path, snap.config, snap.state.parameters, snap.input_scale)))

    def export_plots(self, folder: Path, suffix: str, width: int | None = None) -> None:
        self.redraw()
        self._write(f"the plots to {folder}", lambda: export_plots(self.plots(), folder, suffix, width))

    def export_metrics(self, path: Path) -> None:
        def write() -> None:
            with atomic_path(Path(path)) as tmp, open(tmp, "w", newline="") as f:
                self.history.write_csv(f)
        self._write(f"metrics to {path}", write)

    def evaluate(self) -> None:
        def show(results) -> None:
            lines = [f"{split}: loss {loss:.4f}" + (f", accuracy {acc:.2%}" if acc is not None else "")
                     for split, (loss, acc) in (results or {}).items() if loss == loss]
            self.written.emit(True, "; ".join(lines))
            self.statusBar().showMessage(f"Step {self.last_step:,}: " + "; ".join(lines), 15000)
        self.session.ask("evaluate", show)

    def plots(self) -> dict:
        """The plot items on show, by file name."""
        items = {"loss": self.loss_view.plot.getPlotItem(),
                 "accuracy": self.accuracy_view.plot.getPlotItem(),
                 "gradients": self.gradient_view.plot.getPlotItem()}
        current = self.data_view.currentWidget()
        if current is self.mosaic:
            items["weights"] = self.mosaic.canvas.ci
        elif current is self.boundary:
            items["decision_boundary"] = self.boundary.plot.getPlotItem()
        elif current is self.linear_view:
            items["path_of_x"] = self.linear_view.path_view.plot.getPlotItem()
            items["residual"] = self.linear_view.residual_view.plot.getPlotItem()
        return items

    def _summary(self, snap: Snapshot) -> dict:
        state = snap.state
        return {"steps": state.step, "epochs": state.epochs, "samples_seen": state.samples_seen,
                **self.history.latest(until_step=state.step)}

    def _write(self, what: str, action: Callable) -> None:
        """Run a write, and tell the user what was written or what failed (and why)."""
        try:
            action()
        except OSError as exc:
            message = f"Could not write {what}: {exc.strerror or exc}"
            self.show_problem(message)
            self.written.emit(False, message)
            return
        except Exception as exc:  # noqa: BLE001 - an exporter's own error: say it, keep the app
            message = f"Could not write {what}: {exc}"
            self.show_problem(message)
            self.written.emit(False, message)
            return
        self.statusBar().showMessage(f"Wrote {what}", 8000)
        self.written.emit(True, f"Wrote {what}")

    # --- file dialogs -----------------------------------------------------------------------
    def _choose_experiment(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", "", "Experiment (*.toml)")
        if path:
            self.open_experiment(Path(path))

    def _choose_experiment_target(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", "experiment.toml",
                                              "Experiment (*.toml)")
        if path:
            self.save_experiment(Path(path))

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open weights", "", "Weights (*.npz)")
        if path:
            self.open_weights(Path(path))

    def _choose_run_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the run into this folder")
        if folder:
            self.export_run(Path(folder))

    def _choose_weights_target(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export weights", "weights.npz", "Weights (*.npz)")
        if path:
            self.export_weights(Path(path))

    def _choose_onnx_target(self) -> None:
        if not onnx_available():
            QMessageBox.information(self, "ONNX export", INSTALL_HINT + ", then restart gdplayground.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export ONNX", "model.onnx", "ONNX (*.onnx)")
        if path:
            self.export_onnx(Path(path))

    def _choose_plots_folder(self) -> None:
        formats = [f"PNG, {width} pixels wide" for width in PNG_WIDTHS] + ["SVG (vector)"]
        chosen, ok = QInputDialog.getItem(self, "Export plots", "Format", formats, 1, False)
        if not ok:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the plots into this folder")
        if folder:
            index = formats.index(chosen)
            suffix, width = ("svg", None) if index == len(PNG_WIDTHS) else ("png", PNG_WIDTHS[index])
            self.export_plots(Path(folder), suffix, width)

    def _choose_csv_target(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            self.export_metrics(Path(path))

    # --- closing ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.redraw_timer.stop()
        self.stopped_in_time = self.session.shutdown()
        event.accept()
