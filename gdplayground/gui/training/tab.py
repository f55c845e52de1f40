"""The Training tab: loss, accuracy and the gradient magnitude of every layer over the steps, and a
picture of the data (first-layer weights, the decision boundary of 2-D data, or the path of the
linear system's unknowns), drawn from the run's History and the pictures the worker sends.

Under them, the replay: a slider through the steps the run kept (engine/path.py). The path is
asked of the worker (its "snapshot" query) when the user first reaches for the slider, and again
only when the run has since kept another point, never per frame: a large network's path is
up to 96 MB. While replaying, training goes on if it ran: the curves grow, the picture holds the
replayed step's weights (a StepNetwork draws them), every plot marks the step; the Live button,
Esc, End or the slider's right end bring back the live picture."""

from __future__ import annotations

from typing import Callable, ContextManager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QWidget

from gdplayground.engine.history import History
from gdplayground.gui.training.replay_bar import ReplayBar
from gdplayground.gui.training.decision_boundary import DecisionBoundaryView
from gdplayground.gui.training.feature_map_view import ConvView
from gdplayground.gui.training.linear_system_view import LinearSystemView
from gdplayground.gui.widgets.overlays import Overlay
from gdplayground.gui.widgets.plots import AccuracyView, ErrorView, GradientView, LossView
from gdplayground.gui.training.weight_mosaic import WeightMosaic
from gdplayground.gui.widgets.training_run import Frame, RunInfo
from gdplayground.gui.widgets.tab_spec import TabSpec
from gdplayground.labs.diagram import plane_outputs
from gdplayground.labs.replay import StepNetwork

REPLAY_PEN = pg.mkPen((120, 60, 170), width=2)  # the replayed step on every plot


