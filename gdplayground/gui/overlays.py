"""Kept runs drawn under the live curves: each run in its own colour, faded (a pale solid
colour: translucent lines cost several times more to paint), named in the plot's key; hovering
near a curve names the run, the step and the value."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QToolTip

from gdplayground.gui.plots import PlotView
from gdplayground.runs import KeptRun

RUN_COLOURS = [(148, 103, 189), (214, 39, 40), (140, 86, 75), (227, 119, 194), (23, 190, 207),
               (188, 189, 34), (255, 127, 14), (127, 127, 127)]
FADE = 0.45  # of the way to white: behind the live run, never over it
HOVER_PIXELS = 8  # how near the pointer must come to a curve to name it


def run_colour(i: int, faded: bool = True) -> tuple[int, int, int]:
    r, g, b = RUN_COLOURS[i % len(RUN_COLOURS)]
    if not faded:
        return r, g, b
    return tuple(int(c + (255 - c) * FADE) for c in (r, g, b))


class Overlay:
    """The kept runs on one plot. `columns(run)` gives the (suffix, values) pairs to draw for a
    run, against its curves' "step"; the gradient plot gives one per layer."""

    def __init__(self, view: PlotView, columns: Callable[[KeptRun], list[tuple[str, np.ndarray]]]):
        self.view, self.columns = view, columns
        self.items: list[tuple[pg.PlotDataItem, str]] = []  # each curve, and the name it goes by
        self._hover = pg.SignalProxy(view.plot.scene().sigMouseMoved, rateLimit=20,
                                     slot=self._hovered)

    def show(self, runs: list[tuple[KeptRun, int]]) -> None:
        """Draw these runs (each with its colour's index), and only these."""
        self.clear()
        for run, colour in runs:
            steps = run.curves["step"]
            for n, (suffix, values) in enumerate(self.columns(run)):
                name = run.name + suffix
                curve = self.view.curve(pg.mkPen(run_colour(colour), width=1), run.name)
                curve.setZValue(-5)  # under the live run's curves
                keep = np.isfinite(values) & ((values > 0) if self.view.log_y else True)
                curve.setData(steps[keep], values[keep], skipFiniteCheck=True)
                if n == 0:
                    self.view.show_in_key(curve)  # a run once in the key, whatever its curves
                self.items.append((curve, name))
            if len(steps):
                self.view.reach(float(steps[-1]))

    def clear(self) -> None:
        for curve, _ in self.items:
            self.view.remove(curve)
        self.items = []

    def _hovered(self, event) -> None:
        position = event[0]
        box = self.view.plot.getPlotItem().vb
        if not self.items or not box.sceneBoundingRect().contains(position):
            return
        found = self._nearest(box, position)
        if found is not None:
            name, step, value = found
            screen = self.view.plot.mapToGlobal(self.view.plot.mapFromScene(position).toPoint())
            QToolTip.showText(screen, f"{name}\nstep {step:,.0f}: {value:.4g}", self.view.plot)

    def _nearest(self, box: pg.ViewBox, position: QPointF):
        """(name, step, value) of the overlay point nearest the pointer, within HOVER_PIXELS."""
        best, found = HOVER_PIXELS ** 2, None
        at = box.mapSceneToView(position).x()
        for curve, name in self.items:
            x, y = curve.getData()
            if x is None or not len(x):
                continue
            for step, value in _near(x, y, at):
                shown = np.log10(value) if self.view.log_y else value  # a log axis plots log10
                point = box.mapViewToScene(QPointF(float(step), float(shown)))
                distance = (point.x() - position.x()) ** 2 + (point.y() - position.y()) ** 2
                if distance < best:
                    best, found = distance, (name, step, value)
        return found


def _near(x: np.ndarray, y: np.ndarray, at: float, span: int = 3) -> list[tuple[float, float]]:
    """The points of a curve whose x is nearest `at` (a few either side)."""
    i = int(np.searchsorted(x, at))
    return list(zip(x[max(i - span, 0): i + span], y[max(i - span, 0): i + span]))
