"""The result of a sweep drawn, for one setting or two: a two-setting sweep as three heatmaps
over its grid (the final and the least training loss and the test accuracy), beside today's
one-setting plots (sweep_result_view.py) along a chosen row or column of the grid; a
one-setting sweep as those plots alone. And the same as a PNG for `gdplayground sweep`.

A heatmap draws one cell per point of the grid, at index positions labelled with the values (a
log-spaced axis says so in its title). A cell is the mean over its repeats that trained to the
end (labs/sweeps/grid.py); a cell whose runs all diverged is a red ✕ on grey, never a colour on
the loss's scale; a failed one is hatched; an empty one (no run yet) is left blank. Brighter is
better on all three. Hovering a cell tells each repeat's figures; clicking it hands its runs to
`cell_clicked` (the window selects them in the run list, which overlays them on the Training
tab) and draws the row or column through it below.

Runs end in any order when workers train them side by side: each is placed by its point, and
the heatmaps are drawn again from all the runs so far at most every FIGURES_INTERVAL_MS.
"""

from __future__ import annotations

import copy
import html
import math
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QCursor, QFont
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QSplitter, QToolTip, QVBoxLayout, QWidget)

from gdplayground.labs.sweeps.grid import DIVERGED, FAILED, MEASURED, Cell, SweepGrid
from gdplayground.labs.sweeps.plan import SweepPlan
from gdplayground.labs.sweeps.runs import FailedRun, SweepRun
from gdplayground.gui.runs.sweep_result_view import (
    DIVERGED as DIVERGED_RED, FIGURES_INTERVAL_MS, LABEL_OVERHANG, SweepResultView)
from gdplayground.gui.widgets.plots import use_plot_style

NEUTRAL = (205, 205, 205)  # a diverged cell's fill: no colour of the scale
HATCH = (120, 120, 120)  # a failed cell's hatching
LOG_DECADES = 1.0  # a loss spanning at least this many decades is coloured on a log scale
TICK_LABELS = 9  # at most this many values labelled along an axis (every k-th beyond)
PNG_SIZE = (1400, 1000)
VALUE_CELLS = 150  # cells up to this many carry their figure as text
FIGURE_TITLES = {"final_loss": "Final training loss", "least_loss": "Least training loss",
                 "test_accuracy": "Test accuracy"}
MEAN_WORDS = {"final_loss": "final", "least_loss": "least", "test_accuracy": "test accuracy"}
HEATMAP_TIP = ("One cell per pair of values: the mean over its repeats that trained to the end. "
               "Brighter is better. Red ✕ on grey: every run there diverged; hatched: its runs "
               "failed; blank: no run yet. Losses are the training loss as the Training tab "
               "plots it (the moving average of the batch losses). Hover a cell for its runs; "
               "click it to select them in Kept runs, which overlays them on the Training tab.")


def colours(name: str) -> pg.ColorMap:
    """viridis, bright where the figure is good: reversed for a loss."""
    cmap = copy.deepcopy(pg.colormap.get("viridis"))  # get() hands out one shared map
    if name != "test_accuracy":
        cmap.reverse()
    return cmap


def scale_of(name: str, values: np.ndarray) -> tuple[bool, float, float]:
    """(log, low, high): how a figure's cells are coloured. Accuracy: 0 to 1; a loss: its
    least to its greatest, on a log scale when it spans a decade or more."""
    if name == "test_accuracy":
        return False, 0.0, 1.0
    found = values[np.isfinite(values)]
    if not len(found):
        return False, 0.0, 1.0
    low, high = float(found.min()), float(found.max())
    log = low > 0 and math.log10(high / low) >= LOG_DECADES
    if log:
        low, high = math.log10(low), math.log10(high)
    if high - low < 1e-12:  # one value, or all alike: a scale around it
        low, high = low - 0.5 * (abs(low) or 1), high + 0.5 * (abs(high) or 1)
    return log, low, high


