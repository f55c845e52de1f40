"""A sweep's plan: one or two settings, each with its values (`SweepAxis`), the grid of their
values, runs per point of the grid (each from its own seed) and each run's length.
`SweepPlan.tasks` lists every run as a `RunTask`, what a worker needs to train it; `run_sweep`
hands them to an executor (runs.InProcess, workers.WorkerPool, cluster.ClusterPool) and yields
each run as it ends, in whatever order they end (`SweepRun.index` is its place in the plan).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol, Sequence

from gdplayground.config import ConfigError, ExperimentConfig
from gdplayground.data import DataError
from gdplayground.engine.trainer import Trainer
from gdplayground.labs.sweeps.cluster import ClusterPool
from gdplayground.labs.sweeps.params import (
    MAX_RUNS, SweepError, SweepParam, log_axis, parse_bounds)
from gdplayground.labs.sweeps.runs import (
    FailedRun, InProcess, Progress, RunData, RunTask, SweepRun, data_sources)
from gdplayground.labs.sweeps.workers import WorkerPool

MAX_AXES = 2  # a line or a grid
MAX_REPEATS = 100
SEEDS = 2**32  # seeds run from 0 to 2**32 - 1; a repeat's seed wraps around


@dataclass(frozen=True)
class SweepAxis:
    """One swept setting and its values; `log`: they are log-spaced (drawn on a log axis)."""

    param: SweepParam
    values: tuple
    log: bool = False

    def __post_init__(self):
        if not self.values:
            raise SweepError(f"{self.param.name}: a sweep needs at least one value")

    @property
    def log_axis(self) -> bool:
        return log_axis(self.param, self.values, self.log)


def axis_from_fields(param: SweepParam, text: str, count: int, log: bool) -> SweepAxis:
    """An axis as the Runs tab's fields write it: a range LO:HI cut into `count` values
    (log-spaced if `log`), or a list V1,V2,…; SweepError if they make none."""
    if ":" in text:
        return SweepAxis(param, param.range_values(*parse_bounds(text), count, log), log)
    return SweepAxis(param, param.parse_list(text))


@dataclass(frozen=True)
class SweepPlan:
    """The settings swept (one or two axes), runs per point of their grid (each from its own
    seed), and each run's length: `steps`, or `epochs` (one when neither is given, as
    `gdplayground train`)."""

    axes: tuple[SweepAxis, ...]
    repeats: int = 1
    steps: int | None = None
    epochs: int | None = None

    def __post_init__(self):
        if not 1 <= len(self.axes) <= MAX_AXES:
            raise SweepError(f"a sweep varies one setting or two (got {len(self.axes)})")
        names = [axis.param.name for axis in self.axes]
        if len(set(names)) < len(names):
            raise SweepError(f"{names[0]} is swept twice; vary two different settings")
        if not 1 <= self.repeats <= MAX_REPEATS:
            raise SweepError(f"repeats must be from 1 to {MAX_REPEATS} (got {self.repeats})")
        if self.steps is not None and self.epochs is not None:
            raise SweepError("a run lasts some steps or some epochs, not both")
        if self.runs > MAX_RUNS:
            sizes = " × ".join(f"{len(axis.values)} {axis.param.name} values" for axis in self.axes)
            raise SweepError(f"{sizes} × {self.repeats} repeats are {self.runs:,} runs, more "
                             f"than {MAX_RUNS:,}")

    @property
    def params(self) -> tuple[SweepParam, ...]:
        return tuple(axis.param for axis in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis.values) for axis in self.axes)

    @property
    def points(self) -> list[tuple]:
        """Every point of the grid, the last axis fastest."""
        return list(itertools.product(*(axis.values for axis in self.axes)))

    @property
    def runs(self) -> int:
        return len(self.points) * self.repeats

    def point_words(self, point: tuple) -> str:
        """ "lr 0.01, batch-size 64" """
        return point_words(self.params, point)

    def configure(self, base: ExperimentConfig, point: tuple) -> ExperimentConfig:
        """A copy of `base` with the point's values set, in the axes' order, validated;
        SweepError naming the value at fault."""
        for param, value in zip(self.params, point):
            base = param.configure(base, value)
        return base

    def tasks(self, base: ExperimentConfig) -> list[RunTask]:
        """Every run, in the order they are handed out, each checked: a pass over the grid per
        repeat, so that the first pass shows the whole sweep and later ones add the spread.
        Repeat r starts from the seed of `base` plus r."""
        configured = [(point, self.configure(base, point)) for point in self.points]
        tasks = []
        for repeat in range(self.repeats):
            for point, config in configured:
                config = copy.deepcopy(config)
                config.seed = (config.seed + repeat) % SEEDS
                tasks.append(RunTask(len(tasks), self.params, point, repeat, config,
                                     self.steps, self.epochs))
        return tasks


def point_words(params: Sequence[SweepParam], point: tuple) -> str:
    return ", ".join(f"{param.name} {param.text(value)}" for param, value in zip(params, point))


def check_runs(base: ExperimentConfig, plan: SweepPlan,
               check: Callable[[Trainer], None] | None = None) -> None:
    """Build each point's trainer (and hand it to `check`) before any run trains, so that a
    point whose data does not load, whose loss does not suit the data or whose network does not
    fit in memory is refused before anything is trained or written: SweepError naming the
    point, or the starting configuration's own error when it fails as well (the point is not to
    blame). Repeats differ only in their seed, which changes none of that."""
    data = RunData({})
    for point in plan.points:
        config = plan.configure(base, point)
        try:
            trainer = Trainer(config, data.dataset(config))
        except (ConfigError, DataError) as exc:
            _blame(base, plan.point_words(point), exc)
        if check is not None:
            check(trainer)


def _blame(base: ExperimentConfig, words: str, exc: ValueError):
    """Raise the starting configuration's error if it fails the same way (its type and the
    setting it names), else `exc` as the point's."""
    try:
        Trainer(base)
    except (ConfigError, DataError) as own:
        if type(own) is type(exc) and getattr(own, "field", "") == getattr(exc, "field", ""):
            raise own from None
    raise SweepError(f"{words}: {exc}") from None


