"""Starting the window: interactively, or offscreen to train N steps and save a screenshot."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from gdplayground.config import ExperimentConfig
from gdplayground.gui.window_size import OPENING


# Qt's messages that say nothing a user can act on.
QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_message)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("gdplayground")
    return app


def _qt_message(kind, context, message: str) -> None:
    if message not in QUIET_QT_MESSAGES:
        print(message, file=sys.stderr)


def run_window(config: ExperimentConfig) -> int:
    """Open the window and run until it closes. The caller checks gui.preflight first."""
    from gdplayground.gui.main_window import MainWindow

    from gdplayground.gui.run_keeper import skipped_words, user_run_store

    app = application()
    runs = user_run_store()
    skipped = runs.load()
    window = MainWindow(config, runs)
    if skipped:
        window.banner.say(skipped_words(skipped), "skipped runs", window.runs_tab)
    window.show()
    return app.exec()


class WindowTooSmall(ValueError):
    """The window cannot be laid out at the size asked for."""


def save_screenshot(config: ExperimentConfig, steps: int, out: Path, size=OPENING,
                    timeout_s: float = 600, pace: float | None = None) -> int:
    """Build the real window offscreen, train `steps` iterations through the real worker at
    `pace` steps a second (None: as fast as it can), draw, and save the window as a PNG of
    `size`. Returns the number of steps trained; WindowTooSmall if the window needs more room
    (it took it silently: 640x480 came out 1018x530)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.main_window import MainWindow
    from gdplayground.gui.plot_export import save_png

    application()
    window = MainWindow(config)
    window.set_pace(pace)
    window.resize(*size)
    window.show()
    try:
        wait_for(lambda: window.info is not None, timeout_s)
        if steps:
            window.step(steps)
            wait_for(lambda: not window.running and (window.last_step >= steps or window.diverged),
                     timeout_s)
        window.redraw()
        pause(0.1)  # let the last paint land
        if window.size().toTuple() != tuple(size):
            needed = window.minimumSizeHint()
            raise WindowTooSmall(f"the window needs at least {needed.width()}x{needed.height()} "
                                 f"pixels (asked for {size[0]}x{size[1]})")
        save_png(window.grab(), out)
        return window.last_step
    finally:
        window.close()


def wait_for(condition, timeout_s: float) -> None:
    """Run the event loop until `condition()` holds; TimeoutError after `timeout_s`."""
    loop, timer = QEventLoop(), QTimer()
    timer.timeout.connect(lambda: condition() and loop.quit())
    timer.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the window did not get there in time")


def pause(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
