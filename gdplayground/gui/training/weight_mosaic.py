"""First-layer weights as images: each unit's incoming weights drawn as a tile the shape of the
input image, all tiles in one mosaic, on a diverging colour map centred on zero. The lines
between tiles are drawn over the image one screen pixel wide: as rows and columns of the image
they were scaled with it, and came out two pixels wide or vanished by turns."""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import ContextManager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPainterPath
from PySide6.QtWidgets import (
    QCheckBox, QGraphicsPathItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget)

GAP_COLOUR = (60, 60, 60)  # the lines between tiles, and tiles without a unit
GAP_CODE = 255  # the last of the 256 colours: codes 0-254 are the colour map
CLIP_PERCENTILE = 99.5  # a few extreme weights should not wash the colours out
SCALE_SAMPLE = 4099  # weights sampled (with a prime stride) to estimate that percentile
HOVER_HINT = "Hover over a tile to name its unit."
UNIT_TIP = ("Each tile is one first-layer unit: its weight on every input pixel. Red pixels push "
            "the unit up, blue pixels push it down, white ones are ignored. Trained units turn "
            "into stroke and digit templates.")
FILTER_TIP = ("Each tile is one filter of the first convolution: its weights on a small patch "
              "of pixels, the same wherever the patch lies in the image. Red pixels push the "
              "filter's output up, blue ones down. Trained filters turn into edge and stroke "
              "detectors: red beside blue finds a change of brightness in that direction.")


