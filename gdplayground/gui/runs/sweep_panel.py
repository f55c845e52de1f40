"""A sweep set up and watched in the Runs tab: one setting over a list or a range, or two (a
grid: every value of the first with every value of the second), from the experiment in the
panels; its runs train off the GUI thread (sweep_runner.py), several at once in worker processes
or on a Dask cluster, each joining the run list as it ends; the result (sweep_grid_view.py: a
grid's heatmaps, or one setting's plots) fills in as they do."""

from __future__ import annotations

import html
from typing import Callable, NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
    QSpinBox, QVBoxLayout, QWidget)

from gdplayground.config import ExperimentConfig
from gdplayground.labs.sweeps.params import PARAMS, SweepError
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, axis_from_fields
from gdplayground.labs.sweeps.runs import FailedRun, SweepRun
from gdplayground.labs.sweeps.workers import default_workers
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.runs.sweep_grid_view import SweepGridView
from gdplayground.gui.runs.sweep_runner import SweepProgress, SweepRunner, run_name
from gdplayground.labs.sweeps.plan import executor_for
from gdplayground.gui.widgets.training_run import WindowWork

OPENING = {"lr": ("1e-4:1", 7, True), "batch-size": ("8,32,128,512", 4, False),
           "optimizer": ("sgd,momentum,adam", 3, False)}  # values a sweep of each opens with
MAX_WORKERS = 64
COMBO_LETTERS = 12  # of a setting's name, at least, in its box (more as the window widens)
ERROR = "<span style='color:#b00020'>{}</span>"
GRID_TIP = ("A second setting makes a grid: every value of the first with every value of the "
            "second, each pair a run; the result is a heatmap")


class AxisFields(NamedTuple):
    """One swept setting's fields: the setting, its values (a range or a list), how many
    values a range is cut into, and whether on a log scale."""

    param: QComboBox
    values: QLineEdit
    count: QSpinBox
    log: QCheckBox

    @classmethod
    def build(cls, opening: str) -> AxisFields:
        """Fields opening on the setting named `opening`, with its values."""
        fields = cls(guard_field(QComboBox()), QLineEdit(), guard_field(QSpinBox()),
                     guard_field(QCheckBox("log")))
        for name, param in PARAMS.items():
            fields.param.addItem(f"{name} ({param.label})", name)
        fields.param.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        fields.param.setMinimumContentsLength(COMBO_LETTERS)
        fields.param.currentIndexChanged.connect(fields.opened)
        fields.param.setCurrentIndex(fields.param.findData(opening))
        fields.values.setToolTip("A range LO:HI (with a count of values, on a log scale if "
                                 "ticked), or a list V1,V2,… (names for optimizer, activation, "
                                 "init)")
        fields.values.textChanged.connect(fields.ranged)
        fields.count.setRange(2, 100)
        fields.count.setToolTip("How many values a range is cut into")
        fields.log.setToolTip("Space a range's values evenly on a log scale (rates: 1e-4, 1e-3, "
                              "…)")
        fields.opened()
        return fields

    def opened(self) -> None:
        """The values a sweep of the chosen setting opens with."""
        text, count, log = OPENING.get(self.param.currentData(), ("", 5, False))
        self.values.setText(text)
        self.count.setValue(count)
        self.log.setChecked(log)

    def axis(self) -> SweepAxis:
        return axis_from_fields(PARAMS[self.param.currentData()], self.values.text(),
                                self.count.value(), self.log.isChecked())

    def set_enabled(self, enabled: bool) -> None:
        self.param.setEnabled(enabled)
        self.values.setEnabled(enabled)
        self.ranged()

    def ranged(self) -> None:
        """Count and log are a range's: greyed beside a list (which they do not change)."""
        for widget in (self.count, self.log):
            widget.setEnabled(self.values.isEnabled() and ":" in self.values.text())


