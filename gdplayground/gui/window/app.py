"""Starting the window: interactively, or offscreen to train N steps and save a screenshot."""

from __future__ import annotations

import os
from pathlib import Path

from gdplayground.config import ExperimentConfig
from gdplayground.gui.widgets.qt import application, pause, wait_for
from gdplayground.gui.window.window_size import OPENING


def run_window(config: ExperimentConfig) -> int:
    """Open the window and run until it closes. The caller checks gui.preflight first."""
    from gdplayground.gui.runs.run_keeper import skipped_words, user_run_store
    from gdplayground.gui.window.main_window import MainWindow

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
    from gdplayground.gui.window.main_window import MainWindow
    from gdplayground.gui.widgets.plot_export import save_png

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
