"""The main window: panels on the left, live views in the middle, run controls on top.

The window holds the one experiment configuration the panels edit, sends it to the training
session, and draws what the session reports. It never runs a training step and never reads an
array the worker writes: frames arrive as copies, and views redraw at most ~30 times a second.
"""

from __future__ import annotations

import copy
import time

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QGridLayout, QLabel, QMainWindow, QMessageBox, QScrollArea, QStackedWidget, QDockWidget,
    QVBoxLayout, QWidget)

from gdplayground.config import ConfigError, ExperimentConfig, preset
from gdplayground.engine.history import History
from gdplayground.engine.trainer import needs_reset
from gdplayground.gui.decision_boundary import DecisionBoundaryView
from gdplayground.gui.linear_system_view import LinearSystemView
from gdplayground.gui.panels import (
    ArchitecturePanel, DataPanel, LearningRatePanel, OptimizerPanel, DATASET_LABELS)
from gdplayground.gui.plots import AccuracyView, GradientView, LossView
from gdplayground.gui.weight_mosaic import WeightMosaic
from gdplayground.gui.worker import Frame, RunInfo, TrainingSession

REDRAW_INTERVAL_MS = 33  # at most ~30 redraws a second, however fast training runs
SLOWEST_REDRAW_MS = 80  # while training, redraws slow down to this at most: no gap reaches 100 ms
GUI_CPU_BUDGET = 0.12  # share of a core the window may spend while training; the rest trains
PICTURE_INTERVAL_S = 0.2  # weight mosaic and decision boundary, while training: 5 a second
BANNER_STYLE = "background:#fdecea; color:#8a1c12; padding:8px; border:1px solid #f5c2bd;"


class MainWindow(QMainWindow):
    redrawn = Signal()  # after views were redrawn from new data (tests and screenshots wait on it)

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
        self.playing, self._play_ticket = False, None  # the user pressed Play and not since paused
        self._dirty, self._picture_pending, self._frame = False, False, None
        self._picture_drawn_at = 0.0
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
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run")
        toolbar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for act in (self.play_action, self.step_action, self.epoch_action, self.reset_action):
            toolbar.addAction(act)
        menu = self.menuBar()
        menu.addMenu("&File").addAction(quit_action)
        run_menu = menu.addMenu("&Run")
        for act in (self.play_action, self.step_action, self.epoch_action, self.reset_action):
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
        try:
            new.validate()
        except ConfigError as exc:
            self.show_problem(str(exc))
            self._load_panels(self.config)
            return
        resets = needs_reset(self.config, new)
        if resets and self.last_step > 0 and not self.confirm(
                "Start a new run?",
                "Changing the data or the network starts a new run from fresh weights; the "
                "curves of this run will be cleared."):
            self._load_panels(self.config)
            return
        self.config = new
        if resets:
            self._load_panels(new)
        self.session.apply(new)
        self._show_smoothing()

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
        self.info = info
        self.run_config = copy.deepcopy(self.session.config)
        self.history = History(len(info.sizes) - 1)
        self.last_step, self.last_epoch, self._elapsed, self._rate = 0, 0, 0.0, 0.0
        self.banner.hide()
        self.gradient_view.set_layers(info.sizes)
        for view in (self.loss_view, self.accuracy_view, self.gradient_view):
            view.restart()
        self.accuracy_view.set_classes(info.n_classes is not None)
        self._show_smoothing()
        self.architecture_panel.set_io(info.sizes[0], info.sizes[-1])
        if info.image_shape is not None:
            self.mosaic.set_layout(info.image_shape, info.initial_first_layer,
                                   class_templates=len(info.sizes) == 2)
            self.data_view.setCurrentWidget(self.mosaic)
        elif info.points is not None:
            self.boundary.set_points(info.points, info.labels, info.test_points, info.test_labels)
            self.data_view.setCurrentWidget(self.boundary)
        elif info.solution is not None:
            self.linear_view.set_solution(info.solution)
            self.data_view.setCurrentWidget(self.linear_view)
        else:
            self.data_view.setCurrentWidget(self.placeholder)
        self.setWindowTitle(f"gdplayground — {DATASET_LABELS.get(info.dataset, info.dataset)}")

    @Slot(object)
    def _on_frame(self, frame: Frame) -> None:
        for report in frame.reports:
            self.history.append(report)
        problems = [r.message for r in frame.reports if r.status != "ok"]
        if problems:
            self.show_problem(problems[-1])
        elif frame.reports:
            self.banner.hide()  # training goes on again: the problem is solved
        if frame.reports:
            last = frame.reports[-1]
            self.last_step, self.last_epoch, self.last_lr = last.step, last.epoch, last.learning_rate
        if frame.path is not None:
            self.linear_view.add_path(self.last_step, frame.path)
        self._measure_rate(frame)
        self._frame, self._dirty = frame, True

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
        """Draw the data that arrived since the last redraw, if any."""
        self._update_status()
        self._pace()
        if self._dirty:
            self._dirty, self._picture_pending = False, True
            for view in (self.loss_view, self.accuracy_view, self.gradient_view):
                view.draw(self.history)
            self.redrawn.emit()
        if self._picture_pending:
            self._draw_picture(self._frame)

    def _draw_picture(self, frame: Frame) -> None:
        """The data view: with every redraw while paused, at most 5 times a second while
        training (images cost more to draw than curves, and weights change slowly to the eye)."""
        now = time.perf_counter()
        if self.running and now - self._picture_drawn_at < PICTURE_INTERVAL_S:
            return  # still pending: a later redraw draws it
        self._picture_drawn_at, self._picture_pending = now, False
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

    # --- closing ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.redraw_timer.stop()
        self.stopped_in_time = self.session.shutdown()
        event.accept()
