"""Small pieces the "Inside" tab's image views share: digit thumbnails in an icon list, image
boxes, the blue-white-red colour scale of saliency maps, and a network's class probabilities."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem

from gdplayground.labs.inside import class_probabilities
from gdplayground.engine.network import Network

THUMBNAIL = 56  # pixels a side: a 28×28 digit at twice its size
CLIP_PERCENTILE = 99.0  # of |saliency|: a few extreme pixels should not wash the colours out
WRONG = QColor(200, 30, 30)
# Diverging: blue where more brightness lowers the class's logit, red where it raises it.
DIVERGING = pg.ColorMap([0.0, 0.5, 1.0], [(33, 102, 172), (255, 255, 255), (178, 24, 43)])
# The same, fading to transparent at zero: laid over a digit, it leaves the unmoved pixels be.
DIVERGING_FADING = pg.ColorMap([0.0, 0.5, 1.0],
                               [(33, 102, 172, 255), (255, 255, 255, 0), (178, 24, 43, 255)])


def ink_on_paper(image01: np.ndarray) -> np.ndarray:
    """Grey levels for display, ink dark on white as on paper (ImageItem levels 0 to 1)."""
    return 1.0 - np.clip(image01, 0.0, 1.0)


def thumbnail(image01: np.ndarray, side: int = THUMBNAIL) -> QIcon:
    """An icon of a digit (H×W in [0, 1]), each pixel a block: pixels stay pixels."""
    grey = np.ascontiguousarray((255 * ink_on_paper(image01)).astype(np.uint8))
    height, width = grey.shape
    image = QImage(grey.data, width, height, width, QImage.Format.Format_Grayscale8)
    scaled = image.scaled(side, side, Qt.KeepAspectRatio, Qt.FastTransformation)
    return QIcon(QPixmap.fromImage(scaled))  # the pixmap copies the pixels: `grey` may go


def clip_limit(values: np.ndarray, percentile: float = CLIP_PERCENTILE) -> float:
    """The colour scale's ± end: that percentile of |values| (never 0, so levels stay apart)."""
    magnitude = np.abs(values)
    return float(np.percentile(magnitude, percentile)) or float(magnitude.max()) or 1.0


def network_probabilities(network: Network, features: np.ndarray) -> np.ndarray:
    """(n, classes) probabilities: softmax of the logits, or for one output its sigmoid as
    1 − p and p (the output layers of the cross-entropy and bce losses)."""
    logits = network.forward(np.asarray(features, network.dtype), train=False).astype(np.float64)
    if logits.shape[1] == 1:
        return class_probabilities(1 / (1 + np.exp(-logits)))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def caption(text: str = "") -> QLabel:
    """A caption under or beside a picture, wrapped: a line of it unwrapped set the window's
    minimum width (the misclassified digits' 830 pixels, for good, on a 1,024-pixel screen)."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def image_box(layout: pg.GraphicsLayout, title: str, **place) -> tuple[pg.ViewBox, pg.ImageItem]:
    """A titled, fixed (no mouse panning) box for one image, rows downwards like NumPy's."""
    inner = layout.addLayout(**place)
    label = inner.addLabel(title, color="k", size="9pt")
    inner.nextRow()
    box = inner.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
    item = pg.ImageItem(axisOrder="row-major")
    box.addItem(item)
    box.title = label
    return box, item


class DigitList(QListWidget):
    """Digits as captioned thumbnails in rows that wrap; clicking one reports its index in the
    data set."""

    chosen = Signal(int)

    def __init__(self, caption_lines: int = 2, width: int = 96, icon_side: int = THUMBNAIL):
        super().__init__()
        self.icon_side = icon_side
        self.setViewMode(QListView.IconMode)
        self.setMovement(QListView.Static)
        self.setResizeMode(QListView.Adjust)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(icon_side, icon_side))
        self.setGridSize(QSize(width, icon_side + 8 + 14 * caption_lines))
        font = QFont(self.font())
        font.setPointSize(8)
        self.setFont(font)
        self.itemClicked.connect(lambda item: self.chosen.emit(item.data(Qt.UserRole)))

    def show_digits(self, images01: np.ndarray, captions: list[str], indices: np.ndarray,
                    wrong: np.ndarray | None = None) -> None:
        """One item per image; `wrong` (booleans) captions the mistakes in red."""
        self.setUpdatesEnabled(False)  # one repaint for the lot
        self.clear()
        for k, (image, caption, index) in enumerate(zip(images01, captions, indices)):
            item = QListWidgetItem(thumbnail(image, self.icon_side), caption)
            item.setData(Qt.UserRole, int(index))
            item.setTextAlignment(Qt.AlignHCenter)
            if wrong is not None and wrong[k]:
                item.setForeground(WRONG)
            self.addItem(item)
        self.setUpdatesEnabled(True)
