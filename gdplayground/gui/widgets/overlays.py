"""Kept runs drawn under the live curves: each run in its own colour, faded (a pale solid
colour: translucent lines cost several times more to paint), named in the plot's key, which
also says when a run has nothing to draw or lies wholly off the live run's scale; hovering near
a curve names the run, the step and the value.

A run's curves are made once, when it is first selected: a run start only names them in the key
again, so that dozens of overlaid runs cost a run start next to nothing."""

from __future__ import annotations

import html
import sys
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QToolTip

from gdplayground.gui.widgets.plots import PlotView
from gdplayground.store.runs import KeptRun

RUN_COLOURS = [(148, 103, 189), (214, 39, 40), (140, 86, 75), (227, 119, 194), (23, 190, 207),
               (188, 189, 34), (255, 127, 14), (127, 127, 127)]
FADE = 0.45  # of the way to white: behind the live run, never over it
HOVER_PIXELS = 8  # how near the pointer must come to a curve to name it


def run_colour(i: int, faded: bool = True) -> tuple[int, int, int]:
    r, g, b = RUN_COLOURS[i % len(RUN_COLOURS)]
    if not faded:
        return r, g, b
    return tuple(int(c + (255 - c) * FADE) for c in (r, g, b))


@dataclass
class Curve:
    """One curve of a kept run: its item, its suffix to the run's name (" · layer 2"), and the
    least and greatest of its values (and of its positive ones, for a log axis)."""

    item: pg.PlotDataItem
    suffix: str = ""
    span: tuple[float, float] = (np.inf, -np.inf)
    positive: tuple[float, float] = (np.inf, -np.inf)

    def set_data(self, steps: np.ndarray, values: np.ndarray) -> None:
        self.item.setData(steps, values)
        self.span = (values.min(), values.max())
        positive = values[values > 0]
        if len(positive):
            self.positive = (positive.min(), positive.max())


@dataclass
class Drawn:
    """A run's curves on one plot, the first named in the key; what its key entry says."""

    run: KeptRun
    curves: list[Curve] = field(default_factory=list)
    problem: str = ""  # why there is nothing to draw
    key: str = ""  # its words in the key, as last given


