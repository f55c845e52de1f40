"""For 2-D data: the network's prediction over the plane as a heatmap behind the data points."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gdplayground.gui.worker import BOUNDARY_EXTENT

CLASS_COLOURS = [(245, 147, 34), (8, 119, 189)]  # class 0 orange, class 1 blue


class DecisionBoundaryView(QWidget):
    def __init__(self):
        super().__init__()
        self.setToolTip(
            "Background: the probability the network gives to the blue class at each point "
            "(orange 0, white 0.5, blue 1). Filled dots are training points, hollow ones test "
            "points. Watch the boundary bend as hidden units are added.")
        self.plot = pg.PlotWidget(title="Decision boundary")
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
        self.train = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=1))
        self.test = pg.ScatterPlotItem(size=7, brush=None)
        self.plot.addItem(self.train)
        self.plot.addItem(self.test)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_points(self, points, labels, test_points, test_labels) -> None:
        self.train.setData(pos=points, brush=[pg.mkBrush(CLASS_COLOURS[c]) for c in labels])
        self.test.setData(pos=test_points, pen=[pg.mkPen(CLASS_COLOURS[c], width=1.5) for c in test_labels])

    def show_boundary(self, probability: np.ndarray) -> None:
        finite = np.nan_to_num(probability, nan=0.5)
        self.image.setImage(finite, levels=(0.0, 1.0), lut=self.lut, autoLevels=False)
        side = 2 * BOUNDARY_EXTENT  # after setImage: the rect scales the image's own pixels
        self.image.setRect(QRectF(-BOUNDARY_EXTENT, -BOUNDARY_EXTENT, side, side))
