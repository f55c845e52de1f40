"""Training off the GUI thread: a worker object on a QThread runs the engine, and a session object
on the GUI thread drives it with queued signals.

The worker trains in short chunks and goes back to its event loop between them, so commands
(step, reset, a new configuration) are taken in order. Pause is not queued: it invalidates the
running job at once through a `PauseGate`, and the worker checks the gate before every step.
Everything the worker sends is a copy, delivered at most ~30 times a second in a `Frame`.
"""

from __future__ import annotations

import copy
import itertools
import math
import sys
import threading
import time
from typing import Callable, NamedTuple

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Qt, Signal, Slot

from gdplayground.config import ConfigError, ExperimentConfig
from gdplayground.data import DataError, load_dataset
from gdplayground.engine import StepReport, Trainer
from gdplayground.labs.diagnostics import Coach
from gdplayground.labs.diagram import (
    BOUNDARY_EXTENT, BOUNDARY_GRID, connection_weights, plane_extent, plane_grid, plane_outputs,
    trainer_unit_outputs, unit_biases)
from gdplayground.engine.history import measured_rows
from gdplayground.labs.feature_maps import FeatureMaps, feature_maps_of
from gdplayground.labs.inside import inside_report, layer_distributions
from gdplayground.labs.landscape import Terrain
from gdplayground.labs.replay import exact_solution
from gdplayground.engine.trainer import needs_reset, same_data
from gdplayground.gui.widgets.collector import GuiThreadCollector
from gdplayground.gui.widgets.training_run import ClassReport, Frame, RunInfo, Snapshot, WindowWork
from gdplayground.store.weights import WeightFile

FRAME_INTERVAL = 1 / 30  # seconds between frames while training
PICTURE_INTERVAL = 0.2  # seconds between pictures (weights, decision boundary) while training
# as fast as it can: they cost more to copy, compute and draw than curves, and change slowly to
# the eye. At a set pace every frame brings one.
CHUNK_SECONDS = 0.015  # longest stretch of training between two looks at the event loop
# The window and the worker share one interpreter lock. Painting calls back into Python once
# per item, and each call waits for the lock until the worker lets go: at its next BLAS call,
# or when the switch interval runs out (5 ms by default, hundreds of times per redraw with a
# small model). A 0.5 ms interval bounds that wait and costs nothing when the window is idle;
# yielding after every step instead (time.sleep(0), 70 us with Linux's timer slack) cost a
# large model 8% of its speed and a batch-1 model three quarters.
SWITCH_INTERVAL_S = 0.0005
GC_INTERVAL_S = 0.5  # between the GUI thread's garbage collections
DISTRIBUTION_EXAMPLES = 256  # the fixed batch the Inside tab's distributions are measured on
QUERY_WORDS = {"snapshot": "copy the run", "kept": "copy the run to keep it",
               "evaluate": "evaluate the network", "probe": "copy the network for the check",
               "inside": "look inside the network", "classes": "count the table's errors",
               "distributions": "measure the layers' values",
               "landscape": "copy the run for its landscape"}