class TrainingView(QWidget):
    SPEC = TabSpec(
        "Training",
        "The network training on the data set: its loss, accuracy and gradients, and "
        "what it has learned",
        beside_the_experiment=True)

    redrawn = Signal()  # after the plots were redrawn from new data (tests and screenshots wait on it)
    replayed = Signal(object)  # the step replayed, or None when back to the live run
    # what the network diagram draws of the replayed step ((unit outputs, weights, biases), as
    # a Frame's `units`), or None when back to the live run: for NetworkDiagram.hold
    replayed_units = Signal(object)

    def __init__(self, window_work: ContextManager, ask: Callable):
        """`window_work` brackets the view's painting, and the redraws its own controls ask
        for: training waits meanwhile (see worker.py). Against a tiny model training flat out,
        the redraw of a click on Log scale waited for the interpreter lock at every call into
        NumPy, and took 60 to 300 ms. `ask(what, callback)` puts a query to the training worker
        (TrainingSession.ask): the replay asks for the run's path."""
        super().__init__()
        self._work, self._ask = window_work, ask
        self.loss_view, self.accuracy_view = LossView(window_work), AccuracyView()
        self.error_view = ErrorView()  # in the accuracy's place, for a regression table
        self.gradient_view = GradientView()
        self.mosaic, self.boundary = WeightMosaic(window_work), DecisionBoundaryView()
        self.linear_view = LinearSystemView()
        self.conv_view = ConvView(window_work)
        self.placeholder = QLabel("This dataset has no picture of its own.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.data_view = QStackedWidget()
        for view in (self.mosaic, self.conv_view, self.boundary, self.linear_view, self.placeholder):
            self.data_view.addWidget(view)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.addWidget(self.loss_view, 0, 0)
        self.grid.addWidget(self.accuracy_view, 0, 1)
        self.grid.addWidget(self.error_view, 0, 1)
        self.grid.addWidget(self.gradient_view, 1, 0)
        self.grid.addWidget(self.data_view, 1, 1)
        self.replay_bar = ReplayBar()
        self.grid.addWidget(self.replay_bar, 2, 0, 1, 2)
        for i in (0, 1):
            self.grid.setRowStretch(i, 1)
            self.grid.setColumnStretch(i, 1)
        self.plot_views = (self.loss_view, self.accuracy_view, self.gradient_view, self.error_view)
        for view in self.findChildren(pg.GraphicsView):
            _paint_within(view, window_work)
        self.overlays = [
            Overlay(self.loss_view, lambda run: [("", run.curves["loss"])]),
            Overlay(self.accuracy_view, lambda run: [("", run.curves["accuracy"])]),
            Overlay(self.gradient_view, lambda run: [
                (f" · layer {i}", run.curves[f"layer{i}_grad_norm"])
                for i in range(1, len(run.config.architecture.weighted) + 2)])]
        self.overlaid: list = []  # (kept run, colour index) drawn under the live curves
        self._marks = [pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 30, 30), style=Qt.DashLine))
                       for _ in self.plot_views]
        self._replay_marks = [pg.InfiniteLine(angle=90, pen=REPLAY_PEN) for _ in self.plot_views]
        for view, *lines in zip(self.plot_views, self._marks, self._replay_marks):
            for line in lines:
                line.setVisible(False)
                view.plot.addItem(line, ignoreBounds=True)
        self.info: RunInfo | None = None
        self.live_step = 0
        self._path = None  # the run's KeptPath as last asked for, at _path_step, and a
        self._path_step = 0  # StepNetwork to draw it
        self._stepper: StepNetwork | None = None
        self._asking = False  # a path is on its way
        self.replay_step: int | None = None  # the kept step on show; None: the live run
        self._wanted: int | None = None  # where the slider went while the path was on its way
        self._live_picture: Frame | None = None  # the latest picture of the live run
        self.replay_bar.touched.connect(self._fetch_if_stale)
        self.replay_bar.moved.connect(self._replay_at)
        self.replay_bar.key_step.connect(self._replay_next)
        self.replay_bar.live.connect(self.back_to_live)
        self._picture: Frame | None = None  # the latest frame that brought a picture, undrawn
        self._dirty, self._stale, self._turn = False, set(), 0  # new data; undrawn plots; whose turn

    def start(self, info: RunInfo, previous: RunInfo | None, noisy: bool) -> list[str]:
        """A new run (or the same one reset): clear the curves, and lay the views out again only
        where the data or the network changed (rebuilding them costs a reset's time). Each part
        is done whatever becomes of the others (an overlay that failed once left every later
        start half done: the mosaic on the last network's layout); returns what failed."""
        self.info, self.live_step, self._path, self._stepper = info, info.step, None, None
        self._live_picture = None
        self.back_to_live()  # the last run's replay ends
        self._picture = None  # a picture of the last run must not land on this one's layout
        return each([("the plots", lambda: self._restart_plots(info, previous, noisy)),
                     ("the picture of the data", lambda: self._show_data(info, previous)),
                     *self._overlay_parts()])  # the restart cleared them from the keys

    def _restart_plots(self, info: RunInfo, previous: RunInfo | None, noisy: bool) -> None:
        for view, *lines in zip(self.plot_views, self._marks, self._replay_marks):
            view.restart()
            for line in lines:
                line.setVisible(False)
        if previous is None or previous.layers != info.layers:
            self.gradient_view.set_layers(info.layers)
            for line in (self._marks[2], self._replay_marks[2]):  # cleared with them
                self.gradient_view.plot.addItem(line, ignoreBounds=True)
        self._show_measure(info)
        self.show_smoothed(noisy)

    def _show_data(self, info: RunInfo, previous: RunInfo | None) -> None:
        # The placeholder until a view is laid out for this run: a view whose layout failed
        # keeps the last run's, and would take this run's pictures for it at every redraw.
        self.data_view.setCurrentWidget(self.placeholder)
        if info.config.architecture.features:
            self.conv_view.set_layout(info.initial_first_layer, info.n_examples)
            self.data_view.setCurrentWidget(self.conv_view)
        elif info.image_shape is not None:
            self.mosaic.set_layout(info.image_shape, info.initial_first_layer,
                                   class_templates=len(info.sizes) == 2)
            self.data_view.setCurrentWidget(self.mosaic)
        elif info.points is not None:
            self.boundary.show_run(info, same_points=_same_points(previous, info))
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

    # --- the replay ---------------------------------------------------------------------------
    def _kept(self) -> int | None:
        return None if self._path is None else len(self._path)

    def _fetch_if_stale(self) -> None:
        """Ask for the path when the user reaches for the slider, unless the one at hand is
        current: the run has kept no point since (points come every `stride` steps)."""
        path = self._path
        if path is not None and len(path):
            stride = int(path.steps[-1] - path.steps[-2]) if len(path) > 1 else 1
            if self.live_step < path.steps[-1] + stride:
                return
        elif path is not None and self.live_step == self._path_step:
            return  # an empty path: the network is too large to keep one
        if not self._asking and self.info is not None:
            self._asking = True
            run_id = self.info.run_id
            self._ask("snapshot", lambda snap: self._path_arrived(snap, run_id))

    def _path_arrived(self, snap, run_id: int) -> None:
        self._asking = False
        if snap is None or self.info is None or run_id != self.info.run_id:
            return  # failed (the window says why), or a new run came meanwhile
        self._path, self._path_step = snap.state.path, snap.state.step
        self.live_step = max(self.live_step, snap.state.step)
        self._stepper = StepNetwork(snap.config, self.info.sizes, snap.input_scale,
                                    self.info.image_shape)
        if not len(self._path):
            self.back_to_live()
            self.replay_bar.show_nothing("this network is too large to keep the steps it took "
                                         "(see engine/path.py): nothing to replay")
            return
        wanted, self._wanted = self._wanted, None
        if wanted is not None:
            self._replay_at(wanted)
        elif self.replay_step is None:
            self.replay_bar.show_live(self.live_step, self._kept())

    def _replay_at(self, step: int) -> None:
        """Show the kept step at or before `step` (the first, before it)."""
        if self._path is None:
            self._wanted = step  # drawn when the path arrives
            return
        steps = self._path.steps
        index = max(int(np.searchsorted(steps, step, side="right")) - 1, 0)
        if int(steps[index]) >= self.live_step:
            self.back_to_live()  # the last kept point is the live run itself
        else:
            self._show_kept(index)

    def _replay_next(self, direction: int) -> None:
        """The previous (-1) or next (+1) kept step; past the last, the live run."""
        if self._path is None:
            self._wanted = self.live_step - 1 if direction < 0 else None
            return
        steps = self._path.steps
        shown = self.live_step if self.replay_step is None else self.replay_step
        index = int(np.searchsorted(steps, shown)) + (direction if direction > 0 else -1)
        if index >= len(steps) or steps[min(index, len(steps) - 1)] >= self.live_step:
            self.back_to_live()
        else:
            self._show_kept(max(index, 0))

    def _show_kept(self, index: int) -> None:
        """Draw every picture at kept point `index`, and mark its step."""
        step = int(self._path.steps[index])
        with self._work:
            stepper = self._stepper.at(self._path.weights[index])
            current = self.data_view.currentWidget()
            if current in (self.mosaic, self.conv_view):
                current.show_weights(stepper.first_layer())
            elif current is self.boundary:
                self.boundary.show_boundary(plane_outputs(stepper.predict, self.info.extent))
                self.boundary.show_step(step)
            elif current is self.linear_view:
                self.linear_view.show_step(step, stepper.unknowns())
            for view, line in zip(self.plot_views, self._replay_marks):
                line.setPos(step)
                line.setVisible(True)
        self.replay_step = step
        self.replay_bar.show_replay(step, self.live_step, len(self._path))
        if self.info is not None and self.info.sizes[0] == 2:
            self.replayed_units.emit(stepper.units(self.info.extent))
        self.replayed.emit(step)

    def back_to_live(self) -> None:
        """The live run's pictures again (the latest, drawn at the next redraw)."""
        was_replaying = self.replay_step is not None
        self._end_replay()
        self._wanted = None
        self._picture = self._live_picture
        self.replay_bar.show_live(self.live_step, self._kept())
        if was_replaying:
            self.replayed_units.emit(None)
            self.replayed.emit(None)

    def _end_replay(self) -> None:
        self.replay_step = None
        for line in self._replay_marks:
            line.setVisible(False)
        self.linear_view.show_step(None, None)
        self.boundary.show_step(None)

    def overlay(self, runs: list) -> list[str]:
        """Draw these kept runs, (run, colour index) each, under the live curves, on each plot
        whatever becomes of the others; returns what failed."""
        self.overlaid = list(runs)
        return each(self._overlay_parts())

    def _overlay_parts(self) -> list:
        return [(f"the kept runs on the {overlay.view.title.lower()} plot",
                 lambda overlay=overlay: overlay.show(self.overlaid)) for overlay in self.overlays]

    def take(self, frame: Frame, rolled_back_to: int | None) -> None:
        """A frame's new data: the curves are stale, a picture waits for the next redraw (or,
        while replaying, for the return to the live run)."""
        if self.data_view.currentWidget() is self.linear_view:
            self.linear_view.add_path(frame.path, rolled_back_to)
        self._dirty = True
        if frame.first_layer is not None:
            self._picture = self._live_picture = frame
        if frame.reports:
            self.live_step = frame.reports[-1].step
        if rolled_back_to is not None:  # the path forgot the steps after it
            self._path = None
            self.back_to_live()
        elif self.replay_step is None:
            self.replay_bar.show_live(self.live_step, self._kept())
        else:
            self.replay_bar.show_replay(self.replay_step, self.live_step, self._kept())

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
        if self._picture is not None and self.replay_step is None:
            self._draw_picture(self._picture, history)
            self._picture = None

    def plots(self) -> dict:
        """The plot items on show, by file name."""
        items = {"loss": self.loss_view.plot.getPlotItem()}
        if self.accuracy_view.isVisibleTo(self):
            items["accuracy"] = self.accuracy_view.plot.getPlotItem()
        if self.error_view.isVisibleTo(self):
            items["error"] = self.error_view.plot.getPlotItem()
        items["gradients"] = self.gradient_view.plot.getPlotItem()
        current = self.data_view.currentWidget()
        if current is self.mosaic:
            items["weights"] = self.mosaic.canvas.ci
        elif current is self.conv_view:
            items["filters"] = self.conv_view.filters.canvas.ci
            items["feature_maps"] = self.conv_view.maps.canvas.ci
        elif current is self.boundary:
            items["decision_boundary"] = self.boundary.plot.getPlotItem()
        elif current is self.linear_view:
            items["path_of_x"] = self.linear_view.path_view.plot.getPlotItem()
            items["residual"] = self.linear_view.residual_view.plot.getPlotItem()
        return items

    def _show_measure(self, info: RunInfo) -> None:
        """Classes have an accuracy; a table's number as target its error in the target's units;
        the linear system's numbers neither: the loss takes their place."""
        classified = info.n_classes is not None
        in_units = not classified and info.preparation is not None
        self.accuracy_view.setVisible(classified)
        self.error_view.setVisible(in_units)
        if in_units:
            self.error_view.set_target(info.preparation.target, info.preparation.target_spread)
        self.grid.addWidget(self.loss_view, 0, 0, 1, 1 if classified or in_units else 2)

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
        # Weights go only to a view laid out for their network: the storm brought another
        # network's to the mosaic and to the filters (the path not yet found), and every
        # redraw raised.
        if current is self.mosaic and self.mosaic.fits(frame.first_layer):
            self.mosaic.show_weights(frame.first_layer)
        elif current is self.conv_view and self.conv_view.fits(frame.first_layer):
            self.conv_view.show_weights(frame.first_layer)
            self.conv_view.show_maps(frame.feature_maps)
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
