"""Garbage collection on the GUI thread only, while a window trains.

The collector runs in whichever thread allocates when it is due. Run by the training thread, it
could destroy the window's Qt objects off the GUI thread and deadlock on the interpreter lock.
So while any collector here is running, automatic collection is off and a GUI-thread timer
collects instead (pyqtgraph's GarbageCollector does the same, but never turns collection back
on: garbage then piled up after a window closed, until one collection took seconds)."""

from __future__ import annotations

import gc
from contextlib import AbstractContextManager

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    _running = 0  # collectors started and not yet stopped; touched by the GUI thread only

    def __init__(self, interval_s: float, within: AbstractContextManager,
                 parent: QObject | None = None):
        """Each collection runs `with within:` (as the window's work, say)."""
        super().__init__(parent)
        self._within = within
        self._timer = QTimer(self)
        self._timer.setInterval(round(interval_s * 1000))
        self._timer.timeout.connect(self.collect)
        self._thresholds = gc.get_threshold()

    def start(self) -> None:
        if not self._timer.isActive():
            GuiThreadCollector._running += 1
            gc.disable()
            self._timer.start()

    def stop(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            GuiThreadCollector._running -= 1
            if not GuiThreadCollector._running:
                gc.enable()

    def collect(self) -> None:
        """Collect the generations that are due, as the automatic collector would have."""
        due = [generation for generation, (count, threshold)
               in enumerate(zip(gc.get_count(), self._thresholds)) if count > threshold]
        if due:
            with self._within:
                gc.collect(max(due))
