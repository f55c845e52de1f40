"""The window's plots as PNG (at a chosen width) or SVG files, through pyqtgraph's exporters."""

from __future__ import annotations

import importlib
from pathlib import Path

from pyqtgraph.exporters import ImageExporter, SVGExporter

from gdplayground.files import atomic_path

PNG_WIDTHS = (800, 1600, 3200)


def export_plot(item, path: Path, width: int | None = None) -> None:
    """Write one plot item: SVG for a .svg path, otherwise PNG `width` pixels wide."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        exporter = SVGExporter(item)
    else:
        exporter = ImageExporter(item)
        exporter.parameters()["width"] = width or PNG_WIDTHS[1]
    with atomic_path(path) as tmp:
        exporter.export(str(tmp))
        if not tmp.stat().st_size:  # pyqtgraph's exporters can fail without raising
            raise OSError(f"the exporter wrote nothing to {path}")


def export_plots(plots: dict, folder: Path, suffix: str, width: int | None = None) -> list[str]:
    """Write every {name: item} plot into `folder` as name.suffix; returns the file names."""
    names = []
    for name, item in plots.items():
        export_plot(item, Path(folder) / f"{name}.{suffix}", width)
        names.append(f"{name}.{suffix}")
    return names


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
