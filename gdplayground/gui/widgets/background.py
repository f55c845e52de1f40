"""Work off the GUI thread, with progress and a Cancel button: `Background.run(work)` calls
`work(progress, cancelled)` on a thread of its own and reports back on the GUI thread.

The work calls `progress(done, total)` as it goes and asks `cancelled()` between two pieces of
it. A cancelled task ends in `cancelled`, whatever the work did on noticing (returned or raised).
Progress reaches the window at most PROGRESS_HZ times a second, however often the work reports.

Qt aborts the program if a running QThread is destroyed, so every task is kept here until it has
ended, and at quit (or interpreter exit) whatever still runs is cancelled and waited for.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal, Slot

PROGRESS_HZ = 30

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], object]

_tasks: set[_Task] = set()  # every task whose thread may still run, kept alive until it ends


class Cancelled(Exception):
    """Raised by work that stops because it was asked to, when it must undo what it did (a write
    abandons its files)."""


class _Task(QThread):
    progressed = Signal(int, int)
    ended = Signal(str, object)  # ("finished", result), ("cancelled", None) or ("failed", message)

    def __init__(self, work: Work):
        super().__init__()
        self.work, self.stop = work, threading.Event()
        self._last_progress = 0.0

    def run(self) -> None:
        try:
            result = self.work(self._progress, self.stop.is_set)
        except Exception as exc:  # shown in the window; the traceback would go nowhere
            outcome = ("failed", f"{type(exc).__name__}: {exc}")
        else:
            outcome = ("finished", result)
        self.ended.emit(*(("cancelled", None) if self.stop.is_set() else outcome))

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress >= 1 / PROGRESS_HZ:
            self._last_progress = now
            self.progressed.emit(done, total)


class Background(QObject):
    """One task at a time off the GUI thread; its signals arrive on the GUI thread."""

    progressed = Signal(int, int)  # (done, total)
    finished = Signal(object)  # the work's result
    cancelled = Signal()
    failed = Signal(str)  # what went wrong

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._task: _Task | None = None
        _stop_all_at_quit()

    @property
    def running(self) -> bool:
        return self._task is not None

    def run(self, work: Work) -> None:
        """Start `work` on its own thread. One task at a time: RuntimeError if one runs."""
        if self._task is not None:
            raise RuntimeError("a background task is already running")
        task = self._task = _Task(work)
        task.progressed.connect(self._progressed)
        task.ended.connect(self._ended)
        _tasks.add(task)
        task.start()

    def cancel(self) -> None:
        """Ask the task to stop; `cancelled` follows once it has."""
        if self._task is not None:
            self._task.stop.set()

    def stop(self) -> None:
        """Cancel the task and wait until its thread has ended (for closing)."""
        task = self._task
        if task is not None:
            task.stop.set()
            task.wait()

    @Slot(int, int)
    def _progressed(self, done: int, total: int) -> None:
        if self.sender() is self._task:
            self.progressed.emit(done, total)

    @Slot(str, object)
    def _ended(self, outcome: str, value) -> None:
        task = self.sender()
        task.wait()  # run() has returned: this is a moment
        _tasks.discard(task)
        if task is not self._task:
            return
        self._task = None
        {"finished": lambda: self.finished.emit(value), "cancelled": self.cancelled.emit,
         "failed": lambda: self.failed.emit(value)}[outcome]()


class StopWithWindow(QObject):
    """Calls `stop()` when the window `widget` shows in closes: a tab's computation ends with
    the window (a child widget gets no close event of its own)."""

    def __init__(self, widget, stop: Callable[[], None]):
        super().__init__(widget)
        self._widget, self._stop, self._window = widget, stop, None
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self._widget and event.type() == QEvent.Show:
            window = self._widget.window()
            if window is not self._widget and window is not self._window:
                window.installEventFilter(self)
                self._window = window
        elif watched is self._window and event.type() == QEvent.Close:
            self._stop()
        return False


def stop_all() -> None:
    """Cancel every task still running and wait for it."""
    for task in list(_tasks):
        task.stop.set()
    for task in list(_tasks):
        task.wait()
    _tasks.clear()


_hooked = False


def _stop_all_at_quit() -> None:
    global _hooked
    app = QCoreApplication.instance()
    if not _hooked and app is not None:
        app.aboutToQuit.connect(stop_all)
        atexit.register(stop_all)
        _hooked = True
