"""A sweep set up and watched in the Runs tab: one setting over a list or a range, from the
experiment in the panels; runs train one after another off the GUI thread (sweep_runner.py),
each joining the run list as it ends; the result (sweep_grid_view.py) fills in as they do."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox,
    QVBoxLayout, QWidget)

from gdplayground.config import ExperimentConfig
from gdplayground.labs.sweeps.params import PARAMS, SweepError
from gdplayground.labs.sweeps.plan import SweepPlan, axis_from_fields
from gdplayground.labs.sweeps.runs import SweepRun
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.runs.sweep_grid_view import SweepGridView
from gdplayground.gui.runs.sweep_runner import SweepProgress, SweepRunner
from gdplayground.gui.widgets.training_run import WindowWork

OPENING = {"lr": ("1e-4:1", 7, True), "batch-size": ("8,32,128,512", 4, False),
           "optimizer": ("sgd,momentum,adam", 3, False)}  # values a sweep of each opens with


class SweepPanel(QWidget):
    run_finished = Signal(object)  # SweepRun: it joins the run list

    def __init__(self, experiment: Callable[[], ExperimentConfig],
                 window_work: WindowWork | None = None):
        """`experiment()` gives the panels' settings: every run of a sweep starts from them;
        its steps wait while the window works (`window_work`)."""
        super().__init__()
        self.experiment, self.results, self.plan = experiment, [], None
        self.runner = SweepRunner(self, window_work)
        self.runner.progressed.connect(self._progressed)
        self.runner.run_finished.connect(self._run_finished)
        self.runner.finished.connect(lambda runs: self._ended(f"Sweep done: {_runs(runs)}."))
        self.runner.cancelled.connect(lambda runs: self._ended(
            f"Sweep cancelled: {_runs(runs)} that ended {'is' if len(runs) == 1 else 'are'} kept."))
        self.runner.failed.connect(lambda message: self._ended(f"Sweep stopped: {message}", True))
        self._build()
        self._param_chosen()

    def _build(self) -> None:
        self.param = guard_field(QComboBox())
        for name, param in PARAMS.items():
            self.param.addItem(f"{name} ({param.label})", name)
        self.param.setToolTip("The setting the sweep varies; every other setting is the "
                              "experiment's, as the panels show it")
        self.param.currentIndexChanged.connect(self._param_chosen)
        self.values = QLineEdit()
        self.values.setToolTip("A range LO:HI (with a count of values, on a log scale if "
                               "ticked), or a list V1,V2,… (names for optimizer, activation, init)")
        self.count, self.repeats, self.steps = (guard_field(QSpinBox()) for _ in range(3))
        for spin, low, high, value, tip in (
                (self.count, 2, 100, 7, "How many values a range is cut into"),
                (self.repeats, 1, 20, 1, "Runs per value, each from its own seed: the spread "
                                         "between them is luck, not the setting"),
                (self.steps, 1, 1_000_000, 300, "Steps each run trains")):
            spin.setRange(low, high)
            spin.setValue(value)
            spin.setToolTip(tip)
        self.log = guard_field(QCheckBox("log"))
        self.log.setToolTip("Space a range's values evenly on a log scale (rates: 1e-4, 1e-3, …)")
        self.start_button, self.cancel_button = QPushButton("Start sweep"), QPushButton("Cancel")
        self.start_button.setToolTip("Train one run per value (and repeat), one after another, "
                                     "at the engine's full speed; each joins the run list")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.setEnabled(False)
        self.progress, self.status = QProgressBar(), QLabel()
        self.status.setWordWrap(True)
        self.view = SweepGridView()  # a grid's heatmaps, or one setting's plots
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for fields in ((("Sweep", self.param), ("over", self.values)),  # two rows: fits 1024 wide
                       (("count", self.count), ("", self.log), ("repeats", self.repeats),
                        ("steps", self.steps), ("", self.start_button), ("", self.cancel_button))):
            row = QHBoxLayout()
            for label, widget in fields:
                if label:
                    row.addWidget(QLabel(label))
                row.addWidget(widget, 2 if widget is self.values else 0)
            row.addStretch()
            layout.addLayout(row)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.status, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def _param_chosen(self) -> None:
        text, count, log = OPENING.get(self.param.currentData(), ("", 5, False))
        self.values.setText(text)
        self.count.setValue(count)
        self.log.setChecked(log)

    # --- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.plan = self._plan()
            self.runner.start(self.experiment(), self.plan)
        except SweepError as exc:
            self.status.setText(f"<span style='color:#b00020'>{exc}</span>")
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

    def _plan(self) -> SweepPlan:
        axis = axis_from_fields(PARAMS[self.param.currentData()], self.values.text(),
                                self.count.value(), self.log.isChecked())
        return SweepPlan((axis,), self.repeats.value(), steps=self.steps.value())

    def _progressed(self, progress: SweepProgress) -> None:
        self.progress.setValue(round(progress.fraction * 100))
        self.status.setText(progress.words())

    def _run_finished(self, run: SweepRun) -> None:
        self.results.append(run)
        self.view.add(run)
        self.run_finished.emit(run)

    def _ended(self, words: str, failed: bool = False) -> None:
        """The bar says how many runs ended (a cancel drops the one in progress: the bar stayed
        at the share it had reached, as if still on its way)."""
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.view.draw_figures()
        done, runs = len(self.results), self.plan.runs
        self.progress.setValue(round(100 * done / runs))
        self.progress.setFormat(f"{done} of {runs} runs")
        self.status.setText(f"<span style='color:#b00020'>{words}</span>" if failed else words)

    def shutdown(self) -> None:
        """Cancel a sweep and wait for its thread: the window is closing."""
        self.runner.stop()


def _runs(runs: list) -> str:
    return f"{len(runs)} run{'s' * (len(runs) != 1)}"
