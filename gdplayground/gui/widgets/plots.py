"""Curves over training steps: loss, accuracy (or a regression's error in its own units) and
per-layer gradient magnitudes.

Each plot creates its curves once and redraws them from the run's History with setData; each
curve's own peak decimation (PeakSeries) keeps a million-step run cheap to draw. Drawing shares
the interpreter with training, so every redraw is kept cheap: no antialiasing or translucent
curves, finite data handed over unchecked, curves without new points left alone, and axes that
change in jumps rather than on every frame (regenerating the ticks, and the second paint that
pyqtgraph's auto-range triggers, would cost more than the curves).
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from typing import ContextManager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF, QTextOption
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from gdplayground.colours import CLASS_COLOURS, LAYER_COLOURS  # noqa: F401 - shared with the animation
from gdplayground.engine.history import GrowingArray, History, Timeline

POINT_LIMIT = 512  # blocks kept per curve (two points each, up to four times as many in all:
# about two a pixel): the drawing cost stays flat however long the run
Y_MARGIN = 0.12  # of the data's span, left free above and below the curves: room to move
Y_SHRINK = 0.6  # the y axis closes in when the data fills less than this share of it
OUTLIER_QUANTILES = (0.01, 0.99)  # the bulk of a plot's values, on a linear axis …
OUTLIER_SPANS = 3  # … and how far beyond it (in its own spans) a value is left off the scale
KEY_POINTS = 8  # type size of the key under a title …
KEY_SIZES = (KEY_POINTS, 7, 6)  # … or smaller, to keep it within KEY_LINES lines in a small plot
KEY_LINES = 2
KEY_MARGIN = 10  # pixels of the title's width the key leaves free
# The digits labelled between decades on a log axis, by the pixels a decade spans: the closest
# pair of labels (9 and 8, 3 and 2, 2 and 1 …) stays a label's height (14 pixels) apart.
LABELLED_MANTISSAS = [(275, frozenset(range(1, 10))), (80, frozenset({1, 2, 3, 5})),
                      (47, frozenset({1, 2, 5})), (30, frozenset({1, 3})), (0, frozenset({1}))]

# One-pixel pens: the fastest lines Qt's raster engine draws (wider ones cost several times more).
RAW = pg.mkPen(color=(170, 190, 215), width=1)
SMOOTH = pg.mkPen(color=(31, 119, 180), width=1)
VALIDATION = pg.mkPen(color=(230, 120, 20), width=1)
TEST = pg.mkPen(color=(44, 160, 44), width=1)
RATE = pg.mkPen(color=(120, 120, 120), width=1, style=Qt.DashLine)


def use_plot_style() -> None:
    """pyqtgraph's options for every plot of the playground: white paper, black ink, images
    indexed [row, column] like NumPy's."""
    pg.setConfigOptions(antialias=True, background="w", foreground="k", imageAxisOrder="row-major")


