"""Curves over training steps: loss, accuracy and per-layer gradient magnitudes.

Each plot creates its curves once and redraws them from the run's History with setData; each
curve's own peak decimation (PeakSeries) keeps a million-step run cheap to draw. Drawing shares
the interpreter with training, so every redraw is kept cheap: no antialiasing or translucent
curves, finite data handed over unchecked, curves without new points left alone, and axes that
change in jumps rather than on every frame (regenerating the ticks, and the second paint that
pyqtgraph's auto-range triggers, would cost more than the curves).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from gdplayground.engine.history import GrowingArray, History, Timeline

POINT_LIMIT = 512  # blocks kept per curve (two points each, up to four times as many in all:
# about two a pixel): the drawing cost stays flat however long the run
Y_MARGIN = 0.12  # of the data's span, left free above and below the curves: room to move
Y_SHRINK = 0.6  # the y axis closes in when the data fills less than this share of it

# One-pixel pens: the fastest lines Qt's raster engine draws (wider ones cost several times more).
RAW = pg.mkPen(color=(170, 190, 215), width=1)
SMOOTH = pg.mkPen(color=(31, 119, 180), width=1)
VALIDATION = pg.mkPen(color=(230, 120, 20), width=1)
LAYER_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


class PlotView(QWidget):
    """A styled plot of something over training steps, created once and redrawn with setData."""

    def __init__(self, title: str, y_label: str, tooltip: str, log_y: bool = False,
                 legend_at=(-10, 10), y_range: tuple[float, float] | None = None):
        """`y_range` fixes the y axis; without it the axis follows the data, in jumps."""
        super().__init__()
        self.plot = pg.PlotWidget(title=title)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", y_label)
        for side in ("bottom", "left"):  # "step (x1000)" reads worse than plain numbers
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setLogMode(y=log_y)
        self.legend = self.plot.addLegend(offset=legend_at)  # negative: from the right/bottom
        self.setToolTip(tooltip)
        self.plot.disableAutoRange()
        self.log_y, self.x_max, self.fixed_y = log_y, 0, y_range is not None
        self.y_shown: tuple[float, float] | None = None  # the y axis's range, as the view sees it
        if y_range is not None:
            self.plot.setYRange(*y_range)
        self._series: dict[pg.PlotDataItem, PeakSeries] = {}
        self.layout = QVBoxLayout(self)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.addWidget(self.plot)

    def curve(self, pen, name: str, markers: bool = False) -> pg.PlotDataItem:
        style = dict(symbol="o", symbolSize=5, symbolBrush=pen.color(), symbolPen=pen) if markers else {}
        return self.plot.plot(pen=pen, name=name, antialias=False, **style)

    def show(self, curve: pg.PlotDataItem, timeline: Timeline, column: str, transform=None) -> None:
        """Draw the measured points of a column (positive ones only on a log axis), feeding only
        the rows that arrived since the last call into the curve's decimated series; after a
        rollback, or on a new curve, it starts again from the whole run."""
        series = self._series.get(curve)
        new = None
        if series is not None and series.generation == timeline.generation:
            new = timeline.since(column, series.consumed)
        if new is None:
            series = self._series[curve] = PeakSeries(timeline.generation)
            new = timeline.series(column)
        steps, values = new
        x, y = measured(steps, transform(values) if transform else values, positive=self.log_y)
        fresh = series.consumed == 0
        series.extend(x, y, consumed=timeline.total)
        if len(x) or fresh:
            curve.setData(*series.points(), skipFiniteCheck=True)
        self.reach(steps[-1] if len(steps) else 0)
        self._follow_y()

    def reach(self, step: float) -> None:
        """Widen the step axis by half again whenever the data outgrows it."""
        if step > self.x_max or self.x_max == 0:
            self.x_max = max(10, int(step * 1.5))
            self.plot.setXRange(0, self.x_max, padding=0.02)

    def _follow_y(self) -> None:
        """Fit the y axis to the data when the data leaves it or fills too little of it."""
        bounds = [(s.low, s.high) for s in self._series.values() if s.low <= s.high]
        if self.fixed_y or not bounds:
            return
        low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        if self.log_y:
            low, high = np.log10(low), np.log10(high)
        span = max(high - low, 1e-3 if self.log_y else 1e-9 + abs(high) * 1e-3)
        if self.y_shown is not None:
            shown_low, shown_high = self.y_shown
            inside = shown_low <= low and high <= shown_high
            if inside and span >= Y_SHRINK * (shown_high - shown_low):
                return
        self.y_shown = (low - Y_MARGIN * span, high + Y_MARGIN * span)
        self.plot.setYRange(*self.y_shown, padding=0)

    def restart(self) -> None:
        """A new run: forget the old one's series and axes."""
        self.x_max, self.y_shown = 0, None
        self._series.clear()