class PauseGate:
    """Tickets for training jobs; a pause voids every ticket handed out before it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._generation = 0

    def ticket(self) -> int:
        with self._lock:
            return self._generation

    def pause(self) -> None:
        with self._lock:
            self._generation += 1

    def valid(self, ticket: int) -> bool:
        with self._lock:
            return ticket == self._generation


class TrainingWorker(QObject):
    started = Signal(object)  # RunInfo, after every (re)build of the run
    framed = Signal(object)  # Frame
    job_changed = Signal(bool, int)  # (running, the job's ticket) when a job starts or ends
    # (what went wrong, the settings the run still has or None, the request that failed)
    failed = Signal(str, object, int)
    answered = Signal(int, object, str)  # (query id, answer, why it failed or "") for `query`
    _tick = Signal(int)

    def __init__(self, config: ExperimentConfig, gate: PauseGate, frame_out: threading.Event,
                 window_work: WindowWork, superseded: set[int]):
        """`frame_out` is set while a frame is on its way to the window: the worker sends no
        other until the window has taken it, so frames never queue up faster than it draws.
        Steps wait while the window works (`window_work`). `superseded` holds the requests
        (apply) the session followed with another before any other command: see `apply`."""
        super().__init__()
        self._config, self._gate, self._frame_out = config, gate, frame_out
        self._window_work, self._superseded = window_work, superseded
        self._unannounced = False  # a run was built by a superseded apply: the next announces it
        self.trainer: Trainer | None = None
        self._job: Job | None = None
        self._pace: float | None = None  # steps a second; None: as fast as it can
        self._wake = 0  # the one continuation of the job that counts; older ones do nothing
        self._run_id = 0
        # The id of the last run announced, set before its `started` is sent: read by the GUI
        # thread (an int, written here only, never decreasing), so that a run start already
        # followed by another is not laid out twice (the storm's bursts of resets).
        self.announced = 0
        self._pending: list[StepReport] = []
        self._path: list[np.ndarray] = []
        self._coach: Coach | None = None  # each run has its own, made as it is announced
        self._extent = BOUNDARY_EXTENT  # 2-D data: the pictures of the plane span ±extent
        self._example = 0  # the test example whose feature maps a picture brings
        self._last_frame = self._last_picture = 0.0
        self._tick.connect(self._continue, Qt.QueuedConnection)

    # --- commands (run on the worker thread) --------------------------------------------------
    @Slot(int)
    def build(self, request: int) -> None:
        try:
            self.trainer = Trainer(self._config)
        except (ConfigError, DataError) as exc:
            self.failed.emit(str(exc), None, request)
            return
        self._announce()

    @Slot(object, int)  # steps as a Python int: Qt's int has 32 bits
    def run(self, steps: int, ticket: int) -> None:
        """Train `steps` iterations (0: until paused; -1: to the end of the epoch), unless a
        pause came after the ticket. More than one step keeps the pace set; one is taken at once."""
        if self.trainer is None or not self._gate.valid(ticket):
            return
        if steps == -1:
            steps = self.trainer.steps_to_epoch_end
        self._job = Job(steps or float("inf"), ticket, paced=steps != 1)
        self.job_changed.emit(True, ticket)
        self._wake_in(0)

    @Slot(int)
    def show_example(self, index: int) -> None:
        """The test example whose feature maps the pictures bring; paused, one comes at once."""
        self._example = index
        if self.trainer is not None and self._job is None and self.trainer.network.stages:
            self._send_frame(running=False)

    @Slot(object)
    def set_pace(self, steps_per_second: float | None) -> None:
        self._pace = steps_per_second
        if self._job is not None:
            self._job = self._job._replace(started=None)  # the pace counts from now
            self._wake_in(0)

    @Slot()
    def reset(self) -> None:
        if self.trainer is not None:
            self.trainer.reset()
            self._announce()

    @Slot(object, int)
    def apply(self, config: ExperimentConfig, request: int) -> None:
        """Take `config`, request number `request` of the session (failures name it). A new run
        is announced unless the request is superseded: edits queued while the worker was busy
        (a picture of a wide network takes a second) would otherwise each start a run in the
        window, one after another, for seconds; the run that stands is announced once."""
        if self.trainer is None:
            self._config = config
            self.build(request)
            return
        refused = ""
        try:
            if self.trainer.apply(config):
                self._unannounced = True
                # Until announced, the new run's frames and answers carry an id no view holds,
                # so none draws them on the last announced run's layout (a dense layer's
                # weights in the filters of a convolution, say).
                self._run_id += 1
        except (ConfigError, DataError) as exc:
            refused = str(exc)
        superseded = request in self._superseded
        # done with: this request, and any the session marked after the worker had taken it
        self._superseded.difference_update([r for r in tuple(self._superseded) if r <= request])
        if self._unannounced and not superseded:
            self._announce()  # before the refusal: a run start clears the window's last words
        if refused:
            self.failed.emit(refused, copy.deepcopy(self.trainer.config), request)

    @Slot(int, str)
    def query(self, query_id: int, what: str) -> None:
        """Answer between two steps: "snapshot" (a Snapshot), "kept" (the run's id, a Snapshot
        and the test set's (loss, accuracy) or None; None at step 0), "evaluate" (split ->
        (loss, accuracy)), "probe" (copies for a gradient check: gradient_lab.Probe),
        "landscape" (copies for the landscape: labs.landscape.Terrain), "inside" and "distributions"
        (the Inside tab's) or "classes" (a table classifier's held-out rows: ClassReport).
        Training, if it runs, goes on right after. Every query is answered: one that fails,
        with why."""
        try:
            answer, why = self._answer(what), ""
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the asker hears of it
            answer, why = None, f"Could not {QUERY_WORDS.get(what, what)}: {exc}"
        self.answered.emit(query_id, answer, why)

    def _answer(self, what: str):
        trainer, answer = self.trainer, None
        if trainer is not None and self._pending:
            self._send_frame(running=self._job is not None)  # the window's history reaches this step
        if trainer is not None and what == "snapshot":
            answer = Snapshot(trainer.snapshot(path=True), copy.deepcopy(trainer.config),
                              trainer.dataset.input_scale, copy.deepcopy(trainer.started_with),
                              tuple(trainer.changes), trainer.dataset.preparation)
        elif trainer is not None and what == "kept" and trainer.step_count:  # a run leaving
            # for the run list: which run, the settings it trained with (not those set after its
            # last step), its test figures
            config, changed = trainer.trained_with()
            snapshot = Snapshot(trainer.snapshot(path=True), config, trainer.dataset.input_scale,
                                copy.deepcopy(trainer.started_with), changed,
                                trainer.dataset.preparation)
            answer = (self._run_id, snapshot,
                      trainer.evaluate("test") if len(trainer.dataset.test) else None)
        elif trainer is not None and what == "evaluate":
            answer = {split: _evaluated(trainer, split) for split in ("train", "validation", "test")}
        elif trainer is not None and what == "probe":
            answer = trainer.gradient_probe()
        elif trainer is not None and what == "landscape":
            answer = Terrain.of(trainer)
        elif trainer is not None and what == "inside":
            answer = inside_report(trainer)
        elif trainer is not None and what == "classes":
            answer = ClassReport.of(trainer)
        elif trainer is not None and what == "distributions":
            batch = trainer.gradient_probe(DISTRIBUTION_EXAMPLES)
            answer = (trainer.step_count,
                      layer_distributions(trainer.network, batch.x, trainer.loss, batch.targets))
        return answer

    @Slot(object, int)
    def resume(self, saved: WeightFile, request: int) -> None:
        """Go on from a weight file, with its configuration. The file's run is built beside the
        current one, which stays as it was if the file does not fit its data or network."""
        current = self.trainer
        reuse = current is not None and same_data(current.config, saved.config) \
            and current.dataset.preparation == saved.preparation
        try:
            trainer = Trainer(saved.config, current.dataset if reuse else load_dataset(
                saved.config.data, saved.config.seed, saved.preparation))
            initial = trainer.network.layers[0].W.copy()  # the run's step 0: the seed's weights
            trainer.restore(saved.state)
        except (ConfigError, DataError, ValueError) as exc:
            self.failed.emit(str(exc), copy.deepcopy(current.config) if current else None, request)
            return
        self.trainer = trainer
        self._announce(initial, _seconds_trained(saved.summary))

    # --- the training loop ----------------------------------------------------------------
    def _wake_in(self, seconds: float) -> None:
        """Go on with the job after `seconds` (at once: after the commands already queued)."""
        self._wake += 1
        wake = self._wake
        if seconds <= 0:
            self._tick.emit(wake)
        else:
            QTimer.singleShot(int(seconds * 1000), self, lambda: self._continue(wake))

    @Slot(int)
    def _continue(self, wake: int) -> None:
        job = self._job
        if job is None or wake != self._wake:
            return
        now = time.perf_counter()
        paced = job.paced and self._pace is not None
        if paced and job.started is None:
            job = job._replace(started=now, taken=0)
        allowed = self._steps_due(job, now) if paced else job.left
        deadline, taken, stopped = now + CHUNK_SECONDS, 0, False
        while taken < allowed and time.perf_counter() < deadline:
            self._window_work.wait()
            if not self._gate.valid(job.ticket):  # checked after the wait: a pause that came
                break  # while the window worked takes no step more
            report = self.trainer.step()
            self._record(report)
            taken += 1
            if report.status != "ok":  # diverged, or refused for it: the job ends here
                stopped = True
                break
        left = 0 if stopped else job.left - taken
        finished = left <= 0 or not self._gate.valid(job.ticket)
        self._job = None if finished else job._replace(left=left, taken=job.taken + taken)
        now = time.perf_counter()
        if finished or (taken and not self._frame_out.is_set()
                        and (paced or now - self._last_frame >= FRAME_INTERVAL)):
            self._send_frame(running=not finished, picture=paced)
        if finished:
            self.job_changed.emit(False, job.ticket)
        elif paced:
            self._wake_in((self._job.taken + 1) / self._pace - (now - job.started))
        else:
            self._wake_in(0)  # queued: commands that arrived meanwhile are handled first

    def _steps_due(self, job: Job, now: float) -> float:
        """Steps the pace allows by now, counting from the job's start: the first at once."""
        return min(job.left, math.floor((now - job.started) * self._pace) + 1 - job.taken)

    def _record(self, report: StepReport) -> None:
        self._pending.append(report)
        if report.status == "ok":
            self._record_path()

    def _record_path(self) -> None:
        """Linear system: the row (step, x1, x2, x3) of where the unknowns are now."""
        if self.trainer.dataset.name == "linear-system":
            self._path.append(np.append(self.trainer.step_count, self.trainer.network.layers[0].W[:, 0]))

    def _send_frame(self, running: bool, picture: bool = False) -> None:
        trainer, now = self.trainer, time.perf_counter()
        picture = picture or not running or now - self._last_picture >= PICTURE_INTERVAL
        if picture:
            self._measure_test()
        plane = picture and trainer.dataset.n_features == 2  # a picture of 2-D data
        frame = Frame(
            run_id=self._run_id,
            reports=tuple(self._pending),
            rows=measured_rows(self._pending),
            first_layer=trainer.network.layers[0].W.copy() if picture else None,
            boundary=plane_outputs(trainer.predict, self._extent) if plane else None,
            units=self._units() if plane else None,
            feature_maps=self._feature_maps() if picture and trainer.network.stages else None,
            path=np.array(self._path) if self._path else None,
            samples_seen=trainer.samples_seen,
            running=running,
            time=now,
            diagnoses=tuple(self._coach.add(self._pending)),
        )
        self._pending, self._path = [], []
        self._last_frame = now
        self._last_picture = now if picture else self._last_picture
        self._frame_out.set()
        self.framed.emit(frame)

    def _measure_test(self) -> None:
        """A small test set (the toy sets' half) is measured with each picture, on the frame's
        last step: the held-out curve beside the training one."""
        if self._pending:
            self._pending[-1] = self.trainer.with_test_figures(self._pending[-1])

    def _feature_maps(self) -> FeatureMaps | None:
        """The chosen test example's way through the convolutions and pools (copies)."""
        trainer = self.trainer
        split = trainer.dataset.test
        if not len(split):
            return None
        index = min(self._example, len(split) - 1)
        label = int(split.y[index]) if trainer.dataset.n_classes else None
        x = split.x[index] * trainer.network.dtype.type(trainer.dataset.input_scale)  # as trained
        return feature_maps_of(trainer.network, x, trainer.config.architecture.features, index, label)

    def _units(self) -> tuple:
        """What the network diagram draws: the shown units' outputs over the boundary's grid, and
        copies of the weights and biases."""
        network = self.trainer.network
        grid = plane_grid(self._extent, BOUNDARY_GRID)
        return (trainer_unit_outputs(self.trainer, grid), connection_weights(network),
                unit_biases(network))

    def _announce(self, initial: np.ndarray | None = None, seconds: float = 0.0) -> None:
        """Tell the views about a fresh run and send its first frame (its first step, or where
        a weight file left off: `initial` first-layer weights of its step 0, `seconds` spent
        training so far)."""
        trainer, data = self.trainer, self.trainer.dataset
        mid_epoch = trainer.steps_to_epoch_end < trainer.steps_per_epoch
        self._run_id += 1
        self.announced = self._run_id
        self._unannounced = False
        self._pending, self._path = [], []
        self._coach = Coach(trainer)
        self._record_path()  # the path of x starts at step 0
        two_d = data.n_features == 2
        self._extent = plane_extent(data) if two_d else BOUNDARY_EXTENT
        info = RunInfo(
            run_id=self._run_id, config=copy.deepcopy(trainer.config),
            dataset=data.name, step=trainer.step_count, epoch=trainer.epochs_done + mid_epoch,
            sizes=tuple(trainer.network.sizes),
            n_parameters=trainer.network.n_parameters, steps_per_epoch=trainer.steps_per_epoch,
            image_shape=data.image_shape, n_classes=data.n_classes,
            points=data.train.x.copy() if two_d else None,
            labels=data.train.y.copy() if two_d else None,
            test_points=data.test.x.copy() if two_d else None,
            test_labels=data.test.y.copy() if two_d else None,
            solution=exact_solution(data),
            initial_first_layer=trainer.network.layers[0].W.copy() if initial is None else initial,
            seconds=seconds, preparation=data.preparation, extent=self._extent,
            layers=layer_names(trainer.network), n_examples=len(data.test))
        self.started.emit(info)
        self._send_frame(running=False)


