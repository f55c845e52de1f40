"""Curves over training steps: loss, accuracy and per-layer gradient magnitudes.

Each plot creates its curves once and redraws them from the run's History with setData;
pyqtgraph's peak downsampling and clipping keep a million-step run cheap to draw.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from gdplayground.engine.history import History

RAW = pg.mkPen(color=(150, 170, 200), width=1)
SMOOTH = pg.mkPen(color=(31, 119, 180), width=2)
VALIDATION = pg.mkPen(color=(230, 120, 20), width=2)
LAYER_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


class PlotView(QWidget):
    """A styled plot of something over training steps, created once and redrawn with setData."""

    def __init__(self, title: str, y_label: str, tooltip: str, log_y: bool = False,
                 legend_at=(-10, 10)):
        super().__init__()
        self.plot = pg.PlotWidget(title=title)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", y_label)
        for side in ("bottom", "left"):  # "step (x1000)" reads worse than plain numbers
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLogMode(y=log_y)
        self.legend = self.plot.addLegend(offset=legend_at)  # negative: from the right/bottom
        self.setToolTip(tooltip)
        self.plot.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.plot.getPlotItem().setClipToView(True)
        self.layout = QVBoxLayout(self)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.addWidget(self.plot)

    def curve(self, pen, name: str, markers: bool = False) -> pg.PlotDataItem:
        if markers:
            return self.plot.plot(pen=pen, name=name, symbol="o", symbolSize=5,
                                  symbolBrush=pen.color(), symbolPen=pen)
        return self.plot.plot(pen=pen, name=name)


def measured(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Only the points where y was measured (finite), e.g. validation every few steps."""
    keep = np.isfinite(y)
    return x[keep], y[keep]


class LossView(PlotView):
    def __init__(self):
        super().__init__(
            "Loss", "loss",
            "Training loss of every batch (light), its moving average (blue) and the validation "
            "loss (orange). A curve that shoots up and ends means the learning rate is too high.")
        self.raw = self.curve(RAW, "batch")
        self.smooth = self.curve(SMOOTH, "smoothed")
        self.validation = self.curve(VALIDATION, "validation", markers=True)
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis: late, small improvements "
                                  "stay visible next to the large early drop.")
        self.log_scale.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        self.layout.addWidget(self.log_scale, alignment=Qt.AlignRight)

    def show_smoothed(self, shown: bool) -> None:
        self.smooth.setVisible(shown)
        self.legend.removeItem(self.smooth)
        if shown:
            self.legend.addItem(self.smooth, "smoothed")

    def draw(self, history: History) -> None:
        steps = history.column("step")
        self.raw.setData(*measured(steps, history.column("loss")))
        self.smooth.setData(*measured(steps, history.column("smoothed_loss")))
        self.validation.setData(*measured(steps, history.column("val_loss")))


class AccuracyView(PlotView):
    def __init__(self):
        super().__init__(
            "Accuracy", "accuracy",
            "Fraction of examples classified correctly: training batches (moving average) and "
            "the held-out validation set. A widening gap between them means overfitting.",
            legend_at=(-10, -10))
        self.plot.setYRange(0, 1)
        self.train = self.curve(SMOOTH, "training (smoothed)")
        self.validation = self.curve(VALIDATION, "validation", markers=True)

    def set_classes(self, classified: bool) -> None:
        self.plot.setTitle("Accuracy" if classified else
                           "Accuracy: none, this dataset's targets are numbers, not classes")

    def draw(self, history: History) -> None:
        steps = history.column("step")
        self.train.setData(*measured(steps, history.column("smoothed_accuracy")))
        self.validation.setData(*measured(steps, history.column("val_accuracy")))


class GradientView(PlotView):
    """One curve per layer of its weight-gradient norm: vanishing and exploding gradients."""

    def __init__(self):
        super().__init__(
            "Gradient magnitude per layer", "‖∂L/∂W‖",
            "Norm of each layer's weight gradient, on a log scale. Curves falling far below the "
            "others show vanishing gradients (try ReLU or He initialisation); curves rising "
            "without bound show exploding ones (lower the learning rate or clip).", log_y=True)
        self.curves: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []  # (raw, named)
        self.smoothing = True

    def set_layers(self, sizes: tuple[int, ...]) -> None:
        for raw, smooth in self.curves:
            self.plot.removeItem(raw)
            self.plot.removeItem(smooth)
        self.legend.clear()
        self.curves = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            colour = LAYER_COLOURS[i % len(LAYER_COLOURS)]
            raw = self.plot.plot(pen=pg.mkPen((*colour, 50), width=1))
            smooth = self.curve(pg.mkPen(colour, width=2), f"layer {i + 1} ({n_in}→{n_out})")
            self.curves.append((raw, smooth))

    def show_smoothed(self, shown: bool) -> None:
        """Noisy mini-batch norms: faint raw curves under smoothed ones. Full batch: exact
        curves, which a moving average would only make lag."""
        self.smoothing = shown
        for raw, _ in self.curves:
            raw.setVisible(shown)

    def draw(self, history: History) -> None:
        steps = history.column("step")
        prefix = "smoothed_" if self.smoothing else ""
        for i, (raw, named) in enumerate(self.curves, start=1):
            for curve, column in ((raw, f"layer{i}_grad_norm"), (named, f"{prefix}layer{i}_grad_norm")):
                x, y = measured(steps, history.column(column))
                keep = y > 0  # log axis: a zero gradient has no place on it
                curve.setData(x[keep], y[keep])
