"""The Lessons menu and File ▸ Open lesson…: a lesson (labs/lessons.py) read and checked whole,
then set up on the tabs it names: the experiment (asking first, as any change that ends a run
under way does), the Optimizers race, the Runs tab's sweep, the Inside page, the Landscape
view; then the tab it names comes into view with its text in the dock beside it.

A lesson that cannot be read says why on the message line and changes nothing. Its experiment
is set first, so a lesson whose run the user declines changes nothing else either."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMenu

from gdplayground.config import differences
from gdplayground.engine.trainer import needs_reset
from gdplayground.labs.lessons import (
    INSIDE_PAGES, Lesson, LessonError, RaceSetup, SweepSetup, lessons_folder, load_lesson,
    shipped_lessons)
from gdplayground.labs.sweeps.params import sweep_param
from gdplayground.gui.lessons.lesson_dock import DOCK_WIDTH, LessonDock
from gdplayground.gui.window.actions import make_action


class LessonActions(QObject):
    def __init__(self, window):
        """`window` is the MainWindow: its tabs, configuration, banner and docks."""
        super().__init__(window)
        self.window = window
        self.dock = LessonDock()
        self._beside_the_experiment = False
        self._place_beside_the_coach()
        self.dock.hide()
        self.open_action = make_action(
            window, "Open lesson…", ["Ctrl+L"], "Open a lesson file (NAME.toml, its text in "
            "NAME.md beside it): it sets up the tabs and shows its text", self._choose_lesson)
        self.menu = QMenu("&Lessons", window)
        self.menu.setToolTipsVisible(True)
        self._fill_menu()

    def _fill_menu(self) -> None:
        try:
            lessons = shipped_lessons()
        except LessonError as exc:  # a damaged installation: said, and the window goes on
            lessons = []
            self.window.banner.say(f"The shipped lessons cannot be listed: {exc}", "lessons")
        for number, lesson in enumerate(lessons, 1):
            action = self.menu.addAction(f"{number}. {lesson.title}")
            action.setToolTip(f"Opens the {tab_words(self.window, lesson.tab)} tab")
            action.triggered.connect(lambda _=False, one=lesson: self.start(one))
        self.menu.addSeparator()
        self.menu.addAction(self.dock.toggleViewAction())
        self.menu.addAction(self.open_action)

    def place(self, beside_the_experiment: bool) -> None:
        """In a narrow window the text is a tab beside the experiment's panels, as the coach is:
        a column of its own left the widest tab too little room. (A text the user made float
        stays where it is.)"""
        if beside_the_experiment == self._beside_the_experiment or self.dock.isFloating():
            return
        self._beside_the_experiment = beside_the_experiment
        if beside_the_experiment:
            self.window.tabifyDockWidget(self.window.experiment_dock, self.dock)
        else:
            self._place_beside_the_coach()

    def _place_beside_the_coach(self) -> None:
        """On the right, a tab beside the coach: the coach shows with the Training tab only."""
        self.window.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.window.tabifyDockWidget(self.window.coach_dock, self.dock)

    # --- opening -------------------------------------------------------------------------------
    def open_lesson(self, path: Path) -> bool:
        try:
            lesson = load_lesson(path)
        except LessonError as exc:
            self.window.banner.say(str(exc), "open", self.window.tabs.currentWidget())
            return False
        return self.start(lesson)

    def start(self, lesson: Lesson) -> bool:
        """Set up every tab the lesson names and show it; False if the user declined the new run
        or the window refused its experiment (then nothing has changed)."""
        if lesson.experiment is not None and not self._start_experiment(lesson):
            return False
        window = self.window
        window.banner.clear("open")
        if lesson.race is not None:
            set_race(window.optimizers, lesson.race)
        if lesson.sweep is not None:
            set_sweep(window.sweep, lesson.sweep)
            window.runs_tab.pages.setCurrentWidget(window.sweep)
        if lesson.inside_page is not None:
            window.inside.pages.setCurrentIndex(INSIDE_PAGES.index(lesson.inside_page))
        if lesson.landscape_view is not None:
            landscape = window.landscape
            landscape.views.setCurrentWidget(getattr(landscape, lesson.landscape_view))
        window.tabs.setCurrentWidget(tab_of(window, lesson.tab))
        self.dock.show_lesson(lesson)
        window.resizeDocks([self.dock], [DOCK_WIDTH], Qt.Horizontal)
        return True

    def _start_experiment(self, lesson: Lesson) -> bool:
        """The lesson's experiment from step 0, its numbers being those of a fresh run: asked
        first if a run is under way, whether the settings change the network or not."""
        window, config = self.window, copy.deepcopy(lesson.experiment)
        text = (f"The lesson “{lesson.title}” starts a new run from fresh weights with its "
                "settings; the curves of this run will be cleared (it joins the run list).")
        items = differences(window.config, config)
        goes_on = not needs_reset(window.config, config)  # these settings alone keep the run
        if goes_on and window.last_step > 0 and not window.confirm("Start a new run?", text, items):
            return False
        if not window.propose(config, text, items):
            return False
        if goes_on and window.last_step > 0:
            window.reset()
        return True

    def _choose_lesson(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open lesson", str(lessons_folder()),
                                              "Lesson (*.toml)")
        if path:
            self.open_lesson(Path(path))


def tab_of(window, tab: str):
    """The window's tab a lesson names (labs.lessons.TABS)."""
    return {"training": window.training, "optimizers": window.optimizers,
            "gradient-check": window.gradient_check, "inside": window.inside,
            "runs": window.runs_tab, "landscape": window.landscape}[tab]


def tab_words(window, tab: str) -> str:
    return tab_of(window, tab).SPEC.title


def set_race(tab, race: RaceSetup) -> None:
    """The Optimizers tab's surface, racers and start, set as a user sets them, and paused."""
    settings = tab.settings
    settings.surface_choice.setCurrentIndex(settings.surface_choice.findData(race.surface))
    settings.kappa.setValue(race.kappa)
    settings.angle.setValue(race.angle)
    if race.expression:
        settings.expression.setText(race.expression)
    settings.surface_changed.emit()  # as Enter in the formula: the surface at its own start
    settings.set_racers(list(race.racers))
    if race.start is not None:
        tab.view.start_chosen.emit(np.array(race.start))  # as a click on the plot
    tab.reset()  # a new race, paused


def set_sweep(panel, sweep: SweepSetup) -> None:
    """The Runs tab's sweep fields, as the lesson writes them (one setting); the user presses
    Start."""
    panel.grid.setChecked(False)
    panel.param.setCurrentIndex(panel.param.findData(sweep_param(sweep.setting).name))
    panel.values.setText(sweep.values)
    panel.count.setValue(sweep.count)
    panel.log.setChecked(sweep.log)
    panel.repeats.setValue(sweep.repeats)
    panel.steps.setValue(sweep.steps)
