"""For 2-D data: the network's prediction over the plane as a heatmap behind the data points.

A classifier's picture is its decision boundary: the probability of class 1 (orange to white to
blue) for two classes, the winning class's colour, paler where it is less sure, for more.
Training points are filled with their class's colour, test points are white with a ring of it:
both are outlined, so that a point the network gets right stands out from the background of its
own colour rather than vanishing into it. The label under the plot says which is which.

A regression's picture is its fitted surface: the prediction in the target's units as a colour
map, the points coloured by their target on the same scale, the colour bar beside it.

The toy sets lie in a fixed square; a table's two standardised features span the square their
data reach (RunInfo.extent), its axes named after its columns."""

from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gdplayground.colours import LAYER_COLOURS
from gdplayground.labs.diagram import BOUNDARY_EXTENT
from gdplayground.gui.widgets.plots import CLASS_COLOURS
from gdplayground.gui.widgets.training_run import RunInfo

OUTLINE = (40, 40, 40)
PALETTE = [*CLASS_COLOURS, *LAYER_COLOURS[2:]]  # class 0 orange, 1 blue, then green, red, …
WHITE = np.array([255, 255, 255], np.float32)
SURFACE_COLOURS = pg.colormap.get("viridis")
KEY = "● training points &nbsp;&nbsp; ◯ test points"


