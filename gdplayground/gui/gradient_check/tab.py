"""The Gradient check tab: the Training tab's network at its current weights, backprop against
finite differences for every parameter in float64 and float32, the error of a difference
quotient against its step h, and numpy.gradient shown for what it is.

The check asks the training worker for a probe (copies of the weights and a fixed batch, taken
between two steps) and runs on a thread of its own (background.py), so training and the window
go on meanwhile; Cancel stops it between two evaluations of the loss.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from shiboken6 import isValid
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QSplitter,
    QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gdplayground.labs.gradient_lab import (
    CHECK_ENTRIES, DTYPES, EXCELLENT, OK, UNCOMFORTABLE, GradientReport, LayerCheck, Probe,
    conclusion, examine, suited_h)
from gdplayground.gui.widgets.background import Background, StopWithWindow
from gdplayground.gui.gradient_check.numpy_gradient_panel import NumpyGradientPanel
from gdplayground.gui.widgets.plots import use_plot_style
from gdplayground.gui.gradient_check.h_sweep_view import SweepView
from gdplayground.gui.widgets.tab_spec import TabSpec

SHORTCUT = "Ctrl+G"
NO_BREAK = "\u2060"  # a word joiner: Qt breaks lines after "|", and "(ε|" ended a line
SPLIT = [420, 600]  # the table's share of the width, and the plots'
COLUMNS = ("Parameter", "dtype", "Entries", "Relative error", "Verdict")
VERDICT_COLOURS = {"wrong": "#f2b8b5", "inconclusive": "#f8dd9c", "uncomfortable": "#f8dd9c",
                   "cannot resolve": "#d9dee6", "ok": "#cfe9c6", "excellent": "#a8d99b"}
VERDICT_WORDS = {
    "wrong": "Above 1e-2 in float64, and more than round-off can make: backprop and the "
             "difference quotient disagree. The gradient is probably wrong.",
    "cannot resolve": "Above 1e-2, but no more than round-off alone can make: L is known to "
                      "about ε|L|, so (L(w+h) − L(w−h)) / 2h is known to about ε|L|/h, here as "
                      "large as the gradient itself. Finite differences cannot resolve this "
                      "gradient; that says nothing against backprop.",
    "inconclusive": "Above 1e-2 in float32: float32 keeps about 7 digits, and its round-off, "
                    "ε|L|/h, can swamp a small gradient. It cannot tell a bug from rounding: "
                    "float64's row decides.",
    "uncomfortable": "1e-4 to 1e-2: uncomfortable in float64; in float32, about what its "
                     "7 digits allow.",
    "ok": "1e-7 to 1e-4: ok. Kinks (ReLU at 0) and small gradients can leave this much.",
    "excellent": "Below 1e-7: excellent. Both zero counts as a pass.",
}


def power(x: float) -> str:
    """1e-2, not 0.01 or 1e-02: the bands read as powers of ten."""
    return f"{x:.0e}".replace("e-0", "e-")


THRESHOLDS = (
    f"Relative error |a − n| / max(|a|, |n|) between backprop's a and the central difference n, "
    f"the largest over the sampled entries (both zero is a pass). CS231n's bands, for float64: "
    f"above {power(UNCOMFORTABLE)} probably wrong (red), {power(OK)} to {power(UNCOMFORTABLE)} "
    f"uncomfortable (amber), {power(EXCELLENT)} to {power(OK)} ok, below {power(EXCELLENT)} "
    f"excellent (green). An error no larger than round-off can make (ε|L|/h, with |L| counting "
    f"what rounding can move the loss by) is not held against backprop: above "
    f"{power(UNCOMFORTABLE)} it says cannot resolve (grey). float32 cannot reach the bands: its "
    f"rows above {power(UNCOMFORTABLE)} say inconclusive, not wrong.")
BUTTON_TIP = (
    f"Compare backprop's gradient with finite differences ({SHORTCUT}): the network of the "
    "Training tab at its current weights, on 32 training examples, dropout off. A bug in a "
    "backward pass shows as a large relative error in its layer; it is how you test backprop. "
    "Also sweeps the step h of the differences from 1e-1 to 1e-12. Training goes on meanwhile.")


class GradientCheckTab(QWidget):
    """`ask(what, callback)` is TrainingSession.ask: `callback(probe)` runs on the GUI thread."""
    SPEC = TabSpec(
        "Gradient check",
        "Backprop's gradient of the Training tab's network against finite differences, "
        "and how the difference's step h matters")


    def __init__(self, ask: Callable[[str, Callable], None], parent: QWidget | None = None):
        super().__init__(parent)
        use_plot_style()
        self._ask = ask
        self.state = "idle"  # asking (for a probe), running, finished, cancelled or failed
        self.probe: Probe | None = None
        self.report: GradientReport | None = None
        self.background = Background(self)
        StopWithWindow(self, self.shutdown)
        self._make_widgets()
        self._lay_out()
        self.background.progressed.connect(self._progressed)
        self.background.finished.connect(self._finished)
        self.background.cancelled.connect(lambda: self._set_state("cancelled"))
        self.background.failed.connect(lambda message: self._set_state("failed", message))
        self._set_state("idle")

    def _make_widgets(self) -> None:
        self.check_button = QPushButton(f"Check the gradient ({SHORTCUT})")
        self.check_button.setShortcut(QKeySequence(SHORTCUT))
        self.check_button.setToolTip(BUTTON_TIP)
        self.check_button.clicked.connect(self.check)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the check; what it has not finished is dropped.")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.caption = QLabel(_caption())
        self.caption.setWordWrap(True)
        self.caption.setToolTip(THRESHOLDS)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setToolTip(THRESHOLDS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.legend = QLabel(_legend())
        self.legend.setWordWrap(True)
        self.legend.setToolTip(THRESHOLDS)
        self.sweep = SweepView()
        self.numpy_gradient = NumpyGradientPanel()
        self.views = QTabWidget()
        self.views.addTab(self.sweep, "Error against h")
        self.views.addTab(self.numpy_gradient, "numpy.gradient")

    def _lay_out(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.check_button)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.progress, 1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.caption)
        column.addWidget(self.table, 1)
        column.addWidget(self.legend)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(self.views)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes(SPLIT)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    # --- the check ------------------------------------------------------------------------
    def check(self) -> None:
        """Ask the worker for a probe; the check starts when it comes."""
        if self.state in ("asking", "running"):
            return
        self._set_state("asking")
        self._ask("probe", self._probe_arrived)

    def cancel(self) -> None:
        if self.state == "asking":  # the probe, when it comes, is dropped
            self._set_state("cancelled")
        elif self.state == "running":
            self.background.cancel()
            self.status.setText("Cancelling…")

    def _probe_arrived(self, probe: Probe | None) -> None:
        if not isValid(self) or self.state != "asking":  # closed, or cancelled, meanwhile
            return
        if probe is None:
            self._set_state("failed", "There is no network to check yet: the run is still being "
                                      "built, or its settings were refused.")
            return
        self.probe, self.report = probe, None
        self._set_state("running")
        self.background.run(partial(_examine, probe))

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if done >= total:  # at 100% nothing is left to sweep: the results are being drawn
            self.status.setText(STATUS["drawing"])

    def _finished(self, report: GradientReport) -> None:
        self.report = report
        self._fill_table(report.checks)
        self.sweep.draw(report.sweep)
        self._set_state("finished", f"{self.probe.describe()}: {conclusion(report.checks)}")

    def shutdown(self) -> None:
        """Cancel a check and wait for its thread to end: the window is closing. Called on its
        own when the tab's window closes (StopWithWindow)."""
        self.cancel()
        self.background.stop()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    # --- what it shows ----------------------------------------------------------------------
    def _set_state(self, state: str, message: str = "") -> None:
        self.state = state
        busy = state in ("asking", "running")
        self.check_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if state == "asking":
            self.progress.setRange(0, 0)  # busy until the probe comes and the count is known
        elif not busy:
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if state == "finished" else 0)
        if busy:  # the last check's results go at once, not when the probe comes
            self._show_in_table("Checking…")
            self.sweep.clear()
            self.sweep.summary.setText("The sweep of h follows the check…")
        elif state == "cancelled":
            self._show_in_table("Check cancelled. Press Check the gradient to run it again.")
            self.sweep.summary.setText("Cancelled with the check.")
        elif state == "failed":
            self._show_in_table("No result: the message above says why.")
        elif state == "idle":
            self._show_in_table(f"Press Check the gradient ({SHORTCUT}).")
        self.status.setText(message or STATUS[state])

    def _show_in_table(self, text: str) -> None:
        """One line across the table instead of results."""
        self.table.clearSpans()
        self.table.setRowCount(1)
        self.table.setSpan(0, 0, 1, len(COLUMNS))
        self.table.setItem(0, 0, QTableWidgetItem(text))

    def _fill_table(self, checks: list[LayerCheck]) -> None:
        self.table.clearSpans()
        self.table.setRowCount(len(checks))
        for row, check in enumerate(checks):
            cells = (check.parameter, check.dtype, str(check.entries), f"{check.error:.1e}",
                     check.verdict)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (2, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, column, item)
            verdict = self.table.item(row, len(COLUMNS) - 1)
            verdict.setBackground(QBrush(QColor(VERDICT_COLOURS[check.verdict])))
            verdict.setToolTip(f"{VERDICT_WORDS[check.verdict]}\nAt its worst entry round-off "
                               f"alone can make a relative error of {check.round_off:.1e}.")


