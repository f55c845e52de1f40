"""For 2-D data: the network's prediction over the plane as a heatmap behind the data points.

Training points are filled with their class's colour, test points are white with a ring of it:
both are outlined, so that a point the network gets right stands out from the background of its
own colour rather than vanishing into it. The label under the plot says which is which."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gdplayground.labs.diagram import BOUNDARY_EXTENT
from gdplayground.gui.widgets.plots import CLASS_COLOURS

OUTLINE = (40, 40, 40)


class DecisionBoundaryView(QWidget):
    def __init__(self):
        super().__init__()
        self.setToolTip(
            "Background: the probability the network gives to the blue class at each point "
            "(orange 0, white 0.5, blue 1); where it turns white is the decision boundary. "
            "Filled dots are training points, white ones with a coloured ring test points, "
            "which training never sees. Watch the boundary bend as hidden units are added.")
        self.plot = pg.PlotWidget(title="Decision boundary")
        # The key to the points, under the plot: a legend would cover the data at small sizes.
        self.plot.setLabel("bottom", "● training points &nbsp;&nbsp; ◯ test points")
        self.plot.setAspectLocked(True)
        # A fixed range: auto-ranging an aspect-locked view can oscillate without end.
        self.plot.setRange(xRange=(-BOUNDARY_EXTENT, BOUNDARY_EXTENT),
                           yRange=(-BOUNDARY_EXTENT, BOUNDARY_EXTENT), padding=0)
        self.plot.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        colours = pg.ColorMap([0.0, 0.5, 1.0], [CLASS_COLOURS[0], (255, 255, 255), CLASS_COLOURS[1]])
        self.lut = colours.getLookupTable(nPts=256, alpha=False)
        # One item per class and kind: one brush for thousands of points, not one per point
        # (100,000 points took seconds to lay out).
        self.train = [self._points(pg.mkPen(OUTLINE, width=0.8), pg.mkBrush(colour))
                      for colour in CLASS_COLOURS]
        self.test = [self._points(pg.mkPen(colour, width=2), pg.mkBrush("w"))
                     for colour in CLASS_COLOURS]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def _points(self, pen, brush) -> pg.ScatterPlotItem:
        item = pg.ScatterPlotItem(size=7, pen=pen, brush=brush)
        self.plot.addItem(item)
        return item

    def set_points(self, points, labels, test_points, test_labels) -> None:
        for c in (0, 1):
            self.train[c].setData(pos=points[labels == c])
            self.test[c].setData(pos=test_points[test_labels == c])

    def show_step(self, step: int | None) -> None:
        """Say which step the boundary is of: a replayed one, or (None) the live run's."""
        self.plot.setTitle("Decision boundary" if step is None else
                           f"Decision boundary at step {step:,} (replay)")

    def show_boundary(self, probability: np.ndarray) -> None:
        finite = np.nan_to_num(probability, nan=0.5)
        self.image.setImage(finite, levels=(0.0, 1.0), lut=self.lut, autoLevels=False)
        side = 2 * BOUNDARY_EXTENT  # after setImage: the rect scales the image's own pixels
        self.image.setRect(QRectF(-BOUNDARY_EXTENT, -BOUNDARY_EXTENT, side, side))
