"""Each layer's weights, activations and weight gradients as distributions over the steps (the
median, and a band from the 16th to the 84th percentile), and its fraction of dead ReLU or
saturated sigmoid/tanh units: saturation, dying units and the effect of an initialisation,
seen rather than guessed. Fed by the worker's "distributions" answers, measured on one fixed
batch. The layers are those with weights, named by what they are (a convolution's filters and
output shape, a dense layer's units); pools have no weights of their own and no curve."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from gdplayground.labs.inside import LayerDistribution
from gdplayground.gui.widgets.plots import LAYER_COLOURS

QUANTITIES = (("activations", "Activations"), ("weights", "Weights"),
              ("weight_gradients", "Weight gradients"))
BAND = (1, 3)  # indices into inside.PERCENTILES: the 16th and the 84th
MEDIAN = 2


class DistributionsView(QWidget):
    def __init__(self, every_s: float):
        """`every_s`: the seconds between two measurements, while the view is in sight."""
        super().__init__()
        self._measured = (f"Measured on one fixed batch as this page comes into view, then every "
                          f"{every_s:g} s while it stays in view and the run trains (not while "
                          "it is hidden, so training runs at full speed); a dot a measurement")
        self.plots = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        grid.addWidget(self.caption, 0, 0, 1, 2)
        for i, (key, title) in enumerate((*QUANTITIES, ("units", "Dead or saturated units"))):
            plot = pg.PlotWidget(title=f"{title} per layer")
            plot.setLabel("bottom", "step")
            plot.addLegend(offset=(-5, 5), labelTextSize="7pt")
            grid.addWidget(plot, 1 + i // 2, i % 2)
            grid.setRowStretch(1 + i // 2, 1)
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
        self._curves: dict = {}  # (quantity, layer) -> its curves, made once a run
        for key, plot in self.plots.items():
            plot.clear()
            plot.setRange(xRange=(0, 10), yRange=(0, 1), padding=0.02)  # not the last run's
            if key != "units":
                plot.enableAutoRange(axis="y")
        self.caption.setText(f"{self._measured}: nothing yet.")

    def add(self, step: int, layers: list[LayerDistribution]) -> None:
        if self.steps and step <= self.steps[-1]:
            return  # nothing new, or an answer from before a reset
        self.steps.append(step)
        self.rows.append(layers)
        self.caption.setText(f"{self._measured}: once, at step {step:,}." if len(self.steps) == 1
                             else f"{self._measured}: {len(self.steps):,} times, from step "
                             f"{self.steps[0]:,} to step {step:,}.")
        self._draw()

    def _draw(self) -> None:
        """Hand every curve its data anew (setData: the items stay, cheap to repaint)."""
        steps = np.array(self.steps, dtype=float)
        first, last = steps[0], steps[-1]  # the steps measured, the same on all four; one alone
        low, high = (first - 5, first + 5) if first == last else (first, max(last, first + 10))
        for plot in self.plots.values():  # in the middle, not on the axis
            plot.setXRange(low, high, padding=0.02)
        for layer in range(len(self.rows[-1])):
            for key, _ in QUANTITIES:
                values = [getattr(row[layer], key) for row in self.rows]
                if all(v is not None for v in values):
                    low, high, median = self._band(key, layer, self.rows[-1][layer].name)
                    values = np.array(values)
                    low.setData(steps, values[:, BAND[0]])
                    high.setData(steps, values[:, BAND[1]])
                    median.setData(steps, values[:, MEDIAN])
            units = [row[layer].dead if row[layer].dead is not None else row[layer].saturated
                     for row in self.rows]
            if all(u is not None for u in units):
                self._line("units", layer, self.rows[-1][layer].name).setData(steps, units)

    def _band(self, key: str, layer: int, name: str):
        """The 16th and 84th percentile curves of a layer with the band between, and its median."""
        if (key, layer) not in self._curves:
            plot, colour = self.plots[key], _colour(layer)
            low = plot.plot(pen=pg.mkPen(colour, width=1))
            high = plot.plot(pen=pg.mkPen(colour, width=1))
            plot.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush(*colour, 50)))
            median = plot.plot(name=name, **_dotted_line(colour))
            self._curves[key, layer] = (low, high, median)
        return self._curves[key, layer]

    def _line(self, key: str, layer: int, name: str):
        if (key, layer) not in self._curves:
            self._curves[key, layer] = self.plots[key].plot(name=name,
                                                            **_dotted_line(_colour(layer)))
        return self._curves[key, layer]


def _dotted_line(colour) -> dict:
    """A line with a dot at each measurement: a run measured once (paused) shows its dot."""
    return {"pen": pg.mkPen(colour, width=2), "symbol": "o", "symbolSize": 5,
            "symbolPen": None, "symbolBrush": pg.mkBrush(colour)}


def _colour(layer: int):
    return LAYER_COLOURS[layer % len(LAYER_COLOURS)]
