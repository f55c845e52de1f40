"""One run of a sweep: `train_task` trains a `RunTask` with the engine's Trainer and reports it
as a `SweepRun`. It is what every worker runs, in this process (`InProcess`), in a worker
process or on a cluster's machine; so a task, its data's sources and its run are plain data
that pickle.

A run's figures depend on its settings and seed only, never on where or beside what it trained:
its BLAS works on one thread (OpenBLAS sums a product in another order on two threads: 784-64-10
weights differ by up to 3e-6 after 60 steps), and its data is built from the same files' contents
with the same seed.

What a run reports (`SweepRun`):
- final_loss and least_loss: the training loss as the window's loss plot shows it, at the last
  step and at its least. That is the moving average of the batch losses (History's
  "smoothed_loss"), one batch's loss being too noisy to compare runs by; with full-batch
  training every loss is exact and taken as it is. One curve for both keeps least <= final.
- test_loss and test_accuracy: the test split, evaluated once at the end.
- diverged_at_step: the step at which the trainer found the run diverged (a loss, gradient or
  weight NaN or infinite, or losses far above the start: trainer.DIVERGENCE_FACTOR). The run
  stops there, rolled back by the trainer to its last checkpoint as in the window and in
  `gdplayground train`, so its weights and history end at that checkpoint. A diverged run has
  no final loss and no test figures; its least_loss and curve cover every step before the
  divergence.
A run that could not be trained (its worker died twice, say) is a `FailedRun`, with the reason.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from gdplayground.config import ExperimentConfig
from gdplayground.data.datasets import Dataset, load_dataset, read_source
from gdplayground.data.table import Preparation
from gdplayground.engine.history import History
from gdplayground.engine.trainer import Trainer, TrainingState
from gdplayground.labs.sweeps.params import SweepParam

BLAS_THREADS = 1  # a run's, wherever it trains: see the module's docstring
HISTORY_BATCH = 1000  # reports added to a run's history at once (far cheaper than one by one)
# The path a sweep's run keeps: a sweep holds hundreds of runs, each sent back by its worker; at
# 16 MB (a weight file's) a 784-64-10 run of 300 steps came back as 16.5 MB. This keeps 10 of its
# points, 2 of 784-256-128-10's (its start and a point along it).
SWEEP_PATH_BYTES = 2 * 2**20
PROGRESS_EVERY = 16  # steps between looks at the clock …
PROGRESS_SECONDS = 0.1  # … and at most this often a progress report (workers send them by pipe)

Progress = Callable[[int, int, int], None]  # (run's index in the plan, steps done, its steps)


@dataclass(frozen=True)
class RunTask:
    """One run of a sweep, as a worker trains it."""

    index: int  # its place in the plan's order: results are written in this order
    params: tuple[SweepParam, ...]  # the settings swept …
    point: tuple  # … and this run's value of each
    repeat: int
    config: ExperimentConfig  # its settings, the point's values and its seed set
    steps: int | None  # its length, or `epochs` (one when neither is given)
    epochs: int | None

    def steps_for(self, trainer: Trainer) -> int:
        return self.steps or (self.epochs or 1) * trainer.steps_per_epoch


@dataclass
class SweepRun:
    """One finished run of a sweep, with what its run folder needs."""

    index: int
    params: tuple[SweepParam, ...]
    point: tuple
    repeat: int
    config: ExperimentConfig  # its settings, seed included
    final_loss: float | None  # training loss at the end, as plotted; None if it diverged
    least_loss: float | None  # the least training loss, as plotted
    test_loss: float | None  # at the end, if the data has a test split and it did not diverge
    test_accuracy: float | None
    diverged_at_step: int | None
    seconds: float  # training: the steps and their history, not the test evaluation
    curve: tuple[np.ndarray, np.ndarray]  # (steps, training loss as plotted), up to a divergence
    history: History  # every step's metrics, rolled back with the weights after a divergence
    state: TrainingState  # where it ended (after a divergence, the checkpoint it rolled back to)
    input_scale: float
    summary: dict = field(default_factory=dict)  # its figures, as summary.json holds them
    preparation: Preparation | None = None  # a table's (Dataset.preparation), for its weight file

    @property
    def diverged(self) -> bool:
        return self.diverged_at_step is not None


@dataclass
class FailedRun:
    """A run that could not be trained, and why (its worker died twice, say)."""

    index: int
    params: tuple[SweepParam, ...]
    point: tuple
    repeat: int
    config: ExperimentConfig
    reason: str

    @classmethod
    def of(cls, task: RunTask, reason: str) -> "FailedRun":
        return cls(task.index, task.params, task.point, task.repeat, task.config, reason)


# --- data, read once and built per seed ---------------------------------------------------------
def data_key(config: ExperimentConfig) -> str:
    """What tells two runs' data files apart (their seeds split them differently)."""
    return repr(config.data)


def data_sources(tasks: Sequence[RunTask]) -> dict:
    """The contents of every file the tasks' data sets read, by data_key: read here once and
    sent once to each worker, which may be on a machine without the files."""
    sources = {}
    for task in tasks:
        if data_key(task.config) not in sources:
            sources[data_key(task.config)] = read_source(task.config.data)
    return sources