class Job(NamedTuple):
    """A training job: steps left, the ticket a pause voids, and at a set pace, when it began
    and how many steps it has taken since (the pace is kept from there, not step by step)."""

    left: float
    ticket: int
    paced: bool
    started: float | None = None
    taken: int = 0


def layer_names(network) -> tuple[str, ...]:
    """Each layer with weights, as the network numbers them: "conv 1→8, 5×5", "784→128"."""
    return tuple(f"conv {layer.c_in}→{layer.c_out}, {layer.k}×{layer.k}" if layer.W.ndim == 4
                 else f"{layer.W.shape[0]}→{layer.W.shape[1]}" for layer in network.layers)


def _seconds_trained(summary: dict) -> float:
    """A weight file's training time (files written before it was recorded have none)."""
    seconds = summary.get("seconds")
    finite = isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and \
        math.isfinite(seconds)
    return max(float(seconds), 0.0) if finite else 0.0




class TrainingSession(QObject):
    """The GUI thread's handle on training: owns the thread and the worker, forwards commands.

    Commands never block: they are queued to the worker, whose signals report back. Those
    signals (started, framed, job_changed) are the worker's own, exposed here: connect them to
    methods decorated with @Slot, as PySide6 needs for cross-thread delivery. `failed` says
    settings the worker could not use; `query_failed` a query that failed without a handler.
    """

    failed = Signal(str, object)  # (why, the settings the worker holds, or None: keep yours)
    # (what was asked, why it failed, or "" once it is answered again): for askers without `failed`
    query_failed = Signal(str, str)
    _run = Signal(object, int)
    _reset = Signal()
    _apply = Signal(object, int)
    _build = Signal(int)
    _query = Signal(int, str)
    _resume = Signal(object, int)
    _pace = Signal(object)
    _example = Signal(int)

    def __init__(self, config: ExperimentConfig, parent: QObject | None = None):
        super().__init__(parent)
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # see SWITCH_INTERVAL_S
        self.config = copy.deepcopy(config)  # the last configuration sent to the worker
        self.gate = PauseGate()
        self.frame_out = threading.Event()  # a frame is on its way: see TrainingWorker
        self.window_work = WindowWork()
        self._open_apply: int | None = None  # the last apply, while no other command followed
        self._superseded: set[int] = set()  # applies followed by another: see TrainingWorker.apply
        # Garbage is collected by the GUI thread alone, as window work: see GuiThreadCollector.
        self._collector = GuiThreadCollector(GC_INTERVAL_S, self.window_work, self)
        self._collector.start()
        self.thread = QThread()
        self.thread.setObjectName("training")
        self.worker = TrainingWorker(copy.deepcopy(config), self.gate, self.frame_out,
                                     self.window_work, self._superseded)
        self.worker.moveToThread(self.thread)
        for source, target in ((self._run, self.worker.run), (self._reset, self.worker.reset),
                               (self._apply, self.worker.apply), (self._build, self.worker.build),
                               (self._query, self.worker.query), (self._resume, self.worker.resume),
                               (self._pace, self.worker.set_pace),
                               (self._example, self.worker.show_example)):
            source.connect(target)
        self._pending: dict[int, tuple[str, Callable, Callable | None]] = {}
        self._query_ids = itertools.count()
        self._requests = 0  # settings sent (apply, resume): a failure counts only if the last
        self.worker.answered.connect(self._answered)
        self.worker.failed.connect(self._failed)
        self.started, self.framed = self.worker.started, self.worker.framed
        self.job_changed = self.worker.job_changed
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()

    def start(self) -> None:
        """Build the first run: once the caller has connected to the signals that report it."""
        self._open_apply = None
        self._build.emit(self._requests)

    def play(self) -> int:
        """Train until paused; returns the job's ticket."""
        ticket = self.gate.ticket()
        self._open_apply = None
        self._run.emit(0, ticket)
        return ticket

    def pause(self) -> None:
        self.gate.pause()

    def step(self, steps: int = 1) -> None:
        """Pause whatever runs, then train exactly `steps` more iterations (-1: to epoch end)."""
        self.gate.pause()
        self._open_apply = None
        self._run.emit(steps, self.gate.ticket())

    def reset(self) -> None:
        self.gate.pause()
        self._open_apply = None
        self._reset.emit()

    def apply(self, config: ExperimentConfig) -> None:
        if needs_reset(self.config, config):
            self.gate.pause()
        self.config = copy.deepcopy(config)
        self._requests += 1
        if self._open_apply is not None:  # queries between the two change no settings
            self._superseded.add(self._open_apply)
        self._open_apply = self._requests
        self._apply.emit(copy.deepcopy(config), self._requests)

    def set_pace(self, steps_per_second: float | None) -> None:
        """Train at most this many steps a second (None: as fast as it can), from now on."""
        self._pace.emit(steps_per_second)

    def show_example(self, index: int) -> None:
        """Bring the feature maps of this test example from now on."""
        self._example.emit(index)

    def frame_consumed(self) -> None:
        """The window has taken the last frame: the worker may send the next."""
        self.frame_out.clear()

    @Slot(str, object, int)
    def _failed(self, message: str, kept: ExperimentConfig | None, request: int) -> None:
        """The worker could not use request `request`, and holds `kept`. Only a failure of the
        last request sent decides the settings: one sent later supersedes it, whatever the
        worker held when this one failed."""
        if request != self._requests:
            kept = None
        elif kept is not None:
            self.config = copy.deepcopy(kept)
        self.failed.emit(message, kept)

    def ask(self, what: str, callback: Callable, failed: Callable | None = None) -> None:
        """Have the worker answer a query between two steps; `callback(answer)` runs here later.
        If the query fails, `failed(why)` runs instead; without it, `callback(None)` (no
        answer) and `query_failed(what, why)`."""
        query_id = next(self._query_ids)
        self._pending[query_id] = (what, callback, failed)
        self._query.emit(query_id, what)

    @Slot(int, object, str)
    def _answered(self, query_id: int, answer, why: str) -> None:
        what, callback, failed = self._pending.pop(query_id)
        if why and failed is not None:
            failed(why)
            return
        callback(None if why else answer)
        if failed is None:
            self.query_failed.emit(what, why)

    def resume(self, saved: WeightFile) -> None:
        self.gate.pause()
        self.config = copy.deepcopy(saved.config)
        self._requests += 1
        self._open_apply = None
        self._resume.emit(saved, self._requests)

    def shutdown(self, within_ms: int = 1000) -> bool:
        """Stop training and the thread. True if it ended within `within_ms`; otherwise it still
        waits for the step under way (a full-batch step can take longer), so Qt never destroys
        a running thread."""
        self.gate.pause()
        self.thread.quit()
        ended = self.thread.wait(within_ms)
        if not ended:
            self.thread.wait()
        self._collector.stop()  # only now: the training thread could have run a collection
        return ended


def _evaluated(trainer: Trainer, split: str) -> tuple[float, float | None, float | None]:
    """A split's (loss, accuracy, RMSE in the target's units): the RMSE for a table's regression
    only, whose loss is on its standardised target."""
    loss, accuracy = trainer.evaluate(split)
    data = trainer.dataset
    in_units = data.is_table_regression and loss == loss
    return loss, accuracy, data.error_in_units(loss) if in_units else None
