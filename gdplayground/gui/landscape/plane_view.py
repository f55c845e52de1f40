"""The Plane view: the loss on the plane θ + a·d₁ + b·d₂ through the current weights, along two
random directions normalised per unit (Li et al., 2018), as a heatmap with contours."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from gdplayground.labs import landscape
from gdplayground.labs.landscape import Plane, Terrain
from gdplayground.gui.landscape.surface import SurfacePlot
from gdplayground.gui.landscape.view import (
    LABEL_FILL, NOW, Cancel, LandscapeView, Progress, Settings)

PER_UNIT = (
    "d₁ and d₂ are random directions normalised per unit, as in Li et al., \"Visualizing the Loss "
    "Landscape of Neural Nets\" (2018): each unit's incoming weights in a direction are scaled "
    "to the norm of that unit's weights now (a convolution's unit is a filter). A ReLU network computes the same function when a "
    "unit's incoming weights are scaled up and its outgoing ones down, so without this a unit "
    "with small weights would look sharp, and one with large weights flat, for their scale "
    "alone. a = 1 moves every unit by as much as its own weights.")
TOOLTIP = (
    "The loss landscape is the loss as a function of all the weights: far too many dimensions to "
    "see. This is one slice of it, a plane through the weights the run has now (the centre, "
    "\"now\"): each pixel is a whole network, its loss measured on the examples chosen.\n\n"
    + PER_UNIT)


class PlaneView(LandscapeView):
    title = "Plane"
    tooltip = "The loss on a plane through the current weights, along two random directions"

    def __init__(self):
        super().__init__()
        self.surface = SurfacePlot("a (random direction d₁, per unit)",
                                   "b (random direction d₂, per unit)", TOOLTIP)
        self.centre = pg.ScatterPlotItem([0], [0], symbol="+", size=14, pen=pg.mkPen(NOW, width=2),
                                         brush=pg.mkBrush(NOW))
        self.centre_label = pg.TextItem("now", color=NOW, anchor=(0, 1), fill=LABEL_FILL)
        for item in (self.centre, self.centre_label):
            self.surface.addItem(item, ignoreBounds=item is self.centre_label)  # as the path's
            item.setZValue(10)
        self.caption.setToolTip(PER_UNIT)
        self.layout.addWidget(self.surface, 1)
        self.layout.addWidget(self.caption)

    @staticmethod
    def compute(terrain: Terrain, settings: Settings, progress: Progress,
                cancelled: Cancel) -> Plane:
        return landscape.plane(terrain.probe, settings.grid, settings.extent, settings.samples,
                               settings.seed, settings.bias, progress, cancelled)

    def show_result(self, plane: Plane, terrain: Terrain) -> None:
        super().show_result(plane, terrain)
        lost = self.surface.draw(plane)
        self.centre_label.setPos(0, 0)
        self.caption.setText(plane_words(plane, lost))

    def clear(self, message: str) -> None:
        super().clear(message)
        self.surface.clear_surface()


def plane_words(plane: Plane, lost: int) -> str:
    """The centre's loss, the least loss on the grid and where, and what limits the picture."""
    centre = centre_loss(plane)
    finite = np.where(np.isfinite(plane.loss), plane.loss, np.inf)
    j, i = np.unravel_index(np.argmin(finite), finite.shape)
    words = [f"Loss at the centre (now): <b>{centre:.4g}</b>; least on the grid "
             f"{finite[j, i]:.4g} at a = {plane.a[i]:.2f}, b = {plane.b[j]:.2f}. "
             f"A {len(plane.a)}×{len(plane.b)} grid on {plane.samples:,} examples; contours at "
             f"log-spaced losses."]
    if lost:
        words.append(f"{lost} grid points had no finite loss (the network overflowed there): "
                     f"drawn in the highest colour.")
    if plane.note:
        words.append(plane.note)
    return " ".join(words)


def centre_loss(plane: Plane) -> float:
    """The loss at a = b = 0 (the grid's middle point when it has one)."""
    return float(plane.loss[np.argmin(np.abs(plane.b)), np.argmin(np.abs(plane.a))])
