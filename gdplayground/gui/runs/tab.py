"""The Runs tab: every kept run in a table, sortable by its figures, and a sweep beside it on a
page of its own. Selected runs are drawn under the live curves of the Training tab; a run can be
renamed (edit its name), pinned (the bound never drops it), deleted, compared with another, or
restored into the panels, with or without its weights."""

from __future__ import annotations

import html

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
    QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gdplayground.config import differences
from gdplayground.gui.widgets.overlays import run_colour
from gdplayground.store.runs import KeptRun, RunStore, exact_loss
from gdplayground.gui.widgets.tab_spec import TabSpec

COLUMNS = ("Name", "Pinned", "Data", "Steps", "Final loss", "Least loss", "Test acc.\nat end",
           "Best test\nacc. seen", "Time (s)", "Diverged")  # two lines: room for the name
FIGURE_COLUMNS = {3: "steps", 4: "final_loss", 5: "least_loss", 6: "final_test_accuracy",
                  7: "best_test_accuracy", 8: "seconds"}
SMOOTHED = "≈"  # before a loss that is the moving average of noisy batch losses
LOSS_WORDS = {True: "the exact training loss (full batch: every step measures it on all the "
                    "training data)",
              False: f"{SMOOTHED} the moving average of the batch losses, as the Training tab's "
                     f"smoothed curve (one mini-batch's loss is noisy)"}
HEADER_TIPS = {
    "Final loss": "The training loss at the run's last step: exact in full-batch runs; in "
                  f"mini-batch runs (marked {SMOOTHED}) the moving average of the batch losses, "
                  "as the Training tab's smoothed curve draws it: one batch's loss is noisy",
    "Least loss": "The least training loss over the whole run, measured as the final loss is "
                  f"(exact, or {SMOOTHED} the moving average)",
    "Test acc.\nat end": "Accuracy on the whole test set with the run's final weights, measured "
                        "once as the run ended",
    "Best test\nacc. seen": "The highest test accuracy seen: a small test set (the 2-D data sets') "
                           "is measured a few times a second while training, and every set at "
                           "the end. Above the accuracy at the end, the run passed its best "
                           "before it ended (overfitting, or luck)",
    "Steps": "Steps trained (a diverged run: up to where it diverged)",
    "Time (s)": "Seconds spent training",
    "Diverged": "The loss became NaN or infinite, or rose far above where it started",
    "Pinned": "A pinned run is never dropped when the list is full",
}
TIPS = {
    "overlay": "Selected runs are drawn, faded, under the live curves of the Training tab "
               "(Ctrl+click or Shift+click to select several)",
    "pin": "A pinned run is never dropped when the list is full (it keeps the newest runs)",
    "restore": "Put this run's settings into the panels (a new run starts, after asking)",
    "weights": "Put this run's settings and its final weights back: training goes on from there",
}


class NumberItem(QTableWidgetItem):
    """A cell that sorts by its number (an empty one last), not by its text."""

    def __init__(self, value: float | None, text: str):
        super().__init__(text)
        self.value = value
        self.setFlags(self.flags() & ~Qt.ItemIsEditable)

    def __lt__(self, other) -> bool:
        mine, theirs = self.value, getattr(other, "value", None)
        if mine is None or theirs is None:
            return theirs is None and mine is not None
        return mine < theirs