class PlotView(QWidget):
    """A styled plot of something over training steps, created once and redrawn with setData."""

    def __init__(self, title: str, y_label: str, tooltip: str, log_y: bool = False,
                 y_range: tuple[float, float] | None = None):
        """`y_range` fixes the y axis; without it the axis follows the data, in jumps."""
        super().__init__()
        self.title = title
        self._notes: dict[str, str] = {}  # lines under the title: what the plot does not show
        self.plot = pg.PlotWidget(title=title, axisItems={"left": LogReadyAxis("left")})
        item = self.plot.getPlotItem()  # the title and its key span the axes too: more room
        item.layout.removeItem(item.titleLabel)
        item.layout.addItem(item.titleLabel, 0, 0, 1, 3)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", y_label)
        for side in ("bottom", "left"):  # "step (x1000)" reads worse than plain numbers
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setLogMode(y=log_y)
        self.setToolTip(tooltip)
        self.plot.disableAutoRange()
        self.log_y, self.x_max, self.fixed_y = log_y, 0, y_range  # fixed_y: None, or the range
        self.y_shown: tuple[float, float] | None = None  # the y axis's range, as the view sees it
        self._show_empty()
        self._series: dict[pg.PlotDataItem, PeakSeries] = {}
        self._names: dict[pg.PlotDataItem, str] = {}  # each curve's name in the key …
        self._named: set[pg.PlotDataItem] = set()  # … once it has points to show
        # Curves the y axis does not fit itself to: a moving average stays within the values it
        # averages, but after a wild value it keeps it for hundreds of steps; a curve on an axis
        # of its own.
        self.followers: set[pg.PlotDataItem] = set()
        self.layout = QVBoxLayout(self)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.addWidget(self.plot)

    def curve(self, pen, name: str, markers: bool = False, box: pg.ViewBox | None = None
              ) -> pg.PlotDataItem:
        """A curve, named in the key under the title once it has something to show."""
        style = dict(symbol="o", symbolSize=5, symbolBrush=pen.color(), symbolPen=pen) if markers else {}
        item = pg.PlotDataItem(pen=pen, antialias=False, **style)
        (box or self.plot.getPlotItem()).addItem(item)
        self._names[item] = name
        return item

    def name(self, curve: pg.PlotDataItem, name: str) -> None:
        self._names[curve] = name
        self._retitle()

    def show_in_key(self, names: dict[pg.PlotDataItem, str]) -> None:
        """Name in the key, now, curves their caller drew (not fed from a History), by these
        names: the key is laid out once for them all."""
        self._names.update(names)
        self._named.update(names)
        self._retitle()

    def remove(self, *curves: pg.PlotDataItem) -> None:
        for curve in curves:
            self.plot.removeItem(curve)
            for kept in (self._names, self._series):
                kept.pop(curve, None)
            self._named.discard(curve)
        if curves:
            self._retitle()

    def clear(self) -> None:
        """Remove every curve and item: a new set of them follows."""
        self.plot.clear()
        self._names.clear()
        self.restart()

    def plot_column(self, curve: pg.PlotDataItem, timeline: Timeline, column: str,
                    transform=None, blank: str | None = None) -> None:
        """Draw the measured points of a column (positive ones only on a log axis), and fit the
        axes to them. `blank`: see feed."""
        steps = self.feed(curve, timeline, column, transform, positive=self.log_y, blank=blank)
        self.reach(steps[-1] if len(steps) else 0)
        self._follow_y()

    def feed(self, curve: pg.PlotDataItem, timeline: Timeline, column: str, transform=None,
             positive: bool = False, blank: str | None = None) -> np.ndarray:
        """Hand a curve the rows that arrived since the last call, through its decimated
        series (after a rollback, or on a new curve, the whole run again), leaving out those
        where the column `blank` (if given) is exactly 0. Returns the steps."""
        series = self._series.get(curve)
        if series is None or series.generation != timeline.generation or \
                series.consumed < timeline.folded:  # new, rolled back, or folded into blocks since
            series = self._series[curve] = PeakSeries(timeline.generation)
            read = timeline.series
        else:
            read = partial(timeline.since, start=series.consumed)
        steps, values = read(column)
        if transform:
            values = transform(values)
        if blank is not None:
            values = np.where(read(blank)[1] == 0, np.nan, values)
        x, y = measured(steps, values, positive=positive)
        fresh = series.consumed == 0
        series.extend(x, y, consumed=timeline.total)
        if len(x) or fresh:
            curve.setData(*series.points(), skipFiniteCheck=True)
        if len(x) and curve not in self._named:
            self._named.add(curve)
            self._retitle()
        return steps

    def _retitle(self) -> None:
        """The title, what is off the scale, and the key to the curves under it: a key in the
        title never covers the data, as a legend in the plot did in small windows."""
        entries = [(curve, name) for curve, name in self._names.items()
                   if curve in self._named and curve.isVisible()]
        width = self._title_width()
        points, grouped = fitted_key(entries, width)
        lines = [" &nbsp; ".join(key_entry(curve, name) for curve, name in line) for line in grouped]
        lines[:0] = self._notes.values()
        title_within(self.plot.getPlotItem(), self.title, lines, width, points)

    def _title_width(self) -> float:
        """The title's room: the plot's width (wider text widens the plot beyond the widget,
        and cuts off its right side)."""
        return self.width() - KEY_MARGIN

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._retitle()  # the key's lines break where the new width says

    def reach(self, step: float) -> None:
        """Widen the step axis by half again whenever the data outgrows it."""
        if step >= self.x_max:  # at the edge already: the newest point would touch it
            self.x_max = max(10, int(step * 1.5))
            self.plot.setXRange(0, self.x_max, padding=0.02)

    def _follow_y(self) -> None:
        """Fit the y axis to the data when the data leaves it or fills too little of it. On a
        linear axis a few wild values (a loss spike of 1e18) are left off the scale, and said
        so, rather than flatten everything else: the axis takes the data's bulk and the newest
        values."""
        live = [s for curve, s in self._series.items()
                if s.low <= s.high and curve not in self.followers]
        if self.fixed_y is not None or not live:
            return
        low, high = min(s.low for s in live), max(s.high for s in live)
        if self.log_y:
            low, high = np.log10(low), np.log10(high)
        else:
            low, high = self._bulk(live, low, high)
        span = max(high - low, 1e-3 if self.log_y else 1e-9 + abs(high) * 1e-3)
        if self.y_shown is not None:
            shown_low, shown_high = self.y_shown
            inside = shown_low <= low and high <= shown_high
            if inside and span >= Y_SHRINK * (shown_high - shown_low):
                return
        self.y_shown = (low - Y_MARGIN * span, high + Y_MARGIN * span)
        self.plot.setYRange(*self.y_shown, padding=0)

    def _bulk(self, live: list, low: float, high: float) -> tuple[float, float]:
        """(low, high) of the values but for outliers far beyond the bulk of them, always with
        each curve's newest value; the title says what was left off the scale."""
        values = np.concatenate([s.points()[1] for s in live])
        bulk_low, bulk_high = np.quantile(values, OUTLIER_QUANTILES)
        reach = OUTLIER_SPANS * max(bulk_high - bulk_low, abs(bulk_high) * 1e-3, 1e-12)
        newest = [s.newest for s in live]
        low = low if low >= bulk_low - reach else min(bulk_low, *newest)
        clipped = high > bulk_high + reach
        high = max(bulk_high, *newest) if clipped else high
        self.note("off scale", f"▲ values up to {max(s.high for s in live):.3g} off the scale"
                  if clipped else "")
        return low, high

    def note(self, key: str, text: str) -> None:
        """Say under the title what the plot leaves out (`key` names the note; "" drops it)."""
        if text == self._notes.get(key, ""):
            return
        if text:
            self._notes[key] = text
        else:
            self._notes.pop(key)
        self._retitle()

    def restart(self) -> None:
        """A new run: forget the old one's series, axes and key."""
        self.x_max, self.y_shown = 0, None
        self._notes.clear()
        self._series.clear()
        self._named.clear()
        self._show_empty()
        self._retitle()

    def _show_empty(self) -> None:
        """The axes of a plot with nothing on it yet (the last run's ranges said nothing of
        this one; a log axis from 1 to 10 labelled only 2, 3, 5)."""
        self.plot.setXRange(0, 10, padding=0.02)
        self.plot.setYRange(*(self.fixed_y or ((-1, 1) if self.log_y else (0, 1))),
                            padding=0.02)  # (-1, 1) on a log axis: from 0.1 to 10


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

    @property
    def newest(self) -> float:
        """The last value added (a block's low or high, once it is folded)."""
        return float(self.rest_y[-1]) if len(self.rest_y) else float(self.blocks.data[-1, 2])

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


