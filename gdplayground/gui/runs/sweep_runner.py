"""A sweep run off the GUI thread: `SweepRunner.start(base, plan)` trains the plan's runs one
after another on a thread of its own (gui/background.py), with progress, the time left and
Cancel, and hands each run to the GUI thread as it ends: one a turn of the window's event loop,
so that a burst of short runs, each joining the run list, leaves the window free to answer
between them (300 runs of 2 steps kept it busy for 51 s in one go).

Signals, all arriving on the GUI thread, in this order:
- `progressed(SweepProgress)`: runs done, the share of the sweep done, the seconds left;
- `run_finished(SweepRun)`: each run as it ends (also kept in `results`);
- then one of `finished(list[SweepRun])` (every run ended), `cancelled(list[SweepRun])` (after
  `cancel()`: the runs that ended before stand, the one in progress is dropped) or `failed(str)`
  (an error stopped it: a run that would not fit in memory, say; `results` keeps those before),
  once every run that ended has been handed over.
"""

from __future__ import annotations

import collections
import math
import time
from typing import Callable, NamedTuple

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from gdplayground.config import ExperimentConfig
from gdplayground.labs.sweeps.plan import SweepPlan, run_sweep
from gdplayground.labs.sweeps.progress import SweepTally
from gdplayground.labs.sweeps.runs import SweepRun
from gdplayground.gui.widgets.background import Background
from gdplayground.gui.widgets.training_run import WindowWork

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
    _arrived = Signal()  # a run ended, on the worker's thread

    def __init__(self, parent: QObject | None = None, window_work: WindowWork | None = None):
        """`window_work`: the window's work, which each step of a sweep waits for, as the
        training worker's do (they share the interpreter lock with the window's drawing)."""
        super().__init__(parent)
        self.window_work = window_work or WindowWork()
        self.results: list[SweepRun] = []
        self.plan: SweepPlan | None = None
        self._started = 0.0
        self._ended: collections.deque[SweepRun] = collections.deque()  # not yet handed over
        self._end: Callable[[], None] | None = None  # the sweep's end, told once they all are
        self._next = QTimer(self)  # a timer of 0 ms fires once the window's events are handled
        self._next.setSingleShot(True)
        self._next.setInterval(0)
        self._next.timeout.connect(self._hand_over)
        self.background = Background(self)
        self.background.progressed.connect(self._progressed)
        self.background.finished.connect(
            lambda _: self._end_with(lambda: self.finished.emit(list(self.results))))
        self.background.cancelled.connect(
            lambda: self._end_with(lambda: self.cancelled.emit(list(self.results))))
        self.background.failed.connect(
            lambda message: self._end_with(lambda: self.failed.emit(message)))
        self._arrived.connect(self._next.start, Qt.QueuedConnection)

    @property
    def running(self) -> bool:
        """Training, or handing over the runs that ended."""
        return self.background.running or bool(self._ended) or self._end is not None

    def start(self, base: ExperimentConfig, plan: SweepPlan) -> None:
        """Check every run's settings (SweepError here, on the caller's thread), then train.
        RuntimeError if a sweep is running."""
        plan.tasks(base)
        if self.running:
            raise RuntimeError("a sweep is already running")
        self.results, self.plan, self._started = [], plan, time.monotonic()
        self.background.run(lambda progress, cancelled: self._work(base, plan, progress, cancelled))

    def cancel(self) -> None:
        """Stop after the current step; `cancelled` follows with the runs that ended."""
        self.background.cancel()

    def stop(self) -> None:
        """Cancel, wait for the thread to end, and hand over at once every run that ended: the
        window is closing, and a run left waiting would be lost."""
        self.background.stop()
        while self._ended:
            self._hand_over()

    def _work(self, base, plan: SweepPlan, progress, cancelled) -> None:
        """On the worker's thread: each run to the GUI thread as it ends."""
        tally = SweepTally(plan.runs)

        def report(index: int, step: int, steps: int) -> None:
            tally.stepped(index, step, steps)
            progress(round(tally.fraction * plan.runs * SHARES), plan.runs * SHARES)

        def cancelled_once_the_window_is_done() -> bool:  # asked before every step
            self.window_work.wait()
            return cancelled()
        for run in run_sweep(base, plan, cancelled=cancelled_once_the_window_is_done,
                             progress=report):
            self._ended.append(run)
            self._arrived.emit()
            tally.finished(run.index)
            progress(round(tally.fraction * plan.runs * SHARES), plan.runs * SHARES)

    @Slot()
    def _hand_over(self) -> None:
        """One run to the window; the next after the window's events (a timer of 0 ms), or the
        sweep's end once every run is handed over."""
        if self._ended:
            run = self._ended.popleft()
            self.results.append(run)
            self.run_finished.emit(run)
        if self._ended:
            self._next.start()
        elif self._end is not None:
            end, self._end = self._end, None
            end()

    def _end_with(self, end: Callable[[], None]) -> None:
        self._end = end
        if not self._next.isActive():
            self._hand_over()

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
