"""Saves and exports, one at a time, without holding up the window. Each takes what it needs on
the GUI thread (a consistent copy of the run from the worker, if it asks for one; its plots as
pictures, one plot per turn of the event loop, so that the window answers between them) and
writes its files on a thread of its own. While one is under way, the status bar shows its
progress and a Cancel button; a cancelled export leaves no file of its own behind (every file
is written atomically, a run folder staged).

An export is a `prepare(snapshot)` function, called on the GUI thread, which returns the plots
to capture ({file name: (plot item, PNG width or None)}) and the work that writes everything:
`write(pictures, progress, cancelled)`, run off the GUI thread, which raises Cancelled when it
stops on `cancelled()`. It must take copies of whatever the window goes on changing."""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Callable, NamedTuple

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QToolButton

from gdplayground.gui.widgets.background import Background, Cancelled
from gdplayground.gui.widgets.plot_export import capture
from gdplayground.gui.widgets.training_run import Snapshot

Prepare = Callable[[Snapshot | None], tuple[dict, Callable]]


class Export(NamedTuple):
    what: str  # "the run to /home/me/run", said in "Wrote …" and "Could not write …"
    prepare: Prepare
    snapshot: bool  # ask the worker for a consistent copy of the run first


class ExportQueue(QObject):
    written = Signal(bool, str)  # after each export: (succeeded, what it says to the user)
    idle = Signal()  # the last export queued has ended

    def __init__(self, window):
        """`window` is the MainWindow: its session answers for snapshots, its status bar
        shows the progress, its banner failures."""
        super().__init__(window)
        self.window = window
        self._queue: deque[Export] = deque()
        self._current: Export | None = None
        self._plots: list = []  # (file name, (item, width)) still to capture
        self._pictures: dict = {}
        self._write: Callable | None = None
        self._cancel = threading.Event()  # the export under way is to stop
        self.background = Background(self)
        self.background.progressed.connect(self._show_progress)
        self.background.finished.connect(self._written)
        self._make_widgets()

    def _make_widgets(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(260)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the export under way: it leaves no file behind "
                                      "(an earlier file of the same name stays as it was).")
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (self.progress, self.cancel_button):
            self.window.statusBar().addPermanentWidget(widget)
            widget.hide()

    @property
    def busy(self) -> bool:
        return self._current is not None

    def add(self, what: str, prepare: Prepare, snapshot: bool = False) -> None:
        """Write `what` once the exports queued before it are written."""
        self._queue.append(Export(what, prepare, snapshot))
        if not self.busy:
            self._next()

    def cancel(self) -> None:
        """Stop the export under way (those queued after it go on)."""
        if self.busy:
            self._cancel.set()
            if not self.background.running:  # still capturing or waiting for the worker
                self._end(False, self._cancelled_words())

    def finish(self, within_ms: int = 60_000) -> None:
        """Write everything asked for before the window closes (waiting up to `within_ms`):
        the snapshots still come, the plots are still on show; the user's clicks wait."""
        if self.busy:
            self.window.statusBar().showMessage("Finishing the exports before closing…")
            loop = QEventLoop()
            self.idle.connect(loop.quit, Qt.SingleShotConnection)
            QTimer.singleShot(within_ms, loop.quit)
            loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)

    # --- one export, step by step ---------------------------------------------------------------
    def _next(self) -> None:
        self._current = self._queue.popleft() if self._queue else None
        self._cancel.clear()
        for widget in (self.progress, self.cancel_button):
            widget.setVisible(self.busy)
        if not self.busy:
            self.idle.emit()
            return
        export = self._current
        self.progress.setToolTip(f"Writing {export.what}")
        self._say_progress("preparing", 0, 0)
        if export.snapshot:
            self.window.session.ask("snapshot", self._guarded(export, self._prepare),
                                    self._guarded(export, lambda why: self._end(
                                        False, f"Could not write {export.what}. {why}")))
        else:
            self._prepare(None)

    def _guarded(self, export: Export, callback: Callable) -> Callable:
        """`callback`, unless `export` has ended (been cancelled) before it is called back."""
        return lambda *args: callback(*args) if export is self._current else None

    def _prepare(self, snap: Snapshot | None) -> None:
        export = self._current
        if export.snapshot and snap is None:
            self._end(False, f"Could not write {export.what}: there is no run")
            return
        try:
            plots, self._write = export.prepare(snap)
        except Exception as exc:  # noqa: BLE001 - a view that cannot be read: say it, go on
            self._end(False, self._failure(reason(exc)))
            return
        self._plots, self._pictures = list(plots.items()), {}
        self._capture_next()

    def _capture_next(self) -> None:
        """Capture one plot, then let the window answer before the next; then write."""
        export = self._current
        if export is None or self._cancel.is_set():
            return
        if not self._plots:
            self._say_progress("writing %p%", 0, 1)
            pictures, write, stop = self._pictures, self._write, self._cancel.is_set
            self.background.run(lambda progress, _: outcome(write, pictures, progress, stop))
            return
        name, (item, width) = self._plots.pop(0)
        try:
            self._pictures[name] = capture(item, Path(name).suffix[1:], width)
        except Exception as exc:  # noqa: BLE001 - OSError, or pyqtgraph's own
            self._end(False, self._failure(f"{name}: {reason(exc)}"))
            return
        drawn = len(self._pictures)
        self._say_progress("drawing plot %v of %m", drawn, drawn + len(self._plots))
        QTimer.singleShot(0, self._guarded(export, self._capture_next))

    def _written(self, result: str | None) -> None:
        """The writing thread ended: `result` is why it failed, "" if cancelled, None if done."""
        if result is None:
            self._end(True, f"Wrote {self._current.what}")
        else:
            self._end(False, self._failure(result) if result else self._cancelled_words())

    def _end(self, ok: bool, message: str) -> None:
        window = self.window
        if ok:
            window.banner.clear("write")  # an earlier failure is not the news any more
        elif not self._cancel.is_set():
            window.banner.say(message, "write", window.tabs.currentWidget())
        window.statusBar().showMessage(message, 8000)
        self._plots, self._pictures, self._write = [], {}, None
        self.written.emit(ok, message)
        self._next()

    # --- words ------------------------------------------------------------------------------------
    def _failure(self, why: str) -> str:
        return f"Could not write {self._current.what}: {why}"

    def _cancelled_words(self) -> str:
        return f"Cancelled: {self._current.what} was not written"

    def _say_progress(self, doing: str, done: int, total: int) -> None:
        """In the bar, which has the room the status bar's message would not: "The run: …"."""
        what = self._current.what.split(" to ")[0]
        self.progress.setFormat(f"{what[0].upper()}{what[1:]}: {doing}")
        self._show_progress(done, total)

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)


def outcome(write: Callable, pictures: dict, progress: Callable, cancelled: Callable) -> str | None:
    """Run `write` (on the writing thread): None if it wrote everything, "" if it stopped when
    cancelled, otherwise why it failed."""
    try:
        write(pictures, progress, cancelled)
    except Cancelled:
        return ""
    except Exception as exc:  # noqa: BLE001 - OSError, or an exporter's own: said, the app goes on
        return reason(exc)
    return None


def reason(exc: Exception) -> str:
    """Why a write failed, in the words a user reads: an OSError's own ("No space left on
    device"), otherwise the exception's message."""
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
