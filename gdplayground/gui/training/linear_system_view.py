"""For the linear system Ax = Y: the path of x towards the solution, and the residual."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gdplayground.engine.history import History, Timeline
from gdplayground.gui.widgets.plots import LAYER_COLOURS, PlotView


class LinearSystemView(QWidget):
    def __init__(self):
        super().__init__()
        self.path_view = PlotView(
            "Path of x", "x",
            "Each unknown of x as gradient descent moves it, with its exact value dashed. The "
            "unknowns that the matrix squeezes least are the slowest to arrive.")
        self.residual_view = PlotView(
            "Residual ‖Ax − Y‖", "‖Ax − Y‖",
            "How far Ax is from Y, on a log scale: a straight line means linear convergence, "
            "whose slope the learning rate and the matrix set.", log_y=True)
        self.residual = self.residual_view.curve(pg.mkPen(LAYER_COLOURS[0], width=1), "residual")
        self.curves: list[pg.PlotDataItem] = []
        self.path = Timeline(["step"])
        # The replayed step: a line across both plots, and x's values on the path
        self.step_lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 60, 170), width=2))
                           for _ in (self.path_view, self.residual_view)]
        self.step_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen("k"), brush=pg.mkBrush("w"))
        self.residual_view.plot.addItem(self.step_lines[1], ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.path_view)
        layout.addWidget(self.residual_view)

    def set_solution(self, solution: np.ndarray) -> None:
        self.path_view.clear()  # its items too: the step's are added again
        self.residual_view.restart()
        self.path_view.plot.addItem(self.step_lines[0], ignoreBounds=True)
        self.path_view.plot.addItem(self.step_points)
        self.show_step(None, None)
        self.path = Timeline(["step", *(f"x{i + 1}" for i in range(len(solution)))])
        self.curves = [self.path_view.curve(pg.mkPen(LAYER_COLOURS[i], width=1), f"x{i + 1}")
                       for i in range(len(solution))]
        for i, value in enumerate(solution):
            self.path_view.plot.addItem(pg.InfiniteLine(value, angle=0, pen=pg.mkPen(LAYER_COLOURS[i], style=Qt.DashLine)))

    def show_step(self, step: int | None, unknowns: np.ndarray | None) -> None:
        """Mark a replayed step, with x's values at it (None: the live run, unmarked)."""
        for line in self.step_lines:
            line.setVisible(step is not None)
            if step is not None:
                line.setPos(step)
        self.step_points.setData(*(([], []) if step is None else
                                   (np.full(len(unknowns), step), unknowns)))

    def add_path(self, rows: np.ndarray | None, rolled_back_to: int | None = None) -> None:
        """Record x after steps, one row (step, x1, x2, …) each; then take back the steps a
        divergence's rollback undid, if any."""
        if rows is not None:
            self.path.extend(rows)
        if rolled_back_to is not None:
            self.path.truncate(rolled_back_to)

    def draw(self, history: History) -> None:
        for i, curve in enumerate(self.curves, start=1):
            self.path_view.plot_column(curve, self.path, f"x{i}")
        # The loss is the mean squared residual over the equations.
        n = len(self.curves)
        self.residual_view.plot_column(self.residual, history, "loss", lambda loss: np.sqrt(n * loss))
