"""The Path view: the run's kept weights on the plane of their first two principal components
around the current weights, the loss surface of that plane beneath them, and beside each point
its true loss, the loss of its projection on the plane and its distance from the plane: the
plane is not where the run went, and the table says how far it is."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget)

from gdplayground.labs import landscape
from gdplayground.labs.landscape import PathPlane, Terrain
from gdplayground.gui.landscape.surface import SurfacePlot
from gdplayground.gui.landscape.view import (
    HIGHLIGHT, LABEL_FILL, NOW, START, Cancel, LandscapeView, Progress, Settings, nearest)

COLUMNS = ("Step", "Loss", "On plane", "Off plane")
FAR = 0.25  # a point farther from the plane than this share of the path's reach on it is far
SPLIT = [560, 280]
PATH_PEN = pg.mkPen((255, 255, 255), width=2)
TOOLTIP = (
    "The path training took, seen on the plane that holds most of it: the first two principal "
    "components of the kept weights (each minus the current weights). The colours are the loss "
    "on that plane, not along the path: a point off the plane has a loss of its own, in the "
    "table. The PCA plane depends on the path, so two runs' pictures have different axes.")
TABLE_TIP = ("Each kept point: its step; Loss, the true loss of its own weights; On plane, the "
             "loss where it lands on the plane (what the colours show beneath it); Off plane, "
             "how far its weights lie from the plane (in the units of the axes). Click a row to "
             "mark the point.")


class PathView(LandscapeView):
    title = "Path"
    tooltip = "The run's path on the plane of its first two principal components"
    needs_path = True

    def __init__(self):
        super().__init__()
        self.surface = SurfacePlot("PC1", "PC2", TOOLTIP)
        self.path = pg.PlotDataItem(pen=PATH_PEN, symbol="o", symbolSize=5,
                                    symbolBrush=(255, 255, 255), symbolPen=None)
        self.ends = pg.ScatterPlotItem(size=12, pen=pg.mkPen("k"))
        self.mark = pg.ScatterPlotItem(size=18, symbol="o", brush=None,
                                       pen=pg.mkPen(HIGHLIGHT, width=3))
        self.labels = [pg.TextItem("start", color=START, anchor=(0, 1), fill=LABEL_FILL),
                       pg.TextItem("now", color=NOW, anchor=(0, 1), fill=LABEL_FILL)]
        for z, item in enumerate((self.path, self.ends, self.mark, *self.labels)):
            # a label's size in data units shrinks with the range: fitting it would shrink the
            # range at every paint of a view without a surface
            self.surface.addItem(item, ignoreBounds=isinstance(item, pg.TextItem))
            item.setZValue(10 + z)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setToolTip(TABLE_TIP)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._row_chosen)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addWidget(self.warning)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.surface)
        split.addWidget(side)
        split.setSizes(SPLIT)
        split.setChildrenCollapsible(False)
        self.layout.addWidget(split, 1)
        self.layout.addWidget(self.caption)

    @staticmethod
    def compute(terrain: Terrain, settings: Settings, progress: Progress,
                cancelled: Cancel) -> PathPlane:
        return landscape.path_plane(terrain.probe, terrain.path, settings.grid, settings.samples,
                                    settings.seed, progress, cancelled, step=terrain.step)

    def show_result(self, result: PathPlane, terrain: Terrain) -> None:
        super().show_result(result, terrain)
        lost = self.surface.draw(result.surface)
        first, second = result.explained
        self.surface.setLabel("bottom", f"PC1, {first:.0%} of the path's variance")
        self.surface.setLabel("left", f"PC2, {second:.0%} of the path's variance")
        x, y = result.coords[:, 0], result.coords[:, 1]
        self.path.setData(x, y)
        self.ends.setData([x[0], x[-1]], [y[0], y[-1]], brush=[pg.mkBrush(START), pg.mkBrush(NOW)])
        self.labels[0].setPos(x[0], y[0])
        self.labels[1].setPos(x[-1], y[-1])
        self.labels[0].setText(f"start (step {int(result.steps[0]):,})")
        self.labels[1].setText(f"now (step {terrain.step:,})")
        self.mark.setData([], [])
        self._fill_table(result)
        self.warning.setText(distance_words(result))
        words = (f"The path's {len(x)} kept points on the plane of its first two principal "
                 f"components ({first + second:.0%} of its variance); the loss beneath on "
                 f"{result.surface.samples:,} examples.")
        if lost:
            words += f" {lost} grid points had no finite loss: drawn in the highest colour."
        self.caption.setText(" ".join(filter(None, [words, result.surface.note])))

    def _fill_table(self, result: PathPlane) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(result.steps))
        last = len(result.steps) - 1
        for row in range(len(result.steps)):
            step = f"{int(result.steps[row]):,}"
            step = f"now ({step})" if row == last else step
            cells = (step, f"{result.true_loss[row]:.4g}", f"{result.plane_loss[row]:.4g}",
                     f"{result.distance[row]:.3g}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.clearSelection()
        self.table.blockSignals(False)

    def clear(self, message: str) -> None:
        super().clear(message)
        self.surface.clear_surface()
        for item in (self.path, self.ends, self.mark):
            item.setData([], [])
        for label in self.labels:
            label.setText("")
        self.table.setRowCount(0)
        self.warning.setText("")

    def highlight(self, step: int | None) -> None:
        if self.result is None:
            return
        if step is None:
            self.mark.setData([], [])
            self.table.clearSelection()
            return
        self._mark_row(nearest(self.result.steps, step))

    def _mark_row(self, row: int) -> None:
        x, y = self.result.coords[row]
        self.mark.setData([x], [y])
        self.table.blockSignals(True)
        self.table.selectRow(row)
        self.table.blockSignals(False)
        self.table.scrollToItem(self.table.item(row, 0))

    def _row_chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if self.result is not None and rows and rows[0].row() < len(self.result.coords):
            self._mark_row(rows[0].row())

    @property
    def marked(self) -> tuple[float, float] | None:
        """Where the mark is on the plane, if anywhere."""
        x, y = self.mark.getData()
        return (float(x[0]), float(y[0])) if len(x) else None


def distance_words(result: PathPlane) -> str:
    """Whether the picture can be trusted: how far the points lie from the plane against how far
    the path reaches on it, and how different the losses there are."""
    reach = float(np.max(np.linalg.norm(result.coords - result.coords[-1], axis=1)))
    far = float(np.max(result.distance))
    gap = np.abs(result.true_loss - result.plane_loss)
    worst = int(np.argmax(gap))
    if far > FAR * max(reach, 1e-12):
        return (f"<b>The plane is not where the run went.</b> Points lie up to {far:.3g} from "
                f"it, against {reach:.3g} for the path's reach on it; at step "
                f"{int(result.steps[worst]):,} the true loss is {result.true_loss[worst]:.4g}, the "
                f"plane's {result.plane_loss[worst]:.4g}. Read the colours beneath the path as a "
                f"nearby slice, not as the ground it crossed.")
    return (f"The path lies close to the plane: up to {far:.3g} from it, against {reach:.3g} "
            f"for its reach on it; the losses differ by up to {gap[worst]:.3g}.")
