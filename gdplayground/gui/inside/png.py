"""Pictures for `gdplayground inspect`, drawn offscreen with Qt: a grid of misclassified digits
under their top predictions, and a grid of digits beside their saliency maps (red where more
brightness raises the class's logit, blue where it lowers it, white where it does nothing).

The caller checks gui.preflight first, as for any Qt use.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

ZOOM = 3  # screen pixels per image pixel: a 28×28 digit becomes 84×84
COLUMNS = 8
MARGIN, LINE = 8, 15  # pixels around each cell, and per line of its caption
PAPER, INK = QColor(255, 255, 255), QColor(30, 30, 30)


def save_misclassified_png(images: np.ndarray, true: np.ndarray, classes: np.ndarray,
                           probabilities: np.ndarray, path) -> None:
    """One cell per digit (images: n×H×W in [0, 1]): the digit, its true class, then its top
    classes with their probabilities, best first."""
    height, width = images.shape[1:]
    cell = (max(width * ZOOM, 96), height * ZOOM + LINE * (1 + classes.shape[1]))

    def draw(painter: QPainter, i: int, x: int, y: int) -> None:
        _draw_array(painter, _grey(images[i]), x, y)
        lines = [f"true {true[i]}"] + [f"{c}: {p:.0%}" for c, p in zip(classes[i], probabilities[i])]
        _caption(painter, lines, x, y + height * ZOOM, cell[0])

    _save_grid(len(images), cell, draw, path)


def save_saliency_png(images: np.ndarray, maps: np.ndarray, labels: np.ndarray, path) -> None:
    """One cell per digit: the digit, and beside it its saliency map on a colour scale
    symmetric about 0 and stretched to the map's own largest magnitude."""
    height, width = images.shape[1:]
    cell = (2 * width * ZOOM + MARGIN, height * ZOOM + LINE)

    def draw(painter: QPainter, i: int, x: int, y: int) -> None:
        _draw_array(painter, _grey(images[i]), x, y)
        _draw_array(painter, _diverging(maps[i]), x + width * ZOOM + MARGIN, y)
        _caption(painter, [f"true {labels[i]}   |g| ≤ {np.abs(maps[i]).max():.3g}"],
                 x, y + height * ZOOM, cell[0])

    _save_grid(len(images), cell, draw, path)


def _save_grid(count: int, cell: tuple[int, int], draw, path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.widgets.qt import application
    from gdplayground.gui.widgets.plot_export import save_png

    application()  # fonts need a running application
    columns = max(1, min(COLUMNS, count))
    rows = max(1, -(-count // columns))
    image = QImage(columns * (cell[0] + MARGIN) + MARGIN, rows * (cell[1] + MARGIN) + MARGIN,
                   QImage.Format.Format_RGB32)
    image.fill(PAPER)
    painter = QPainter(image)
    painter.setFont(QFont(painter.font().family(), 8))
    for i in range(count):
        row, column = divmod(i, columns)
        draw(painter, i, MARGIN + column * (cell[0] + MARGIN), MARGIN + row * (cell[1] + MARGIN))
    painter.end()
    save_png(image, path)


def _draw_array(painter: QPainter, rgb: np.ndarray, x: int, y: int) -> None:
    """An H×W×3 uint8 array, each pixel a ZOOM×ZOOM square (no smoothing: pixels stay pixels)."""
    height, width = rgb.shape[:2]
    data = np.ascontiguousarray(rgb)
    image = QImage(data.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    painter.drawImage(QRect(x, y, width * ZOOM, height * ZOOM), image)


def _caption(painter: QPainter, lines: list[str], x: int, y: int, width: int) -> None:
    painter.setPen(INK)
    for k, line in enumerate(lines):
        painter.drawText(QRect(x, y + k * LINE, width, LINE),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)


def _grey(image: np.ndarray) -> np.ndarray:
    """Ink dark on white, as on paper."""
    level = (255 * (1 - np.clip(image, 0, 1))).astype(np.uint8)
    return np.repeat(level[:, :, None], 3, axis=2)


def _diverging(values: np.ndarray) -> np.ndarray:
    """Blue (negative) – white (0) – red (positive), ±1 at the largest magnitude."""
    limit = float(np.abs(values).max()) or 1.0
    t = np.clip(values / limit, -1, 1)
    fade = 255 * (1 - np.abs(t))  # the channels that pale towards white
    red = np.where(t < 0, fade, 255)
    blue = np.where(t > 0, fade, 255)
    return np.stack([red, fade, blue], axis=2).astype(np.uint8)
