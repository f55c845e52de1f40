"""A sweep run off the GUI thread: `SweepRunner.start(base, plan, executor)` trains the plan's
runs with an executor (the window's: labs.sweeps.plan.executor_for, worker processes or a Dask
cluster; the tests' may train in this process) from a thread of its own (gui/background.py), with
progress, the time left, the runs in training and Cancel, and hands each run to the GUI thread as
it ends, in whatever order they end: one a turn of the window's event loop, so that a burst of
short runs, each joining the run list, leaves the window free to answer between them (300 runs of
2 steps kept it busy for 51 s in one go).

Signals, all arriving on the GUI thread, in this order:
- `progressed(SweepProgress)`: runs ended, the share of the sweep done, the seconds left, and
  each run in training with its share done;
- `run_finished(SweepRun)`: each run as it ends (also kept in `results`); `run_failed(FailedRun)`:
  each run that could not be trained (its worker died twice: kept in `failures`, the sweep goes
  on);
- then one of `finished(list[SweepRun])` (every run ended), `cancelled(list[SweepRun])` (after
  `cancel()`: the runs that ended before stand, those in training are dropped and their workers
  ended) or `failed(str)` (an error stopped it: a cluster out of reach, a run that would not fit
  in memory; `results` keeps those before), once every run that ended has been handed over.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Callable, NamedTuple

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from gdplayground.config import ExperimentConfig
from gdplayground.labs.sweeps.plan import Executor, SweepPlan, point_words, run_sweep
from gdplayground.labs.sweeps.progress import SweepTally
from gdplayground.labs.sweeps.runs import FailedRun, InProcess, RunTask, SweepRun
from gdplayground.gui.widgets.background import Background
from gdplayground.gui.widgets.training_run import WindowWork

SHARES = 1000  # progress counts a run as this many parts, so a long run moves the bar too


class SweepProgress(NamedTuple):
    runs_done: int  # runs ended, failed ones included
    runs: int
    fraction: float  # of the sweep, counting the runs in training by their steps
    seconds_left: float  # NaN until there is something to go by
    training: tuple[tuple[str, float], ...] = ()  # each run in training: its name, share done
    failed: int = 0

    def words(self) -> str:
        """ "3 of 11 runs, 1 failed, about 40 s left" """
        failed = f", {self.failed} failed" if self.failed else ""
        if math.isnan(self.seconds_left):
            return f"{self.runs_done} of {self.runs} runs{failed}"
        return (f"{self.runs_done} of {self.runs} runs{failed}, about "
                f"{_duration(self.seconds_left)} left")

    def training_words(self) -> str:
        """ "training: lr 0.01, batch-size 64 — 40% · lr 0.1, batch-size 64 — 12%" """
        if not self.training:
            return ""
        return "training: " + " · ".join(f"{name} — {share:.0%}" for name, share in self.training)


def run_name(run: RunTask | SweepRun | FailedRun) -> str:
    """ "lr 0.01, batch-size 64", and its repeat's seed if not the first """
    return point_words(run.params, run.point) + (f" (seed +{run.repeat})" if run.repeat else "")


