"""`gdplayground bench` sections of the window: gui (the window live against headless, and its
frame gaps), startup, time-to-98, memory and long-run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np

from gdplayground.bench.engine import SETUPS, engine_runner
from gdplayground.config import ExperimentConfig, preset

TIME_TO_98 = {"schedule": "cosine", "epochs": 12}  # configuration (a), cosine decay over 12 epochs


# --- the window ----------------------------------------------------------------------------
def gui_section(figures, repeats, seconds, out) -> dict:
    out("gui: default MNIST configuration, window live (offscreen) against headless")
    config = SETUPS["a"].config()
    config.data.validation_split = preset("mnist").data.validation_split  # the window's own
    headless_runs, window_runs, gaps = [], [], []
    headless = engine_runner(config)
    for _ in range(max(2, repeats)):  # alternate, so drift of the machine hits both
        headless_runs.append(headless(seconds * 2))
        rate, frame_gaps = window_rate(config, seconds * 2)
        window_runs.append(rate)
        gaps.extend(frame_gaps)
    ratios = [w / h for w, h in zip(window_runs, headless_runs)]
    gaps = np.array(gaps)
    result = {"headless": statistics.median(headless_runs), "window": statistics.median(window_runs),
              "ratio": statistics.median(ratios), "ratios": ratios,
              "gap_p50_ms": float(np.median(gaps)), "gap_p99_ms": float(np.percentile(gaps, 99)),
              "gap_max_ms": float(gaps.max()), "frames": len(gaps)}
    out(f"  headless {result['headless']:,.0f}   window {result['window']:,.0f} samples/s   "
        f"ratio {result['ratio']:.3f} (runs {', '.join(f'{r:.3f}' for r in ratios)})")
    out(f"  frame gaps: p50 {result['gap_p50_ms']:.0f} ms, p99 {result['gap_p99_ms']:.0f} ms, "
        f"max {result['gap_max_ms']:.0f} ms over {len(gaps)} frames")
    result["fastest"] = _fastest_window(repeats, seconds, out)
    return result


def fastest_config() -> ExperimentConfig:
    """The model that trains the most steps a second: no hidden layer, full batch, on XOR."""
    config = preset("xor")
    config.architecture.hidden, config.batch.mode = [], "full"
    return config


def _fastest_window(repeats: int, seconds: float, out) -> dict:
    """The window's frame gaps while the fastest model trains flat out (target: max 100 ms)."""
    rates, gaps = [], []
    for _ in range(max(2, repeats)):
        rate, frame_gaps = window_rate(fastest_config(), seconds * 2)
        rates.append(rate)
        gaps.extend(frame_gaps)
    gaps = np.array(gaps)
    result = {"samples_per_second": statistics.median(rates),
              "gap_p50_ms": float(np.median(gaps)), "gap_p99_ms": float(np.percentile(gaps, 99)),
              "gap_max_ms": float(gaps.max()), "frames": len(gaps)}
    out(f"  fastest model (XOR, no hidden layer, full batch), window live: "
        f"{result['samples_per_second']:,.0f} samples/s; frame gaps p50 {result['gap_p50_ms']:.0f} "
        f"ms, p99 {result['gap_p99_ms']:.0f} ms, max {result['gap_max_ms']:.0f} ms (target: max "
        f"100 ms)")
    return result


def window_rate(config: ExperimentConfig, seconds: float, prepare=None) -> tuple[float, list[float]]:
    """(samples per second, gaps in ms between redraws) with the window playing; `prepare`
    (window) sets it up first."""
    window = open_window(config)
    if prepare is not None:
        prepare(window)
    from gdplayground.gui.widgets.qt import pause, wait_for

    ticks, frames = [], []
    window.redraw_timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.toggle_play()
    wait_for(lambda: window.last_step >= 20, 60)
    watcher = FrameWatcher(window, lambda f: frames.append((f.time, f.samples_seen)))
    ticks.clear()
    pause(seconds)
    wait_for(lambda: len(frames) >= 2, 60)  # a rate needs two frames: a loaded machine drew one
    window.toggle_play()
    wait_for(lambda: not window.running, 60)
    window.close()
    del watcher
    (t0, s0), (t1, s1) = frames[0], frames[-1]
    return (s1 - s0) / (t1 - t0), list(np.diff(ticks) * 1000)


