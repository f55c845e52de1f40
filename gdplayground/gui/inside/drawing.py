"""Draw a digit with the mouse and watch the network read it: the drawing prepared as MNIST's
digits were (cropped, scaled, centred on its centre of mass), the predicted probabilities, and
the saliency of the predicted class, redrawn as the stroke grows."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from gdplayground.labs.inside import MNIST_SIDE, EmptyCanvas, Stages, mnist_style, saliency
from gdplayground.gui.inside.pictures import (DIVERGING, caption, clip_limit, image_box,
                                              ink_on_paper, network_probabilities)

CANVAS_SIDE = 280  # ten canvas pixels to a pixel of the 28×28 digit
BRUSH_RADIUS, BRUSH_SOFTNESS = 12.0, 5.0  # canvas pixels: MNIST's strokes are 2-3 pixels wide
STAMP_SPACING = 2.0  # canvas pixels between brush stamps along a mouse move
REFRESH_MS = 80  # at most this often the network reads the drawing while the mouse moves
BAR, TOP_BAR = (150, 170, 200), (31, 119, 180)
EMPTY_HINT = "draw a digit"


class DrawingCanvas(pg.ImageItem):
    """A grey image (`ink`, 0 to 1, bright ink) that a left-button drag draws on with a soft
    round brush; `drawn` is called after every stroke segment."""

    def __init__(self, drawn):
        super().__init__(axisOrder="row-major")
        self.ink = np.zeros((CANVAS_SIDE, CANVAS_SIDE), np.float32)
        self.drawn, self._last = drawn, None
        rows, cols = np.mgrid[0:CANVAS_SIDE, 0:CANVAS_SIDE]
        self._centres = rows + 0.5, cols + 0.5  # where each pixel's distance is measured from
        self.show_ink()

    def show_ink(self) -> None:
        self.setImage(ink_on_paper(self.ink), levels=(0, 1))

    def clear(self) -> None:
        self.ink[...] = 0
        self.show_ink()

    def mouseClickEvent(self, event) -> None:
        event.accept()
        self.stroke_to(event.pos().y(), event.pos().x(), start=True)

    def mouseDragEvent(self, event) -> None:
        if event.button() != pg.QtCore.Qt.LeftButton:
            event.ignore()
            return
        event.accept()
        self.stroke_to(event.pos().y(), event.pos().x(), start=event.isStart())

    def stroke_to(self, row: float, col: float, start: bool = False) -> None:
        """Brush from the last point (none at a stroke's start) to (row, col)."""
        last = (row, col) if start or self._last is None else self._last
        steps = max(1, int(np.hypot(row - last[0], col - last[1]) / STAMP_SPACING))
        for t in np.linspace(0, 1, steps + 1):
            self._stamp(last[0] + t * (row - last[0]), last[1] + t * (col - last[1]))
        self._last = (row, col)
        self.show_ink()
        self.drawn()

    def _stamp(self, row: float, col: float) -> None:
        """The brush's dab: full ink inside, fading over its soft rim; ink only ever grows."""
        reach = int(BRUSH_RADIUS) + 2
        top, left = max(0, int(row) - reach), max(0, int(col) - reach)
        bottom, right = min(CANVAS_SIDE, int(row) + reach), min(CANVAS_SIDE, int(col) + reach)
        if top >= bottom or left >= right:
            return
        rows, cols = (c[top:bottom, left:right] for c in self._centres)
        dab = np.clip((BRUSH_RADIUS - np.hypot(rows - row, cols - col)) / BRUSH_SOFTNESS, 0, 1)
        patch = self.ink[top:bottom, left:right]
        np.maximum(patch, dab, out=patch)


class DrawingView(QWidget):
    """The canvas, the stages of its preparation, the prediction and its saliency. After
    `refresh`, `stages`, `probabilities` and `map` hold what is shown (None for no ink)."""

    def __init__(self):
        super().__init__()
        self.network, self.input_scale = None, 1.0
        self.stages: Stages | None = None
        self.probabilities: np.ndarray | None = None
        self.map: np.ndarray | None = None
        self.timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self._build_canvas()
        self._build_results()
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the canvas to draw another digit.")
        self.clear_button.clicked.connect(self.clear)
        self.caption = caption()
        below = QHBoxLayout()
        below.addWidget(self.clear_button)
        below.addWidget(self.caption, stretch=1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.graphics, stretch=1)
        layout.addLayout(below)
        self.refresh()

    def _build_canvas(self) -> None:
        inner = self.graphics.ci.addLayout(row=0, col=0, rowspan=2)
        inner.addLabel("draw here (left button)", color="k", size="9pt")
        inner.nextRow()
        self.canvas_box = inner.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.canvas = DrawingCanvas(self.timer.start)
        self.canvas_box.addItem(self.canvas)
        self.canvas_box.setRange(xRange=(0, CANVAS_SIDE), yRange=(0, CANVAS_SIDE), padding=0.01)
        frame = pg.QtWidgets.QGraphicsRectItem(0, 0, CANVAS_SIDE, CANVAS_SIDE)
        frame.setPen(pg.mkPen((150, 150, 150)))
        self.canvas_box.addItem(frame)
        self.hint = pg.TextItem(EMPTY_HINT, color=(140, 140, 140), anchor=(0.5, 0.5))
        self.hint.setFont(pg.QtGui.QFont("", 16))
        self.hint.setPos(CANVAS_SIDE / 2, CANVAS_SIDE / 2)
        self.canvas_box.addItem(self.hint)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)

    def _build_results(self) -> None:
        layout = self.graphics.ci
        self.stage_images = {}
        for col, (name, title) in enumerate((("cropped", "1. cropped to the ink"),
                                             ("scaled", "2. larger side 20 px"),
                                             ("centred", "3. centred 28×28: the input")), start=1):
            box, item = image_box(layout, title, row=0, col=col)
            self.stage_images[name] = (box, item)
        self.bars_plot = layout.addPlot(row=1, col=1, colspan=2, title="predicted probabilities")
        self.bars_plot.setMouseEnabled(False, False)
        self.bars_plot.hideButtons()
        self.bars_plot.setYRange(0, 1, padding=0.02)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.bars_plot.addItem(self.bars)
        self.map_box, self.map_image = image_box(layout, "saliency of the prediction", row=1, col=3)
        self.map_image.setLookupTable(DIVERGING.getLookupTable(nPts=256))

    def show_report(self, report) -> None:
        """Read the drawing with the report's network."""
        self.network, self.input_scale = report.network, report.input_scale
        self.refresh()

    def clear(self) -> None:
        self.canvas.clear()
        self.refresh()

    def refresh(self) -> None:
        """Prepare the drawing, predict it, and draw every stage (or the empty state)."""
        self.timer.stop()
        try:
            self.stages = mnist_style(self.canvas.ink)
        except EmptyCanvas:
            self.stages = None
        self.hint.setVisible(self.stages is None)
        readable = self.stages is not None and self.network is not None and \
            self.network.n_inputs == MNIST_SIDE * MNIST_SIDE
        self.probabilities = self._predict() if readable else None
        self._draw_stages()
        self._draw_prediction()

    def _predict(self) -> np.ndarray:
        x = self.stages.centred.reshape(1, -1)
        probabilities = network_probabilities(self.network, x * self.input_scale)[0]
        predicted = int(np.argmax(probabilities))
        self.map = saliency(self.network, x, np.array([predicted]), self.input_scale)
        self.map = self.map.reshape(MNIST_SIDE, MNIST_SIDE)
        return probabilities

    def _draw_stages(self) -> None:
        for name, (box, item) in self.stage_images.items():
            if self.stages is None:
                item.clear()
                continue
            image = getattr(self.stages, name)
            item.setImage(ink_on_paper(image), levels=(0, 1))
            box.setRange(xRange=(0, image.shape[1]), yRange=(0, image.shape[0]), padding=0.02)

    def _draw_prediction(self) -> None:
        if self.probabilities is None:
            self.map = None
            self.bars.setOpts(x=[], height=[])
            self.map_image.clear()
            self.caption.setText(self._why_nothing())
            return
        classes = np.arange(len(self.probabilities))
        predicted = int(np.argmax(self.probabilities))
        brushes = [pg.mkBrush(TOP_BAR if c == predicted else BAR) for c in classes]
        self.bars.setOpts(x=classes, height=self.probabilities, brushes=brushes)
        self.bars_plot.getAxis("bottom").setTicks([[(c, str(c)) for c in classes]])
        self.bars_plot.setXRange(-0.6, len(classes) - 0.4, padding=0)
        limit = clip_limit(self.map)
        self.map_image.setImage(self.map, levels=(-limit, limit))
        self.map_box.setRange(xRange=(0, MNIST_SIDE), yRange=(0, MNIST_SIDE), padding=0.02)
        self.map_box.title.setText(f"saliency of class {predicted} (±{limit:.2g})")
        self.caption.setText(f"The network reads a {predicted} "
                             f"({self.probabilities[predicted]:.0%}). Red pixels would raise "
                             f"class {predicted}'s logit if brighter, blue ones lower it.")

    def _why_nothing(self) -> str:
        if self.stages is None:
            return "Draw a digit on the canvas with the left mouse button."
        if self.network is None:
            return "No network yet: start training, or step it once."
        return (f"The network takes {self.network.n_inputs} inputs: drawn digits are prepared "
                f"as 28×28 images for an MNIST-style network.")
