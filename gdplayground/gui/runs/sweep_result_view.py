"""The result of a sweep drawn: the final and the least training loss and the test accuracy
against the swept value, and every run's loss curve overlaid (sweep_grid_view.py shows them
for a one-setting sweep, and along a row or column of a two-setting one).

Each value's point is the mean over its repeats, its bar runs from the least to the greatest
repeat (min–max: with a handful of repeats, a standard deviation says little). A run that
diverged has no final loss to draw: it is a red ✕ along the plot's top edge instead, and its
curve ends in one where it blew up. A choice (optimizer, activation, init) is drawn at evenly
spaced labelled positions; a rate, or values spaced on a log scale, on a log axis.

In the window the result fills in as runs end: a sweep's axes span its values and steps from the
start, each run's curve is added once (one curve item per value, its repeats joined), and the
figures against the value are drawn again at most every FIGURES_INTERVAL_MS, so a sweep of
hundreds of short runs costs the window work in proportion to its runs, not to their square.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from gdplayground.labs.sweeps.params import SweepParam, log_axis
from gdplayground.labs.sweeps.runs import SweepRun
from gdplayground.gui.widgets.plots import LogReadyAxis, PlotView, mantissa

FINAL_PEN = pg.mkPen((31, 119, 180), width=2)
LEAST_PEN = pg.mkPen((255, 127, 14), width=2, style=Qt.DashLine)
ACCURACY_PEN = pg.mkPen((44, 160, 44), width=2)
DIVERGED = (214, 39, 40)
CURVE_COLOURS = pg.colormap.get("viridis")
HEADROOM = 0.25  # of the data's span, kept free above it for the diverged marks …
MARK_AT = 0.14  # … which sit this far above the data
KEYED_VALUES = 12  # curves keyed by value up to this many values; beyond, the first and last
FIGURES_INTERVAL_MS = 250  # at most this often the figures against the value are drawn again
LABEL_GAP = 8  # pixels between two log labels side by side, beyond their widths
LABEL_OVERHANG = 30  # pixels a value's label may reach beyond the axis's ends (the first value's
# label, centred on it, was dropped: "0.0001" at the left end of a narrow plot)
ROUNDEST = (1, 5, 2, 3, 4, 6, 8, 7, 9)  # leading digits labelled first where there is room

LOSS_TIP = ("The training loss at the end of each run (solid) and the least it reached "
            "(dashed), as the Training tab plots it: the moving average of the batch losses "
            "(exact losses in full-batch training). A point is the mean over repeats; its bar "
            "runs from the least to the greatest repeat. Red ✕: runs that diverged.")
ACCURACY_TIP = ("Accuracy on the test set at the end of each run: mean over repeats, the bar "
                "from the least to the greatest. Red ✕: runs that diverged.")
CURVES_TIP = ("Every run's training loss against the step, coloured by its value. A curve "
              "that ends in a red ✕ diverged there.")


class Column(NamedTuple):
    """One swept value's figure over its repeats: where it is drawn; the mean, least and
    greatest over the runs that have it and did not diverge (NaN if none); the steps where runs
    diverged (a diverged run's least loss, from before it blew up, is in sweep.csv, not drawn)."""

    x: float
    mean: float
    low: float
    high: float
    diverged: tuple[int, ...]


def positions(values, param: SweepParam) -> dict:
    """Where each value is drawn: at itself, or a choice at its place in the order given."""
    values = list(dict.fromkeys(values))
    if param.categorical:
        return {value: float(i) for i, value in enumerate(values)}
    return {value: float(value) for value in sorted(values)}


def columns(results: list[SweepRun], where: dict, figure: Callable[[SweepRun], float | None],
            axis: int = 0) -> list[Column]:
    """Each value's column, the runs placed by their value of the plan's `axis`."""
    by_value = {value: [] for value in where}
    for run in results:
        by_value[run.point[axis]].append(run)
    found = []
    for (value, x), runs in zip(where.items(), by_value.values()):
        measured = np.array([figure(run) for run in runs
                             if not run.diverged and figure(run) is not None], dtype=float)
        stats = ((measured.mean(), measured.min(), measured.max()) if len(measured)
                 else (np.nan,) * 3)
        found.append(Column(x, *stats, tuple(run.diverged_at_step for run in runs if run.diverged)))
    return found


class PlainLogAxis(LogReadyAxis):
    """Values on a log axis written as numbers (10, 100), not as powers of ten; along the bottom,
    as many as their widths leave room for, the roundest first ("0.0030.0040.005" ran together:
    the labels between decades were spaced for their height)."""

    _kept: set = set()  # rounded values of the ticks labelled along the bottom

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        if self.orientation in ("bottom", "top"):
            values = [value for _, level in levels for value in level]  # every level at once
            self._kept = self._with_room(values, size / max(maxVal - minVal, 1e-9))
        return levels

    def logTickStrings(self, values, scale, spacing):
        if self.orientation in ("bottom", "top"):
            return [f"{10 ** value:g}" if round(value, 9) in self._kept else "" for value in values]
        strings = super().logTickStrings(values, scale, spacing)
        return [f"{10 ** value:g}" if text else "" for value, text in zip(values, strings)]

    def _with_room(self, values: list[float], pixels_per_decade: float) -> set:
        """The values whose labels fit side by side, taken roundest first (decades, fives …)."""
        metrics = QFontMetricsF(self.style["tickFont"] or QFont())
        taken: list[tuple[float, float]] = []  # (centre, half width) of each label kept
        kept = set()
        for value in sorted(set(values), key=lambda v: (ROUNDEST.index(mantissa(v)), v)):
            centre = value * pixels_per_decade
            half = (metrics.horizontalAdvance(f"{10 ** value:g}") + LABEL_GAP) / 2
            if all(abs(centre - other) >= half + other_half for other, other_half in taken):
                taken.append((centre, half))
                kept.add(round(value, 9))
        return kept


def plain_log_axes(view: PlotView, y_label: str) -> None:
    """Both of a plot's axes written in plain numbers when logarithmic."""
    item = view.plot.getPlotItem()
    item.setAxisItems({"bottom": PlainLogAxis("bottom"), "left": PlainLogAxis("left")})
    item.updateLogMode()  # the new axes take the plot's log mode …
    item.disableAutoRange()  # … which turned auto-range back on
    for side in ("bottom", "left"):
        view.plot.getAxis(side).enableAutoSIPrefix(False)
    view.plot.getAxis("bottom").setStyle(hideOverlappingLabels=LABEL_OVERHANG)
    view.plot.setLabel("left", y_label)


class ValuePlot(PlotView):
    """A figure against the swept value: a mean line with min–max bars per series, and red ✕
    along the top edge where runs diverged."""

    def __init__(self, title: str, y_label: str, tooltip: str, log_y: bool = False,
                 y_range: tuple[float, float] | None = None):
        super().__init__(title, y_label, tooltip, log_y=log_y)
        plain_log_axes(self, y_label)
        self.y_fixed, self.log_x, self.categorical = y_range, False, False
        if y_range:  # no tick in the room above the data kept for the ✕ marks
            ticks = np.linspace(*y_range, 6)
            self.plot.getAxis("left").setTicks([[(v, f"{v:.1f}") for v in ticks]])

    def set_values(self, param: SweepParam, where: dict, log_x: bool) -> None:
        """The x axis: the setting's name, and its values at their positions."""
        self.clear()
        self.log_x, self.categorical = log_x, param.categorical
        self.plot.setLogMode(x=log_x, y=self.log_y)
        self.plot.setLabel("bottom", param.label)
        ticks = [(x, param.text(value)) for value, x in where.items()]
        self.plot.getAxis("bottom").setTicks([ticks] if param.categorical else None)
        xs = [self._view_x(x) for x in where.values()]
        low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
        pad = 0.5 if param.categorical or high == low else 0.05 * (high - low)
        self.plot.setXRange(low - pad, high + pad, padding=0)

    def draw(self, series: list[tuple[list[Column], QPen, str]]) -> None:
        """Each (columns, pen, name) series; the ✕ marks where the first one's runs diverged."""
        for depth, (found, pen, name) in enumerate(series):
            self._draw_series(found, pen, name, depth=-depth)  # the first on top
        diverged = any(c.diverged for c in series[0][0])
        at = self._fit_y([c for found, _, _ in series for c in found], room=diverged)
        self._mark_diverged(series[0][0], at)
        self._retitle()

    def _draw_series(self, found: list[Column], pen: QPen, name: str, depth: int) -> None:
        """The means, joined up unless the values are choices, and each value's min–max bar."""
        shown = [c for c in found if np.isfinite(c.mean) and (c.mean > 0 or not self.log_y)]
        line = self.curve(pen, name, markers=True)
        joined = np.zeros(len(shown), bool) if self.categorical else "all"  # choices: no order
        line.setData([c.x for c in shown], [c.mean for c in shown], connect=joined)
        line.setZValue(depth)
        bars = [c for c in shown if c.high > c.low]
        spread = pg.PlotDataItem([c.x for c in bars for _ in "lh"],
                                 [v for c in bars for v in (c.low, c.high)],
                                 connect="pairs", pen=pg.mkPen(pen.color(), width=1))
        self.plot.addItem(spread)
        self._named.add(line)

    def _fit_y(self, found: list[Column], room: bool) -> float:
        """The y axis around the data, with `room` above it for the ✕ marks; returns their
        height, in data units. With no data: 0.1 to 10 on a log axis, 0 to 1 on a linear one."""
        if self.y_fixed:
            low, high = self.y_fixed
        else:
            values = np.array([v for c in found for v in (c.low, c.high)], dtype=float)
            values = values[np.isfinite(values) & ((values > 0) if self.log_y else True)]
            values = np.log10(values) if self.log_y else values
            empty = (-1.0, 1.0) if self.log_y else (0.0, 1.0)
            low, high = (float(values.min()), float(values.max())) if len(values) else empty
        span = max(high - low, 0.3 if self.log_y else 1e-3 + 0.1 * abs(high))
        margin = 0 if self.y_fixed else 0.06 * span
        self.plot.setYRange(low - margin, high + (HEADROOM * span if room else margin), padding=0)
        mark = high + MARK_AT * span
        return 10 ** mark if self.log_y else mark

    def _mark_diverged(self, found: list[Column], at: float) -> None:
        """A red ✕ at the top edge over each value where a run diverged, and the word once:
        left of the first ✕, or right of the last if the first is near the left edge."""
        xs = [c.x for c in found if c.diverged]
        if not xs:
            return
        self.plot.addItem(pg.PlotDataItem(xs, [at] * len(xs), pen=None, symbol="x",
                                          symbolSize=15, symbolPen=pg.mkPen(DIVERGED, width=2),
                                          symbolBrush=DIVERGED))
        left, right = self.plot.getPlotItem().vb.viewRange()[0]
        first, last = self._view_x(min(xs)), self._view_x(max(xs))
        room_left = (first - left) / (right - left) > 0.2
        label = pg.TextItem("diverged", color=DIVERGED,
                            anchor=(1.15, 0.5) if room_left else (-0.15, 0.5))
        label.setPos(first if room_left else last, np.log10(at) if self.log_y else at)
        self.plot.addItem(label)

    def _view_x(self, x: float) -> float:
        return float(np.log10(x)) if self.log_x else x


class CurvesPlot(PlotView):
    """Every run's training loss against the step, one colour per value: one curve item per
    value, its runs joined end to end with a break between them, each run added once."""

    def __init__(self):
        super().__init__("Training loss of every run", "training loss", CURVES_TIP, log_y=True)
        plain_log_axes(self, "training loss")
        self.plot.setLabel("bottom", "step")
        self.begin(None, {}, None)

    def begin(self, param: SweepParam | None, where: dict, steps: int | None, axis: int = 0
              ) -> None:
        """A sweep of these values of the plan's `axis`: the steps axis from 0 to its runs'
        length, nothing drawn."""
        self.clear()
        self.param, self.order, self.axis = param, list(where), axis
        self.lines = {}  # value -> (curve item, its runs' steps, its runs' losses)
        self.ends = []  # (step, loss) where each diverged run's curve ends
        self.keyed = set(self.order if len(self.order) <= KEYED_VALUES
                         else (self.order[0], self.order[-1]))
        self.low, self.high = np.inf, -np.inf  # log10 of the losses of runs that did not diverge
        self.any_low, self.any_high = np.inf, -np.inf  # … and of every run's
        self.last_step = steps or 0
        self.marks = pg.PlotDataItem(pen=None, symbol="x", symbolSize=12,
                                     symbolPen=pg.mkPen(DIVERGED, width=2))
        self.plot.addItem(self.marks)
        self.plot.setXRange(0, max(self.last_step, 1), padding=0.02)

    def add(self, run: SweepRun) -> None:
        steps, losses = run.curve
        keep = np.isfinite(losses) & (losses > 0)
        steps, losses = steps[keep], losses[keep]
        value = run.point[self.axis]
        if value not in self.lines:
            share = self.order.index(value) / max(len(self.order) - 1, 1)
            pen = pg.mkPen(CURVE_COLOURS.map(0.9 * share, mode="qcolor"), width=1)  # no pale yellow
            self.lines[value] = (self.curve(pen, f"{self.param.name} {self.param.text(value)}"),
                                 [], [])
        item, all_steps, all_losses = self.lines[value]
        all_steps.append(np.r_[steps, np.nan])  # the break before the next run of this value
        all_losses.append(np.r_[losses, np.nan])
        item.setData(np.concatenate(all_steps), np.concatenate(all_losses), connect="finite")
        if value in self.keyed and len(steps):  # named once in the key, by its first curve
            self.keyed.discard(value)
            self._named.add(item)
            self._retitle()
        if len(steps):
            self._extend(np.log10(losses), not run.diverged)
            self.last_step = max(self.last_step, float(steps[-1]))
            if run.diverged:
                self.ends.append((float(steps[-1]), float(losses[-1])))
        self._fit()

    def _extend(self, logs: np.ndarray, kept: bool) -> None:
        self.any_low, self.any_high = min(self.any_low, logs.min()), max(self.any_high, logs.max())
        if kept:
            self.low, self.high = min(self.low, logs.min()), max(self.high, logs.max())

    def _fit(self) -> None:
        """Steps from 0 to the longest run; losses of the runs that did not diverge (a diverging
        run's last losses would flatten the rest), or of all if every one diverged; each
        diverged run's ✕ where its curve ends, within the view."""
        self.plot.setXRange(0, max(self.last_step, 1), padding=0.02)
        low, high = self.low, self.high
        if low > high:  # every run diverged
            low, high = self.any_low, self.any_high
        if low > high:
            low, high = -1.0, 1.0  # nothing drawn yet: 0.1 to 10
        span = max(high - low, 0.3)
        self.plot.setYRange(low - 0.06 * span, high + 0.06 * span, padding=0)
        top = high + 0.03 * span  # log10 of the loss where a ✕ stays whole inside the view
        self.marks.setData([x for x, _ in self.ends],
                           [10 ** min(np.log10(y), top) for _, y in self.ends])


class SweepResultView(QWidget):
    """Loss and test accuracy against the swept value side by side, every run's curve below."""

    def __init__(self):
        super().__init__()
        self.loss = ValuePlot("Training loss against the value", "training loss", LOSS_TIP,
                              log_y=True)
        self.accuracy = ValuePlot("Test accuracy against the value", "test accuracy",
                                  ACCURACY_TIP, y_range=(0.0, 1.0))
        self.curves = CurvesPlot()
        self.summary = QLabel("No sweep yet.")
        self.summary.setWordWrap(True)
        grid = QGridLayout(self)
        grid.addWidget(self.loss, 1, 0)
        grid.addWidget(self.accuracy, 1, 1)
        grid.addWidget(self.curves, 2, 0, 1, 2)
        grid.addWidget(self.summary, 3, 0, 1, 2)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)
        self.results: list[SweepRun] = []
        self.param, self.where, self.log_x, self.axis = None, {}, False, 0
        self._figures_due = QTimer(self)  # figures drawn again at most this often
        self._figures_due.setSingleShot(True)
        self._figures_due.setInterval(FIGURES_INTERVAL_MS)
        self._figures_due.timeout.connect(self.draw_figures)

    def begin(self, param: SweepParam, values, log: bool = False, steps: int | None = None,
              axis: int = 0) -> None:
        """A sweep of `param`, the plan's `axis`, over `values` (`log`: spaced on a log scale; a
        rate is drawn on a log axis anyway), its runs `steps` long if known: axes that span
        them, nothing drawn. Each run is drawn at its value of that axis (`run.point[axis]`)."""
        self._figures_due.stop()
        self.param, self.results, self.axis = param, [], axis
        self.where = positions(values, param)
        self.log_x = bool(self.where) and log_axis(param, list(self.where), log)
        self.curves.begin(param, self.where, steps, axis)
        self.draw_figures()

    def show_curves(self, shown: bool) -> None:
        """Every run's curve below the figures, or the figures alone, with its room."""
        self.curves.setVisible(shown)
        self.layout().setRowStretch(2, 2 if shown else 0)

    def add(self, run: SweepRun) -> None:
        """A run that ended: its curve now, the figures against the value soon."""
        self.results.append(run)
        self.curves.add(run)
        if not self._figures_due.isActive():
            self._figures_due.start()

    def show_results(self, results: list[SweepRun], param: SweepParam, log: bool = False,
                     axis: int = 0) -> None:
        """Draw these runs of a sweep of `param`, the plan's `axis`, at once; `log`: its values
        were spaced on a log scale."""
        self.begin(param, [run.point[axis] for run in results], log, axis=axis)
        for run in results:
            self.add(run)
        self.draw_figures()

    def draw_figures(self) -> None:
        """The figures against the value, and the summary, from the runs so far."""
        self._figures_due.stop()
        for plot, title in ((self.loss, "Training loss"), (self.accuracy, "Test accuracy")):
            if self.param is not None:
                plot.title = f"{title} against {self.param.label}"
                plot.set_values(self.param, self.where, self.log_x)
        self._draw_loss(self.results, self.where)
        self._draw_accuracy(self.results, self.where)
        self.summary.setText(summary_words(self.results, self.param, self.axis) if self.param
                             else "No sweep yet.")

    def _draw_loss(self, results: list[SweepRun], where: dict) -> None:
        final = columns(results, where, lambda run: run.final_loss, self.axis)
        least = columns(results, where, lambda run: run.least_loss, self.axis)
        self.loss.draw([(final, FINAL_PEN, "final" + _spread_words(results)),
                        (least, LEAST_PEN, "least")])

    def _draw_accuracy(self, results: list[SweepRun], where: dict) -> None:
        found = columns(results, where, lambda run: run.test_accuracy, self.axis)
        measured = any(np.isfinite(c.mean) for c in found) or not results
        self.accuracy.draw([(found, ACCURACY_PEN, "test accuracy" + _spread_words(results)
                             if measured else "none: no test set, or not a classification")])


def _spread_words(results: list[SweepRun]) -> str:
    return " (bars: min–max over repeats)" if any(run.repeat > 0 for run in results) else ""


def summary_words(results: list[SweepRun], param: SweepParam, axis: int = 0) -> str:
    """How many runs, and which diverged at which step (each named by its value of `axis`)."""
    if not results:
        return "No run has finished yet."
    diverged = [f"{param.name} {param.text(run.point[axis])} (repeat {run.repeat}) at step "
                f"{run.diverged_at_step:,}" for run in results if run.diverged]
    named = param.name if param.label == param.name else f"{param.name} ({param.label})"
    words = f"{len(results)} run{'s' * (len(results) != 1)} of {named}"
    if not diverged:
        return words + "; none diverged."
    return words + f"; {len(diverged)} diverged: " + ", ".join(diverged) + "."