def open_window(config: ExperimentConfig):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.widgets.qt import application, wait_for
    from gdplayground.gui.window.main_window import MainWindow

    application()
    window = MainWindow(config)
    window.set_pace(None)  # as fast as it can, whatever the data set's own pace
    window.show()
    wait_for(lambda: window.info is not None, 120)
    return window


def FrameWatcher(window, callback):
    """Call `callback(frame)` on the GUI thread for every frame the window's worker sends.
    (Cross-thread signals must reach a QObject's @Slot method in PySide6, not a lambda.)"""
    from PySide6.QtCore import QObject, Slot

    class Watcher(QObject):
        @Slot(object)
        def on_frame(self, frame):
            callback(frame)

    watcher = Watcher(window)
    window.session.framed.connect(watcher.on_frame)
    return watcher


STARTUP_SCRIPT = """
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from gdplayground.gui.widgets.qt import application, wait_for
from gdplayground.gui.window.main_window import MainWindow
app = application()
window = MainWindow()
window.show()
app.processEvents()
print("shown", time.time(), flush=True)
wait_for(lambda: window.info is not None, 120)
print("loaded", time.time(), flush=True)
window.close()
"""


def startup_section(figures, repeats, seconds, out) -> dict:
    out("startup: a new process, to the window shown and to MNIST loaded")
    shown, loaded = [], []
    for _ in range(max(3, repeats)):
        start = time.time()
        lines = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT], capture_output=True,
                               text=True, check=True).stdout.split("\n")
        stamps = dict(line.split() for line in lines if line.strip())
        shown.append(float(stamps["shown"]) - start)
        loaded.append(float(stamps["loaded"]) - start)
    result = {"window_shown_s": statistics.median(shown), "mnist_loaded_s": statistics.median(loaded)}
    out(f"  window shown after {result['window_shown_s']:.2f} s, MNIST loaded after "
        f"{result['mnist_loaded_s']:.2f} s")
    return result


# --- time to 98% and memory ----------------------------------------------------------------
def time_to_98_config() -> ExperimentConfig:
    from gdplayground.engine import Trainer

    config = SETUPS["a"].config()
    config.learning_rate.schedule = TIME_TO_98["schedule"]
    config.learning_rate.decay_steps = TIME_TO_98["epochs"] * Trainer(config).steps_per_epoch
    return config


def time_to_98_section(figures, repeats, seconds, out) -> dict:
    from gdplayground.engine import Trainer

    out(f"time-to-98: configuration (a), {TIME_TO_98['schedule']} schedule over "
        f"{TIME_TO_98['epochs']} epochs, test accuracy once per epoch")
    config = time_to_98_config()
    headless, epochs = _headless_time_to_98(Trainer(config))
    window_seconds, window_epochs = _window_time_to_98(config)
    result = {"headless_s": headless, "headless_epochs": epochs,
              "window_s": window_seconds, "window_epochs": window_epochs}
    out(f"  headless {_seconds(headless)} ({epochs} epochs), window live "
        f"{_seconds(window_seconds)} ({window_epochs} epochs)")
    return result


def _headless_time_to_98(trainer):
    start = time.perf_counter()
    while trainer.epochs_done < 3 * TIME_TO_98["epochs"]:
        if trainer.step().epoch_end and trainer.evaluate("test")[1] >= 0.98:
            return time.perf_counter() - start, trainer.epochs_done
    return None, trainer.epochs_done


def _window_time_to_98(config: ExperimentConfig):
    from gdplayground.gui.widgets.qt import wait_for

    window = open_window(config)
    state = {"done": None}

    def epoch_check(frame) -> None:
        ended = [r.epoch for r in frame.reports if r.epoch_end]
        if ended and state["done"] is None:
            window.session.ask("evaluate", lambda results, epoch=ended[-1]: finished(results, epoch))

    def finished(results, epoch) -> None:
        if results and results["test"][1] >= 0.98 and state["done"] is None:
            state["done"] = (time.perf_counter() - start, epoch)

    watcher = FrameWatcher(window, epoch_check)
    start = time.perf_counter()
    window.toggle_play()
    try:
        wait_for(lambda: state["done"] is not None, 300)
    except TimeoutError:
        state["done"] = (None, None)
    window.toggle_play()
    wait_for(lambda: not window.running, 60)
    window.close()
    del watcher
    return state["done"]


