"""The main window: the experiment's panels on the left, the tabs in the middle, the run controls
on top, and the message line and status bar. It composes them and nothing more:

- panels.py edits the one experiment configuration, which the window sends to the session;
- training_view.py (the Training tab) draws what the session reports;
- optimizers_tab.py (the Optimizers tab) races update rules on surfaces;
- gradient_check_tab.py (the Gradient check tab) checks the training network's backprop;
- runs_tab.py (the Runs tab) lists the runs run_keeper.py keeps, to overlay and restore;
- run_controls.py and file_actions.py hold the actions of the Run and File menus;
- lessons/lesson_actions.py (the Lessons menu) sets the tabs up for a lesson and shows its text.

The window never runs a training step and never reads an array the worker writes: frames arrive
as copies, and views redraw at most ~30 times a second.
"""

from __future__ import annotations

import copy
import time

from PySide6.QtCore import QEventLoop, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QLabel, QMainWindow, QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from gdplayground.config import DATASET_WORDS, ConfigError, ExperimentConfig, differences, preset
from gdplayground.engine.history import History
from gdplayground.engine.schedules import learning_rate_at
from gdplayground.engine.trainer import needs_reset
from gdplayground.store.runs import RunStore
from gdplayground.gui.window.actions import make_action
from gdplayground.gui.window.banner import Banner
from gdplayground.gui.training.coach_panel import CoachPanel
from gdplayground.gui.window.dialogs import ask_with_list
from gdplayground.gui.window.file_actions import FileActions
from gdplayground.gui.lessons.lesson_actions import LessonActions
from gdplayground.gui.training.panels import (
    ArchitecturePanel, DataPanel, DataShape, LearningRatePanel, OptimizerPanel)
from gdplayground.gui.gradient_check.tab import GradientCheckTab
from gdplayground.gui.inside.images import ImageInside
from gdplayground.gui.inside.tab import InsideTab
from gdplayground.gui.landscape.tab import LandscapeTab
from gdplayground.gui.optimizers.tab import OptimizersTab
from gdplayground.gui.training.paces import PACES, default_pace
from gdplayground.gui.widgets.plots import use_plot_style
from gdplayground.gui.window.run_controls import RunControls
from gdplayground.gui.runs.run_keeper import RunKeeper
from gdplayground.gui.runs.tab import RunsTab
from gdplayground.gui.runs.sweep_panel import SweepPanel
from gdplayground.gui.training.tab import TrainingView, each
from gdplayground.gui.training.table_view import follow_table
from gdplayground.gui.window.window_size import OPENING, SMALLEST
from gdplayground.gui.training.worker import TrainingSession
from gdplayground.gui.widgets.training_run import Frame, RunInfo

REDRAW_INTERVAL_MS = 33  # at most ~30 redraws a second, however fast training runs
SLOWEST_REDRAW_MS = 45  # while training, redraws slow down to this at most: gaps stay under 50 ms
GUI_CPU_BUDGET = 0.08  # share of a core the window may spend while training; the rest trains
NARROW_WINDOW = 1100  # pixels wide: below this (a 1024-pixel screen) the coach is a tab beside the experiment
COACH_WIDTH = 260  # pixels, as a column of its own


