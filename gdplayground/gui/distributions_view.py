"""Each layer's weights, activations and weight gradients as distributions over the steps (the
median, and a band from the 16th to the 84th percentile), and its fraction of dead ReLU or
saturated sigmoid/tanh units: saturation, dying units and the effect of an initialisation,
seen rather than guessed. Fed by the worker's "distributions" answers, measured on one fixed
batch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

from gdplayground.engine.inside import LayerDistribution
from gdplayground.gui.plots import LAYER_COLOURS

QUANTITIES = (("activations", "Activations"), ("weights", "Weights"),
              ("weight_gradients", "Weight gradients"))
BAND = (1, 3)  # indices into inside.PERCENTILES: the 16th and the 84th
MEDIAN = 2


class DistributionsView(QWidget):
    def __init__(self):
        super().__init__()
        self.plots = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (key, title) in enumerate((*QUANTITIES, ("units", "Dead or saturated units"))):
            plot = pg.PlotWidget(title=f"{title} per layer")
            plot.setLabel("bottom", "step")
            plot.addLegend(offset=(-5, 5), labelTextSize="7pt")
            grid.addWidget(plot, i // 2, i % 2)
            self.plots[key] = plot
        self.plots["units"].setYRange(0, 1)
        self.plots["units"].setToolTip("Fraction of each layer's units that are dead (ReLU: "
                                       "silent for the whole batch) or saturated (sigmoid, tanh: "
                                       "near their limits, where the gradient vanishes)")
        self.plots["activations"].setToolTip("Median and 16th–84th percentiles of each layer's "
                                             "outputs on a fixed batch: squashed to the limits "
                                             "means saturated; collapsed to 0 means dead")
        self.clear()

    def clear(self) -> None:
        self.steps: list[int] = []
        self.rows: list[list[LayerDistribution]] = []
        for plot in self.plots.values():
            plot.clear()

    def add(self, step: int, layers: list[LayerDistribution]) -> None:
        if self.steps and step <= self.steps[-1]:
            return  # nothing new, or an answer from before a reset
        self.steps.append(step)
        self.rows.append(layers)
        self._draw()

    def _draw(self) -> None:
        steps = np.array(self.steps, dtype=float)
        for plot in self.plots.values():
            plot.clear()
        n_layers = len(self.rows[-1])
        for layer in range(n_layers):
            colour = LAYER_COLOURS[layer % len(LAYER_COLOURS)]
            name = f"layer {layer + 1}"
            for key, _ in QUANTITIES:
                values = [getattr(row[layer], key) for row in self.rows]
                if any(v is None for v in values):
                    continue
                self._band(self.plots[key], steps, np.array(values), colour, name)
            units = [row[layer].dead if row[layer].dead is not None else row[layer].saturated
                     for row in self.rows]
            if all(u is not None for u in units):
                self.plots["units"].plot(steps, units, pen=pg.mkPen(colour, width=2), name=name)

    @staticmethod
    def _band(plot: pg.PlotWidget, steps: np.ndarray, percentiles: np.ndarray, colour, name) -> None:
        low = plot.plot(steps, percentiles[:, BAND[0]], pen=pg.mkPen(colour, width=1))
        high = plot.plot(steps, percentiles[:, BAND[1]], pen=pg.mkPen(colour, width=1))
        plot.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush(*colour, 50)))
        plot.plot(steps, percentiles[:, MEDIAN], pen=pg.mkPen(colour, width=2), name=name)