MEMORY_SCRIPT = """
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from gdplayground.bench.engine import SETUPS
from gdplayground.gui.widgets.qt import application, pause, wait_for
from gdplayground.gui.window.main_window import MainWindow
app = application()
window = MainWindow(SETUPS["a"].config())
window.show()
wait_for(lambda: window.info is not None, 120)
window.toggle_play()
pause(float(sys.argv[1]))
window.toggle_play()
wait_for(lambda: not window.running, 60)
window.close()
from gdplayground.bench.window import memory_kb
print(memory_kb("VmHWM"))
"""


def memory_kb(field: str) -> int:
    """This process's VmRSS (resident now) or VmHWM (the peak of this process image; getrusage's
    ru_maxrss would carry over the peak of the parent it was forked from: Linux keeps it across
    exec)."""
    with open("/proc/self/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith(field + ":")))


def memory_section(figures, repeats, seconds, out) -> dict:
    out("memory: peak resident memory of a new process training full MNIST with the window live")
    run_seconds = max(10.0, 5 * seconds)
    peak_kb = int(subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(run_seconds)],
                                 capture_output=True, text=True, check=True).stdout.split()[-1])
    result = {"peak_mb": peak_kb / 1024, "trained_s": run_seconds}
    out(f"  peak {result['peak_mb']:.0f} MB after {run_seconds:g} s of training")
    return result


LONG_RUN_SCRIPT = """
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from gdplayground.bench.window import memory_kb
from gdplayground.config import preset
from gdplayground.gui.widgets.qt import application, pause, wait_for
from gdplayground.gui.window.main_window import MainWindow
duration, every = float(sys.argv[1]), float(sys.argv[2])
app = application()
window = MainWindow(preset("spiral"))
window.set_pace(None)  # as fast as it can: the spiral opens at 100 steps a second
window.show()
wait_for(lambda: window.info is not None, 120)
window.toggle_play()
start = time.perf_counter()
while time.perf_counter() - start < duration:
    pause(every)
    print(time.perf_counter() - start, window.last_step, memory_kb("VmRSS"), flush=True)
window.toggle_play()
wait_for(lambda: not window.running, 60)
window.close()
print("peak", memory_kb("VmHWM"))
"""


def long_run_section(figures, repeats, seconds, out, duration: float = 600.0) -> dict:
    out(f"long-run: the window training the spiral as fast as it can for {duration:g} s "
        "(new process)")
    every = max(1.0, duration / 60)
    lines = subprocess.run([sys.executable, "-c", LONG_RUN_SCRIPT, str(duration), str(every)],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    samples = np.array([[float(v) for v in line.split()] for line in lines
                        if line and not line.startswith("peak")])
    peak_kb = int(next(line.split()[1] for line in lines if line.startswith("peak")))
    half = samples[samples[:, 0] >= duration / 2]
    growth = (half[-1, 2] - half[0, 2]) / 1024
    result = {"seconds": duration, "steps": int(samples[-1, 1]), "peak_mb": peak_kb / 1024,
              "seconds_at_half": half[0, 0], "resident_mb_at_half": half[0, 2] / 1024,
              "seconds_at_end": half[-1, 0], "resident_mb_at_end": half[-1, 2] / 1024,
              "growth_second_half_mb": growth}
    out(f"  {result['steps']:,} steps; peak {result['peak_mb']:.0f} MB; resident "
        f"{result['resident_mb_at_half']:.0f} MB at {half[0, 0]:.0f} s, "
        f"{result['resident_mb_at_end']:.0f} MB at {half[-1, 0]:.0f} s: growth {growth:+.1f} MB "
        f"over the second half (target: flat)")
    return result


def _seconds(value) -> str:
    return "not reached" if value is None else f"{value:.1f} s"