def bar_ticks(name: str, log: bool, low: float, high: float) -> list[tuple[float, str]] | None:
    """A colour bar's labels: an accuracy in percent, a log scale's 1, 2 and 5 of each decade
    (as numbers, at their logarithms); None on a linear scale (pyqtgraph's own)."""
    if name == "test_accuracy":
        return [(v, f"{v:.0%}") for v in (0.0, 0.5, 1.0)]
    if not log:
        return None
    return [(math.log10(m) + k, f"{m * 10.0 ** k:g}")
            for k in range(math.floor(low), math.ceil(high)) for m in (1, 2, 5)
            if low <= math.log10(m) + k <= high]


def figure_text(name: str, value: float) -> str:
    return f"{value:.1%}" if name == "test_accuracy" else f"{value:.3g}"


def run_words(run: SweepRun | FailedRun) -> str:
    """ "repeat 0: final 0.12, least 0.1, test accuracy 96.5%" """
    head = f"repeat {run.repeat}: "
    if isinstance(run, FailedRun):
        return head + f"failed: {run.reason}"
    if run.diverged:
        return head + f"diverged at step {run.diverged_at_step:,}"
    accuracy = ("" if run.test_accuracy is None else
                ", test accuracy " + figure_text("test_accuracy", run.test_accuracy))
    return head + f"final {run.final_loss:.4g}, least {run.least_loss:.4g}{accuracy}"


def cell_words(plan: SweepPlan, cell: Cell) -> str:
    """A cell's tooltip: its values, each repeat's figures, the means (HTML)."""
    lines = [f"<b>{html.escape(point_labels(plan, cell.point))}</b>"]
    lines += [html.escape(run_words(run)) for run in cell.runs] or ["no run has ended yet"]
    kept = len(cell.runs) - cell.diverged - cell.failed
    if kept > 1:
        means = ", ".join(f"{words} {figure_text(name, getattr(cell, name))}"
                          for name, words in MEAN_WORDS.items() if np.isfinite(getattr(cell, name)))
        lines.append(f"mean of {kept}: {means}")
    if cell.runs:
        lines.append("<i>Click: select these runs in Kept runs (overlaid on the Training "
                     "tab)</i>")
    return "<br>".join(f"<nobr>{line}</nobr>" for line in lines)  # a line unbroken


def point_labels(plan: SweepPlan, point: tuple) -> str:
    """ "learning rate 0.01, batch size 64" """
    return ", ".join(f"{axis.param.label} {axis.param.text(value)}"
                     for axis, value in zip(plan.axes, point))


def value_ticks(plan_axis, count: int) -> list[tuple[float, str]]:
    """Each value at its index, at most TICK_LABELS of them labelled (every k-th)."""
    every = max(1, math.ceil(count / TICK_LABELS))
    return [(float(i), plan_axis.param.text(value) if i % every == 0 else "")
            for i, value in enumerate(plan_axis.values)]


def axis_title(plan_axis) -> str:
    return plan_axis.param.label + (" (log scale)" if plan_axis.log_axis else "")