class Overlay:
    """The kept runs on one plot. `columns(run)` gives the (suffix, values) pairs to draw for a
    run, against its curves' "step"; the gradient plot gives one per layer."""

    def __init__(self, view: PlotView, columns: Callable[[KeptRun], list[tuple[str, np.ndarray]]]):
        self.view, self.columns = view, columns
        self.drawn: dict[tuple[int, int], Drawn] = {}  # by (id of the run, its colour)
        self.shown: list[tuple[KeptRun, int]] = []
        self._hover = pg.SignalProxy(view.plot.scene().sigMouseMoved, rateLimit=20,
                                     slot=self._hovered)
        view.plot.getPlotItem().vb.sigYRangeChanged.connect(lambda *_: self._say_off_scale())

    @property
    def items(self) -> list[tuple[pg.PlotDataItem, str]]:
        """Every curve drawn, and the name it goes by."""
        return [(curve.item, drawn.run.name + curve.suffix) for drawn in self.drawn.values()
                for curve in drawn.curves]

    def show(self, runs: list[tuple[KeptRun, int]]) -> None:
        """Draw these runs (each with its colour's index), and only these, and name them all in
        the key (a new run's start emptied it). Curves drawn already stay as they are, unless
        their plot was cleared meanwhile (the gradient plot, for a new network)."""
        self.shown = list(runs)
        wanted = {(id(run), colour): (run, colour) for run, colour in runs}
        gone = [key for key, drawn in self.drawn.items()
                if key not in wanted or drawn.curves[0].item.scene() is None]
        self.view.remove(*(curve.item for key in gone for curve in self.drawn.pop(key).curves))
        for key, (run, colour) in wanted.items():
            if key not in self.drawn:
                self.drawn[key] = self._draw(run, colour)
        ends = [run.curves["step"][-1] for run, _ in runs if len(run.curves.get("step", ()))]
        if ends:
            self.view.reach(float(max(ends)))
        self._key_all()

    def clear(self) -> None:
        self.show([])

    def _draw(self, run: KeptRun, colour: int) -> Drawn:
        """A run's curves, made once. A run with nothing to draw (it diverged before its first
        checkpoint, or was kept before a step) gets an empty curve, to name it in the key."""
        pen = pg.mkPen(run_colour(colour), width=1)
        drawn = Drawn(run)
        try:
            steps = np.asarray(run.curves.get("step", ()), dtype=float)
            for suffix, values in self.columns(run):
                curve = Curve(self.view.curve(pen, run.name), suffix)
                curve.item.setZValue(-5)  # under the live run's curves
                drawn.curves.append(curve)
                values = np.asarray(values, dtype=float)
                keep = np.isfinite(values)
                if len(values) == len(steps) and keep.any():
                    curve.set_data(steps[keep], values[keep])
        except Exception:  # noqa: BLE001 - a kept run's data must never stop a run's start
            traceback.print_exc(file=sys.stderr)
            drawn.problem = "could not be drawn"
        if not drawn.curves:
            drawn.curves.append(Curve(self.view.curve(pen, run.name)))
        if not drawn.problem and all(c.span[0] > c.span[1] for c in drawn.curves):
            drawn.problem = ("nothing to draw: no step was recorded" if not len(steps) else
                             "not measured in this run")
        return drawn

    def _key_all(self) -> None:
        """Every run in the key, by its name now (a rename), laid out once for them all."""
        for drawn in self.drawn.values():
            drawn.key = self._key_words(drawn)
        self.view.show_in_key({drawn.curves[0].item: drawn.key for drawn in self.drawn.values()})

    def _say_off_scale(self) -> None:
        """Rename in the key the runs whose place on the scale changed with the live run's axis."""
        changed = {}
        for drawn in self.drawn.values():
            words = self._key_words(drawn)
            if words != drawn.key:
                drawn.key = changed[drawn.curves[0].item] = words
        if changed:
            self.view.show_in_key(changed)

    def _key_words(self, drawn: Drawn) -> str:
        """A run's name in the key (HTML), and what keeps it out of sight, if anything does."""
        note = drawn.problem or self._off_scale(drawn.curves)
        name = html.escape(drawn.run.name)
        return f"{name} ({note})" if note else name

    def _off_scale(self, curves: list[Curve]) -> str:
        """Which curves lie wholly above (▲) or below (▼) the live run's scale: the scale
        follows the live run, which a run far off it would flatten. All of them: from where to
        where; some (a layer's gradient): which."""
        bottom, top = self.view.plot.getPlotItem().vb.viewRange()[1]
        if self.view.log_y:
            bottom, top = 10 ** bottom, 10 ** top
        off, lows, highs = {}, [], []
        drawn = [c for c in curves if c.span[0] <= c.span[1]]
        for curve in drawn:
            low, high = curve.positive if self.view.log_y else curve.span
            arrow = ("▼" if low > high else  # nothing above 0 on a log axis
                     "▲" if low > top else "▼" if high < bottom else "")
            if arrow:
                off.setdefault(arrow, []).append(curve.suffix.strip(" ·"))
                lows.append(curve.span[0])
                highs.append(curve.span[1])
        if not off:
            return ""
        if len(lows) == len(drawn):
            return f"{''.join(off)} off the scale, from {min(lows):.3g} to {max(highs):.3g}"
        return "; ".join(f"{', '.join(labels)} {arrow} off the scale"
                         for arrow, labels in off.items())

    def _hovered(self, event) -> None:
        position = event[0]
        tip = self.tip_at(position)
        if tip is not None:
            screen = self.view.plot.mapToGlobal(self.view.plot.mapFromScene(position))
            QToolTip.showText(screen, tip, self.view.plot)

    def tip_at(self, position: QPointF) -> str | None:
        """What hovering at a point of the scene says: the run, step and value of the overlay
        point nearest it, if one is near (HTML: the name escaped)."""
        box = self.view.plot.getPlotItem().vb
        if not self.drawn or not box.sceneBoundingRect().contains(position):
            return None
        found = self._nearest(box, position)
        if found is None:
            return None
        name, step, value = found
        return f"<b>{html.escape(name)}</b><br>step {step:,.0f}: {value:.4g}"

    def _nearest(self, box: pg.ViewBox, position: QPointF):
        """(name, step, value) of the overlay point nearest the pointer, within HOVER_PIXELS."""
        best, found = HOVER_PIXELS ** 2, None
        at = box.mapSceneToView(position).x()
        for curve, name in self.items:
            x, y = curve.getData()  # as drawn: the log of the value on a log axis
            if x is None or not len(x):
                continue
            for step, shown in _near(x, y, at):
                point = box.mapViewToScene(QPointF(float(step), float(shown)))
                distance = (point.x() - position.x()) ** 2 + (point.y() - position.y()) ** 2
                if distance < best:
                    value = 10 ** shown if self.view.log_y else shown
                    best, found = distance, (name, step, value)
        return found


def _near(x: np.ndarray, y: np.ndarray, at: float, span: int = 3) -> list[tuple[float, float]]:
    """The points of a curve whose x is nearest `at` (a few either side)."""
    i = int(np.searchsorted(x, at))
    return list(zip(x[max(i - span, 0): i + span], y[max(i - span, 0): i + span]))
