"""For the linear system Ax = Y: the path of x towards the solution, and the residual."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gdplayground.engine.history import GrowingArray, History
from gdplayground.gui.plots import LAYER_COLOURS, measured


class LinearSystemView(QWidget):
    def __init__(self):
        super().__init__()
        self.setToolTip(
            "Top: each unknown of x as gradient descent moves it, with its exact value dashed. "
            "Bottom: the residual ‖Ax − Y‖ on a log scale; a straight line means linear "
            "convergence, whose slope the learning rate sets.")
        self.path_plot = pg.PlotWidget(title="Path of x")
        self.path_plot.addLegend(offset=(-10, -10))
        self.path_plot.setLabel("bottom", "step")
        self.residual_plot = pg.PlotWidget(title="Residual ‖Ax − Y‖")
        self.residual_plot.setLogMode(y=True)
        self.residual_plot.setLabel("bottom", "step")
        self.residual = self.residual_plot.plot(pen=pg.mkPen(LAYER_COLOURS[0], width=2))
        self.curves, self.targets = [], []
        self.path = GrowingArray(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.path_plot)
        layout.addWidget(self.residual_plot)

    def set_solution(self, solution: np.ndarray) -> None:
        self.path_plot.clear()
        self.path = GrowingArray(1 + len(solution))
        self.curves = [self.path_plot.plot(pen=pg.mkPen(LAYER_COLOURS[i], width=2), name=f"x{i + 1}")
                       for i in range(len(solution))]
        for i, value in enumerate(solution):
            line = pg.InfiniteLine(value, angle=0, pen=pg.mkPen(LAYER_COLOURS[i], style=Qt.DashLine))
            self.path_plot.addItem(line)

    def add_path(self, last_step: int, weights: np.ndarray) -> None:
        """Record x after each of the steps ending at `last_step` (one row of weights per step)."""
        steps = np.arange(last_step - len(weights) + 1, last_step + 1)
        self.path.extend(np.column_stack([steps, weights]))

    def draw(self, history: History) -> None:
        data = self.path.data
        for i, curve in enumerate(self.curves, start=1):
            curve.setData(data[:, 0], data[:, i])
        # The loss is the mean squared residual over the equations.
        n_equations = max(len(self.curves), 1)
        steps, loss = measured(history.column("step"), history.column("loss"))
        self.residual.setData(steps, np.sqrt(n_equations * np.maximum(loss, 1e-300)))
