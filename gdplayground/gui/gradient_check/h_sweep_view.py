"""The h sweep drawn: the error of forward and central differences against their step h, in
float64 and float32, on log–log axes, with the two errors it trades off as dashed lines and the
best h of each curve marked; and the same picture as a PNG for the command line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from gdplayground.labs.gradient_lab import (
    DTYPES, METHODS, SweepRow, best_h, crossing, curve, suited_h, theory_lines)
from gdplayground.files import write_atomic
from gdplayground.gui.widgets.plot_export import render_png
from gdplayground.gui.widgets.plots import LogReadyAxis, PlotView, use_plot_style

COLOURS = {("float64", "central"): (31, 119, 180), ("float64", "forward"): (120, 175, 225),
           ("float32", "central"): (214, 95, 0), ("float32", "forward"): (250, 170, 90)}
TRUNCATION_GREYS = {"forward": (150, 150, 150), "central": (70, 70, 70)}
H_RANGE = (1e-12, 1e-1)
ERROR_CEILING = 3.0  # relative errors are at most 2; a lost step gives 1
EMPTY_ERRORS = (1e-12, ERROR_CEILING)  # the error axis before there is a sweep to fit
LINE_FLOOR = 1e-20  # theory lines are drawn down to here (far below any measured error)
PNG_SIZE, PNG_WIDTH = (820, 540), 1640  # the widget laid out at PNG_SIZE, drawn PNG_WIDTH wide

TOOLTIP = (
    "The relative error of a difference quotient against backprop (float64), median over a few "
    "weights, for steps h from 1e-1 to 1e-12.\n"
    "Right side: truncation error, the Taylor terms the quotient leaves out: it falls as h "
    "(forward, (L(w+h) − L(w))/h) or h² (central, (L(w+h) − L(w−h))/2h).\n"
    "Left side: round-off. L is known to about ε|L| (ε = 2.2e-16 in float64, 1.2e-7 in float32), "
    "and dividing by h magnifies that: the error rises as ε/h. At the far left w + h rounds "
    "back to w, the difference is 0 and the error 1.\n"
    "The best h sits where the two meet, near ε^(1/3) for central differences (6e-6 in float64, "
    "5e-3 in float32) when L and its third derivative are of a size; a flatter loss moves it up.")


class SweepView(PlotView):
    """Four measured curves (float64/float32 × forward/central), four dashed theory lines,
    and a marker on each curve's best h."""

    def __init__(self):
        super().__init__("Error against the step h", "relative error", TOOLTIP, log_y=True)
        item = self.plot.getPlotItem()
        item.setAxisItems({"bottom": LogReadyAxis("bottom")})
        self.plot.setLabel("bottom", "step h")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setLogMode(x=True, y=True)
        self.summary = QLabel("Press Check the gradient: the sweep runs with the check.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.layout.addWidget(self.summary)
        self.rows: list[SweepRow] = []

    def draw(self, rows: list[SweepRow]) -> None:
        self.clear()
        self.rows = rows
        measured = [r.error for r in rows if r.error > 0]
        if not measured:
            self.summary.setText("Nothing to sweep: this network has no gradient to measure.")
            return
        for dtype, method in _curves():
            self._show(self.curve(pg.mkPen(COLOURS[dtype, method], width=1), f"{dtype} {method}"),
                       *curve(rows, dtype, method))
        hs = np.logspace(np.log10(H_RANGE[0]), np.log10(H_RANGE[1]), 56)
        for line in theory_lines(rows):
            values = line.at(hs)
            keep = (values >= LINE_FLOOR) & (values <= ERROR_CEILING)
            self._show(self.curve(_line_pen(line.name), line.name), hs[keep], values[keep])
        self._mark_best(rows)
        self.plot.setXRange(*np.log10(H_RANGE), padding=0.02)
        self.plot.setYRange(np.log10(min(measured) / 3), np.log10(ERROR_CEILING), padding=0)
        self.summary.setText(sweep_summary(rows))
        self._retitle()

    def _show_empty(self) -> None:
        """The sweep's own axes while there is nothing to draw: h over the range it sweeps, the
        error over the span a sweep covers (an empty plot's 0 to 10 read as h up to 1e10)."""
        self.plot.setXRange(*np.log10(H_RANGE), padding=0.02)
        self.plot.setYRange(*np.log10(EMPTY_ERRORS), padding=0)

    def _show(self, item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
        item.setData(x, y)
        self._named.add(item)  # in the key: it has points to show

    def _mark_best(self, rows: list[SweepRow]) -> None:
        """One marker per curve at its smallest error: a single item, so one entry in the key."""
        points = [(best_h(rows, dtype, method), dtype, method) for dtype, method in _curves()]
        errors = [curve(rows, dtype, method)[1].min() for _, dtype, method in points]
        marker = self.curve(pg.mkPen("k", width=1), "best h")
        marker.setData([h for h, _, _ in points], errors, connect=np.zeros(len(points), bool),
                       symbol="o", symbolSize=9, symbolPen=pg.mkPen("k", width=1),
                       symbolBrush=[pg.mkBrush(COLOURS[d, m]) for _, d, m in points])
        self._named.add(marker)


def _curves():
    return [(dtype.name, method) for dtype in DTYPES for method in reversed(METHODS)]


def _line_pen(name: str):
    """Dashed: grey for truncation (the same in either dtype), the dtype's colour for round-off."""
    if name.startswith("truncation"):
        colour = TRUNCATION_GREYS["central" if "h²" in name else "forward"]
    else:
        colour = COLOURS["float64" if "float64" in name else "float32", "central"]
    return pg.mkPen(colour, width=1, style=Qt.DashLine)


def sweep_summary(rows: list[SweepRow]) -> str:
    """The best h of each curve in words, with where the dashed lines cross and ε^(1/3)."""
    lines = {line.name: line for line in theory_lines(rows)}
    parts = []
    for dtype in (d.name for d in DTYPES):
        best = ", ".join(f"{method} <b>{best_h(rows, dtype, method):.1e}</b>"
                         for method in reversed(METHODS))
        truncation = lines.get("truncation ∝ h² (central)")
        round_off = lines.get(f"round-off ∝ ε/h ({dtype})")
        crossed = (f"; the central lines cross at {crossing(truncation, round_off):.1e}"
                   if truncation and round_off else "")
        parts.append(f"{dtype}: {best} (ε^(1/3) = {suited_h(dtype):.1e}{crossed})")
    return "Best h — " + " · ".join(parts)


def save_sweep_png(rows: list[SweepRow], path: Path, subtitle: str = "") -> None:
    """The sweep as the tab draws it, as a PNG (PNG_WIDTH pixels wide). Needs Qt's system
    libraries (the caller runs cli.window's preflight); runs offscreen without a display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.widgets.qt import application

    app = application()
    use_plot_style()
    view = SweepView()
    if subtitle:
        view.title = f"Error against the step h: {subtitle}"
    view.resize(*PNG_SIZE)
    view.draw(rows)
    view.show()
    for _ in range(2):  # laid out, then the axes widened to their tick labels and laid out again
        app.processEvents()
        view.plot.repaint()
    try:
        image = render_png(view.plot.getPlotItem(), PNG_WIDTH)
    finally:
        view.close()
        view.deleteLater()
    write_atomic(Path(path), png_bytes(image))


def png_bytes(image: QImage) -> bytes:
    """The image encoded as PNG in memory, for Python to write: a failing write is then an
    OSError that says why ("File too large"), not libpng's "Write Error" on stderr."""
    buffer = QBuffer()
    buffer.open(QIODevice.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("Qt could not encode the picture as PNG")
    return bytes(buffer.data())