def key_sample(curve: pg.PlotDataItem) -> str:
    """A curve drawn in a character or two: a line, dashes, or a dot."""
    return ("●" if curve.opts["symbol"] else
            "╍╍" if curve.opts["pen"].style() == Qt.DashLine else "━━")


def key_entry(curve: pg.PlotDataItem, name: str) -> str:
    """A curve's name after a sample of it, in its colour."""
    colour = curve.opts["pen"].color().name()
    return f"<span style='color:{colour}'>{key_sample(curve)}</span>&nbsp;{name}"


def title_within(item: pg.PlotItem, title: str, key_lines: list[str], width: float,
                 points: float = KEY_POINTS) -> None:
    """A plot's title with lines of small type under it (a key, a note), centred and wrapped
    within `width` pixels: a title wider than its plot widens the plot beyond the widget, and
    cuts off its right side. The title's row takes the text's height."""
    key = "".join(f"<br><span style='font-size:{points}pt'>{line}</span>" for line in key_lines)
    text = item.titleLabel.item
    text.setTextWidth(-1)  # the text lays out at its own width again …
    item.setTitle(title + key)
    text.document().setDefaultTextOption(QTextOption(Qt.AlignHCenter))
    text.setTextWidth(min(text.boundingRect().width(), max(width, 1)))  # … then within the room
    item.titleLabel.updateMin()
    height = text.boundingRect().height()
    item.titleLabel.setMaximumHeight(height)
    item.layout.setRowFixedHeight(0, height)
    view = item.getViewWidget()
    if view is not None:
        item.setGeometry(view.range)  # laid out again around the title, within the view


def fitted_key(entries: list, width: float) -> tuple[float, list[list]]:
    """(type size, lines) of a key: the largest of KEY_SIZES that keeps it within KEY_LINES
    lines, or the smallest (four lines of key left a plot at 1024×640 a sliver)."""
    for points in KEY_SIZES:
        lines = key_lines(entries, width, points)
        if len(lines) <= KEY_LINES:
            break
    return points, lines


