"""The window's plots as PNG (at a chosen width) or SVG files, through pyqtgraph's exporters,
and the Export plots dialog that chooses the format and the folder."""

from __future__ import annotations

import contextlib
import importlib
import time
from pathlib import Path

from pyqtgraph import PlotCurveItem, PlotDataItem
from pyqtgraph.exporters import SVGExporter
from PySide6.QtCore import QBuffer, QIODevice, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from gdplayground.files import write_atomic
from gdplayground.gui.widgets.background import Cancelled

PNG_WIDTHS = (800, 1600, 3200)


def capture(item, suffix: str, width: int | None = None) -> QImage | bytes:
    """One plot item as a picture, taken on the GUI thread, where its scene lives: for "svg" the
    SVG document, otherwise the image of a PNG `width` pixels wide, drawn as the window draws
    it but larger (lines, text and legends grow with the picture). `save_picture` writes it."""
    if suffix != "svg":
        return render_png(item, width or PNG_WIDTHS[1])
    document = SVGExporter(item).export(toBytes=True)
    if not document:  # pyqtgraph's exporters can fail without raising
        raise OSError("the SVG exporter gave nothing")
    return bytes(document)


def save_picture(picture: QImage | bytes, path: Path) -> None:
    """A captured picture as a file, written whole or not at all; on any thread (a QImage is
    encoded as PNG here, which is the slow part)."""
    if isinstance(picture, QImage):
        save_png(picture, path)
    else:
        write_atomic(Path(path), picture)


def save_png(picture, path: Path) -> None:
    """A QImage or QPixmap as a PNG file, written whole or not at all. Qt encodes it in memory
    and Python writes the file: Qt's own writer says only that it failed (libpng printing a
    line of its own to the terminal), where Python's OSError says why (the disk is full)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not picture.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode {Path(path).name} as PNG")
    write_atomic(Path(path), bytes(buffer.data()))


def render_png(item, width: int) -> QImage:
    """The item as it shows on screen, scaled to `width` pixels: text and shapes grow with the
    painter's scale, and the curves' pens, which Qt keeps one pixel wide whatever the scale, are
    widened for the occasion. (pyqtgraph's ImageExporter scales neither: at 3,200 pixels its
    legends were unreadable.)"""
    source = item.sceneBoundingRect()
    scale = width / source.width()
    image = QImage(width, round(source.height() * scale), QImage.Format_ARGB32)
    image.fill(QColor("white"))
    with _wider_curves(item, scale):
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.scale(scale, scale)  # text and shapes grow with it; cosmetic pens do not
        item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
        painter.end()
    return image


@contextlib.contextmanager
def _wider_curves(item, factor: float):
    """Curves drawn `factor` times wider meanwhile. A data item's pen is set on the data item,
    which would put its own back on its curve."""
    curves = [child for child in _descendants(item) if isinstance(child, PlotDataItem) or (
        isinstance(child, PlotCurveItem) and not isinstance(child.parentItem(), PlotDataItem))]
    pens = [curve.opts["pen"] for curve in curves]
    for curve, pen in zip(curves, pens):
        wider = QPen(pen)
        wider.setWidthF(max(pen.widthF(), 1.0) * factor)
        curve.setPen(wider)
    try:
        yield
    finally:
        for curve, pen in zip(curves, pens):
            curve.setPen(pen)


def _descendants(item):
    for child in item.childItems():
        yield child
        yield from _descendants(child)


def save_pictures(pictures: dict, folder: Path, progress=lambda done, total: None,
                  cancelled=lambda: False) -> None:
    """Write every {file name: picture} into `folder` (made if missing), saying progress;
    Cancelled between two files if `cancelled()`."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for done, (name, picture) in enumerate(pictures.items()):
        if cancelled():
            raise Cancelled
        save_picture(picture, Path(folder) / name)
        progress(done + 1, len(pictures))


# --- the dialog --------------------------------------------------------------------------------
FORMATS = [(f"PNG, {width} pixels wide", "png", width) for width in PNG_WIDTHS] + \
    [("SVG (vector)", "svg", None)]


def choose_plots_target(parent, names) -> tuple[Path, str, int | None] | None:
    """Ask for a format and a folder for the plots `names`: (folder, suffix, width), or None if
    the user cancels. The folder is named in a save dialog, a new one by default (a folder
    dialog given a name that does not exist yet answered with another folder, and the plots
    went there); one that holds plots of these names is replaced only if the user agrees."""
    words = [format[0] for format in FORMATS]
    chosen, ok = QInputDialog.getItem(parent, "Export plots", "Format", words, 1, False)
    if not ok:
        return None
    _, suffix, width = FORMATS[words.index(chosen)]
    answer, _ = QFileDialog.getSaveFileName(parent, "Export the plots into a new folder",
                                            f"plots-{time.strftime('%Y%m%d-%H%M%S')}")
    if not answer:
        return None
    folder = plots_folder(answer, Path.cwd())
    taken = replaced_files(folder, [f"{name}.{suffix}" for name in names])
    if taken and QMessageBox.question(
            parent, "Replace the plots?",
            f"{folder} already holds {len(taken)} of these plots ({', '.join(taken)}). "
            "Replace them?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
        return None
    return folder, suffix, width


def plots_folder(answer: str, directory: Path) -> Path:
    """The folder a dialog's answer names: `~` is the home folder, and a relative name lies in
    `directory` (where the dialog was), whatever the working directory."""
    path = Path(answer).expanduser()
    return path if path.is_absolute() else Path(directory) / path


def replaced_files(folder: Path, names) -> list[str]:
    """Those of `names` that writing into `folder` would replace."""
    return [name for name in names if (Path(folder) / name).exists()]


def _tolerate_closed_paths(correct_coordinates):
    """pyqtgraph 0.14.0's SVG exporter reads path data as "x,y" pairs and fails on the "Z"
    (close path) that Qt 6.11 writes (pyqtgraph issue #3495). Qt closes only shapes whose last
    point is already their first, so dropping the "Z" changes nothing drawn."""
    def correct(node, defs, item, options):
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            if "Z" in tokens or "z" in tokens:
                path.setAttribute("d", " ".join(t for t in tokens if t not in ("Z", "z")))
        return correct_coordinates(node, defs, item, options)
    correct.tolerates_closed_paths = True
    return correct


svg_module = importlib.import_module("pyqtgraph.exporters.SVGExporter")  # the module, not the class
if not getattr(svg_module.correctCoordinates, "tolerates_closed_paths", False):
    svg_module.correctCoordinates = _tolerate_closed_paths(svg_module.correctCoordinates)