class RunsTab(QWidget):
    SPEC = TabSpec(
        "Runs",
        "Every run kept: compare, overlay, restore")

    overlay_changed = Signal(list)  # [(KeptRun, colour index)] to draw under the live curves
    restore_requested = Signal(object, bool)  # (KeptRun, with its weights)

    def __init__(self, store: RunStore, sweep: QWidget):
        """`sweep`: the sweep panel, on a page beside the table: its runs join the list."""
        super().__init__()
        self.store, self.sweep = store, sweep
        self._overlaid: list = []  # what overlay_changed said last
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for column, words in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(column).setToolTip(HEADER_TIPS.get(words, ""))
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setWordWrap(False)  # a long name ends in "…": its tooltip gives it whole
        self.table.verticalHeader().setVisible(False)  # row numbers say nothing of a run
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setToolTip(TIPS["overlay"] + ". Double-click a name to rename the run.")
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemChanged.connect(self._renamed)
        self.compared = QLabel()
        self.compared.setWordWrap(True)
        self.compared.setTextFormat(Qt.PlainText)  # run names are the user's: never HTML
        self.compared.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.over_limit = QLabel()
        self.over_limit.setWordWrap(True)
        self.buttons = {key: QPushButton(words) for key, words in (
            ("pin", "Pin / unpin"), ("delete", "Delete"), ("restore", "Restore settings"),
            ("weights", "Restore settings and weights"))}
        for key, button in self.buttons.items():
            button.setToolTip(TIPS.get(key, "Delete the selected runs and their folders"))
        self.buttons["pin"].clicked.connect(self._toggle_pins)
        self.buttons["delete"].clicked.connect(self._delete_selected)
        self.buttons["restore"].clicked.connect(lambda: self._restore(False))
        self.buttons["weights"].clicked.connect(lambda: self._restore(True))
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        row.addStretch()
        runs = QWidget()
        layout = QVBoxLayout(runs)
        intro = QLabel("Every run is kept here when a new one starts, and when the window "
                       "closes. Select runs to overlay them on the Training tab's plots; select "
                       "two to compare their settings.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.over_limit)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.compared)
        # Two pages, each with the tab's whole height: one above the other, the table showed
        # three rows and the sweep's plots were 30 pixels tall in a 1024×640 window.
        self.pages = QTabWidget()
        self.pages.addTab(runs, "Kept runs")
        self.pages.addTab(sweep, "Sweep")
        self.pages.setTabToolTip(1, "Train one run per value of a setting, or per pair of "
                                    "values of two, several at once: each joins the kept runs")
        QVBoxLayout(self).addWidget(self.pages)
        self.refresh()

    # --- the table -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fill the table from the store, keeping the selection."""
        chosen = {id(run) for run in self.selected()}
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.store.runs))
        for row, run in enumerate(self.store.runs):
            for column, item in enumerate(self._cells(run)):
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        # The figures as wide as they need, the name the rest: measured once here (a header
        # that resizes to its contents measures every row for every cell set: 2 s for 50 runs).
        self.table.resizeColumnsToContents()
        self._select_rows(chosen)
        self.table.blockSignals(False)
        self.pages.setTabText(0, f"Kept runs ({len(self.store.runs)})")
        self.over_limit.setText(
            f"{len(self.store.runs)} runs are kept, more than the {self.store.limit} the list "
            f"holds: every run but the newest is pinned, and a pinned run is never dropped. "
            f"Unpin runs to let the oldest go." if self.store.over_limit else "")
        self.over_limit.setVisible(self.store.over_limit)
        self._selection_changed()

    def _cells(self, run: KeptRun) -> list[QTableWidgetItem]:
        name = QTableWidgetItem(run.name)
        name.setData(Qt.UserRole, run)
        name.setToolTip(name_tip(run))
        cells = [name, NumberItem(int(run.pinned), "pinned" if run.pinned else ""),
                 NumberItem(None, run.config.data.words)]
        cells[2].value = cells[2].text()
        exact = exact_loss(run.config)
        for column, key in FIGURE_COLUMNS.items():
            value = run.figures.get(key)
            cells.append(NumberItem(value, _shown(key, value, exact)))
            if key.endswith("loss") and value is not None:
                cells[-1].setToolTip(LOSS_WORDS[exact])
        cells.append(NumberItem(int(run.diverged), "diverged" if run.diverged else ""))
        if run.diverged:
            cells[-1].setForeground(QBrush(QColor(176, 0, 32)))
        return cells

    def select(self, runs: list[KeptRun]) -> None:
        """Select these runs and no others (the Training tab overlays them), the first in view."""
        self.table.blockSignals(True)
        self._select_rows({id(run) for run in runs})
        self.table.blockSignals(False)
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.scrollTo(min(rows, key=lambda index: index.row()))
        self._selection_changed()

    def _select_rows(self, chosen: set[int]) -> None:
        """Select the rows of the runs whose ids are `chosen`, and no others."""
        self.table.clearSelection()
        add_row = QItemSelectionModel.Select | QItemSelectionModel.Rows  # selectRow would replace
        for row in range(self.table.rowCount()):
            if id(self._run_at(row)) in chosen:
                self.table.selectionModel().select(self.table.model().index(row, 0), add_row)

    def _run_at(self, row: int) -> KeptRun:
        return self.table.item(row, 0).data(Qt.UserRole)

    def selected(self) -> list[KeptRun]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._run_at(row) for row in rows]

    def _selection_changed(self) -> None:
        runs = self.selected()
        self.table.blockSignals(True)  # an icon is no edit
        for row in range(self.table.rowCount()):  # an overlaid run's colour, beside its name
            run = self._run_at(row)
            self.table.item(row, 0).setIcon(swatch(run_colour(run.colour, faded=False))
                                            if run in runs else QIcon())
        self.table.blockSignals(False)
        overlaid = [(run, run.colour) for run in runs]
        if overlaid != self._overlaid:  # a run joining the list changes no overlay
            self._overlaid = overlaid
            self.overlay_changed.emit(overlaid)
        one = len(runs) == 1
        self.buttons["restore"].setEnabled(one)
        self.buttons["weights"].setEnabled(one and runs[0].folder is not None)
        self.buttons["pin"].setEnabled(bool(runs))
        self.buttons["delete"].setEnabled(bool(runs))
        self.compared.setText(self._comparison(runs))

    def _comparison(self, runs: list[KeptRun]) -> str:
        if len(runs) != 2:
            return "Select two runs to see how their settings differ."
        found = differences(runs[0].config, runs[1].config)
        head = f"“{runs[0].name}” → “{runs[1].name}”: "
        return head + ("; ".join(found) if found else "the same settings (another seed's luck "
                                                        "aside, they should agree)") + "."

    # --- what the buttons do -------------------------------------------------------------------
    def _renamed(self, item: QTableWidgetItem) -> None:
        run = item.data(Qt.UserRole) if item.column() == 0 else None
        if run is not None and item.text() != run.name:  # not an icon or colour changing
            self.store.rename(run, item.text())
            self.table.blockSignals(True)
            item.setText(run.name)  # one with nothing printable keeps the old one
            item.setToolTip(name_tip(run))
            self.table.blockSignals(False)
            self._overlaid = []  # the overlays' keys carry the name: drawn again
            self._selection_changed()

    def _toggle_pins(self) -> None:
        runs = self.selected()
        pin = not all(run.pinned for run in runs)
        for run in runs:
            self.store.pin(run, pin)
        self.refresh()

    def _delete_selected(self) -> None:
        for run in self.selected():
            self.store.delete(run)
        self.refresh()

    def _restore(self, with_weights: bool) -> None:
        runs = self.selected()
        if len(runs) == 1:
            self.restore_requested.emit(runs[0], with_weights)


def name_tip(run: KeptRun) -> str:
    """A run's name, when it ended and where it is kept: HTML, the name escaped (it is text)."""
    where = html.escape(str(run.folder)) if run.folder else "(kept in memory only)"
    return f"<b>{html.escape(run.name)}</b><br>ended {run.ended}<br>{where}"


def swatch(rgb) -> QIcon:
    """A square of a colour: an icon keeps its colour in a selected row, where text does not."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


def _shown(key: str, value, exact: bool) -> str:
    if value is None:
        return "—"
    if key == "steps":
        return f"{int(value):,}"
    if key.endswith("accuracy"):
        return f"{value:.2%}"
    if key == "seconds":
        return f"{value:.1f}"
    return f"{'' if exact else SMOOTHED}{value:.4g}"
