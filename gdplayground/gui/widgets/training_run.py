"""A training run as the tabs see it, whoever trains it: `RunInfo` when a run is built, a
`Frame` of the steps taken since the last, a `Snapshot` of the run between two steps, a table
classifier's `ClassReport` of its held-out rows, and `WindowWork`, the window's work, which a
thread that trains waits for before each step."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gdplayground.config import ExperimentConfig
from gdplayground.data.table import Preparation
from gdplayground.engine import SettingChange, StepReport, TrainingState
from gdplayground.labs.diagnostics import Diagnosis
from gdplayground.labs.diagram import BOUNDARY_EXTENT
from gdplayground.labs.feature_maps import FeatureMaps
from gdplayground.labs.inside import INSIDE_EXAMPLES, class_probabilities

LONGEST_COURTESY_S = 0.1  # longest a step waits for the window to finish its work


@dataclass(frozen=True)
class RunInfo:
    """What a freshly built run looks like, for the views to lay themselves out."""

    run_id: int  # frames of this run carry it: a view drops what an earlier run sent
    config: ExperimentConfig  # what the run was built from, whatever was sent since
    dataset: str
    step: int  # where the run starts: 0, or where a reopened weight file left off
    epoch: int  # the epoch of that step, as a report of it said (0 before the first step)
    sizes: tuple[int, ...]
    n_parameters: int
    steps_per_epoch: int
    image_shape: tuple[int, int] | None
    n_classes: int | None
    points: np.ndarray | None = None  # 2-D data: training points (n, 2) and their labels
    labels: np.ndarray | None = None
    test_points: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    solution: np.ndarray | None = None  # the linear system's exact solution
    initial_first_layer: np.ndarray | None = None  # first-layer weights at step 0
    seconds: float = 0.0  # time spent training before: a reopened weight file's own record
    preparation: Preparation | None = None  # a table's: its columns, classes or target's scale
    extent: float = BOUNDARY_EXTENT  # 2-D data: the pictures of the plane span ±extent
    layers: tuple[str, ...] = ()  # each weighted layer, as the network numbers them: "784→10"
    n_examples: int = 0  # test examples a convolutional network's feature maps can be shown of


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the run between two steps, for exports: where it is, the settings
    it started with and every change of a setting since."""

    state: TrainingState
    config: ExperimentConfig
    input_scale: float
    started_with: ExperimentConfig
    changes: tuple[SettingChange, ...]
    preparation: Preparation | None = None  # a table's: how its raw rows became the inputs


@dataclass(frozen=True)
class Frame:
    """Reports of the steps since the last frame (and their History rows, built here rather than
    on the window's thread), and copies of what the views draw. A frame brings a picture
    (`first_layer`, and the boundary of 2-D data) at most every PICTURE_INTERVAL while training
    as fast as it can, with every frame at a set pace, and always when training stops."""

    run_id: int
    reports: tuple[StepReport, ...]
    rows: np.ndarray  # measured_rows(reports)
    first_layer: np.ndarray | None = None  # (n_in, units) weights; a convolution's (C_out, C_in, k, k)
    boundary: np.ndarray | None = None  # (grid, grid, outputs) over the 2-D plane: plane_outputs
    path: np.ndarray | None = None  # linear system: (steps, 4) rows of (step, x1, x2, x3)
    samples_seen: int = 0
    running: bool = False
    time: float = 0.0  # the worker's clock when the frame left, for rates that queueing can't skew
    diagnoses: tuple[Diagnosis, ...] = ()  # what the coach newly saw in these reports
    units: tuple | None = None  # 2-D data, with a picture: (unit outputs, weights, biases)
    feature_maps: FeatureMaps | None = None  # convolutions, with a picture: one test example's


class ClassReport(NamedTuple):
    """A table classifier's held-out rows: their labels and the network's probabilities."""

    labels: np.ndarray  # (n,)
    probabilities: np.ndarray  # (n, classes)
    names: tuple[str, ...]
    step: int
    images01: None = None  # a row has no picture

    @classmethod
    def of(cls, trainer) -> "ClassReport | None":
        """The report of a Trainer on a table's classes (None for other data): its test rows,
        or its validation rows if it keeps none for testing."""
        data = trainer.dataset
        if data.preparation is None or data.preparation.classes is None:
            return None
        split = data.test if len(data.test) else data.validation
        x = split.x[:INSIDE_EXAMPLES]
        return cls(split.y[:INSIDE_EXAMPLES].copy(), class_probabilities(trainer.predict(x)),
                   data.preparation.classes, trainer.step_count)


class WindowWork:
    """Training waits while the window works (takes a frame, redraws): the two share one
    interpreter lock, and a tiny model's steps, pure Python between small NumPy calls, would
    otherwise make every one of the window's NumPy calls wait for the lock again (frames then
    came seconds apart). The window marks its work with `with window_work:`."""

    def __init__(self):
        self.idle = threading.Event()
        self.idle.set()
        self._depth = 0  # work within work (a paint during a redraw) ends with the outer one

    def __enter__(self) -> None:
        self._depth += 1
        self.idle.clear()

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if not self._depth:
            self.idle.set()

    def wait(self) -> None:
        """Before a step: wait while the window works, but never long (a long export, say)."""
        if not self.idle.is_set():
            self.idle.wait(LONGEST_COURTESY_S)