class PeakSeries:
    """A growing series kept short for drawing: the minimum and maximum of each block of
    points, blocks doubling in length whenever there are more than 2 × POINT_LIMIT of them.
    Spikes (a diverging step) survive, and an update costs only the new points."""

    def __init__(self, generation: int = 0):
        self.block, self.consumed, self.generation = 1, 0, generation  # of the timeline it follows
        self.low, self.high = np.inf, -np.inf  # of every point so far
        self.blocks = GrowingArray(3)  # (first x, lowest y, highest y) of each full block
        self.rest_x, self.rest_y = np.empty(0), np.empty(0)  # points of the block being filled

    def extend(self, x: np.ndarray, y: np.ndarray, consumed: int) -> None:
        self.consumed = consumed
        if len(y):
            self.low, self.high = min(self.low, y.min()), max(self.high, y.max())
        xs, ys = np.concatenate([self.rest_x, x]), np.concatenate([self.rest_y, y])
        full = len(xs) // self.block * self.block
        if full:
            chunks = ys[:full].reshape(-1, self.block)
            self.blocks.extend(np.column_stack([xs[:full:self.block], chunks.min(1), chunks.max(1)]))
        self.rest_x, self.rest_y = xs[full:], ys[full:]
        while len(self.blocks) > 2 * POINT_LIMIT:
            self._merge_pairs()

    def _merge_pairs(self) -> None:
        rows = self.blocks.data
        even = len(rows) // 2 * 2
        merged = np.column_stack([rows[:even:2, 0], np.minimum(rows[:even:2, 1], rows[1:even:2, 1]),
                                  np.maximum(rows[:even:2, 2], rows[1:even:2, 2])])
        leftover = rows[even:]
        self.blocks = GrowingArray(3)
        self.blocks.extend(merged)
        self.block *= 2
        if len(leftover):  # an unpaired block goes back to be filled up
            self.rest_x = np.concatenate([[leftover[0, 0]] * 2, self.rest_x])
            self.rest_y = np.concatenate([leftover[0, 1:], self.rest_y])

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Each block as two points, its low and its high, then the unfinished block as it is."""
        rows = self.blocks.data
        if self.block == 1:
            return np.concatenate([rows[:, 0], self.rest_x]), np.concatenate([rows[:, 1], self.rest_y])
        x = np.repeat(rows[:, 0], 2)
        y = rows[:, 1:].ravel()
        return np.concatenate([x, self.rest_x]), np.concatenate([y, self.rest_y])


def measured(x: np.ndarray, y: np.ndarray, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Only the points where y was measured (finite), e.g. validation every few steps."""
    keep = np.isfinite(y) & (y > 0) if positive else np.isfinite(y)
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
        self.log_scale.toggled.connect(self._set_log)
        self.history: History | None = None  # what was drawn last, to redraw on a change of scale
        self.layout.addWidget(self.log_scale, alignment=Qt.AlignRight)

    def show_smoothed(self, shown: bool) -> None:
        """Mini-batch losses are noisy: a faint curve per batch under their moving average.
        Full-batch losses are exact: one strong curve, no average."""
        if shown == self.smooth.isVisible():
            return
        self.smooth.setVisible(shown)
        self.raw.setPen(RAW if shown else SMOOTH)
        self.legend.clear()
        self.legend.addItem(self.raw, "batch" if shown else "training")
        if shown:
            self.legend.addItem(self.smooth, "smoothed")
        self.legend.addItem(self.validation, "validation")

    def _set_log(self, on: bool) -> None:
        self.log_y = on
        self.plot.setLogMode(y=on)
        self.restart()  # the series keep only positive losses on a log axis: rebuild them
        if self.history is not None:
            self.draw(self.history)

    def draw(self, history: History) -> None:
        self.history = history
        for curve, column in ((self.raw, "loss"), (self.smooth, "smoothed_loss"),
                              (self.validation, "val_loss")):
            self.show(curve, history, column)


class AccuracyView(PlotView):
    def __init__(self):
        super().__init__(
            "Accuracy", "accuracy",
            "Fraction of examples classified correctly: training batches (moving average) and "
            "the held-out validation set. A widening gap between them means overfitting.",
            legend_at=(-10, -10), y_range=(0, 1))
        self.train = self.curve(SMOOTH, "training (smoothed)")
        self.validation = self.curve(VALIDATION, "validation", markers=True)

    def set_classes(self, classified: bool) -> None:
        self.plot.setTitle("Accuracy" if classified else
                           "Accuracy: none, this dataset's targets are numbers, not classes")

    def draw(self, history: History) -> None:
        self.show(self.train, history, "smoothed_accuracy")
        self.show(self.validation, history, "val_accuracy")


class GradientView(PlotView):
    """One curve per layer of its weight-gradient norm: vanishing and exploding gradients."""

    def __init__(self):
        super().__init__(
            "Gradient magnitude per layer", "‖∂L/∂W‖",
            "Norm of each layer's weight gradient (a moving average over mini-batches), on a log "
            "scale. Curves falling far below the others show vanishing gradients (try ReLU or He "
            "initialisation); curves rising without bound show exploding ones (lower the "
            "learning rate or clip).", log_y=True)
        self.curves: list[pg.PlotDataItem] = []
        self.smoothing = True

    def set_layers(self, sizes: tuple[int, ...]) -> None:
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.legend.clear()
        self.curves = [
            self.curve(pg.mkPen(LAYER_COLOURS[i % len(LAYER_COLOURS)], width=1),
                       f"layer {i + 1} ({n_in}→{n_out})")
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def show_smoothed(self, shown: bool) -> None:
        """Noisy mini-batch norms are smoothed; full-batch ones are exact and shown as they are."""
        self.smoothing = shown

    def draw(self, history: History) -> None:
        prefix = "smoothed_" if self.smoothing else ""
        for i, curve in enumerate(self.curves, start=1):
            self.show(curve, history, f"{prefix}layer{i}_grad_norm")
