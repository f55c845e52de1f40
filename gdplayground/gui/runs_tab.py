"""The Runs tab: every kept run in a table, sortable by its figures. Selected runs are drawn
under the live curves of the Training tab; a run can be renamed (edit its name), pinned (the
bound never drops it), deleted, compared with another, or restored into the panels, with or
without its weights."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget)

from gdplayground.config import DATASET_WORDS, differences
from gdplayground.gui.overlays import run_colour
from gdplayground.runs import KeptRun, RunStore

COLUMNS = ("Name", "Pinned", "Data", "Steps", "Final loss", "Least loss", "Test acc.",
           "Best test acc.", "Time (s)", "Diverged")
FIGURE_COLUMNS = {3: "steps", 4: "final_loss", 5: "least_loss", 6: "final_test_accuracy",
                  7: "best_test_accuracy", 8: "seconds"}
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
    overlay_changed = Signal(list)  # [(KeptRun, colour index)] to draw under the live curves
    restore_requested = Signal(object, bool)  # (KeptRun, with its weights)

    def __init__(self, store: RunStore, sweep: QWidget):
        """`sweep`: the sweep panel, under the table: its runs join the list."""
        super().__init__()
        self.store, self.sweep = store, sweep
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setToolTip(TIPS["overlay"] + ". Double-click a name to rename the run.")
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemChanged.connect(self._renamed)
        self.compared = QLabel()
        self.compared.setWordWrap(True)
        self.compared.setTextInteractionFlags(Qt.TextSelectableByMouse)
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
        layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel("Every run is kept here when a new one starts, and when the window "
                       "closes. Select runs to overlay them on the Training tab's plots; select "
                       "two to compare their settings.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.compared)
        split = QSplitter(Qt.Vertical)
        split.addWidget(runs)
        split.addWidget(sweep)
        split.setSizes([300, 500])
        QVBoxLayout(self).addWidget(split)
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
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            if id(self._run_at(row)) in chosen:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._selection_changed()

    def _cells(self, run: KeptRun) -> list[QTableWidgetItem]:
        name = QTableWidgetItem(run.name)
        name.setData(Qt.UserRole, run)
        name.setToolTip(f"{run.name}\nended {run.ended}"
                        + (f"\n{run.folder}" if run.folder else "\n(kept in memory only)"))
        cells = [name, NumberItem(int(run.pinned), "pinned" if run.pinned else ""),
                 NumberItem(None, DATASET_WORDS.get(run.config.data.name, run.config.data.name))]
        cells[2].value = cells[2].text()
        for column, key in FIGURE_COLUMNS.items():
            value = run.figures.get(key)
            cells.append(NumberItem(value, _shown(key, value)))
        cells.append(NumberItem(int(run.diverged), "diverged" if run.diverged else ""))
        if run.diverged:
            cells[-1].setForeground(QBrush(QColor(176, 0, 32)))
        return cells

    def _run_at(self, row: int) -> KeptRun:
        return self.table.item(row, 0).data(Qt.UserRole)

    def selected(self) -> list[KeptRun]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._run_at(row) for row in rows]

    def _selection_changed(self) -> None:
        runs = self.selected()
        colours = {id(run): i for i, run in enumerate(self.store.runs)}
        self.table.blockSignals(True)  # an icon is no edit
        for row in range(self.table.rowCount()):  # an overlaid run's colour, beside its name
            run = self._run_at(row)
            self.table.item(row, 0).setIcon(swatch(run_colour(colours[id(run)], faded=False))
                                            if run in runs else QIcon())
        self.table.blockSignals(False)
        self.overlay_changed.emit([(run, colours[id(run)]) for run in runs])
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
            item.setText(run.name)  # an empty name keeps the old one
            self.table.blockSignals(False)
            self._selection_changed()  # the overlays' keys carry the name

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


def swatch(rgb) -> QIcon:
    """A square of a colour: an icon keeps its colour in a selected row, where text does not."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


def _shown(key: str, value) -> str:
    if value is None:
        return "—"
    if key == "steps":
        return f"{int(value):,}"
    if key.endswith("accuracy"):
        return f"{value:.2%}"
    return f"{value:.1f}" if key == "seconds" else f"{value:.4g}"