class Heatmap(pg.PlotWidget):
    """One figure over the grid: a coloured cell per measured point, with a colour bar; grey
    with a red ✕ where every run diverged, hatched where they failed, blank where none ended."""

    cell_clicked = Signal(int, int)  # (i, j): the first axis's value i, the second's j
    cell_hovered = Signal(int, int)  # … (-1, -1) off the grid

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        item = self.getPlotItem()
        item.setTitle(FIGURE_TITLES[name])
        item.setMouseEnabled(False, False)  # a grid is read, not panned
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getAxis("bottom").setStyle(hideOverlappingLabels=LABEL_OVERHANG)
        self.setToolTip(HEATMAP_TIP)
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0, 1), width=12, colorMap=colours(name),
                                   interactive=False, colorMapMenu=False)
        self.bar.setImageItem(self.image, insert_in=item)
        self.fills = {state: pg.ScatterPlotItem(pxMode=False, symbol="s", size=1.0, pen=None,
                                                brush=brush)
                      for state, brush in ((DIVERGED, pg.mkBrush(NEUTRAL)),
                                           (FAILED, QBrush(QColor(*HATCH), Qt.BDiagPattern)))}
        self.crosses = pg.ScatterPlotItem(symbol="x", size=14, pen=None, brush=DIVERGED_RED)
        self.picked = pg.ScatterPlotItem(pxMode=False, symbol="s", size=0.96, brush=None,
                                         pen=pg.mkPen("k", width=2))  # the cell clicked last
        for extra in (*self.fills.values(), self.crosses, self.picked):
            self.addItem(extra)
        self.texts: list[pg.TextItem] = []
        self.shape = (0, 0)
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_axes(self, plan: SweepPlan) -> None:
        """The grid's axes: index positions labelled with the values; nothing drawn."""
        self.shape = plan.shape
        first, second = plan.axes
        item = self.getPlotItem()
        item.setLabel("bottom", axis_title(first))
        item.setLabel("left", axis_title(second))
        item.getAxis("bottom").setTicks([value_ticks(first, plan.shape[0])])
        item.getAxis("left").setTicks([value_ticks(second, plan.shape[1])])
        item.setXRange(-0.5, plan.shape[0] - 0.5, padding=0)
        item.setYRange(-0.5, plan.shape[1] - 0.5, padding=0)
        self.picked.setData([], [])

    def draw(self, grid: SweepGrid) -> None:
        values = grid.figure(self.name)
        log, low, high = scale_of(self.name, values)
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.log10(values) if log else values
        # Rows of the image are the second axis's values (y), columns the first's (x).
        self.image.setImage(np.ascontiguousarray(shown.T, dtype=np.float32), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, *self.shape))  # after: it scales the image's pixels
        self.bar.setLevels((low, high))
        ticks = bar_ticks(self.name, log, low, high)
        self.bar.axis.setTicks([ticks] if ticks else None)  # None: pyqtgraph's own
        states = grid.states()
        for state, fill in self.fills.items():
            where = np.argwhere(states == state)
            fill.setData(where[:, 0], where[:, 1])
        crosses = np.argwhere(states == DIVERGED)
        self.crosses.setData(crosses[:, 0], crosses[:, 1], pen=pg.mkPen(DIVERGED_RED, width=2))
        self._write_values(grid, shown, low, high)

    def _write_values(self, grid: SweepGrid, shown: np.ndarray, low: float, high: float) -> None:
        """Each measured cell's figure as text, dark on the bright end of the scale and light on
        the dark end; none on a grid too fine to hold them."""
        for text in self.texts:
            self.removeItem(text)
        self.texts = []
        if shown.size > VALUE_CELLS:
            return
        cmap, font = self.bar.colorMap(), QFont()
        font.setPointSizeF(7.5)
        for (i, j), value in np.ndenumerate(grid.figure(self.name)):
            if grid.cells[i][j].state != MEASURED or not np.isfinite(value):
                continue
            share = float(np.clip((shown[i, j] - low) / (high - low), 0, 1))
            r, g, b, _ = cmap.map(share, mode="byte")
            ink = "k" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "w"
            text = pg.TextItem(figure_text(self.name, value), color=ink, anchor=(0.5, 0.5))
            text.setFont(font)
            text.setPos(i, j)
            self.addItem(text)
            self.texts.append(text)

    def pick(self, i: int, j: int) -> None:
        self.picked.setData([i], [j])

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """The cell under a point of the scene, if any."""
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        at = vb.mapSceneToView(scene_pos)
        i, j = round(at.x()), round(at.y())
        return (i, j) if 0 <= i < self.shape[0] and 0 <= j < self.shape[1] else None

    def _moved(self, scene_pos: QPointF) -> None:
        self.cell_hovered.emit(*(self.cell_at(scene_pos) or (-1, -1)))

    def _clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None and event.button() == Qt.LeftButton:
            self.cell_clicked.emit(*cell)


