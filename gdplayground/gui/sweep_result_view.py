"""The result of a sweep drawn: the final and the least training loss and the test accuracy
against the swept value, and every run's loss curve overlaid; and the same as a PNG for
`gdplayground sweep`.

Each value's point is the mean over its repeats, its bar runs from the least to the greatest
repeat (min–max: with a handful of repeats, a standard deviation says little). A run that
diverged has no final loss to draw: it is a red ✕ along the plot's top edge instead, and its
curve ends in one where it blew up. A choice (optimizer, activation, init) is drawn at evenly
spaced labelled positions; a rate, or values spaced on a log scale, on a log axis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from gdplayground.engine.sweep import SweepParam, SweepRun, log_axis
from gdplayground.gui.plots import LogReadyAxis, PlotView, use_plot_style

FINAL_PEN = pg.mkPen((31, 119, 180), width=2)
LEAST_PEN = pg.mkPen((255, 127, 14), width=2, style=Qt.DashLine)
ACCURACY_PEN = pg.mkPen((44, 160, 44), width=2)
DIVERGED = (214, 39, 40)
CURVE_COLOURS = pg.colormap.get("viridis")
HEADROOM = 0.25  # of the data's span, kept free above it for the diverged marks …
MARK_AT = 0.14  # … which sit this far above the data
KEYED_VALUES = 12  # curves keyed by value up to this many values; beyond, the first and last
PNG_SIZE = (1400, 1000)

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


def positions(results: list[SweepRun], param: SweepParam) -> dict:
    """Where each value is drawn: at itself, or a choice at its place in the order first run."""
    values = list(dict.fromkeys(run.value for run in results))
    if param.categorical:
        return {value: float(i) for i, value in enumerate(values)}
    return {value: float(value) for value in sorted(values)}


def columns(results: list[SweepRun], where: dict, figure: Callable[[SweepRun], float | None]
            ) -> list[Column]:
    found = []
    for value, x in where.items():
        runs = [run for run in results if run.value == value]
        measured = np.array([figure(run) for run in runs
                             if not run.diverged and figure(run) is not None], dtype=float)
        stats = ((measured.mean(), measured.min(), measured.max()) if len(measured)
                 else (np.nan,) * 3)
        found.append(Column(x, *stats, tuple(run.diverged_at_step for run in runs if run.diverged)))
    return found


class PlainLogAxis(LogReadyAxis):
    """Values on a log axis written as numbers (10, 100), not as powers of ten."""

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        return [f"{10 ** value:g}" if text else "" for value, text in zip(values, strings)]


def plain_log_axes(view: PlotView, y_label: str) -> None:
    """Both of a plot's axes written in plain numbers when logarithmic."""
    item = view.plot.getPlotItem()
    item.setAxisItems({"bottom": PlainLogAxis("bottom"), "left": PlainLogAxis("left")})
    item.updateLogMode()  # the new axes take the plot's log mode …
    item.disableAutoRange()  # … which turned auto-range back on
    for side in ("bottom", "left"):
        view.plot.getAxis(side).enableAutoSIPrefix(False)
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
        height, in data units."""
        if self.y_fixed:
            low, high = self.y_fixed
        else:
            values = np.array([v for c in found for v in (c.low, c.high)], dtype=float)
            values = values[np.isfinite(values) & ((values > 0) if self.log_y else True)]
            values = np.log10(values) if self.log_y else values
            low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
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
    """Every run's training loss against the step, one colour per value."""

    def __init__(self):
        super().__init__("Training loss of every run", "training loss", CURVES_TIP, log_y=True)
        plain_log_axes(self, "training loss")
        self.plot.setLabel("bottom", "step")

    def draw(self, results: list[SweepRun], param: SweepParam, where: dict) -> None:
        self.clear()
        order = list(where)
        keyed = set(order if len(order) <= KEYED_VALUES else (order[0], order[-1]))
        ends, shown = [], []
        for run in results:
            steps, losses = run.curve
            keep = np.isfinite(losses) & (losses > 0)
            share = order.index(run.value) / max(len(order) - 1, 1)
            pen = pg.mkPen(CURVE_COLOURS.map(0.9 * share, mode="qcolor"), width=1)  # no pale yellow
            item = self.curve(pen, f"{param.name} {param.text(run.value)}")
            item.setData(steps[keep], losses[keep])
            if run.value in keyed:  # named once in the key, by its first curve
                keyed.discard(run.value)
                self._named.add(item)
            if run.diverged and keep.any():
                ends.append((steps[keep][-1], losses[keep][-1]))
            if not run.diverged or all(r.diverged for r in results):
                shown.append(losses[keep])
        top = self._fit(results, shown)
        self.plot.addItem(pg.PlotDataItem([x for x, _ in ends], [min(y, top) for _, y in ends],
                                          pen=None, symbol="x", symbolSize=12,
                                          symbolPen=pg.mkPen(DIVERGED, width=2)))
        self._retitle()

    def _fit(self, results: list[SweepRun], shown: list[np.ndarray]) -> float:
        """Steps from 0 to the longest run; losses of the runs that did not diverge (a diverging
        run's last losses would flatten the rest). Returns the top loss in view."""
        last = max((run.curve[0][-1] for run in results if len(run.curve[0])), default=1)
        self.plot.setXRange(0, last, padding=0.02)
        values = np.concatenate(shown) if shown else np.empty(0)
        low, high = (np.log10(values.min()), np.log10(values.max())) if len(values) else (0, 1)
        span = max(high - low, 0.3)
        self.plot.setYRange(low - 0.06 * span, high + 0.06 * span, padding=0)
        return 10 ** (high + 0.03 * span)  # a ✕ there stays whole inside the view


