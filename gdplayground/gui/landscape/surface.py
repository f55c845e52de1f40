"""The loss over a plane as a heatmap of log₁₀ loss, with contours at log-spaced levels of the
loss and a colour scale that reads in loss: the picture the Plane and the Path views share."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from gdplayground.labs.landscape import Plane

CONTOURS = 8  # log-spaced levels between the lowest and the highest loss on the grid
CONTOUR_PEN = pg.mkPen((255, 255, 255, 170), width=1)
COLOURS = "viridis"
FLOOR = 1e-12  # a loss of 0 has no logarithm: it is drawn at this


class SurfacePlot(pg.PlotWidget):
    """A heatmap of the loss over (a, b), its contours and a colour bar; `draw(plane)`."""

    def __init__(self, x_label: str, y_label: str, tooltip: str):
        super().__init__()
        self.setToolTip(tooltip)
        self.setLabel("bottom", x_label)
        self.setLabel("left", y_label)
        for side in ("bottom", "left"):
            self.getAxis(side).enableAutoSIPrefix(False)
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.bar = pg.ColorBarItem(colorMap=COLOURS, label="loss", interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.getPlotItem())
        self.contours: list[pg.IsocurveItem] = []
        self.getPlotItem().setAspectLocked(False)

    def draw(self, plane: Plane) -> int:
        """Draw the plane's loss; returns how many grid points had no finite loss (drawn at the
        highest finite one)."""
        values, lost = _log_loss(plane.loss)
        low, high = float(values.min()), float(values.max())
        high = max(high, low + 1e-6)  # a flat plane still has a scale
        self.image.setImage(values.astype(np.float32), autoLevels=False)
        self.bar.setLevels((low, high))
        self.bar.axis.setTicks([loss_ticks(low, high)])  # colours of log₁₀ loss, read in loss
        da, db = _spacing(plane.a), _spacing(plane.b)
        # each grid value at the centre of its pixel
        self.image.setRect(QRectF(plane.a[0] - da / 2, plane.b[0] - db / 2,
                                  plane.a[-1] - plane.a[0] + da, plane.b[-1] - plane.b[0] + db))
        self._contour(values, np.linspace(low, high, CONTOURS + 2)[1:-1])
        self.getPlotItem().autoRange(padding=0)
        return lost

    def _contour(self, values: np.ndarray, levels: np.ndarray) -> None:
        for item in self.contours:
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.contours = []
        for level in levels:
            item = pg.IsocurveItem(values, float(level), CONTOUR_PEN)
            item.setParentItem(self.image)  # in the image's pixels, a grid value at a corner …
            item.setPos(0.5, 0.5)  # … moved to the pixel's centre, where the image shows it
            self.contours.append(item)

    def clear_surface(self) -> None:
        self.image.clear()
        self._contour(np.zeros((2, 2)), np.array([]))


def _log_loss(loss: np.ndarray) -> tuple[np.ndarray, int]:
    """log₁₀ of the loss, points without a finite loss at the highest finite one."""
    finite = np.isfinite(loss)
    lost = int((~finite).sum())
    if not finite.any():
        return np.zeros_like(loss, dtype=np.float64), lost
    values = np.where(finite, loss, loss[finite].max())
    return np.log10(np.maximum(values, FLOOR)), lost


def loss_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks of a colour scale in log₁₀ loss from `low` to `high`, at round losses: 1, 2, 5 times
    powers of ten across a few decades (powers of ten alone across more), evenly spaced round
    numbers within one."""
    lo, hi = 10.0 ** low, 10.0 ** high
    if hi / lo > 10:
        decades = np.arange(np.floor(low), np.ceil(high) + 1)
        values = np.outer(10.0 ** decades, [1, 2, 5] if len(decades) <= 4 else [1]).ravel()
    else:
        step = 10.0 ** np.floor(np.log10((hi - lo) / 4))
        step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= 5)
        values = np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step
    values = values[(values >= lo * (1 - 1e-9)) & (values <= hi * (1 + 1e-9))]
    return [(float(np.log10(v)), f"{v:.3g}") for v in values]


def _spacing(values: np.ndarray) -> float:
    return float(values[1] - values[0]) if len(values) > 1 else 1.0
