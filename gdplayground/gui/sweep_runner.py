"""A sweep run off the GUI thread: `SweepRunner.start(base, plan)` trains the plan's runs one
after another on a thread of its own (gui/background.py), with progress, the time left and
Cancel, and hands each run to the GUI thread as soon as it ends.

Signals, all arriving on the GUI thread, in this order:
- `progressed(SweepProgress)`: runs done, the share of the sweep done, the seconds left;
- `run_finished(SweepRun)`: each run as it ends (also kept in `results`);
- then one of `finished(list[SweepRun])` (every run ended), `cancelled(list[SweepRun])` (after
  `cancel()`: the runs that ended before stand, the one in progress is dropped) or `failed(str)`
  (an error stopped it: a run that would not fit in memory, say; `results` keeps those before).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

from PySide6.QtCore import QObject, Qt, Signal, Slot

from gdplayground.config import ExperimentConfig
from gdplayground.engine.sweep import SweepPlan, SweepRun, run_sweep
from gdplayground.gui.background import Background

SHARES = 1000  # progress counts a run as this many parts, so a long run moves the bar too


class SweepProgress(NamedTuple):
    runs_done: int
    runs: int
    fraction: float  # of the sweep, counting the run in progress by its steps
    seconds_left: float  # NaN until there is something to go by

    def words(self) -> str:
        """ "3 of 11 runs, about 40 s left" """
        if math.isnan(self.seconds_left):
            return f"{self.runs_done} of {self.runs} runs"
        return f"{self.runs_done} of {self.runs} runs, about {_duration(self.seconds_left)} left"


class SweepRunner(QObject):
    progressed = Signal(object)  # SweepProgress
    run_finished = Signal(object)  # SweepRun
    finished = Signal(object)  # list[SweepRun]: every run of the plan
    cancelled = Signal(object)  # list[SweepRun]: those that ended before the cancel
    failed = Signal(str)
    _ended = Signal(object)  # a run, from the worker's thread to this object's

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.results: list[SweepRun] = []
        self.plan: SweepPlan | None = None
        self._started = 0.0
        self.background = Background(self)
        self.background.progressed.connect(self._progressed)
        self.background.finished.connect(lambda _: self.finished.emit(list(self.results)))
        self.background.cancelled.connect(lambda: self.cancelled.emit(list(self.results)))
        self.background.failed.connect(self.failed)
        # Queued: the run reaches the GUI thread in order, before the task's end does.
        self._ended.connect(self._keep, Qt.QueuedConnection)

    @property
    def running(self) -> bool:
        return self.background.running

    def start(self, base: ExperimentConfig, plan: SweepPlan) -> None:
        """Check every run's settings (SweepError here, on the caller's thread), then train.
        RuntimeError if a sweep is running."""
        plan.configs(base)
        if self.running:
            raise RuntimeError("a sweep is already running")
        self.results, self.plan, self._started = [], plan, time.monotonic()
        self.background.run(lambda progress, cancelled: self._work(base, plan, progress, cancelled))

    def cancel(self) -> None:
        """Stop after the current step; `cancelled` follows with the runs that ended."""
        self.background.cancel()

    def stop(self) -> None:
        """Cancel and wait for the thread to end (for closing)."""
        self.background.stop()

    def _work(self, base, plan: SweepPlan, progress, cancelled) -> None:
        """On the worker's thread: each run to the GUI thread as it ends."""
        def report(run: int, step: int, steps: int) -> None:
            progress(run * SHARES + SHARES * step // steps, plan.runs * SHARES)
        for run in run_sweep(base, plan, cancelled=cancelled, progress=report):
            self._ended.emit(run)

    @Slot(object)
    def _keep(self, run: SweepRun) -> None:
        self.results.append(run)
        self.run_finished.emit(run)

    @Slot(int, int)
    def _progressed(self, done: int, total: int) -> None:
        """The time left from the time so far and the share done (finished runs, and the one
        in progress by its steps)."""
        fraction = done / total
        elapsed = time.monotonic() - self._started
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else math.nan
        self.progressed.emit(SweepProgress(len(self.results), self.plan.runs, fraction, left))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