class SweepResultView(QWidget):
    """Loss and test accuracy against the swept value side by side, every run's curve below."""

    def __init__(self):
        super().__init__()
        self.heading = QLabel()
        self.heading.setVisible(False)
        self.loss = ValuePlot("Training loss against the value", "training loss", LOSS_TIP,
                              log_y=True)
        self.accuracy = ValuePlot("Test accuracy against the value", "test accuracy",
                                  ACCURACY_TIP, y_range=(0.0, 1.0))
        self.curves = CurvesPlot()
        self.summary = QLabel("No sweep yet.")
        self.summary.setWordWrap(True)
        grid = QGridLayout(self)
        grid.addWidget(self.heading, 0, 0, 1, 2)
        grid.addWidget(self.loss, 1, 0)
        grid.addWidget(self.accuracy, 1, 1)
        grid.addWidget(self.curves, 2, 0, 1, 2)
        grid.addWidget(self.summary, 3, 0, 1, 2)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)

    def show_results(self, results: list[SweepRun], param: SweepParam, log: bool = False) -> None:
        """Draw these runs (all of a sweep's, or those finished so far) of a sweep of `param`;
        `log`: its values were spaced on a log scale (a rate is drawn on a log axis anyway)."""
        where = positions(results, param)
        log_x = bool(where) and log_axis(param, list(where), log)
        for plot, title in ((self.loss, "Training loss"), (self.accuracy, "Test accuracy")):
            plot.title = f"{title} against {param.label}"
            plot.set_values(param, where, log_x)
        self._draw_loss(results, where)
        self._draw_accuracy(results, where)
        self.curves.draw(results, param, where)
        self.summary.setText(summary_words(results, param))

    def set_heading(self, text: str) -> None:
        self.heading.setText(f"<b>{text}</b>")
        self.heading.setVisible(bool(text))

    def _draw_loss(self, results: list[SweepRun], where: dict) -> None:
        final = columns(results, where, lambda run: run.final_loss)
        least = columns(results, where, lambda run: run.least_loss)
        self.loss.draw([(final, FINAL_PEN, "final" + _spread_words(results)),
                        (least, LEAST_PEN, "least")])

    def _draw_accuracy(self, results: list[SweepRun], where: dict) -> None:
        found = columns(results, where, lambda run: run.test_accuracy)
        measured = any(np.isfinite(c.mean) for c in found) or not results
        self.accuracy.draw([(found, ACCURACY_PEN, "test accuracy" + _spread_words(results)
                             if measured else "none: no test set, or not a classification")])


def _spread_words(results: list[SweepRun]) -> str:
    return " (bars: min–max over repeats)" if any(run.repeat > 0 for run in results) else ""


def summary_words(results: list[SweepRun], param: SweepParam) -> str:
    """How many runs, and which diverged at which step."""
    if not results:
        return "No run has finished yet."
    diverged = [f"{param.text(run.value)} (repeat {run.repeat}) at step {run.diverged_at_step:,}"
                for run in results if run.diverged]
    named = param.name if param.label == param.name else f"{param.name} ({param.label})"
    words = f"{len(results)} run{'s' * (len(results) != 1)} of {named}"
    if not diverged:
        return words + "; none diverged."
    return words + f"; {len(diverged)} diverged: " + ", ".join(diverged) + "."


def save_sweep_result_png(results: list[SweepRun], param: SweepParam, path: Path,
                          log: bool = False, heading: str = "", size=PNG_SIZE) -> None:
    """The result as the view draws it, as a PNG. Needs Qt's system libraries (the caller runs
    cli.window's preflight); runs offscreen without a display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.app import application
    from gdplayground.gui.plot_export import save_png

    app = application()
    use_plot_style()
    view = SweepResultView()
    view.resize(*size)
    view.set_heading(heading)
    view.show()
    app.processEvents()  # laid out first: the keys under the titles break at the plots' widths
    view.show_results(results, param, log)
    app.processEvents()
    try:
        save_png(view.grab(), path)
    finally:
        view.close()
        view.deleteLater()
