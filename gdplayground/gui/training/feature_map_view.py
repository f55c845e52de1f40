"""A convolutional network's picture: its first convolution's filters as they learn (a weight
mosaic of kernels), and, for one test example the learner picks, what every convolution and
pool makes of it (labs/feature_maps.py computes them on the training thread)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import ContextManager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QSpinBox, QTabWidget, QVBoxLayout, QWidget

from gdplayground.gui.training.weight_mosaic import GAP_COLOUR, WeightMosaic
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.labs.feature_maps import FeatureMaps, filter_tiles, map_grid

MAP_COLUMNS = 8  # maps per row of a layer's grid: 8 filters read as one strip
TITLE_SPACE = 1.0  # room above each grid for its title, in input heights
INK = np.repeat(np.linspace(255, 0, 256).astype(np.uint8)[:, None], 3, axis=1)  # dark on white
MAPS_TIP = ("What each layer makes of one test image. Each small image is one channel: a "
            "convolution's filter applied all over the image (red where the filter finds its "
            "pattern, blue where it finds the opposite, white where nothing), or a pool's "
            "half-size summary of it. Each layer is drawn on its own scale, from its largest "
            "value; a blank map is a filter that answers nothing here.")


class FeatureMapView(QWidget):
    """The feature maps of one example: the input on the left; on the right, a titled grid per
    feature layer, each drawn to the same width (a pool's maps are half its convolution's)."""

    example_chosen = Signal(int)  # the test example to look at

    def __init__(self):
        super().__init__()
        self.setToolTip(MAPS_TIP)
        self.example = guard_field(QSpinBox())
        self.example.setKeyboardTracking(False)
        self.example.setToolTip("Which test example to pass through the network (its index in "
                                "the test set); its maps are redrawn as training goes on.")
        self.example.valueChanged.connect(self.example_chosen)
        self.caption = QLabel()
        above = QHBoxLayout()
        above.addWidget(QLabel("Test example"))
        above.addWidget(self.example)
        above.addWidget(self.caption, stretch=1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.box = self.canvas.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(above)
        layout.addWidget(self.canvas)
        self.lut = pg.colormap.get("CET-D1").getLookupTable(nPts=256, alpha=False)
        self.titles: list[pg.TextItem] = []
        self.images: list[pg.ImageItem] = []  # the input first, then one per feature layer
        self._rects: list[QRectF] = []  # where each is drawn
        self._shapes: list[tuple[int, int]] = []  # of the images laid out
        self.shown: FeatureMaps | None = None

    def set_layout(self, n_examples: int) -> None:
        """A new run: the examples it offers; the grids are laid out by its first maps."""
        self.example.blockSignals(True)
        self.example.setRange(0, max(n_examples - 1, 0))
        self.example.blockSignals(False)
        self.box.clear()
        self.titles, self.images, self.shown = [], [], None
        self._rects, self._shapes = [], []
        self.caption.setText("")

    def show_maps(self, maps: FeatureMaps) -> None:
        grids = [map_grid(values, min(len(values), MAP_COLUMNS)) for values in maps.maps]
        shapes = [maps.image.shape, *(grid.shape for grid in grids)]
        if shapes != self._shapes:
            self._lay_out(shapes)
        grey = maps.image - maps.image.min()
        self._draw(0, grey / (grey.max() or 1.0), levels=(0, 1))
        for i, (grid, words) in enumerate(zip(grids, maps.titles), start=1):
            self.titles[i].setText(words)
            self._draw(i, grid, levels=(-1, 1))
        label = "" if maps.label is None else f", a {maps.label}"
        self.caption.setText(f"example {maps.index}{label}")
        self.shown = maps

    def _draw(self, i: int, values: np.ndarray, levels: tuple) -> None:
        self.images[i].setImage(values, levels=levels)
        self.images[i].setRect(self._rects[i])  # after the image: the scale is its size's

    def _lay_out(self, shapes: list[tuple[int, int]]) -> None:
        """The input (its shapes[0]) on the left, then each grid below the last, all scaled to
        one width."""
        self.box.clear()
        self.titles, self.images, self._rects, self._shapes = [], [], [], shapes
        input_shape, *shapes = shapes
        side = input_shape[0]
        width = MAP_COLUMNS * side  # a first convolution's 8 maps at their own size
        top = TITLE_SPACE * side
        self._place(QRectF(0, top, side * input_shape[1] / input_shape[0], side), INK)
        left = 1.5 * side
        for h, w in shapes:
            height = width * h / w
            self._place(QRectF(left, top, width, height), self.lut)
            top += height + TITLE_SPACE * side
        self.box.setRange(QRectF(0, 0, left + width, top), padding=0.02)

    def _place(self, rect: QRectF, lut: np.ndarray) -> None:
        """An image in `rect`, on the gap colour, under a title (its layer's, once drawn)."""
        backing = QGraphicsRectItem(rect)  # the lines between maps (NaN: transparent) show it
        backing.setBrush(pg.mkBrush(GAP_COLOUR))
        backing.setPen(pg.mkPen(None))
        self.box.addItem(backing)
        image = pg.ImageItem(axisOrder="row-major")
        image.setLookupTable(lut)
        self.box.addItem(image)
        self._rects.append(rect)
        text = pg.TextItem("", color="k", anchor=(0, 1))
        font = text.textItem.font()
        font.setPointSize(8)  # a title a screen size whatever the zoom: small, so it fits its room
        text.setFont(font)
        text.setPos(rect.left(), rect.top())
        self.box.addItem(text)
        self.titles.append(text)
        self.images.append(image)


class ConvView(QTabWidget):
    """The Training tab's picture of a network with convolutions: its filters and its maps."""

    def __init__(self, work: ContextManager = nullcontext()):
        super().__init__()
        self.filters = WeightMosaic(work)
        self.maps = FeatureMapView()
        self.shape: tuple = ()  # the first convolution's weights' shape, as laid out
        self.addTab(self.filters, "First-layer filters")
        self.addTab(self.maps, "Feature maps")
        self.setTabToolTip(0, "The first convolution's filters, as they learn")
        self.setTabToolTip(1, "What every convolution and pool makes of one test image")

    def set_layout(self, initial: np.ndarray, n_examples: int) -> None:
        """A new run: its first convolution's weights (C_out, C_in, k, k) at step 0."""
        self.shape = initial.shape
        tiles, tile_shape = filter_tiles(initial)
        self.filters.set_layout(tile_shape, tiles, class_templates=False, filters=True)
        self.maps.set_layout(n_examples)

    def fits(self, W: np.ndarray) -> bool:
        """Whether `W` are the filters of the network the view is laid out for."""
        return W.shape == self.shape

    def show_weights(self, W: np.ndarray) -> None:
        self.filters.show_weights(filter_tiles(W)[0])

    def show_maps(self, maps: FeatureMaps | None) -> None:
        if maps is not None:
            self.maps.show_maps(maps)
