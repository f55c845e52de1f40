"""What every view of the Landscape tab is: a widget that computes its picture from a Terrain off
the GUI thread (`compute`, which must touch no widget) and shows it (`show`), and what it is
computed with (Settings)."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, NamedTuple

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gdplayground.engine.probe import Probe
from gdplayground.labs.landscape import Terrain

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]
NOW = (214, 39, 40)  # the current weights, in every view
START = (44, 160, 44)  # the initial weights
HIGHLIGHT = (255, 190, 0)  # the step the Training tab's replay shows
LABEL_FILL = (255, 255, 255, 210)  # under a label on a heatmap: readable on its darkest colours


class Settings(NamedTuple):
    samples: int  # training examples the loss is the mean over
    grid: int  # points along each side of a plane
    extent: float  # a plane's a and b run from −extent to extent
    seed: int  # of the random directions and of the examples drawn
    bias: bool  # the random directions move the biases too


class LandscapeView(QWidget):
    """A view: its title and tooltip in the tab's inner tab bar, a caption under its picture."""

    title = ""
    tooltip = ""
    needs_path = False  # nothing to show without the run's kept path

    def __init__(self):
        super().__init__()
        self.result = None  # the last result shown
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.RichText)
        self.layout = QVBoxLayout(self)
        self.layout.setContentsMargins(0, 0, 0, 0)

    @staticmethod
    def compute(terrain: Terrain, settings: Settings, progress: Progress, cancelled: Cancel):
        """The view's result, on a thread of its own: copies in, copies out, no widget."""
        raise NotImplementedError

    def show_result(self, result, terrain: Terrain) -> None:
        self.result = result

    def clear(self, message: str) -> None:
        """No picture, and why."""
        self.result = None
        self.caption.setText(message)

    def highlight(self, step: int | None) -> None:
        """Mark the kept point nearest `step` (None: no mark). Views without steps ignore it."""


def subsample(probe: Probe, samples: int, seed: int) -> Probe:
    """The probe on `samples` of its examples, drawn from `seed` (all of them if it has fewer)."""
    if samples >= len(probe.x):
        return probe
    picked = np.sort(np.random.default_rng(seed).permutation(len(probe.x))[:samples])
    return replace(probe, x=probe.x[picked], targets=probe.targets[picked])


def nearest(steps: np.ndarray, step: int) -> int:
    """The index of the step in `steps` nearest `step`."""
    return int(np.argmin(np.abs(np.asarray(steps, dtype=np.int64) - step)))
