"""The Training tab: loss, accuracy and the gradient magnitude of every layer over the steps, and a
picture of the data (first-layer weights, the decision boundary of 2-D data, or the path of the
linear system's unknowns), drawn from the run's History and the pictures the worker sends."""

from __future__ import annotations

from typing import ContextManager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QWidget

from gdplayground.engine.history import History
from gdplayground.gui.training.decision_boundary import DecisionBoundaryView
from gdplayground.gui.training.linear_system_view import LinearSystemView
from gdplayground.gui.widgets.overlays import Overlay
from gdplayground.gui.widgets.plots import AccuracyView, GradientView, LossView
from gdplayground.gui.training.weight_mosaic import WeightMosaic
from gdplayground.gui.widgets.training_run import Frame, RunInfo
from gdplayground.gui.widgets.tab_spec import TabSpec


class TrainingView(QWidget):
    SPEC = TabSpec(
        "Training",
        "The network training on the data set: its loss, accuracy and gradients, and "
        "what it has learned",
        beside_the_experiment=True)

    redrawn = Signal()  # after the plots were redrawn from new data (tests and screenshots wait on it)

    def __init__(self, window_work: ContextManager):
        """`window_work` brackets the view's painting, and the redraws its own controls ask
        for: training waits meanwhile (see worker.py). Against a tiny model training flat out,
        the redraw of a click on Log scale waited for the interpreter lock at every call into
        NumPy, and took 60 to 300 ms."""
        super().__init__()
        self.loss_view, self.accuracy_view = LossView(window_work), AccuracyView()
        self.gradient_view = GradientView()
        self.mosaic, self.boundary = WeightMosaic(window_work), DecisionBoundaryView()
        self.linear_view = LinearSystemView()
        self.placeholder = QLabel("This dataset has no picture of its own.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.data_view = QStackedWidget()
        for view in (self.mosaic, self.boundary, self.linear_view, self.placeholder):
            self.data_view.addWidget(view)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.addWidget(self.loss_view, 0, 0)
        self.grid.addWidget(self.accuracy_view, 0, 1)
        self.grid.addWidget(self.gradient_view, 1, 0)
        self.grid.addWidget(self.data_view, 1, 1)
        for i in (0, 1):
            self.grid.setRowStretch(i, 1)
            self.grid.setColumnStretch(i, 1)
        self.plot_views = (self.loss_view, self.accuracy_view, self.gradient_view)
        for view in self.findChildren(pg.GraphicsView):
            _paint_within(view, window_work)
        self.overlays = [
            Overlay(self.loss_view, lambda run: [("", run.curves["loss"])]),
            Overlay(self.accuracy_view, lambda run: [("", run.curves["accuracy"])]),
            Overlay(self.gradient_view, lambda run: [
                (f" · layer {i}", run.curves[f"layer{i}_grad_norm"])
                for i in range(1, len(run.config.architecture.hidden) + 2)])]
        self.overlaid: list = []  # (kept run, colour index) drawn under the live curves
        self._marks = [pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 30, 30), style=Qt.DashLine))
                       for _ in self.plot_views]
        for view, line in zip(self.plot_views, self._marks):
            line.setVisible(False)
            view.plot.addItem(line, ignoreBounds=True)
        self._picture: Frame | None = None  # the latest frame that brought a picture, undrawn
        self._dirty, self._stale, self._turn = False, set(), 0  # new data; undrawn plots; whose turn

    def start(self, info: RunInfo, previous: RunInfo | None, noisy: bool) -> list[str]:
        """A new run (or the same one reset): clear the curves, and lay the views out again only
        where the data or the network changed (rebuilding them costs a reset's time). Each part
        is done whatever becomes of the others (an overlay that failed once left every later
        start half done: the mosaic on the last network's layout); returns what failed."""
        self._picture = None  # a picture of the last run must not land on this one's layout
        return each([("the plots", lambda: self._restart_plots(info, previous, noisy)),
                     ("the picture of the data", lambda: self._show_data(info, previous)),
                     *self._overlay_parts()])  # the restart cleared them from the keys

    def _restart_plots(self, info: RunInfo, previous: RunInfo | None, noisy: bool) -> None:
        for view, line in zip(self.plot_views, self._marks):
            view.restart()
            line.setVisible(False)
        if previous is None or previous.sizes != info.sizes:
            self.gradient_view.set_layers(info.sizes)
            self.gradient_view.plot.addItem(self._marks[2], ignoreBounds=True)  # cleared with them
        self._show_accuracy(info.n_classes is not None)
        self.show_smoothed(noisy)

    def _show_data(self, info: RunInfo, previous: RunInfo | None) -> None:
        if info.image_shape is not None:
            self.mosaic.set_layout(info.image_shape, info.initial_first_layer,
                                   class_templates=len(info.sizes) == 2)
            self.data_view.setCurrentWidget(self.mosaic)
        elif info.points is not None:
            if not _same_points(previous, info):
                self.boundary.set_points(info.points, info.labels, info.test_points, info.test_labels)
            self.data_view.setCurrentWidget(self.boundary)
        elif info.solution is not None:
            self.linear_view.set_solution(info.solution)
            self.data_view.setCurrentWidget(self.linear_view)
        else:
            self.data_view.setCurrentWidget(self.placeholder)

    def mark_step(self, step: int) -> None:
        """A line on every plot at a step: where a diagnosis began."""
        for view, line in zip(self.plot_views, self._marks):
            line.setPos(step)
            line.setVisible(True)
            view.reach(step)

    def overlay(self, runs: list) -> list[str]:
        """Draw these kept runs, (run, colour index) each, under the live curves, on each plot
        whatever becomes of the others; returns what failed."""
        self.overlaid = list(runs)
        return each(self._overlay_parts())

    def _overlay_parts(self) -> list:
        return [(f"the kept runs on the {overlay.view.title.lower()} plot",
                 lambda overlay=overlay: overlay.show(self.overlaid)) for overlay in self.overlays]

    def take(self, frame: Frame, rolled_back_to: int | None) -> None:
        """A frame's new data: the curves are stale, a picture waits for the next redraw."""
        if self.data_view.currentWidget() is self.linear_view:
            self.linear_view.add_path(frame.path, rolled_back_to)
        self._dirty = True
        if frame.first_layer is not None:
            self._picture = frame

    def show_smoothed(self, noisy: bool) -> None:
        """Mini-batch curves are noisy and get a moving average; full-batch ones are exact and a
        moving average would only lag behind them."""
        self.loss_view.show_smoothed(noisy)
        self.gradient_view.show_smoothed(noisy)

    def redraw(self, history: History, running: bool) -> None:
        """Draw the data that arrived since the last redraw: while training one plot a frame, in
        turn (each frame stays cheap, so frames stay frequent); when paused, everything."""
        if self._dirty:
            self._dirty, self._stale = False, {v for v in self.plot_views if v.isVisibleTo(self)}
        if self._stale:
            for _ in range(1 if running else len(self.plot_views)):
                view = self._next_stale()
                if view is None:
                    break
                view.draw(history)
            if not self._stale:
                self.redrawn.emit()
        if self._picture is not None:
            self._draw_picture(self._picture, history)
            self._picture = None

    def plots(self) -> dict:
        """The plot items on show, by file name."""
        items = {"loss": self.loss_view.plot.getPlotItem()}
        if self.accuracy_view.isVisibleTo(self):
            items["accuracy"] = self.accuracy_view.plot.getPlotItem()
        items["gradients"] = self.gradient_view.plot.getPlotItem()
        current = self.data_view.currentWidget()
        if current is self.mosaic:
            items["weights"] = self.mosaic.canvas.ci
        elif current is self.boundary:
            items["decision_boundary"] = self.boundary.plot.getPlotItem()
        elif current is self.linear_view:
            items["path_of_x"] = self.linear_view.path_view.plot.getPlotItem()
            items["residual"] = self.linear_view.residual_view.plot.getPlotItem()
        return items

    def _show_accuracy(self, classified: bool) -> None:
        """Numbers as targets (the linear system) have no accuracy: the loss takes its place."""
        self.accuracy_view.setVisible(classified)
        self.grid.addWidget(self.loss_view, 0, 0, 1, 1 if classified else 2)

    def _next_stale(self):
        """The next plot, in turn, that has data it has not drawn; None when all are current."""
        for _ in self.plot_views:
            self._turn = (self._turn + 1) % len(self.plot_views)
            view = self.plot_views[self._turn]
            if view in self._stale:
                self._stale.discard(view)
                return view
        return None

    def _draw_picture(self, frame: Frame, history: History) -> None:
        """The data view, from a frame that brings a picture (at most 5 a second: see Frame)."""
        current = self.data_view.currentWidget()
        if current is self.mosaic:
            self.mosaic.show_weights(frame.first_layer)
        elif current is self.boundary and frame.boundary is not None:
            self.boundary.show_boundary(frame.boundary)
        elif current is self.linear_view:
            self.linear_view.draw(history)


def each(parts: list) -> list[str]:
    """Do every (name, part) whatever becomes of the others; returns "name (what went wrong)"
    of each that failed."""
    failed = []
    for name, part in parts:
        try:
            part()
        except Exception as exc:  # noqa: BLE001 - one part's failure must not leave the rest undone
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    return failed


def _paint_within(view: pg.GraphicsView, context: ContextManager) -> None:
    """Make `view` paint inside `context`. Qt paints long after a plot was handed new data, so
    wrapping the window's own redraw does not cover it; each of a paint's hundreds of calls back
    into Python would otherwise wait for the interpreter lock on a busy training thread."""
    paint = view.paintEvent

    def paint_within(event) -> None:
        with context:
            paint(event)
    view.paintEvent = paint_within  # Qt calls the Python attribute: this instance's override


def _same_points(previous: RunInfo | None, info: RunInfo) -> bool:
    """Whether two runs show the same 2-D points (laying 100,000 of them out takes a moment)."""
    def same(a, b):
        return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
    return previous is not None and previous.dataset == info.dataset and \
        same(previous.points, info.points) and same(previous.test_points, info.test_points)