class DecisionBoundaryView(QWidget):
    def __init__(self):
        super().__init__()
        self.plot = pg.PlotWidget(title="Decision boundary")
        self.plot.setAspectLocked(True)
        self.plot.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        colours = pg.ColorMap([0.0, 0.5, 1.0], [CLASS_COLOURS[0], (255, 255, 255), CLASS_COLOURS[1]])
        self.lut = colours.getLookupTable(nPts=256, alpha=False)
        self.surface_lut = SURFACE_COLOURS.getLookupTable(nPts=256, alpha=False)
        # One item per class and kind: one brush for thousands of points, not one per point
        # (100,000 points took seconds to lay out).
        self.train = [self._points(pg.mkPen(OUTLINE, width=0.8), pg.mkBrush(colour))
                      for colour in PALETTE]
        self.test = [self._points(pg.mkPen(colour, width=2), pg.mkBrush("w")) for colour in PALETTE]
        # A surface's points, one brush each (a table is small): training ones outlined, test
        # ones larger, ringed in white (a thicker ring hid their colour).
        self.valued = (self._points(pg.mkPen(OUTLINE, width=0.8), None),
                       self._points(pg.mkPen("w", width=1.2), None, size=10))
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=SURFACE_COLOURS, interactive=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.regression, self.levels = False, (0.0, 1.0)  # a surface's, in the target's units
        self.preparation = None  # a table's: its target's units
        self.set_plane(BOUNDARY_EXTENT, ("", ""), regression=False)

    def _points(self, pen, brush, size: int = 7) -> pg.ScatterPlotItem:
        item = pg.ScatterPlotItem(size=size, pen=pen, brush=brush)
        self.plot.addItem(item)
        return item

    def set_plane(self, extent: float, names: tuple[str, str], regression: bool) -> None:
        """The square of ±extent (a fixed range: auto-ranging an aspect-locked view can
        oscillate without end), axes named after the columns (none for a toy set), and what the
        picture is: a decision boundary or a fitted surface."""
        self.extent, self.regression = extent, regression
        self.plot.setRange(xRange=(-extent, extent), yRange=(-extent, extent), padding=0)
        x_name, y_name = names
        # The key to the points, under the plot (a legend would cover the data at small sizes),
        # or, when the axis is a column's, under the title.
        self.plot.setLabel("bottom", x_name or KEY)
        self.plot.setLabel("left", y_name)
        self.plot.showAxis("left", bool(y_name))
        self.key_in_title = bool(x_name)
        self._show_bar(regression)
        self.setToolTip(
            "Background: the network's prediction at each point, in the target's units (the "
            "colour bar); the points are coloured by their own target on the same scale, so a "
            "point that stands out from the background is one the network gets wrong."
            if regression else
            "Background: the probability the network gives to the blue class at each point "
            "(orange 0, white 0.5, blue 1); where it turns white is the decision boundary. "
            "With more than two classes, the colour of the likeliest class, paler where the "
            "network is less sure. Filled dots are training points, white ones with a coloured "
            "ring test points, which training never sees.")
        self.show_step(None)

    def _show_bar(self, shown: bool) -> None:
        """The colour bar of a surface, beside the plot (a hidden one would keep its room)."""
        layout = self.plot.getPlotItem().layout
        if shown and self.bar.parentItem() is None:
            layout.addItem(self.bar, 2, 5)
        elif not shown and self.bar.parentItem() is not None:
            layout.removeItem(self.bar)
            self.bar.setParentItem(None)
            self.plot.scene().removeItem(self.bar)

    def show_run(self, info: RunInfo, same_points: bool = False) -> None:
        """Lay the plane out for a run of 2-D data: its square, its columns, what the picture
        is; its points, unless they are those on show (laying 100,000 out takes a moment)."""
        prep = self.preparation = info.preparation
        names = ("", "") if prep is None else tuple(
            f"{name} (standardised)" if name in prep.numeric else name for name in prep.input_names)
        self.set_plane(info.extent, names, regression=info.n_classes is None)
        if self.regression:
            targets = _in_units(info.labels[:, 0], prep)
            self.levels = (float(targets.min()), float(targets.max()))
            self.bar.setLevels(self.levels)
            self.bar.axis.setLabel(prep.target if prep else "")
        if not same_points:
            self.set_points(info.points, info.labels, info.test_points, info.test_labels)

    def set_points(self, points, labels, test_points, test_labels) -> None:
        for item in (*self.train, *self.test, *self.valued):
            item.setData(pos=np.zeros((0, 2)))
        if self.regression:
            self._colour_by_target(self.valued[0], points, labels[:, 0])
            self._colour_by_target(self.valued[1], test_points, test_labels[:, 0])
            return
        for c in range(len(PALETTE)):  # more classes share the colours round again
            self.train[c].setData(pos=points[labels % len(PALETTE) == c])
            self.test[c].setData(pos=test_points[test_labels % len(PALETTE) == c])

    def _colour_by_target(self, item: pg.ScatterPlotItem, points, targets) -> None:
        colours = self._surface_colours(_in_units(targets, self.preparation))
        item.setData(pos=points, brush=[pg.mkBrush(*c) for c in colours])

    def _surface_colours(self, values: np.ndarray) -> np.ndarray:
        low, high = self.levels
        codes = np.clip((values - low) / max(high - low, 1e-12) * 255, 0, 255)
        return self.surface_lut[np.nan_to_num(codes).astype(int)]

    def show_step(self, step: int | None) -> None:
        """Say which step the picture is of: a replayed one, or (None) the live run's."""
        words = "Fitted surface" if self.regression else "Decision boundary"
        title = words if step is None else f"{words} at step {step:,} (replay)"
        key = f"<br><span style='font-size:8pt'>{KEY}</span>" if self.key_in_title else ""
        self.plot.setTitle(title + key)

    def show_boundary(self, outputs: np.ndarray) -> None:
        """Draw the network's outputs over the plane (plane_outputs)."""
        if self.regression:
            surface = _in_units(outputs[..., 0], self.preparation)
            self.image.setImage(np.nan_to_num(surface, nan=self.levels[0]), levels=self.levels,
                                lut=self.surface_lut, autoLevels=False)
        elif outputs.shape[-1] <= 2:
            probability = np.nan_to_num(outputs[..., -1], nan=0.5)
            self.image.setImage(probability, levels=(0.0, 1.0), lut=self.lut, autoLevels=False)
        else:
            self.image.setImage(_likeliest_colours(outputs), autoLevels=False, levels=(0, 255))
        side = 2 * self.extent  # after setImage: the rect scales the image's own pixels
        self.image.setRect(QRectF(-self.extent, -self.extent, side, side))


def _in_units(values: np.ndarray, preparation) -> np.ndarray:
    """A table's standardised targets or predictions in the target's own units."""
    values = np.asarray(values, np.float64)
    if preparation is None:
        return values
    return values * preparation.target_spread + preparation.target_mean


def _likeliest_colours(probabilities: np.ndarray) -> np.ndarray:
    """(G, G, 3) uint8: each point in its likeliest class's colour, faded to white as the
    network is less sure (at 1/k, a guess among k classes, white)."""
    k = probabilities.shape[-1]
    p = np.nan_to_num(probabilities, nan=1 / k)
    winner = p.argmax(axis=-1)
    sure = np.clip((p.max(axis=-1) - 1 / k) / (1 - 1 / k), 0, 1)[..., None]
    colours = np.array(PALETTE, np.float32)[winner % len(PALETTE)]
    return (WHITE + sure * (colours - WHITE)).astype(np.uint8)