class RunData:
    """A worker's data sets, built from the sources it was sent; the last one kept, since runs
    in a row mostly share their data and seed (a pass over the grid per repeat)."""

    def __init__(self, sources: dict):
        self.sources, self._key, self._dataset = sources, None, None

    def dataset(self, config: ExperimentConfig) -> Dataset:
        key = (data_key(config), config.seed)
        if key != self._key:
            source = self.sources.get(data_key(config))
            self._key, self._dataset = key, load_dataset(config.data, config.seed, source=source)
        return self._dataset


# --- training ---------------------------------------------------------------------------------
def train_task(task: RunTask, data: RunData, cancelled: Callable[[], bool] | None = None,
               progress: Progress | None = None) -> SweepRun | None:
    """Train one run; None if `cancelled()` said so before it ended (asked before every step).
    `progress(index, step, steps)` at most every PROGRESS_SECONDS."""
    with threadpool_limits(BLAS_THREADS):
        trainer = Trainer(task.config, data.dataset(task.config))
        tell = (lambda step, steps: progress(task.index, step, steps)) if progress else None
        trained = _train(trainer, task.steps_for(trainer), cancelled, tell)
        return None if trained is None else _finished_run(task, trainer, *trained)


def _train(trainer: Trainer, steps: int, cancelled, progress):
    """(history, loss curve, step it diverged at or None, seconds) of up to `steps` steps; None
    if cancelled first."""
    history = History(len(trainer.network.layers))
    pending, diverged_at, report = [], None, None
    told, started = -math.inf, time.perf_counter()  # the first step is told at once
    for done in range(steps):
        if cancelled is not None and cancelled():
            return None
        report = trainer.step()
        if report.status != "ok":
            diverged_at = done + 1
            break
        pending.append(report)
        if len(pending) == HISTORY_BATCH:
            history.add(pending)
            pending.clear()
        if progress is not None and done % PROGRESS_EVERY == 0:
            if (now := time.perf_counter()) - told >= PROGRESS_SECONDS:
                progress(done, steps)
                told = now
    history.add(pending)
    seconds = time.perf_counter() - started
    column = "loss" if trainer.config.batch.mode == "full" else "smoothed_loss"  # as plotted
    curve = history.series(column)  # before the rollback takes the last steps back
    if diverged_at is not None:
        history.add([report])  # back to the checkpoint, with the trainer
    return history, curve, diverged_at, seconds


def _finished_run(task: RunTask, trainer: Trainer, history: History, curve,
                  diverged_at: int | None, seconds: float) -> SweepRun:
    losses = curve[1][np.isfinite(curve[1])]
    least = float(losses.min()) if len(losses) else None
    final = float(losses[-1]) if len(losses) and diverged_at is None else None
    test_loss, test_accuracy = (math.nan, None) if diverged_at else trainer.evaluate("test")
    test_loss = None if math.isnan(test_loss) else float(test_loss)
    test_accuracy = None if test_accuracy is None else float(test_accuracy)
    run = SweepRun(task.index, task.params, task.point, task.repeat, trainer.config, final, least,
                   test_loss, test_accuracy, diverged_at, seconds, curve, history,
                   _kept_state(trainer), trainer.dataset.input_scale)
    run.summary = _summary(run, trainer)
    run.preparation = trainer.dataset.preparation
    return run


def _kept_state(trainer: Trainer) -> TrainingState:
    """The run's state with its path thinned to SWEEP_PATH_BYTES."""
    state = trainer.snapshot(path=True)
    return dataclasses.replace(state, path=state.path.stored(SWEEP_PATH_BYTES))


def _summary(run: SweepRun, trainer: Trainer) -> dict:
    """The figures `gdplayground train` gives a run, and the sweep's own."""
    swept = {f"sweep_{param.name}": value for param, value in zip(run.params, run.point)}
    summary = {"steps": trainer.step_count, "epochs": trainer.epochs_done,
               "samples_seen": trainer.samples_seen, "seconds": round(run.seconds, 3),
               "samples_per_second": round(trainer.samples_seen / max(run.seconds, 1e-9)),
               "diverged": run.diverged, **swept, "sweep_repeat": run.repeat}
    test_loss = None if run.test_loss is None else trainer.dataset.loss_in_units(run.test_loss)
    optional = {"diverged_at_step": run.diverged_at_step,
                "final_train_loss": run.history.last("loss"),
                "sweep_final_loss": run.final_loss, "sweep_least_loss": run.least_loss,
                "test_loss": test_loss, "test_accuracy": run.test_accuracy}
    return summary | {key: value for key, value in optional.items() if value is not None}


class InProcess:
    """Trains the runs one after another in this process: no worker to start or to lose
    (lessons, tests, and the bench's row that weighs a sweep against `gdplayground train`)."""

    def run(self, tasks: Sequence[RunTask], sources: dict, cancelled=None,
            progress: Progress | None = None) -> Iterator[SweepRun]:
        data = RunData(sources)
        for task in tasks:
            run = train_task(task, data, cancelled, progress)
            if run is None:
                return
            yield run