class MainWindow(QMainWindow):
    def __init__(self, config: ExperimentConfig | None = None, runs: RunStore | None = None):
        """`runs`: the run list to keep runs in (None: one in memory, gone with the window)."""
        use_plot_style()
        super().__init__()
        self.setWindowTitle("gdplayground")
        self.config = copy.deepcopy(config or preset("mnist")).validate()
        self.history = History(0)
        self.info: RunInfo | None = None  # the run as the worker built it, with its settings
        self.last_step, self.last_epoch = 0, 0
        self.running = False  # the worker is training (as last reported)
        self.diverged = False  # the last step diverged or was refused for it
        self.playing, self._play_ticket = False, None  # the user pressed Play and not since paused
        self._pace_mark: tuple[float, float] | None = None  # (wall clock, GUI thread CPU clock)
        self._elapsed, self._run_started_at = 0.0, None
        self._rate, self._rate_mark = 0.0, None
        self._redrawing = False
        self._pace_to_come: tuple[str, int | None] | None = None  # (data set, its pace) at its run
        self.confirm = self._ask  # (title, text, items) -> bool; replaced in tests
        self.banner = Banner()
        self.session = TrainingSession(self.config, self)
        self.tabs = QTabWidget()
        self.sweep = SweepPanel(lambda: copy.deepcopy(self.config), self.session.window_work)
        self.training = self._add_tab(TrainingView(self.session.window_work, self.session.ask))
        self.training.conv_view.maps.example_chosen.connect(self.session.show_example)
        self.optimizers = self._add_tab(OptimizersTab())
        self.gradient_check = self._add_tab(GradientCheckTab(self.session.ask))
        self.inside = self._add_tab(InsideTab(self.session.ask, ImageInside()))
        self.landscape = self._add_tab(LandscapeTab(self.session.ask))
        self.runs_tab = self._add_tab(RunsTab(runs or RunStore(None), self.sweep))
        self.keeper = RunKeeper(self, self.runs_tab.store)
        self.runs_tab.overlay_changed.connect(self._overlay)
        self.training.replayed_units.connect(self.inside.diagram.hold)
        self.training.replayed.connect(self.landscape.highlight_step)
        self.runs_tab.restore_requested.connect(self.keeper.restore)
        self.sweep.run_finished.connect(self.keeper.keep_sweep_run)
        self.sweep.view.cell_clicked.connect(
            lambda runs: self.runs_tab.select(self.keeper.kept_of(runs)))  # overlaid
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs)
        self.setCentralWidget(central)
        self._build_panels()
        self._build_coach()
        self.controls = RunControls(self, self._play_in_view, self._step_in_view,
                                    self._reset_in_view)
        self.controls.pace_changed.connect(self._on_pace_changed)
        self.training_pace = default_pace(self.config.data.name)
        self.optimizers.playing_changed.connect(self._show_controls_of_tab)
        self.tabs.currentChanged.connect(self._show_controls_of_tab)
        self.banner.show_for(self.training)
        self.tabs.currentChanged.connect(lambda: self.banner.show_for(self.tabs.currentWidget()))
        self.files = FileActions(self)
        self.lessons = LessonActions(self)
        self._build_menus()
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self.session.started.connect(self._on_started)
        self.session.framed.connect(self._on_frame)
        self.session.job_changed.connect(self._on_job_changed)
        self.session.failed.connect(self._on_failed)
        self.session.query_failed.connect(self._on_query_failed)
        self.controls.show_pace(self.training_pace)
        self.session.set_pace(self.training_pace)
        self.session.start()
        self.redraw_timer = QTimer(self)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start(REDRAW_INTERVAL_MS)
        self._update_status()
        self._fit_to_screen(*OPENING)

    # --- layout ----------------------------------------------------------------------------
    def _add_tab(self, tab: QWidget) -> QWidget:
        """A tab, placed as it declares itself (its SPEC); the View menu follows the tabs."""
        spec = tab.SPEC
        self.tabs.setTabToolTip(self.tabs.addTab(tab, spec.title), spec.tooltip)
        return tab

    def _build_panels(self) -> None:
        self.panels = [DataPanel(), ArchitecturePanel(), OptimizerPanel(), LearningRatePanel()]
        self.data_panel, self.architecture_panel, self.optimizer_panel, self.lr_panel = self.panels
        column = QWidget()
        layout = QVBoxLayout(column)
        for panel in self.panels:
            panel.load(self.config)
            panel.changed.connect(self._on_panel_changed)
            layout.addWidget(panel)
        self.data_panel.refused.connect(lambda why: self.banner.say(why, "run"))
        layout.addStretch()
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(column.sizeHint().width() + 20)
        self.experiment_dock = dock = QDockWidget("Experiment")
        dock.setObjectName("experiment")
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)

    def _build_coach(self) -> None:
        """The coach names what it sees in the run, beside the Training tab's plots."""
        self.coach = CoachPanel()
        self.coach.show_step.connect(self._show_step)
        self.coach_dock = dock = QDockWidget("Coach")
        dock.setObjectName("coach")
        dock.setWidget(self.coach)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [COACH_WIDTH], Qt.Horizontal)
        self._unread, self._coach_in_sight = 0, False  # diagnoses that arrived out of sight
        self._coach_tabbed = False  # beside the experiment, in a narrow window
        dock.visibilityChanged.connect(self._coach_seen)  # a dock tab chosen, a window tab too

    def _coach_says(self, diagnoses) -> None:
        self.coach.add(diagnoses)
        if not self._coach_in_sight:  # behind the Experiment tab, or another tab in view
            self._unread += len(diagnoses)
            self.coach_dock.setWindowTitle(f"Coach ({self._unread} new)")

    def _coach_seen(self, in_sight: bool) -> None:
        self._coach_in_sight = in_sight
        if in_sight:
            self._unread = 0
            self.coach_dock.setWindowTitle("Coach")

    def _show_step(self, step: int) -> None:
        self.tabs.setCurrentWidget(self.training)
        self.training.mark_step(step)

    def _build_menus(self) -> None:
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run")
        toolbar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in self.files.actions:
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.lessons.open_action)
        file_menu.addSeparator()
        file_menu.addAction(make_action(self, "Quit", ["Ctrl+Q"], "Close the playground", self.close))
        run_menu = menu.addMenu("&Run")
        self.controls.add_to(toolbar, run_menu)
        run_menu.addSeparator()
        run_menu.addAction(make_action(
            self, "Evaluate", ["Ctrl+T"], "Measure loss and accuracy of the current weights on "
            "the training, validation and test sets", self.evaluate))
        toolbar.addSeparator()
        toolbar.addAction(self.files.export_run_action)
        view_menu = menu.addMenu("&View")
        for index in range(self.tabs.count()):
            spec = self.tabs.widget(index).SPEC
            view_menu.addAction(make_action(self, f"{spec.title} tab", [f"Ctrl+{index + 1}"],
                                            f"{spec.title}: {spec.tooltip}",
                                            lambda _=False, i=index: self.tabs.setCurrentIndex(i)))
        view_menu.addSeparator()
        log_action = view_menu.addAction("Log-scale loss")
        log_action.setCheckable(True)
        log_scale = self.training.loss_view.log_scale
        log_action.toggled.connect(log_scale.setChecked)
        log_scale.toggled.connect(log_action.setChecked)
        menu.addMenu(self.lessons.menu)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at `width`×`height`, or at most nine tenths of a smaller screen but not below
        the SMALLEST size the window is laid out for (offscreen, for screenshots, tests and the
        bench, there is no screen to fit)."""
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None and screen.width() > 0 and QApplication.platformName() != "offscreen":
            width, height = (min(wanted, max(int(room * 0.9), least), room) for wanted, room, least
                             in zip((width, height), (screen.width(), screen.height()), SMALLEST))
        self.resize(width, height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        narrow = event.size().width() < NARROW_WINDOW
        self._place_coach(tabbed=narrow)
        self.lessons.place(beside_the_experiment=narrow)

    def _place_coach(self, tabbed: bool) -> None:
        """In a narrow window the coach is a tab beside the experiment: three columns left it a
        sliver. (A coach the user made float stays where it is.)"""
        if tabbed == self._coach_tabbed or self.coach_dock.isFloating():
            return
        self._coach_tabbed = tabbed
        if tabbed:
            self.tabifyDockWidget(self.experiment_dock, self.coach_dock)
            self.experiment_dock.raise_()
        else:
            self.addDockWidget(Qt.RightDockWidgetArea, self.coach_dock)
            self.resizeDocks([self.coach_dock], [COACH_WIDTH], Qt.Horizontal)

    # --- the run controls act on the tab in view ---------------------------------------------
    def lab_in_view(self):
        """The tab in view if it runs on its own (the Optimizers race), else None: the run
        controls then act on the training."""
        tab = self.tabs.currentWidget()
        return tab if tab.SPEC.runs_on_its_own else None

    def _play_in_view(self) -> None:
        lab = self.lab_in_view()
        lab.toggle_play() if lab else self.toggle_play()

    def _step_in_view(self, steps: int) -> None:
        lab = self.lab_in_view()
        lab.step(steps) if lab else self.step(steps)

    def _reset_in_view(self) -> None:
        lab = self.lab_in_view()
        lab.reset() if lab else self.reset()

    def _show_controls_of_tab(self) -> None:
        """The controls show the state and pace of what they act on; the experiment's panels
        show with the Training tab only (the others have their own settings, or none)."""
        lab = self.lab_in_view()
        self.controls.set_playing(lab.playing if lab else self.playing)
        self.controls.show_pace(lab.pace if lab else self.training_pace)
        self.controls.epoch_action.setEnabled(lab is None or lab.has_epochs)
        for dock in (self.experiment_dock, self.coach_dock):  # they speak of the training
            dock.setVisible(self.tabs.currentWidget().SPEC.beside_the_experiment)
        self.files.export_run_action.setEnabled(lab is None)  # it exports the training run
        self._update_status()

    # --- commands --------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.playing:
            self._set_playing(False)
            self.session.pause()
        else:
            self._play_ticket = self.session.play()
            self._set_playing(True)

    def step(self, steps: int) -> None:
        self._set_playing(False)
        self.session.step(steps)

    def reset(self) -> None:
        self._set_playing(False)
        self.keeper.keep()
        self.session.reset()

    def set_pace(self, steps_per_second: int | None) -> None:
        """The training's pace (shown by the controls unless a lab is in view)."""
        self.training_pace = steps_per_second
        self.session.set_pace(steps_per_second)
        if self.lab_in_view() is None:
            self.controls.show_pace(steps_per_second)
        self._update_status()

    def _set_playing(self, playing: bool) -> None:
        self.playing = playing
        if self.lab_in_view() is None:
            self.controls.set_playing(playing)

    @Slot(object)
    def _on_pace_changed(self, steps_per_second: int | None) -> None:
        lab = self.lab_in_view()
        lab.set_pace(steps_per_second) if lab else self.set_pace(steps_per_second)

    # --- the experiment ----------------------------------------------------------------------
    def _on_panel_changed(self) -> None:
        new = copy.deepcopy(self.config)
        for panel in self.panels:
            panel.store(new)
        if new.data.name != self.config.data.name:
            self._switch_dataset(new)
        else:
            self.propose(new)

    def propose(self, new: ExperimentConfig, text: str = "", items: list[str] = ()) -> bool:
        """Make `new` the experiment: at once if training can go on, after asking if it starts a
        new run of one already under way. Returns False if it was refused or declined."""
        self.banner.clear("note")  # it spoke of the last edit
        follow_table(self.config, new, self.data_panel.table)
        try:
            new.validate()
        except ConfigError as exc:
            self.banner.say(str(exc), "run")
            self.load_panels(self.config)
            return False
        resets = needs_reset(self.config, new)
        if resets and self.last_step > 0 and not self.confirm(
                "Start a new run?", text or "Changing the data or the network starts a new run "
                "from fresh weights; the curves of this run will be cleared.", list(items)):
            self.load_panels(self.config)
            return False
        self.config = new
        self.load_panels(new)
        if resets:
            self.keeper.keep()  # the run that ends joins the run list
        self.session.apply(new)
        self.training.show_smoothed(new.batch.mode != "full")
        self._update_status()
        return True

    def _switch_dataset(self, edited: ExperimentConfig) -> None:
        """A new data set comes with the network, optimizer and pace suited to it; say which.
        Its pace is set once its run starts: a data set the worker refuses changes nothing."""
        fresh = preset(edited.data.name)
        fresh.data.path, fresh.seed = edited.data.path, edited.seed
        if not self.propose(fresh):
            return
        brought = [d for d in differences(edited, fresh) if not d.startswith("Data › Dataset")]
        pace = default_pace(fresh.data.name)
        self._pace_to_come = (fresh.data.name, pace)
        if pace != self.training_pace:
            brought.append(f"Pace: {PACES[self.training_pace]} → {PACES[pace]}")
        if brought:
            self.banner.say(f"{fresh.data.words} comes with its own settings: "
                            + "; ".join(brought) + ".", "note")

    def load_panels(self, config: ExperimentConfig) -> None:
        for panel in self.panels:
            panel.load(config)

    def _ask(self, title: str, text: str, items: list[str]) -> bool:
        return ask_with_list(self, title, text, items, "Go on?")

    def evaluate(self) -> None:
        def show(results) -> None:
            target = self.info.preparation.target if self.info and self.info.preparation else ""
            lines = [f"{split}: loss {loss:.4f}" + (f", accuracy {acc:.2%}" if acc is not None else "")
                     + (f", RMSE {rmse:.4g} ({target})" if rmse is not None else "")
                     for split, (loss, acc, rmse) in (results or {}).items() if loss == loss]
            self.files.written.emit(True, "; ".join(lines))
            self.statusBar().showMessage(f"Step {self.last_step:,}: " + "; ".join(lines), 15000)
        self.session.ask("evaluate", show)

    # --- what the session reports ----------------------------------------------------------
    @Slot(object)
    def _on_started(self, info: RunInfo) -> None:
        """A new run (or the same one reset): its settings are those it was built from, whatever
        was sent since; the views lay themselves out again, each whatever becomes of the
        others (a view left on the last run's layout breaks on every frame of this one).
        A start another has followed is passed over: that one's start is on its way, and
        laying out every run of a burst (a storm of resets) held the window for seconds."""
        if info.run_id < self.session.worker.announced:
            return
        previous, self.info = self.info, info
        self.history = History(len(info.layers))
        self.last_step, self.last_epoch = info.step, info.epoch
        self._elapsed, self._rate = info.seconds, 0.0
        self.banner.clear("run")
        if self._pace_to_come is not None and self._pace_to_come[0] == info.config.data.name:
            self.set_pace(self._pace_to_come[1])
            self._pace_to_come = None
        self.coach.clear()
        failed = self.training.start(info, previous, noisy=self.config.batch.mode != "full")
        failed += each([("the Inside tab", lambda: self.inside.start(info)),
                        ("the parameter count", lambda: self.architecture_panel.set_data(
                            DataShape.of(info)))])
        self.setWindowTitle(f"gdplayground — {DATASET_WORDS.get(info.dataset, info.dataset)}")
        self._say_what_failed(failed, "run start")

    def _overlay(self, runs: list) -> None:
        self._say_what_failed(self.training.overlay(runs), "overlay")

    def _say_what_failed(self, failed: list[str], kind: str) -> None:
        """Parts of the views that could not be drawn (the rest were drawn all the same): said
        once, until the next `kind` of drawing succeeds."""
        if failed:
            self.banner.say("Could not draw " + "; ".join(failed) + ".", kind)
        else:
            self.banner.clear(kind)

    @Slot(object)
    def _on_frame(self, frame: Frame) -> None:
        with self.session.window_work:
            self._take(frame)
        self.session.frame_consumed()

    def _take(self, frame: Frame) -> None:
        if self.info is None or frame.run_id != self.info.run_id:
            return  # sent before the run now on show was built
        self.history.add(frame.reports, frame.rows)
        problems = [r for r in frame.reports if r.status != "ok"]
        rollbacks = [r.step for r in problems if r.status == "diverged"]
        if problems:
            self.banner.say(problems[-1].message, "run")
        elif frame.reports:
            self.banner.clear("run")  # training goes on again: the problem is solved
        if frame.reports:
            last = frame.reports[-1]
            self.last_step, self.last_epoch = last.step, last.epoch
            self.diverged = last.status != "ok"
            if last.status == "ok" and last.learning_rate == 0:
                self.banner.say(f"The learning rate has reached 0 (step {last.step:,}): further "
                                "steps change nothing. Raise the floor or the decay steps of the "
                                "schedule, or reset.", "run")
        self.training.take(frame, rollbacks[-1] if rollbacks else None)
        if frame.diagnoses:
            self._coach_says(frame.diagnoses)
        self.inside.take(frame)
        self._measure_rate(frame)

    @Slot(bool, int)
    def _on_job_changed(self, running: bool, ticket: int) -> None:
        """A training job started or ended; if it was the Play job, playing is over."""
        now = time.perf_counter()
        if running and not self.running:
            self._run_started_at = now
        elif not running and self._run_started_at is not None:
            self._elapsed += now - self._run_started_at
            self._run_started_at, self._rate_mark = None, None
            self._rate = 0.0  # nothing trains: no rate (it showed the last one while paused)
        self.running = running
        if not running and ticket == self._play_ticket:
            self._set_playing(False)  # it ended by itself: diverged
        self._update_status()

    @Slot(str, object)
    def _on_failed(self, message: str, kept: ExperimentConfig | None) -> None:
        """Settings the worker could not use: say why, and show the settings it holds (None:
        settings sent since supersede these). They are never sent again by themselves:
        re-sending refused settings is how a loop begins."""
        self.banner.say(f"Could not use those settings: {message}", "run")
        if kept is not None:
            self.banner.clear("note")  # what a data set would have brought, it did not
            self._pace_to_come = None
            self.config = kept
            self.load_panels(kept)
            self._update_status()

    @Slot(str, str)
    def _on_query_failed(self, what: str, why: str) -> None:
        """A query whose asker has no place of its own to say it failed (why), or "" once it
        is answered again: said on the tab that asked, if one did."""
        kind = f"query {what}"
        if not why:
            self.banner.clear(kind)
            return
        asker = {"inside": self.inside, "distributions": self.inside, "classes": self.inside,
                 "probe": self.gradient_check, "landscape": self.landscape}.get(what)
        self.banner.say(why, kind, asker)

    # --- drawing ---------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        if self._redrawing:  # reached again from within, through processEvents
            return
        self._redrawing = True
        try:
            self._redraw()
        finally:
            self._redrawing = False

    def _redraw(self) -> None:
        with self.session.window_work:
            self._update_status()
            self._pace()
            self.training.redraw(self.history, self.running)
            # Lay out and paint what was drawn now, while training waits: each of those events
            # calls into Python, and would otherwise wait for the interpreter lock in turn.
            QApplication.processEvents(QEventLoop.ExcludeUserInputEvents)

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

    def _measure_rate(self, frame: Frame) -> None:
        """Training samples per second, timed on the worker's clock and smoothed."""
        if frame.running and self._rate_mark is not None:
            seconds = frame.time - self._rate_mark[0]
            if seconds > 0:
                rate = (frame.samples_seen - self._rate_mark[1]) / seconds
                self._rate = rate if not self._rate else 0.8 * self._rate + 0.2 * rate
        self._rate_mark = (frame.time, frame.samples_seen) if frame.running else None

    def training_seconds(self) -> float:
        """Time this run has spent training (not paused)."""
        elapsed = self._elapsed
        if self._run_started_at is not None:
            elapsed += time.perf_counter() - self._run_started_at
        return elapsed

    def _update_status(self) -> None:
        elapsed = self.training_seconds()
        whose = "the Training tab's network:   " if self.lab_in_view() else ""
        self.status_label.setText(
            f"{whose}step {self.last_step:,}   epoch {self.last_epoch}   "
            f"{f'{self._rate:,.0f}' if self._rate else '—'} samples/s   "
            f"{elapsed_words(elapsed)} training   "
            f"learning rate {learning_rate_at(self.last_step, self.config.learning_rate):.3g}   "
            f"pace {PACES[self.training_pace].lower()}")

    # --- closing ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.files.exports.finish()
        self.redraw_timer.stop()
        self.keeper.keep_before_closing()
        self.sweep.shutdown()
        self.stopped_in_time = self.session.shutdown()
        event.accept()


def elapsed_words(seconds: float) -> str:
    """Time spent training: tenths of a second while short (a toy set trains 500 steps in a
    fraction of one), minutes and seconds after."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"