class SweepRunner(QObject):
    progressed = Signal(object)  # SweepProgress
    run_finished = Signal(object)  # SweepRun
    run_failed = Signal(object)  # FailedRun
    finished = Signal(object)  # list[SweepRun]: every run of the plan that did not fail
    cancelled = Signal(object)  # list[SweepRun]: those that ended before the cancel
    failed = Signal(str)
    _arrived = Signal()  # a run ended, on the worker's thread

    def __init__(self, parent: QObject | None = None, window_work: WindowWork | None = None):
        """`window_work`: the window's work, which each step of a sweep in this process waits
        for, as the training worker's do (they share the interpreter lock with the window's
        drawing)."""
        super().__init__(parent)
        self.window_work = window_work or WindowWork()
        self.results: list[SweepRun] = []
        self.failures: list[FailedRun] = []
        self.plan: SweepPlan | None = None
        self._started = 0.0
        self._tally, self._names = SweepTally(0), {}  # the runs in training, and their names
        self._lock = threading.Lock()  # the tally is kept on the sweep's thread, read on the GUI's
        self._ended: collections.deque[SweepRun | FailedRun] = collections.deque()  # to hand over
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
        self.background.failed.connect(  # a SweepError's words are the user's; others need a name
            lambda message: self._end_with(
                lambda: self.failed.emit(message.removeprefix("SweepError: "))))
        self._arrived.connect(self._next.start, Qt.QueuedConnection)

    @property
    def running(self) -> bool:
        """Training, or handing over the runs that ended."""
        return self.background.running or bool(self._ended) or self._end is not None

    def start(self, base: ExperimentConfig, plan: SweepPlan,
              executor: Executor | None = None) -> None:
        """Check every run's settings (SweepError here, on the caller's thread), then train
        with `executor` (this process, one run after another, if None). RuntimeError if a sweep
        is running."""
        tasks = plan.tasks(base)
        if self.running:
            raise RuntimeError("a sweep is already running")
        self.results, self.failures, self.plan = [], [], plan
        self._started = time.monotonic()
        self._tally, self._names = SweepTally(plan.runs), {task.index: run_name(task)
                                                           for task in tasks}
        executor = executor or InProcess()
        self.background.run(
            lambda progress, cancelled: self._work(base, plan, executor, progress, cancelled))

    def cancel(self) -> None:
        """Stop every run in training; `cancelled` follows with the runs that ended."""
        self.background.cancel()

    def stop(self) -> None:
        """Cancel, wait for the thread (and the workers) to end, and hand over at once every run
        that ended: the window is closing, and a run left waiting would be lost."""
        self.background.stop()
        while self._ended:
            self._hand_over()

    def _work(self, base, plan: SweepPlan, executor: Executor, progress, cancelled) -> None:
        """On the sweep's thread: each run to the GUI thread as it ends. Progress may come from
        the executor's own threads."""
        tally, whole = self._tally, plan.runs * SHARES

        def report(index: int, step: int, steps: int) -> None:
            with self._lock:
                if index in self._names:  # a late report of a run that ended is no news
                    tally.stepped(index, step, steps)
                done = round(tally.fraction * whole)
            progress(done, whole)

        def cancelled_once_the_window_is_done() -> bool:  # asked before every step in this process
            self.window_work.wait()
            return cancelled()
        asked = cancelled_once_the_window_is_done if isinstance(executor, InProcess) else cancelled
        runs = run_sweep(base, plan, executor, cancelled=asked, progress=report)
        try:
            for run in runs:
                with self._lock:
                    tally.finished(run.index)
                    self._names.pop(run.index, None)
                    done = round(tally.fraction * whole)
                self._ended.append(run)
                self._arrived.emit()
                progress(done, whole)
        finally:  # also on an error or a cancel: the executor ends its workers
            runs.close()
            getattr(executor, "close", lambda: None)()

    @Slot()
    def _hand_over(self) -> None:
        """One run to the window; the next after the window's events (a timer of 0 ms), or the
        sweep's end once every run is handed over."""
        if self._ended:
            run = self._ended.popleft()
            if isinstance(run, FailedRun):
                self.failures.append(run)
                self.run_failed.emit(run)
            else:
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
        """The share done (the runs that ended, and those in training by their steps), the time
        left from the time so far, and the runs in training, all read from the tally now: it is
        newer than the report that came (reports pass at most PROGRESS_HZ times a second)."""
        with self._lock:
            fraction = self._tally.fraction
            training = tuple((self._names[index], share)
                             for index, share in sorted(self._tally.training.items()))
        elapsed = time.monotonic() - self._started
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else math.nan
        self.progressed.emit(SweepProgress(
            len(self.results) + len(self.failures), self.plan.runs, fraction, left, training,
            len(self.failures)))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