class Executor(Protocol):
    """What trains a sweep's runs: in this process, in worker processes, or on a cluster."""

    def run(self, tasks: Sequence[RunTask], sources: dict, cancelled: Callable[[], bool] | None,
            progress: Progress | None) -> Iterator[SweepRun | FailedRun]:
        """Train the tasks (their data built from `sources`: runs.data_sources), yielding each
        run as it ends. `progress(index, step, steps)` tells how far a run in training has
        come; once `cancelled()` says so, the runs in training are dropped and the sweep ends
        promptly (the runs yielded stand)."""


def executor_for(workers: int | None = None, cluster: str = "") -> Executor:
    """What trains a sweep's runs, as the command line's --workers and --cluster and the sweep
    panel's fields ask: the Dask scheduler at `cluster` (tcp://HOST:PORT; its form checked here,
    SweepError; reached when the sweep starts), else `workers` processes of this machine (None:
    every core). One worker is a process too: a run that dies (out of memory) costs only that
    run, and a window's sweep never trains beside its drawing."""
    if cluster and cluster.strip():
        return ClusterPool(cluster.strip())
    return WorkerPool(workers)


def run_sweep(base: ExperimentConfig, plan: SweepPlan, executor: Executor | None = None,
              cancelled: Callable[[], bool] | None = None, progress: Progress | None = None
              ) -> Iterator[SweepRun | FailedRun]:
    """Train the plan's runs with `executor` (one after another in this process if none),
    yielding each as it ends. Every configuration is checked and the data's files read (once)
    before the first step."""
    tasks = plan.tasks(base)
    yield from (executor or InProcess()).run(tasks, data_sources(tasks), cancelled, progress)