class SweepPanel(QWidget):
    run_finished = Signal(object)  # SweepRun: it joins the run list

    def __init__(self, experiment: Callable[[], ExperimentConfig],
                 window_work: WindowWork | None = None):
        """`experiment()` gives the panels' settings: every run of a sweep starts from them;
        its steps wait while the window works (`window_work`) when they train in its process."""
        super().__init__()
        self.experiment, self.results, self.plan = experiment, [], None
        self._training = ""  # the runs in training, in words: a failure leaves them shown
        self.runner = SweepRunner(self, window_work)
        self.runner.progressed.connect(self._progressed)
        self.runner.run_finished.connect(self._run_finished)
        self.runner.run_failed.connect(self._run_failed)
        self.runner.finished.connect(lambda runs: self._ended(f"Sweep done: {_runs(runs)}."))
        self.runner.cancelled.connect(lambda runs: self._ended(
            f"Sweep cancelled: {_runs(runs)} that ended {'is' if len(runs) == 1 else 'are'} kept."))
        self.runner.failed.connect(lambda message: self._ended(f"Sweep stopped: {message}", True))
        self._build()

    def _build(self) -> None:
        # The first setting's fields are the panel's own (a lesson fills them); the second's,
        # off until ticked, make the sweep a grid.
        self.first = AxisFields.build("lr")
        self.param, self.values, self.count, self.log = self.first
        self.param.setToolTip("The setting the sweep varies; every other setting is the "
                              "experiment's, as the panels show it")
        self.second = AxisFields.build("batch-size")
        self.second.param.setToolTip("The second setting a grid varies: " + GRID_TIP)
        self.grid = guard_field(QCheckBox("and"))
        self.grid.setToolTip(f"Vary a second setting too. {GRID_TIP}.")
        self.grid.toggled.connect(self.second.set_enabled)
        self.second.set_enabled(False)
        self.repeats, self.steps, self.workers = (guard_field(QSpinBox()) for _ in range(3))
        for spin, low, high, value, tip in (
                (self.repeats, 1, 20, 1, "Runs per value, each from its own seed: the spread "
                                         "between them is luck, not the setting"),
                (self.steps, 1, 1_000_000, 300, "Steps each run trains"),
                (self.workers, 1, MAX_WORKERS, min(default_workers(), MAX_WORKERS),
                 "How many runs train at once, each in a process of its own on a core of this "
                 "machine (every core by default; 1 trains them one after another in the "
                 "window's own process). A run's figures never depend on it")):
            spin.setRange(low, high)
            spin.setValue(value)
            spin.setToolTip(tip)
        self.cluster = QLineEdit()
        self.cluster.setPlaceholderText("this machine")
        self.cluster.setToolTip("Empty: the runs train on this machine. tcp://HOST:PORT sends "
                                "them to a Dask scheduler (`dask scheduler`), whose workers "
                                "train them; each comes back to the run list as it ends")
        self.cluster.textChanged.connect(lambda text: self.workers.setEnabled(not text.strip()))
        self.start_button, self.cancel_button = QPushButton("Start sweep"), QPushButton("Cancel")
        self.start_button.setToolTip("Train one run per value, or per pair of values of two "
                                     "settings, and per repeat, several at once (workers); "
                                     "each joins the run list as it ends")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.setToolTip("Stop every run in training; the runs that ended are kept")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.setEnabled(False)
        self.progress, self.status, self.activity = QProgressBar(), QLabel(), QLabel()
        self.status.setWordWrap(True)
        self.activity.setWordWrap(True)
        self.activity.setTextFormat(Qt.RichText)
        self.activity.setToolTip("The runs training now, each with its share of its steps done: "
                                 "one a worker")
        self.view = SweepGridView()  # a grid's heatmaps, or one setting's plots
        self._lay_out()

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Three rows, the runs in training a fourth while there are: the panel fits beside the
        # Experiment and Coach docks in a window 1024 pixels wide, and leaves a grid's heatmaps
        # and the plots below them room at 640 high.
        layout.addLayout(_axis_rows(((QLabel("Sweep"), self.first, "repeats", self.repeats),
                                     (self.grid, self.second, "steps", self.steps))))
        row = QHBoxLayout()
        for widget, stretch in ((QLabel("workers"), 0), (self.workers, 0), (QLabel("cluster"), 0),
                                (self.cluster, 1), (self.start_button, 0),
                                (self.cancel_button, 0), (self.progress, 1), (self.status, 2)):
            row.addWidget(widget, stretch)
        layout.addLayout(row)
        layout.addWidget(self.activity)
        self.activity.setVisible(False)
        layout.addWidget(self.view, 1)

    # --- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the sweep the fields describe; a plan or cluster address they get wrong is
        said in the status, and nothing starts."""
        try:
            self.plan = self._plan()
            executor = executor_for(self.workers.value(), self.cluster.text())
            self.runner.start(self.experiment(), self.plan, executor)
        except SweepError as exc:
            self.status.setText(ERROR.format(html.escape(str(exc), quote=False)))
            return
        self.results = []
        self.view.set_heading(f"{' × '.join(param.label for param in self.plan.params)}: "
                              f"{self.plan.runs} runs of {self.plan.steps:,} steps")
        self.view.begin(self.plan)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.status.setText(f"0 of {self.plan.runs} runs")
        self._show_activity()

    def _plan(self) -> SweepPlan:
        fields = (self.first, self.second) if self.grid.isChecked() else (self.first,)
        return SweepPlan(tuple(axis.axis() for axis in fields), self.repeats.value(),
                         steps=self.steps.value())

    def _progressed(self, progress: SweepProgress) -> None:
        self.progress.setValue(round(progress.fraction * 100))
        self.status.setText(progress.words())
        self._show_activity(progress.training_words())

    def _run_finished(self, run: SweepRun) -> None:
        self.results.append(run)
        self.view.add(run)
        self.run_finished.emit(run)

    def _run_failed(self, run: FailedRun) -> None:
        """A run with no weights: the run list does not take it; the grid hatches its cell."""
        self.view.add(run)
        self._show_activity(self._training)

    def _show_activity(self, training: str = "") -> None:
        """The runs in training (`training`: their words), then those that failed and why
        (they have no weights: they do not join the run list)."""
        self._training = training
        lines = [html.escape(training, quote=False)] if training else []
        lines += [ERROR.format(html.escape(f"failed, not kept: {run_name(run)} — {run.reason}",
                                                quote=False))
                  for run in self.runner.failures]
        self.activity.setText("<br>".join(lines))
        self.activity.setVisible(bool(lines))

    def _ended(self, words: str, failed: bool = False) -> None:
        """The bar says how many runs ended (a cancel drops those in training: the bar stayed
        at the share it had reached, as if still on its way)."""
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.view.draw_figures()
        done, runs = len(self.results) + len(self.runner.failures), self.plan.runs
        self.progress.setValue(round(100 * done / runs))
        self.progress.setFormat(f"{done} of {runs} runs")
        if self.runner.failures:
            words += f" {_runs(self.runner.failures)} failed: not kept."
        self.status.setText(ERROR.format(html.escape(words, quote=False)) if failed else words)
        self._show_activity()

    def shutdown(self) -> None:
        """Cancel a sweep and wait for its thread and workers: the window is closing."""
        self.runner.stop()


def _runs(runs: list) -> str:
    return f"{len(runs)} run{'s' * (len(runs) != 1)}"


def _axis_rows(rows) -> QGridLayout:
    """Each row: its head (a label or a box), a setting's fields, then one more field and its
    label; the second setting's fields line up under the first's."""
    grid = QGridLayout()
    for y, (head, axis, label, field) in enumerate(rows):
        for x, widget in enumerate((head, axis.param, QLabel("over"), axis.values,
                                    QLabel("count"), axis.count, axis.log, QLabel(label))):
            grid.addWidget(widget, y, x)
        grid.addWidget(field, y, 8, Qt.AlignLeft)
    grid.setColumnStretch(1, 1)  # the settings' names …
    grid.setColumnStretch(3, 2)  # … and their values
    return grid
