"""Where the window's time goes while it trains: the GUI thread's CPU per call of each part.

    python benchmarks/window_profile.py              # configuration (a), 6 s, offscreen
    python benchmarks/window_profile.py b --seconds 10

Everything the window does costs training time: drawing holds the interpreter lock (PySide6
keeps it through Qt's native painting), and the engine's Python waits for it. The parts are the
window's own methods, wrapped with the GUI thread's CPU clock.
"""

from __future__ import annotations

import argparse
import os
import time

from timing import timed


def profile(key: str, seconds: float) -> tuple[dict, float, float]:
    """({label: (calls per second, CPU seconds per call)}, GUI thread CPU share, steps/s)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg

    from gdplayground.bench.engine import SETUPS
    from gdplayground.bench.window import open_window
    from gdplayground.config import preset
    from gdplayground.gui.training import tab as training_view
    from gdplayground.gui.widgets import plots
    from gdplayground.gui.window import main_window
    from gdplayground.gui.widgets.qt import pause, wait_for

    parts = {
        (pg.GraphicsView, "paintEvent"): "paint a plot or the mosaic",
        (plots.PlotView, "show"): "hand a curve its new points",
        (training_view.TrainingView, "_draw_picture"): "mosaic (its codes; at most 5 a second)",
        (main_window.MainWindow, "_on_frame"): "take a frame (history, rate)",
        (main_window.MainWindow, "redraw"): "redraw tick (includes curves and mosaic)",
    }
    config = SETUPS[key].config()
    config.data.validation_split = preset("mnist").data.validation_split
    with timed(parts, clock=time.thread_time) as (spent, calls):
        window = open_window(config)
        window.toggle_play()
        wait_for(lambda: window.last_step >= 20, 60)
        spent.clear(), calls.clear()
        cpu, start, first_step = time.thread_time(), time.perf_counter(), window.last_step
        pause(seconds)
        elapsed = time.perf_counter() - start
        share, steps = (time.thread_time() - cpu) / elapsed, (window.last_step - first_step) / elapsed
        window.toggle_play()
        wait_for(lambda: not window.running, 60)
        window.close()
    costs = {label: (calls[label] / elapsed, spent[label] / calls[label]) for label in calls}
    return costs, share, steps


def main() -> None:
    from gdplayground.bench.engine import SETUPS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setup", nargs="?", default="a", choices=sorted(SETUPS))
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    costs, share, steps = profile(args.setup, args.seconds)
    print(f"configuration ({args.setup}), window live: {steps:,.0f} steps/s; the GUI thread "
          f"used {share:.1%} of a core")
    for label, (rate, per_call) in sorted(costs.items(), key=lambda item: -item[1][0] * item[1][1]):
        print(f"  {rate:6.1f}/s x {per_call * 1e3:5.2f} ms = {rate * per_call:6.1%}  {label}")


if __name__ == "__main__":
    main()