class WeightMosaic(QWidget):
    def __init__(self, work: ContextManager = nullcontext()):
        """`work` brackets the redraw the change check box asks for (see TrainingView)."""
        super().__init__()
        self._work = work
        self.setToolTip(UNIT_TIP)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.title = self.canvas.addLabel("First-layer weights", color="k", size="11pt")
        self.canvas.nextRow()
        self.box = box = self.canvas.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        box.disableAutoRange()  # set_layout fits the mosaic: auto-ranging a locked aspect can oscillate
        self.image = pg.ImageItem(axisOrder="row-major")
        box.addItem(self.image)
        self.lines = CrispLines()
        self.lines.setPen(pg.mkPen(GAP_COLOUR, width=1, cosmetic=True))  # a screen pixel wide
        box.addItem(self.lines)
        self.caption = QLabel(HOVER_HINT)
        self.change = QCheckBox("Change since step 0")
        self.change.setChecked(True)
        self.change.setToolTip(
            "Show what training has added to each weight rather than the weight itself: the "
            "random starting values hide the learned strokes until much later. Until training "
            "has changed anything, the tiles show the starting weights.")
        self.change.toggled.connect(self._toggled)
        colours = pg.colormap.get("CET-D1").getLookupTable(nPts=GAP_CODE, alpha=False)
        # 256 colours for a uint8 image: Qt draws it as an indexed image, with no RGB pass.
        self.lut = np.vstack([colours, GAP_COLOUR]).astype(np.uint8)
        self.scale_low, self.scale_bar, self.scale_high = QLabel(), QLabel(), QLabel()
        self.scale_bar.setMinimumWidth(60)
        self.scale_bar.setStyleSheet(_gradient_style(colours))
        self.scale_bar.setToolTip("The colour scale: blue for the most negative weights (or "
                                  "changes), white for zero, red for the most positive; a few "
                                  "extreme ones are drawn at the ends.")
        below = QHBoxLayout()
        below.addWidget(self.scale_low)
        below.addWidget(self.scale_bar, stretch=1)
        below.addWidget(self.scale_high)
        below.addWidget(self.change)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        layout.addLayout(below)
        layout.addWidget(self.caption)
        self.image.setLookupTable(self.lut)
        self.tile_shape, self.n_units, self.columns, self.templates = (28, 28), 0, 1, False
        self.filters = False
        self.weights: np.ndarray | None = None
        self.initial: np.ndarray | None = None
        self._canvas = np.full((1, 1), GAP_CODE, np.uint8)  # the mosaic's codes
        self._codes = np.empty((0, 28, 28), np.uint8)  # one tile per unit (and per empty slot)
        self._values = np.empty((784, 0), np.float32)  # scratch for the scaled weights
        self.canvas.scene().sigMouseMoved.connect(self._hover)

    def set_layout(self, tile_shape: tuple[int, int], initial: np.ndarray, class_templates: bool,
                   filters: bool = False) -> None:
        """Lay out one tile per unit of the (pixels, units) weights a run starts from (with
        `filters`, one per filter of a first convolution: its kernel, not the whole image)."""
        self.tile_shape, self.templates, self.filters = tuple(tile_shape), class_templates, filters
        self.initial, self.weights, self.n_units = initial, initial, initial.shape[1]
        self.columns = math.ceil(math.sqrt(self.n_units))
        rows, (h, w) = math.ceil(self.n_units / self.columns), self.tile_shape
        self._canvas = np.full((rows * h, self.columns * w), GAP_CODE, np.uint8)
        self._codes = np.full((rows * self.columns, h, w), GAP_CODE, np.uint8)
        self._values = np.empty(initial.shape, np.float32)
        self.lines.setPath(_grid(rows, self.columns, h, w))
        self.box.setRange(QRectF(0, 0, self.columns * w, rows * h), padding=0.02)
        self._tiles = "class templates (no hidden layer)" if class_templates else \
            f"{self.n_units} filters of {tile_shape[0]}×{tile_shape[1]}" if filters else \
            f"{self.n_units} hidden units"
        self.setToolTip(FILTER_TIP if filters else UNIT_TIP)
        # a unit named for the last network means nothing here
        self.caption.setText(HOVER_HINT.replace("unit", "filter") if filters else HOVER_HINT)
        self._redraw()

    def fits(self, weights: np.ndarray) -> bool:
        """Whether `weights` are of the network the mosaic is laid out for."""
        return self.initial is not None and weights.shape == self.initial.shape

    def show_weights(self, weights: np.ndarray) -> None:
        """Draw (pixels, units) weights as the mosaic."""
        self.weights = weights
        self._redraw()

    def _toggled(self) -> None:
        with self._work:
            self._redraw()

    def _redraw(self) -> None:
        """The weights, or their change since step 0 once there is one (at step 0 the change
        view was an empty grid where a learner expected the starting weights)."""
        if self.weights is None:
            return
        unchanged = np.array_equal(self.weights, self.initial)
        changes = self.change.isChecked() and not unchanged
        shown = "change since step 0" if changes else \
            "the starting weights: no change yet" if unchanged else "weights"
        heading = "First-convolution filters" if self.filters else "First-layer weights"
        self.title.setText(f"{heading}<br><span style='font-size:8pt'>{self._tiles}, "
                           f"{shown}</span>")
        self.image.setImage(self.mosaic(self.weights - self.initial if changes else self.weights),
                            autoLevels=False)

    def mosaic(self, weights: np.ndarray) -> np.ndarray:
        """Colour codes (rows, cols) of all tiles, indices into `lut` symmetric around zero."""
        values = self._values
        np.copyto(values, weights)
        np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        sample = np.abs(values.ravel()[:: max(1, values.size // SCALE_SAMPLE)])
        scale = np.percentile(sample, CLIP_PERCENTILE) or 1.0
        self.scale_low.setText(f"{-scale:.2g}")
        self.scale_high.setText(f"+{scale:.2g}")
        middle = (GAP_CODE - 1) / 2  # zero: the middle colour
        values *= middle / scale
        values += middle + 0.5  # rounds to the nearest code when cast
        np.clip(values, 0, GAP_CODE - 1, out=values)
        self._codes[:self.n_units].reshape(self.n_units, -1)[...] = values.T  # unit-major tiles
        rows, (h, w) = len(self._codes) // self.columns, self.tile_shape
        tiles = self._canvas.reshape(rows, h, self.columns, w)
        tiles[...] = self._codes.reshape(rows, self.columns, h, w).transpose(0, 2, 1, 3)
        return self._canvas

    def unit_at(self, x: float, y: float) -> int | None:
        h, w = self.tile_shape
        if not (0 <= x < self.columns * w and 0 <= y < self._canvas.shape[0]):
            return None
        unit = int(y // h) * self.columns + int(x // w)
        return unit if unit < self.n_units else None

    def _hover(self, scene_pos) -> None:
        point = self.image.mapFromScene(scene_pos)
        unit = self.unit_at(point.x(), point.y())
        if unit is None or self.weights is None:
            return
        column = self.weights[:, unit]
        name = f"class {unit} template" if self.templates else \
            f"{'filter' if self.filters else 'unit'} {unit + 1} of {self.n_units}"
        self.caption.setText(f"{name}: weights from {column.min():+.3f} to {column.max():+.3f}")


class CrispLines(QGraphicsPathItem):
    """Lines drawn without antialiasing: each falls on one row or column of screen pixels,
    where an antialiased one between two pixels is smeared grey over both."""

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing, False)
        super().paint(painter, option, widget)


def _grid(rows: int, columns: int, h: int, w: int) -> QPainterPath:
    """The lines between `rows` × `columns` tiles of h × w pixels."""
    path = QPainterPath()
    for column in range(1, columns):
        path.moveTo(column * w, 0)
        path.lineTo(column * w, rows * h)
    for row in range(1, rows):
        path.moveTo(0, row * h)
        path.lineTo(columns * w, row * h)
    return path


def _gradient_style(colours: np.ndarray) -> str:
    """A label's background running through the colour map, left (negative) to right."""
    stops = ", ".join(f"stop:{i / (len(colours) - 1):.3f} rgb({r},{g},{b})"
                      for i, (r, g, b) in list(enumerate(colours))[::32] + [(len(colours) - 1, colours[-1])])
    return f"background: qlineargradient(x1:0, y1:0, x2:1, y2:0, {stops}); border: 1px solid #888;"
