"""For 2-D data: the network drawn as TensorFlow Playground draws it.

Each unit is a small heatmap of its output over the plane (the grid of the decision boundary),
columns are layers, and the lines between consecutive layers are the weights: width by |w|,
blue positive, orange negative. Colours are symmetric about 0 with one range per layer (shown
under its column), so units of a layer compare at a glance and white is 0 — for the output
logit, the decision boundary. Hovering names a unit's bias or a connection's weight.

A plain QGraphicsScene: one pixmap per unit and one line per connection, updated in place.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QLabel,
                               QToolTip, QVBoxLayout, QWidget)

from gdplayground.gui.widgets.plots import CLASS_COLOURS
from gdplayground.labs.diagram import MAX_SHOWN_UNITS
CELL = 40  # side of a unit's heatmap, in scene units
ROW_GAP = 10
COLUMN_GAP = 80  # room for the connections between columns
TITLE_HEIGHT = 34
INPUT_RAMP = 32  # pixels of the input units' coordinate ramps
NEGATIVE, POSITIVE = CLASS_COLOURS  # orange, blue: as the decision boundary
WIDTH_PER_WEIGHT = 2.0  # line width in pixels per unit of |w| …
MAX_WIDTH = 6.0  # … capped, so one large weight does not cover its neighbours
MIN_WIDTH = 0.5
HOVER_REACH = 5.0  # pixels from a line that still count as over it
HINT = "Hover over a unit for its bias, over a line for its weight."


def _lookup_table() -> np.ndarray:
    """(256, 3) uint8 colours from orange (−) through white (0) to blue (+)."""
    colours = pg.ColorMap([0.0, 0.5, 1.0], [NEGATIVE, (255, 255, 255), POSITIVE])
    return colours.getLookupTable(nPts=256, alpha=False).astype(np.uint8)


def _pixmaps(values: np.ndarray, level: float, lut: np.ndarray) -> list[QPixmap]:
    """One pixmap per (G, G) unit of `values`, scaled to ±level; grid row 0 (lowest y) at the bottom."""
    index = np.clip(values * (127.5 / level) + 127.5, 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(lut[index[:, ::-1]])
    height, width = rgb.shape[1:3]
    return [QPixmap.fromImage(QImage(unit.data, width, height, 3 * width, QImage.Format_RGB888))
            for unit in rgb]


def _segment_distances(point: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    along = ends - starts
    t = np.clip(((point - starts) * along).sum(1) / np.maximum((along ** 2).sum(1), 1e-12), 0, 1)
    return np.hypot(*(starts + t[:, None] * along - point).T)


class _View(QGraphicsView):
    """Keeps the whole diagram in sight and reports where the mouse is."""

    def __init__(self, scene, on_hover):
        super().__init__(scene)
        self.on_hover = on_hover
        self.setRenderHints(QPainter.Antialiasing | QPainter.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setMouseTracking(True)

    def fit(self) -> None:
        self.fitInView(self.scene().itemsBoundingRect(), Qt.KeepAspectRatio)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.fit()

    def mouseMoveEvent(self, event):
        super().mouseMoveEvent(event)
        text = self.on_hover(self.mapToScene(event.position().toPoint()))
        QToolTip.showText(event.globalPosition().toPoint(), text, self)


class NetworkDiagram(QWidget):
    def __init__(self):
        super().__init__()
        self.lut = _lookup_table()
        self.scene = QGraphicsScene(self)
        self.scene.setBackgroundBrush(QColor("white"))
        self.view = _View(self.scene, self._hover)
        self.status = QLabel(HINT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        layout.addWidget(self.status)
        self.sizes: list[int] = []
        self.unit_images: list[list[QGraphicsPixmapItem]] = []  # per layer, per shown unit
        self.unit_rects: list[list[QRectF]] = []
        self.connections: list[list] = []  # per pair of layers: (line item, i, j)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray | None] = []
        self.ranges: list = []  # per layer, the text under its column giving its colour range
        self.held = False  # a replayed step is on show: live frames wait in `_live`
        self._live: tuple | None = None

    # --- layout, once per run ------------------------------------------------------------
    def set_network(self, sizes) -> None:
        """Lay out columns for `sizes` (input first; a 2-D set has 2 inputs, x and y)."""
        if sizes[0] != 2:
            raise ValueError("the network diagram draws networks of 2-D points")
        self.scene.clear()
        self.sizes, self.weights, self.biases = list(sizes), [], []
        shown = [min(n, MAX_SHOWN_UNITS) for n in sizes]
        tallest = max(shown) * (CELL + ROW_GAP)
        self.unit_rects = [self._column_rects(layer, count, tallest) for layer, count in enumerate(shown)]
        self.unit_images = [[self._image(rect) for rect in rects] for rects in self.unit_rects]
        self.connections = [self._lines(left, right) for left, right in
                            zip(self.unit_rects[:-1], self.unit_rects[1:])]
        self.ranges = [self._caption(layer, tallest) for layer in range(len(sizes))]
        for layer in range(len(sizes)):
            self._title(layer, shown[layer])
        self._show_inputs()
        self.view.fit()

    def _column_rects(self, layer: int, count: int, tallest: float) -> list[QRectF]:
        x = layer * (CELL + COLUMN_GAP)
        top = TITLE_HEIGHT + (tallest - count * (CELL + ROW_GAP)) / 2
        return [QRectF(x, top + i * (CELL + ROW_GAP), CELL, CELL) for i in range(count)]

    def _image(self, rect: QRectF) -> QGraphicsPixmapItem:
        item = self.scene.addPixmap(QPixmap())
        item.setPos(rect.topLeft())
        item.setTransformationMode(Qt.SmoothTransformation)
        item.setZValue(1)  # over the lines that end at its edges
        self.scene.addRect(rect, QPen(QColor(90, 90, 90), 0)).setZValue(2)
        return item

    def _lines(self, left: list[QRectF], right: list[QRectF]) -> list:
        lines = []
        for i, start in enumerate(left):
            for j, end in enumerate(right):
                line = self.scene.addLine(QLineF(start.center() + QPointF(CELL / 2, 0),
                                                 end.center() - QPointF(CELL / 2, 0)))
                lines.append((line, i, j))
        return lines

    def _title(self, layer: int, shown: int) -> None:
        last = len(self.sizes) - 1
        name = "Input" if layer == 0 else "Output (logit)" if layer == last else f"Hidden {layer}"
        units = self.sizes[layer]
        count = f"{units} unit{'s' * (units > 1)}" if shown == units else f"{shown} of {units} shown"
        _centre_on_column(self.scene.addSimpleText(f"{name}\n{count}"), layer)

    def _caption(self, layer: int, tallest: float):
        """The text under a column that will give its colour range."""
        text = self.scene.addSimpleText("")
        text.setY(TITLE_HEIGHT + tallest)
        return text

    def _show_inputs(self) -> None:
        """The input units' pictures are their coordinates: x growing rightwards, y upwards."""
        ramp = np.linspace(-1.0, 1.0, INPUT_RAMP)
        x, y = np.meshgrid(ramp, ramp)
        self._set_pixmaps(0, _pixmaps(np.stack([x, y]), 1.0, self.lut))
        self.ranges[0].setText("x, y")
        _centre_on_column(self.ranges[0], 0)

    # --- every picture frame -------------------------------------------------------------
    def hold(self, units: tuple | None) -> None:
        """Show a replayed step's (unit outputs, weights, biases), as `draw` takes them, and
        keep it against the live run's frames; None: back to the live run's latest."""
        self.held = units is not None
        self.status.setText("A step replayed on the Training tab's slider (its Live button "
                            "brings the run back). " + HINT if self.held else HINT)
        shown = units if self.held else self._live
        if shown is not None:
            self._draw(*shown)

    def draw(self, unit_outputs: list[np.ndarray], weights: list[np.ndarray],
             biases: list[np.ndarray | None]) -> None:
        """The live run's pictures: shown, or kept for later while a replayed step is held."""
        self._live = (unit_outputs, weights, biases)
        if not self.held:
            self._draw(*self._live)

    def _draw(self, unit_outputs: list[np.ndarray], weights: list[np.ndarray],
              biases: list[np.ndarray | None]) -> None:
        """Show each layer's (units, G, G) outputs (labs.diagram.unit_outputs) and the
        weights and biases of every layer (connection_weights, unit_biases). The layout follows
        the weights drawn: hovering reads both, and a layout left from another network (a run
        start the diagram missed) paired with these weights named units that do not exist."""
        sizes = [weights[0].shape[0], *(w.shape[1] for w in weights)]
        if sizes != self.sizes:
            self.set_network(sizes)
        self.weights, self.biases = weights, biases
        for layer, values in enumerate(unit_outputs, start=1):
            values = values[:MAX_SHOWN_UNITS]
            level = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
            level = level or 1.0  # an all-zero layer: any range shows it white
            self._set_pixmaps(layer, _pixmaps(np.nan_to_num(values), level, self.lut))
            self.ranges[layer].setText(f"±{level:.3g}")
            _centre_on_column(self.ranges[layer], layer)
        for lines, w in zip(self.connections, weights):
            for line, i, j in lines:
                line.setPen(self._pen(float(w[i, j])))

    def _set_pixmaps(self, layer: int, pixmaps: list[QPixmap]) -> None:
        for item, pixmap in zip(self.unit_images[layer], pixmaps):
            item.setPixmap(pixmap)
            item.setScale(CELL / pixmap.width())

    @staticmethod
    def _pen(weight: float) -> QPen:
        colour = QColor(*(POSITIVE if weight >= 0 else NEGATIVE))
        if not np.isfinite(weight):
            weight = MAX_WIDTH
        pen = QPen(colour, float(np.clip(abs(weight) * WIDTH_PER_WEIGHT, MIN_WIDTH, MAX_WIDTH)))
        pen.setCosmetic(True)  # width in screen pixels, however the view is scaled
        return pen

    # --- hover ---------------------------------------------------------------------------
    def text_at(self, point: QPointF) -> str:
        """What is under a scene point: a unit and its bias, a connection and its weight, or ""."""
        for layer, rects in enumerate(self.unit_rects):
            for unit, rect in enumerate(rects):
                if rect.contains(point):
                    return self._unit_text(layer, unit)
        return self._connection_text(point)

    def _hover(self, point: QPointF) -> str:
        text = self.text_at(point)
        self.status.setText(text or HINT)
        return text

    def _unit_name(self, layer: int, unit: int) -> str:
        if layer == 0:
            return "input " + "xy"[unit]
        if layer == len(self.sizes) - 1:
            return "output" if self.sizes[-1] == 1 else f"output {unit + 1}"
        return f"hidden {layer} unit {unit + 1}"

    def _unit_text(self, layer: int, unit: int) -> str:
        name = self._unit_name(layer, unit)
        if layer == 0:
            return f"{name}: the point's {'xy'[unit]} coordinate"
        if not self.biases:  # laid out, not yet drawn
            return name
        bias = self.biases[layer - 1]
        return f"{name}: bias {bias[unit]:+.4g}" if bias is not None else f"{name}: no bias"

    def _connection_text(self, point: QPointF) -> str:
        if not self.weights:
            return ""
        lines = [(layer, line, i, j) for layer, pairs in enumerate(self.connections)
                 for line, i, j in pairs]
        segments = np.array([[*_xy(line.line().p1()), *_xy(line.line().p2())] for _, line, _, _ in lines])
        distances = _segment_distances(np.array(_xy(point)), segments[:, :2], segments[:, 2:])
        nearest = int(np.argmin(distances))
        if distances[nearest] * self.view.transform().m11() > HOVER_REACH:
            return ""
        layer, _, i, j = lines[nearest]
        return (f"weight {self.weights[layer][i, j]:+.4g}: "
                f"{self._unit_name(layer, i)} → {self._unit_name(layer + 1, j)}")


def _xy(point: QPointF) -> tuple[float, float]:
    return point.x(), point.y()


def _centre_on_column(text, layer: int) -> None:
    text.setX(layer * (CELL + COLUMN_GAP) + (CELL - text.boundingRect().width()) / 2)