STATUS = {
    "idle": "The check compares backprop with finite differences on the network as it is now.",
    "asking": "Taking a copy of the network between two training steps…",
    "running": "Checking every parameter in float64 and float32, then sweeping h…",
    "drawing": "Every loss evaluated: filling the table and drawing the sweep…",
    "finished": "",
    "cancelled": "Cancelled.",
    "failed": "The check failed.",
}


def _examine(probe: Probe, progress, cancelled) -> GradientReport:
    return examine(probe, progress=progress, cancelled=cancelled)


def _legend() -> str:
    """The verdicts' colours and bands, under the table."""
    bands = (("wrong", f"&gt; {power(UNCOMFORTABLE)}"),
             ("uncomfortable", f"{power(OK)} – {power(UNCOMFORTABLE)}"),
             ("ok", f"{power(EXCELLENT)} – {power(OK)}"), ("excellent", f"&lt; {power(EXCELLENT)}"),
             ("cannot resolve", "within round-off"))
    swatches = " ".join(f"<span style='background:{VERDICT_COLOURS[word]}'>&nbsp;{word} "
                        f"{band}&nbsp;</span>" for word, band in bands)
    return (f"{swatches}<br>CS231n's bands, for float64. An error no larger than round-off "
            f"alone can make (ε|{NO_BREAK}L|{NO_BREAK}/h) is not held against backprop. float32 "
            f"keeps about 7 digits: above {power(UNCOMFORTABLE)} it is inconclusive, and float64 "
            "decides.")


def _caption() -> str:
    h = ", ".join(f"{suited_h(dtype):.1e} in {dtype.name}" for dtype in DTYPES)
    return (f"Backprop against central differences, up to {CHECK_ENTRIES} entries of each "
            f"parameter; h = ε^(1/3): {h}. Dropout is off for the check.")