class SweepGridView(QWidget):
    """A sweep's result as it fills in: for two settings, the heatmaps above and the
    one-setting plots of a chosen row or column below; for one, those plots alone."""

    cell_clicked = Signal(object)  # tuple of the cell's runs (SweepRun | FailedRun)

    def __init__(self):
        super().__init__()
        self.heading = QLabel()
        self.heading.setVisible(False)
        self.heatmaps = [Heatmap(name) for name in FIGURE_TITLES]
        for heatmap in self.heatmaps:
            heatmap.cell_hovered.connect(lambda i, j, h=heatmap: self._hovered(h, i, j))
            heatmap.cell_clicked.connect(self._clicked)
        self.grid_summary = QLabel()
        self.grid_summary.setWordWrap(True)
        self.grid_summary.setTextFormat(Qt.RichText)
        self.chooser = QComboBox()
        self.chooser.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.chooser.setToolTip("The row or column of the grid drawn against its setting below")
        self.chooser.currentIndexChanged.connect(self._draw_line)
        self.line = SweepResultView()
        self._build()
        self.plan: SweepPlan | None = None
        self.choices: list[tuple[int, int]] = []
        self.runs: dict[int, SweepRun | FailedRun] = {}  # by their index in the plan
        self.grid: SweepGrid | None = None
        self._hover: tuple | None = None
        self._picked_words = ""  # what clicking a cell did  # (heatmap, i, j) the tooltip was shown for
        self._due = QTimer(self)  # the heatmaps drawn again at most this often
        self._due.setSingleShot(True)
        self._due.setInterval(FIGURES_INTERVAL_MS)
        self._due.timeout.connect(self._draw_grid)  # the plots below keep their own time
        self._show_grid(False)

    def _build(self) -> None:
        maps = QWidget()
        column = QVBoxLayout(maps)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        for heatmap in self.heatmaps:
            row.addWidget(heatmap)
        column.addLayout(row, 1)
        column.addWidget(self.grid_summary)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(maps)
        self.splitter.addWidget(self.line)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([1000, 1000])  # a half each, whatever their size hints
        self.chooser_label = QLabel("Plotted below: the runs")
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch()
        top.addWidget(self.chooser_label)
        top.addWidget(self.chooser)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

    def _show_grid(self, shown: bool) -> None:
        """The heatmaps and the chooser for a grid; there the room of every run's curve goes to
        the heatmaps (a click on a cell overlays its runs' curves on the Training tab)."""
        for widget in (self.splitter.widget(0), self.chooser, self.chooser_label):
            widget.setVisible(shown)
        self.line.show_curves(not shown)

    # --- filling in ------------------------------------------------------------------------------
    def begin(self, plan: SweepPlan) -> None:
        """A sweep of this plan: axes that span its values and steps, nothing drawn."""
        self._due.stop()
        self.plan, self.runs, self.grid, self._picked_words = plan, {}, None, ""
        two = len(plan.axes) == 2
        self._show_grid(two)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.choices = []  # (axis drawn along, index of the other's value), as the chooser lists
        if two:
            for heatmap in self.heatmaps:
                heatmap.set_axes(plan)
            for along, fixed in ((0, 1), (1, 0)):
                at = plan.axes[fixed]
                for k, value in enumerate(at.values):
                    self.chooser.addItem(f"along {plan.axes[along].param.label} at "
                                         f"{at.param.label} = {at.param.text(value)}")
                    self.choices.append((along, k))
        self.chooser.blockSignals(False)
        self._draw_line()
        self._draw_grid()

    def add(self, run: SweepRun | FailedRun) -> None:
        """A run that ended: in the plots below now if it is on their row, the heatmaps soon."""
        self.runs[run.index] = run
        if self._on_line(run):
            self.line.add(run)
        if len(self.plan.axes) == 2 and not self._due.isActive():
            self._due.start()

    def draw_figures(self) -> None:
        """The heatmaps and the plots below, from the runs so far."""
        self.line.draw_figures()
        self._draw_grid()

    def _draw_grid(self) -> None:
        self._due.stop()
        if self.plan is None or len(self.plan.axes) != 2:
            return
        self.grid = SweepGrid(self.plan, list(self.runs.values()))
        for heatmap in self.heatmaps:
            heatmap.draw(self.grid)
        self.grid_summary.setText(html.escape(grid_words(self.plan, self.grid, len(self.runs)))
                                  + self._picked_words)

    def show_results(self, results: list, plan: SweepPlan) -> None:
        """Draw these runs of a sweep of this plan at once."""
        self.begin(plan)
        for run in results:
            self.add(run)
        self.draw_figures()

    def set_heading(self, text: str) -> None:
        self.heading.setText(f"<b>{html.escape(text)}</b>")
        self.heading.setVisible(bool(text))

    # --- the row or column below -------------------------------------------------------------------
    def choice(self) -> tuple[int, int]:
        """(the axis drawn along, the index of the other's value): (0, 0) for one setting."""
        return self.choices[self.chooser.currentIndex()] if self.choices else (0, 0)

    def _on_line(self, run) -> bool:
        """Whether a run is drawn below: one that trained, on the chosen row or column."""
        if not isinstance(run, SweepRun) or self.plan is None:
            return False
        if len(self.plan.axes) == 1:
            return True
        along, k = self.choice()
        fixed = 1 - along
        return run.point[fixed] == self.plan.axes[fixed].values[k]

    def _draw_line(self) -> None:
        if self.plan is None:
            return
        along, _ = self.choice()
        axis = self.plan.axes[along]
        self.line.begin(axis.param, axis.values, axis.log, self.plan.steps, along)
        for index in sorted(self.runs):  # in the plan's order, however they arrived
            if self._on_line(self.runs[index]):
                self.line.add(self.runs[index])
        self.line.draw_figures()

    # --- hover and click -------------------------------------------------------------------------
    def cell(self, i: int, j: int) -> Cell:
        return (self.grid or SweepGrid(self.plan, list(self.runs.values()))).cells[i][j]

    def _hovered(self, heatmap: Heatmap, i: int, j: int) -> None:
        if i < 0:
            heatmap.setToolTip(HEATMAP_TIP)
            self._hover = None
            return
        words = cell_words(self.plan, self.cell(i, j))
        heatmap.setToolTip(words)
        if self._hover != (heatmap, i, j):  # a tooltip already up follows the pointer's cell
            self._hover = (heatmap, i, j)
            if QToolTip.isVisible():
                QToolTip.showText(QCursor.pos(), words, heatmap)

    def _clicked(self, i: int, j: int) -> None:
        """The cell's runs to whoever selects them; the plots below move to its row or column."""
        along, _ = self.choice()
        self.chooser.setCurrentIndex(self.choices.index((along, (i, j)[1 - along])))
        cell = self.cell(i, j)
        for heatmap in self.heatmaps:
            heatmap.pick(i, j)
        self._picked_words = (f"<br>Clicked <b>{html.escape(point_labels(self.plan, cell.point))}"
                              f"</b>: " + ("its runs are selected in Kept runs and drawn under "
                                           "the Training tab's curves." if cell.runs else
                                           "no run has ended there yet."))
        self._draw_grid()
        if cell.runs:
            self.cell_clicked.emit(cell.runs)


