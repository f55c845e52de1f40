"""The Landscape tab: the loss landscape of the Training tab's network, the path its training
took across it, and how sharp the ground is under it.

The tab asks the training worker for a Terrain (copies of the network, up to 5,000 training
examples and the kept path, taken between two steps) and computes the view in sight on a thread
of its own (background.py), with progress and Cancel; training and the window go on meanwhile.
One computation at a time: Compute during one cancels it and starts again, and "Follow the run"
starts the next only after the last has ended.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from shiboken6 import isValid
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
    QTabWidget, QVBoxLayout, QWidget)

from gdplayground.engine.path import PATH_BYTES
from gdplayground.labs.landscape import LANDSCAPE_EXAMPLES, Terrain
from gdplayground.gui.landscape.line_view import LineView
from gdplayground.gui.landscape.path_view import PathView
from gdplayground.gui.landscape.plane_view import PER_UNIT, PlaneView
from gdplayground.gui.landscape.sharpness_view import SharpnessView
from gdplayground.gui.landscape.view import LandscapeView, Settings
from gdplayground.gui.widgets.background import Background, StopWithWindow
from gdplayground.gui.widgets.fields import guard_field
from gdplayground.gui.widgets.plots import use_plot_style
from gdplayground.gui.widgets.tab_spec import TabSpec

FOLLOW_MS = 3000  # "Follow the run" looks for a new step this often, once the last picture is done
DEFAULTS = Settings(samples=1000, grid=21, extent=1.0, seed=0, bias=False)
LANDSCAPE = (
    "The loss landscape is the training loss as a function of every weight of the network. It "
    "has as many dimensions as the network has weights, so a picture shows a slice of it: a "
    "line or a plane through weight space, each point of which is a whole network.")
STATUS = {
    "idle": "Choose a view and press Compute: the network of the Training tab, as it is now.",
    "asking": "Taking a copy of the run between two training steps…",
    "running": "Computing the {view}…",
    "cancelled": "Cancelled.",
}


class LandscapeTab(QWidget):
    """`ask(what, callback)` is TrainingSession.ask: `callback(terrain)` runs on the GUI thread."""
    SPEC = TabSpec(
        "Landscape",
        "The loss landscape of the Training tab's network: along a line, on a plane, under the "
        "path training took; and how sharp it is against 2/lr")

    def __init__(self, ask: Callable[[str, Callable], None], parent: QWidget | None = None):
        super().__init__(parent)
        use_plot_style()
        self._ask = ask
        self.state = "idle"  # asking (for a terrain), running, or idle
        self._asked_for: LandscapeView | None = None  # the view the terrain is asked for
        self._following = False  # the computation under way was started by Follow the run
        self._again = False  # Compute was pressed during a computation: start anew when it ends
        self._computing: tuple[LandscapeView, Terrain, Settings] | None = None
        self._terrains: dict[LandscapeView, Terrain] = {}  # what each view's picture is of …
        self._settings_of: dict[LandscapeView, Settings] = {}  # … and with what settings
        self._step_shown: int | None = None  # highlight_step's step (None: the live run)
        self.background = Background(self)
        StopWithWindow(self, self.shutdown)
        self.background.progressed.connect(self._progressed)
        self.background.finished.connect(self._finished)
        self.background.cancelled.connect(lambda: self._ended("cancelled", STATUS["cancelled"]))
        self.background.failed.connect(self._failed)
        self._make_widgets()
        self._lay_out()
        self.follow_timer = QTimer(self)
        self.follow_timer.timeout.connect(self._follow)
        self.follow_timer.start(FOLLOW_MS)
        self._set_state("idle", STATUS["idle"])

    def _make_widgets(self) -> None:
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip(
            "Compute the view in sight for the Training tab's network as it is now. Training "
            "goes on meanwhile; pressing again starts over with the settings as they are.")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the computation; the last picture stays.")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.follow = QCheckBox("Follow the run")
        self.follow.setToolTip(
            f"Recompute the view every {FOLLOW_MS // 1000} s or so while the run trains: the "
            "next computation starts only after the last has ended, and not at all while the "
            "run stands still or the tab is out of sight.")
        self.samples = self._spin(QSpinBox(), 50, LANDSCAPE_EXAMPLES, DEFAULTS.samples, 50,
                                  "Training examples the loss is averaged over, drawn from the "
                                  "seed (at most as many as the run has, up to "
                                  f"{LANDSCAPE_EXAMPLES:,}). More: smoother, slower.")
        self.grid = self._spin(QSpinBox(), 5, 61, DEFAULTS.grid, 2,
                               "Points along each side of a plane (odd, so that the current "
                               "weights are a grid point; an even number is raised by one). "
                               "The cost grows as its square.")
        self.extent = self._spin(QDoubleSpinBox(), 0.05, 10.0, DEFAULTS.extent, 0.25,
                                 "How far the plane reaches: a and b from −range to range. "
                                 "a = 1 moves each unit's weights by their own norm.\n\n"
                                 + PER_UNIT)
        self.seed = self._spin(QSpinBox(), 0, 99_999, DEFAULTS.seed, 1,
                               "Seed of the random directions and of the examples drawn: the "
                               "same seed gives the same plane.")
        self.bias = guard_field(QCheckBox("Move biases"))
        self.bias.setToolTip("Let the plane's random directions move the biases too (Li et "
                             "al. leave them at zero: a bias has no incoming weights to scale "
                             "a direction by).")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.line, self.plane = LineView(), PlaneView()
        self.path, self.sharpness = PathView(), SharpnessView()
        for view in (self.line, self.plane, self.path, self.sharpness):
            index = self.views.addTab(view, view.title)
            self.views.setTabToolTip(index, view.tooltip)
            view.clear("Press Compute to draw this view.")
        self.views.setCurrentWidget(self.plane)
        self.views.currentChanged.connect(self._view_changed)
        self.setToolTip(LANDSCAPE)

    @staticmethod
    def _spin(box, low, high, value, step, tooltip: str):
        box.setRange(low, high)
        box.setValue(value)
        box.setSingleStep(step)
        box.setKeyboardTracking(False)
        box.setToolTip(tooltip)
        return guard_field(box)

    def _lay_out(self) -> None:
        controls = QHBoxLayout()
        for widget in (self.compute_button, self.cancel_button):
            controls.addWidget(widget)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.follow)
        fields = QHBoxLayout()
        for label, field in (("Examples", self.samples), ("Grid", self.grid),
                             ("Range", self.extent), ("Seed", self.seed)):
            name = QLabel(label)
            name.setToolTip(field.toolTip())
            fields.addWidget(name)
            fields.addWidget(field)
        fields.addWidget(self.bias)
        fields.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(fields)
        layout.addWidget(self.status)
        layout.addWidget(self.views, 1)

    def settings(self) -> Settings:
        return Settings(self.samples.value(), self.grid.value() | 1, self.extent.value(),
                        self.seed.value(), self.bias.isChecked())

    # --- computing ------------------------------------------------------------------------
    def compute(self, following: bool = False) -> None:
        """Ask the worker for a terrain; the view in sight is computed when it comes. During a
        computation: cancel it and start again once it has ended."""
        if self.state == "asking":
            self._asked_for = self.views.currentWidget()  # the terrain that comes is for this one
            return
        if self.state == "running":
            self._again = True
            self.background.cancel()
            self.status.setText("Cancelling, to start again…")
            return
        self._following = following
        self._asked_for = self.views.currentWidget()
        self._set_state("asking", STATUS["asking"])
        self._ask("landscape", self._terrain_arrived)

    def cancel(self) -> None:
        self._again = False
        if self.state == "asking":  # the terrain, when it comes, is dropped
            self._ended("cancelled", STATUS["cancelled"])
        elif self.state == "running":
            self.background.cancel()
            self.status.setText("Cancelling…")

    def _terrain_arrived(self, terrain: Terrain | None) -> None:
        if not isValid(self) or self.state != "asking":  # closed, or cancelled, meanwhile
            return
        view = self._asked_for
        if terrain is None:
            self._ended("idle", "There is no network to look at yet: the run is still being "
                                "built, or its settings were refused.")
            return
        if self._following and self._unchanged(view, terrain):
            self._ended("idle", self.status_of(view))  # the run stands still: nothing new
            return
        missing = missing_path(view, terrain)
        if missing:
            self._terrains.pop(view, None)
            view.clear(missing)
            self._ended("idle", missing)
            return
        settings = self.settings()
        self._computing = (view, terrain, settings)
        self._set_state("running", STATUS["running"].format(view=view.title.lower()))
        self.background.run(partial(view.compute, terrain, settings))

    def _unchanged(self, view: LandscapeView, terrain: Terrain) -> bool:
        shown = self._terrains.get(view)
        return (shown is not None and shown.step == terrain.step
                and self._settings_of.get(view) == self.settings())

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _finished(self, result) -> None:
        view, terrain, settings = self._computing
        self._terrains[view] = terrain
        self._settings_of[view] = settings
        view.show_result(result, terrain)
        view.highlight(self._step_shown)
        self._ended("idle", self.status_of(view), done=True)

    def _failed(self, message: str) -> None:
        view = self._computing[0]
        self._terrains.pop(view, None)
        message = f"Could not compute the {view.title.lower()}: {plain(message)}"
        view.clear(message)
        self._ended("idle", message)

    def _ended(self, state: str, message: str, done: bool = False) -> None:
        self._computing = None
        self._set_state(state if state != "cancelled" else "idle", message, done)
        if self._again:
            self._again = False
            self.compute()

    def _follow(self) -> None:
        if self.follow.isChecked() and self.state == "idle" and self.isVisible():
            self.compute(following=True)

    def _view_changed(self) -> None:
        if self.state == "idle":
            self.status.setText(self.status_of(self.views.currentWidget()))

    def status_of(self, view: LandscapeView) -> str:
        """What the view's picture is of: the step and the examples it was computed at."""
        terrain = self._terrains.get(view)
        if terrain is None or view.result is None:
            return STATUS["idle"]
        samples = min(self._settings_of[view].samples, len(terrain.probe.x))
        return (f"{view.title} computed at step {terrain.step:,} on {samples:,} examples "
                f"({terrain.probe.describe().rsplit(',', 1)[0]}; {terrain.optimizer}, learning "
                f"rate {terrain.learning_rate:.3g}).")

    # --- the replay -------------------------------------------------------------------------
    def highlight_step(self, step: int | None) -> None:
        """Mark the kept point nearest `step` on the Path and Sharpness views (None: back to
        the live run, no mark)."""
        self._step_shown = step
        for view in (self.path, self.sharpness):
            view.highlight(step)

    # --- closing ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel a computation and wait for its thread to end: the window is closing."""
        self.follow_timer.stop()
        self.cancel()
        self.background.stop()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    # --- what it shows ----------------------------------------------------------------------
    def _set_state(self, state: str, message: str, done: bool = False) -> None:
        self.state = state
        busy = state in ("asking", "running")
        self.compute_button.setText("Compute again" if busy else "Compute")
        self.cancel_button.setEnabled(busy)
        if state == "asking":
            self.progress.setRange(0, 0)  # busy until the terrain comes and the count is known
        elif not busy:
            self.progress.setRange(0, 1)
            self.progress.setValue(1 if done else 0)
        self.status.setText(message)


def missing_path(view: LandscapeView, terrain: Terrain) -> str:
    """Why a view that needs the run's kept path cannot be drawn, or ""."""
    if not view.needs_path or len(terrain.path):
        return ""
    n = terrain.probe.flat().size
    return (f"This network is too large to keep its path: its {n:,} weights take more than the "
            f"{PATH_BYTES // 2**20} MB a path may use, so there is no start to draw a line or a "
            f"path from. The Plane and Sharpness views work without it.")


def plain(message: str) -> str:
    """A lab's refusal as a sentence (Background reports it as "ValueError: …")."""
    for prefix in ("ValueError: ", "RuntimeError: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message