def key_lines(entries: list, width: float, points: float = KEY_POINTS) -> list[list]:
    """(curve, name) entries in lines no wider than `width` pixels in type of `points` (at
    least one a line)."""
    font = QFont()
    font.setPointSizeF(points)
    metrics = QFontMetricsF(font)
    lines, used = [], width
    for curve, name in entries:
        wide = metrics.horizontalAdvance(f"{key_sample(curve)} {name}   ")
        if used + wide > width:
            lines.append([])
            used = 0
        lines[-1].append((curve, name))
        used += wide
    return lines


class LogReadyAxis(pg.AxisItem):
    """An axis whose log scale labels only the ticks between decades (2, 3, … 9 × 10ⁿ) that
    have room: pyqtgraph labels them all, and they ran into each other in a small window."""

    _labelled = frozenset(range(1, 10))

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        pixels_per_decade = size / max(maxVal - minVal, 1e-9)
        self._labelled = next(kept for least, kept in LABELLED_MANTISSAS
                              if pixels_per_decade >= least)
        return super().logTickValues(minVal, maxVal, size, stdTicks)

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        return [text if mantissa(value) in self._labelled else ""
                for value, text in zip(values, strings)]


def mantissa(log_value: float) -> int:
    """The leading digit of 10 ** log_value (a tick's value on a log axis)."""
    digit = round(10 ** (log_value % 1))
    return 1 if digit == 10 else digit


class LossView(PlotView):
    def __init__(self, work: ContextManager = nullcontext()):
        """`work` brackets the redraw a change of scale asks for (see TrainingView)."""
        super().__init__(
            "Loss", "loss",
            "Training loss of every batch (light), its moving average (blue), the loss on held-"
            "out examples (orange: validation; green: the test set of a 2-D data set), and the "
            "learning rate in force (grey dashes, right axis). A curve that shoots up and ends "
            "means the learning rate is too high.")
        self.raw = self.curve(RAW, "batch")
        self.smooth = self.curve(SMOOTH, "smoothed")
        self.followers.add(self.smooth)
        self.validation = self.curve(VALIDATION, "validation", markers=True)
        self.test = self.curve(TEST, "test", markers=True)
        self.rate_box = self._right_axis("learning rate")
        self.rate = self.curve(RATE, "learning rate (right)", box=self.rate_box)
        self.followers.add(self.rate)  # it has an axis of its own
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis: late, small improvements "
                                  "stay visible next to the large early drop.")
        self.log_scale.toggled.connect(self._set_log)
        self._work = work
        self.history: History | None = None  # what was drawn last, to redraw on a change of scale
        self.layout.addWidget(self.log_scale, alignment=Qt.AlignRight)

    def _right_axis(self, label: str) -> pg.ViewBox:
        """A second y axis on the right, over the same steps (pyqtgraph's MultiplePlotAxes)."""
        item = self.plot.getPlotItem()
        box = pg.ViewBox(enableMouse=False)
        item.scene().addItem(box)
        item.getAxis("right").linkToView(box)
        item.getAxis("right").setLabel(label)
        item.getAxis("right").enableAutoSIPrefix(False)
        box.setXLink(item)

        def follow() -> None:
            box.setGeometry(item.vb.sceneBoundingRect())
            box.linkedViewChanged(item.vb, box.XAxis)
        item.vb.sigResized.connect(follow)
        return box

    def show_smoothed(self, shown: bool) -> None:
        """Mini-batch losses are noisy: a faint curve per batch under their moving average.
        Full-batch losses are exact: one strong curve, no average."""
        if shown == self.smooth.isVisible():
            return
        self.smooth.setVisible(shown)
        self.raw.setPen(RAW if shown else SMOOTH)
        self.name(self.raw, "batch" if shown else "training")

    def _set_log(self, on: bool) -> None:
        """The loss's own axis and curves turn logarithmic (pyqtgraph's PlotItem.setLogMode
        turned the rate's axis too, over a linear view, and auto-ranging back on); the
        series, which keep only positive losses on a log axis, are built again."""
        self.log_y = on
        item = self.plot.getPlotItem()
        with self._work:
            for each in item.items:
                if hasattr(each, "setLogMode"):
                    each.setLogMode(False, on)
            item.getAxis("left").setLogMode(on)  # and the view it shows
            self.y_shown = None
            self._series.clear()
            self.note("off scale", "")  # what was off a linear scale is on a log one
            if self.history is not None:
                self.draw(self.history)
            # painted now, while training waits: queued behind the window's other work, the
            # click's answer came a frame or two later
            self.plot.viewport().repaint()

    def restart(self) -> None:
        """A new run; its learning rate's axis shows once the rate is drawn (the last run's
        said nothing of this one)."""
        super().restart()
        self.plot.getPlotItem().showAxis("right", False)

    def draw(self, history: History) -> None:
        self.history = history
        for curve, column in ((self.raw, "loss"), (self.smooth, "smoothed_loss"),
                              (self.validation, "val_loss"), (self.test, "test_loss")):
            self.plot_column(curve, history, column)
        self.feed(self.rate, history, "learning_rate")
        top = self._series[self.rate].high
        if np.isfinite(top) and top > 0:
            self.rate_box.setYRange(0, top * (1 + Y_MARGIN), padding=0)
            self.plot.getPlotItem().showAxis("right")