def grid_words(plan: SweepPlan, grid: SweepGrid, ended: int) -> str:
    """ "12 of 15 runs ended; least final loss 0.041 at learning rate 0.01, batch size 16; 3
    cells diverged." """
    cells = [cell for row in grid.cells for cell in row]
    words = f"{ended} of {plan.runs} runs ended"
    finals = [cell for cell in cells if np.isfinite(cell.final_loss)]
    if finals:
        best = min(finals, key=lambda cell: cell.final_loss)
        words += f"; least final loss {best.final_loss:.3g} at {point_labels(plan, best.point)}"
    for state in (DIVERGED, FAILED):
        count = sum(cell.state == state for cell in cells)
        if count:
            words += f"; {count} cell{'s' * (count != 1)} {state}"
    return words + "."


def save_sweep_grid_png(results: list, plan: SweepPlan, path: Path, heading: str = "",
                        size=PNG_SIZE) -> None:
    """The result of a sweep of one setting or two as the window draws it, as a PNG: the
    heatmaps, and the plots along the first setting at the second's first value. Needs Qt's
    system libraries (the caller runs cli.window's preflight); offscreen without a display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.widgets.qt import application
    from gdplayground.gui.widgets.plot_export import save_png

    app = application()
    use_plot_style()
    view = SweepGridView()
    view.resize(*size)
    view.set_heading(heading)
    view.show()
    app.processEvents()  # laid out first: the keys under the titles break at the plots' widths
    view.show_results(results, plan)
    app.processEvents()
    try:
        save_png(view.grab(), path)
    finally:
        view.close()
        view.deleteLater()
