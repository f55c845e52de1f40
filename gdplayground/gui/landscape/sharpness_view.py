"""The Sharpness view: λ_max, the largest eigenvalue of the loss's Hessian, at the run's kept
steps against 2/lr, the largest rate at which plain gradient descent is stable on a quadratic of
that curvature; and at the current weights the few largest and the smallest eigenvalue."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from gdplayground.engine.path import KeptPath
from gdplayground.labs import sharpness as lab
from gdplayground.labs.landscape import Terrain
from gdplayground.labs.sharpness import Sharpness, stability_bound
from gdplayground.gui.landscape.view import (
    HIGHLIGHT, NOW, Cancel, LandscapeView, Progress, Settings, nearest, subsample)

POINTS = 32  # kept steps λ_max is computed at, at most: each takes tens of Hessian products
TOP = 3  # the largest eigenvalues shown at the current weights
LAMBDA_PEN = pg.mkPen((31, 119, 180), width=2)
BOUND_PEN = pg.mkPen((120, 120, 120), width=2, style=Qt.DashLine)
TOOLTIP = (
    "How sharp the ground is: λ_max, the largest curvature of the loss at the weights, from "
    "Hessian-vector products (power iteration). On a quadratic with curvature λ, gradient "
    "descent at rate lr multiplies the distance to the bottom by (1 − lr·λ) each step: it "
    "converges while λ < 2/lr and overshoots further each step beyond. Full-batch gradient "
    "descent on a network typically drives λ_max up to about 2/lr and holds it there while the "
    "loss keeps falling, unevenly: the \"edge of stability\" (Cohen et al., 2021).")


class SharpnessRun(NamedTuple):
    steps: np.ndarray  # the kept steps λ_max was computed at
    largest: np.ndarray  # λ_max at each
    bounds: np.ndarray  # 2/lr of the step taken at each
    now: Sharpness  # at the current weights
    step: int
    bound: float  # 2/lr of the next step
    samples: int


class SharpnessView(LandscapeView):
    title = "Sharpness"
    tooltip = "λ_max of the loss's Hessian over the run's steps, against 2/lr"

    def __init__(self):
        super().__init__()
        self.plot = pg.PlotWidget()
        self.plot.setToolTip(TOOLTIP)
        self.plot.setLogMode(y=True)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "curvature")
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(10, 10))  # top left: λ_max often ends high, on the right
        self.bound_curve = self.plot.plot(pen=BOUND_PEN, name="2/lr")
        self.lambda_curve = self.plot.plot(pen=LAMBDA_PEN, symbol="o", symbolSize=5,
                                           symbolBrush=LAMBDA_PEN.color(), name="λ_max")
        # points as curves without lines: a log axis maps curves, not scatter plots
        self.now = self.plot.plot(pen=None, symbol="star", symbolSize=14, symbolBrush=NOW,
                                  symbolPen=None, name="now")
        self.mark = self.plot.plot(pen=None, symbol="o", symbolSize=18, symbolBrush=None,
                                   symbolPen=pg.mkPen(HIGHLIGHT, width=3))
        self.caption.setToolTip(TOOLTIP)
        self.layout.addWidget(self.plot, 1)
        self.layout.addWidget(self.caption)

    @staticmethod
    def compute(terrain: Terrain, settings: Settings, progress: Progress,
                cancelled: Cancel) -> SharpnessRun:
        probe = subsample(terrain.probe, settings.samples, settings.seed)
        path = thinned(terrain.path, POINTS)
        total = len(path) + 1  # the kept points, then the current weights

        def along_progress(done: int, _: int) -> None:
            progress(done, total)
        steps, largest = (lab.sharpness_along(probe, path, along_progress, cancelled)
                          if len(path) else (path.steps, np.zeros(0)))  # no path: now only
        now = lab.sharpness(probe, top=TOP, smallest=True, seed=settings.seed,
                            cancelled=cancelled)
        progress(total, total)
        bounds = np.array([stability_bound(float(r)) for r in path.rates])
        return SharpnessRun(np.asarray(steps), np.asarray(largest, dtype=np.float64), bounds, now,
                            terrain.step, stability_bound(terrain.learning_rate), len(probe.x))

    def show_result(self, run: SharpnessRun, terrain: Terrain) -> None:
        super().show_result(run, terrain)
        steps = np.append(run.steps, run.step)
        bounds = np.append(run.bounds, run.bound)
        shown = np.isfinite(bounds) & (bounds > 0)
        self.bound_curve.setData(steps[shown], bounds[shown])
        positive = run.largest > 0  # a log axis has no room for the others
        self.lambda_curve.setData(run.steps[positive], run.largest[positive])
        self.now.setData(*_point(run.step, run.now.largest))
        self.mark.setData([], [])
        self.plot.autoRange()
        self.caption.setText(sharpness_words(run, terrain.optimizer))

    def clear(self, message: str) -> None:
        super().clear(message)
        for item in (self.bound_curve, self.lambda_curve, self.now, self.mark):
            item.setData([], [])

    def highlight(self, step: int | None) -> None:
        if self.result is None or step is None:
            self.mark.setData([], [])
            return
        steps = np.append(self.result.steps, self.result.step)
        values = np.append(self.result.largest, self.result.now.largest)
        i = nearest(steps, step)
        self.mark.setData(*_point(steps[i], values[i]))

    @property
    def marked(self) -> tuple[float, float] | None:
        x, y = self.mark.getOriginalDataset()
        return (float(x[0]), float(y[0])) if x is not None and len(x) else None


def _point(x: float, y: float) -> tuple[list, list]:
    """One point for a log axis: none if y is not positive."""
    return ([x], [y]) if y > 0 else ([], [])


def thinned(path: KeptPath, points: int) -> KeptPath:
    """At most `points` of the path, evenly spread, its first and last among them."""
    if len(path) <= points:
        return path
    keep = np.unique(np.linspace(0, len(path) - 1, points).round().astype(int))
    return KeptPath(path.steps[keep], path.weights[keep], path.rates[keep])


def sharpness_words(run: SharpnessRun, optimizer: str) -> str:
    now = run.now
    estimate = "" if now.converged else " (an estimate: the iteration had not settled)"
    top = ", ".join(f"{value:.4g}" for value in now.top)
    words = [f"At step {run.step:,}: λ_max = <b>{now.largest:.4g}</b>{estimate}, 2/lr = "
             f"<b>{run.bound:.4g}</b>; the {len(now.top)} largest eigenvalues {top}"]
    if now.smallest is not None:
        words[0] += f", the smallest {now.smallest:.3g}"
        if now.smallest < 0:
            words[0] += (" (negative: the loss curves down along it, a saddle's shape, not a "
                         "minimum's)")
    words[0] += f". On {run.samples:,} examples, {now.products} Hessian-vector products."
    crossed = np.flatnonzero(run.largest > run.bounds)
    if now.largest > run.bound:
        words.append("λ_max is above 2/lr now: along its direction each step of plain gradient "
                     "descent overshoots further than the last, and the loss rises or "
                     "oscillates unless the curvature falls back.")
    elif len(crossed):
        words.append(f"λ_max crossed 2/lr at step {int(run.steps[crossed[0]]):,}.")
    else:
        words.append(f"λ_max stays below 2/lr at every step shown (now at "
                     f"{100 * now.largest / run.bound:.2g}% of it): gradient descent is stable "
                     f"along every direction of the quadratic around the weights.")
    if optimizer != "sgd":
        words.append(f"This run uses {optimizer}: 2/lr is plain gradient descent's bound. "
                     f"Momentum β moves it to (2 + 2β)/lr, and Adam or RMSprop scale each "
                     f"direction's rate by its own, so their edge lies elsewhere.")
    return " ".join(words)