class AccuracyView(PlotView):
    def __init__(self):
        super().__init__(
            "Accuracy", "accuracy",
            "Fraction of examples classified correctly: training batches (moving average) and "
            "the held-out examples (validation, or a 2-D data set's test points). A widening "
            "gap between them means overfitting.",
            y_range=(0, 1))
        self.train = self.curve(SMOOTH, "training (smoothed)")
        self.validation = self.curve(VALIDATION, "validation", markers=True)
        self.test = self.curve(TEST, "test", markers=True)

    def draw(self, history: History) -> None:
        self.plot_column(self.train, history, "smoothed_accuracy")
        self.plot_column(self.validation, history, "val_accuracy")
        self.plot_column(self.test, history, "test_accuracy")


class ErrorView(PlotView):
    """A regression's error in its target's own units: the root of the mean squared error of a
    standardised target, times the target's spread (Dataset.error_in_units), for the smoothed
    training batches and the held-out examples, as the Accuracy plot shows a classifier's."""

    def __init__(self):
        super().__init__(
            "Error", "RMSE",
            "Root-mean-square error of the predictions, in the target's own units: training "
            "batches (moving average of their squared error) and the held-out examples "
            "(validation, test). A widening gap between them means overfitting.")
        self.train = self.curve(SMOOTH, "training (smoothed)")
        self.validation = self.curve(VALIDATION, "validation", markers=True)
        self.test = self.curve(TEST, "test", markers=True)
        self.spread = 1.0

    def set_target(self, name: str, spread: float) -> None:
        """The target's name (its units, as far as the table says) and its spread."""
        self.spread = spread
        self.title = f"Error in {name}"
        self.plot.setLabel("left", f"RMSE ({name})")
        self._retitle()

    def draw(self, history: History) -> None:
        in_units = lambda mse: np.sqrt(mse) * self.spread  # noqa: E731 - Dataset.error_in_units, per value
        self.plot_column(self.train, history, "smoothed_loss", in_units)
        self.plot_column(self.validation, history, "val_loss", in_units)
        self.plot_column(self.test, history, "test_loss", in_units)


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

    def set_layers(self, names: tuple[str, ...]) -> None:
        """A curve per layer with weights, named as RunInfo.layers names them."""
        self.clear()
        self.curves = [self.curve(pg.mkPen(LAYER_COLOURS[i % len(LAYER_COLOURS)], width=1),
                                  f"layer {i + 1} ({name})") for i, name in enumerate(names)]

    def show_smoothed(self, shown: bool) -> None:
        """Noisy mini-batch norms are smoothed; full-batch ones are exact and shown as they are."""
        self.smoothing = shown

    def draw(self, history: History) -> None:
        """Each layer's curve, but for the steps whose gradient was exactly 0: a zero has no
        place on a log axis (its moving average fell towards 1e-300 and flattened the rest),
        so the title says where one began instead."""
        prefix = "smoothed_" if self.smoothing else ""
        zeros = []
        for i, curve in enumerate(self.curves, start=1):
            measured = f"layer{i}_grad_norm"
            self.plot_column(curve, history, prefix + measured, blank=measured)
            since = zero_since(history, measured)
            if since:
                zeros.append(f"layer {i} from step {since}")
        self.note("zero", "▼ exactly 0, which a log axis cannot show: " + "; ".join(zeros)
                  if zeros else "")


def zero_since(timeline: Timeline, column: str) -> str | None:
    """Where the column's values have been exactly 0 since ("1,234"; "1,234 at the latest" if
    it began among the steps summarised in blocks), or None if its last value is not 0."""
    steps, values = timeline.series(column)
    finite = np.flatnonzero(np.isfinite(values))
    if not len(finite) or values[finite[-1]] != 0:
        return None
    nonzero = finite[values[finite] != 0]
    first = finite[np.searchsorted(finite, nonzero[-1], side="right")] if len(nonzero) else finite[0]
    summarised = len(steps) - len(timeline.column("step"))  # the blocks' points come first
    return f"{int(steps[first]):,}" + (" at the latest" if 0 < first <= summarised else "")
