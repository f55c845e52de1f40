"""The Line view: the loss (and accuracy) along the straight line θ₀ + α(θ − θ₀) from the
initial weights θ₀ to the current ones θ, α from −0.5 to 1.5, with α = 0 and α = 1 marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from gdplayground.labs import landscape
from gdplayground.labs.landscape import Line, Terrain
from gdplayground.gui.landscape.view import (
    NOW, START, Cancel, LandscapeView, Progress, Settings)

LOSS_PEN = pg.mkPen((31, 119, 180), width=2)
ACCURACY_PEN = pg.mkPen((230, 120, 20), width=2)
ALPHA = "α   (weights θ₀ + α(θ − θ₀))"
TOOLTIP = (
    "The loss on the straight line through weight space from where the run started (α = 0) to "
    "where it is now (α = 1), and half as far again on either side. Training did not walk this "
    "line: it took a winding path. If the loss falls all the way along it, with no bump, the "
    "start and the end lie in one basin, as Goodfellow et al. (2015) found for many networks.")


class LineView(LandscapeView):
    title = "Line"
    tooltip = "The loss on the straight line from the initial weights to the current ones"
    needs_path = True  # θ₀ is the path's first point

    def __init__(self):
        super().__init__()
        self.loss_widget, self.accuracy_widget = pg.PlotWidget(), pg.PlotWidget()
        self.loss_plot = self.loss_widget.getPlotItem()
        self.accuracy_plot = self.accuracy_widget.getPlotItem()
        self.accuracy_plot.setXLink(self.loss_plot)
        for plot, name in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
            plot.setLabel("left", name)
            plot.setLabel("bottom", ALPHA)
            for side in ("bottom", "left"):
                plot.getAxis(side).enableAutoSIPrefix(False)
        for widget in (self.loss_widget, self.accuracy_widget):
            widget.setToolTip(TOOLTIP)
        self.loss_curve = self.loss_plot.plot(pen=LOSS_PEN)
        self.accuracy_curve = self.accuracy_plot.plot(pen=ACCURACY_PEN)
        self.marks = [self._mark(0.0, START), self._mark(1.0, NOW)]
        self.layout.addWidget(self.loss_widget, 3)
        self.layout.addWidget(self.accuracy_widget, 2)
        self.layout.addWidget(self.caption)

    def _mark(self, alpha: float, colour) -> pg.InfiniteLine:
        pen = pg.mkPen(colour, width=1, style=Qt.DashLine)
        mark = pg.InfiniteLine(alpha, angle=90, pen=pen, label="",
                               labelOpts={"position": 0.92, "color": colour})
        self.loss_plot.addItem(mark)
        self.accuracy_plot.addItem(pg.InfiniteLine(alpha, angle=90, pen=pen))
        return mark

    @staticmethod
    def compute(terrain: Terrain, settings: Settings, progress: Progress,
                cancelled: Cancel) -> Line:
        return landscape.line(terrain.probe, terrain.path.weights[0], terrain.probe.flat(),
                              samples=settings.samples, seed=settings.seed, progress=progress,
                              cancelled=cancelled)

    def show_result(self, line: Line, terrain: Terrain) -> None:
        super().show_result(line, terrain)
        self.loss_curve.setData(line.alphas, line.loss)
        has_accuracy = line.accuracy is not None  # a regression has none
        self.accuracy_widget.setVisible(has_accuracy)
        self.accuracy_curve.setData(line.alphas, line.accuracy if has_accuracy else [])
        start, now = int(terrain.path.steps[0]), terrain.step
        self.marks[0].label.setFormat(f"start (step {start:,})")
        self.marks[1].label.setFormat(f"now (step {now:,})")
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.autoRange()
        self.caption.setText(line_words(line, start, now))

    def clear(self, message: str) -> None:
        super().clear(message)
        self.loss_curve.setData([], [])
        self.accuracy_curve.setData([], [])


def at(line: Line, alpha: float) -> int:
    """The index of the α nearest `alpha`."""
    return int(np.argmin(np.abs(line.alphas - alpha)))


def line_words(line: Line, start: int, now: int) -> str:
    begin, end = at(line, 0.0), at(line, 1.0)
    finite = np.where(np.isfinite(line.loss), line.loss, np.inf)
    least = int(np.argmin(finite))
    accuracy = "" if line.accuracy is None else (
        f" (accuracy {line.accuracy[begin]:.1%} → {line.accuracy[end]:.1%})")
    words = (f"Loss at the start (step {start:,}) <b>{line.loss[begin]:.4g}</b>, now (step "
             f"{now:,}) <b>{line.loss[end]:.4g}</b>{accuracy}; least on the line "
             f"{finite[least]:.4g} at α = {line.alphas[least]:.2f}. On {line.samples:,} examples.")
    between = line.loss[begin:end + 1]
    bump = float(np.max(between)) - max(line.loss[begin], line.loss[end])
    if np.isfinite(bump) and bump > 0:
        words += (f" Between the two the loss rises {bump:.3g} above both ends: a ridge lies "
                  f"between where the run started and where it is.")
    return words
