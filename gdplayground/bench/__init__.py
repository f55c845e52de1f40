"""`gdplayground bench`: how fast the engine and the window are, measured side by side.

Sections (all by default; --only picks some):
  engine      training samples/s of configurations (a)-(d) on float32 MNIST-shaped data
  torch       the same network, loss, optimizer, batch and data in PyTorch on the CPU
  gemm        NumPy's own matrix-multiply rate on each configuration's exact shapes, and the
              fraction of it the engine reaches
  gui         the default MNIST configuration with the window live (offscreen) next to the same
              headless, and the gaps between the window's frames; and those gaps while the
              fastest model (no hidden layer, full batch: ~20,000 steps a second) trains
  input-delay what a user feels while the fastest model and the default MNIST network train
              flat out: a press of Space to the worker's last step, a click on Log scale to the
              loss plot repainted, 100 of each (targets: p99 under 100 ms, max under 250 ms)
  startup     seconds from process start to the window shown and to MNIST loaded (new process)
  time-to-98  wall seconds of training until the official test accuracy first reaches 98%,
              headless and with the window live (test set evaluated once per epoch, included)
  memory      peak resident memory while training full MNIST with the window live (new process)
  overlays    the window/headless ratio of the gui section with ten kept runs overlaid on the
              plots, against none (target: within 0.03)
  inside      the window/headless ratio with the Inside tab in view, against the Training tab
              (target: within 0.05)
  race        the Optimizers tab racing six optimizers on Rosenbrock as fast as it can: frames a
              second and the longest gap between two (targets: 30 or more, at most 50 ms)
  long-run    the window training the spiral as fast as it can for ten minutes (--long-seconds):
              peak resident memory, and its growth over the second half (new process)
  sweep       a sweep's training time (4 spiral runs) against the same runs made one after
              another by `gdplayground train` processes (target: a ratio of at most 1.10)
Every figure is a median over repetitions after a warm-up; the thread counts are printed.
Ratios (engine/torch, the GEMM share, window/headless) come from runs taken in turns, so that
the drift of a shared machine hits both sides alike.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdplayground.config import ExperimentConfig, Layer, preset
from gdplayground.files import write_atomic

SECTIONS = ("engine", "torch", "gemm", "gui", "input-delay", "overlays", "inside", "race",
            "startup", "time-to-98", "memory", "long-run", "sweep")


@dataclass(frozen=True)
class Setup:
    hidden: tuple[int, ...]
    optimizer: str
    lr: float
    batch: int

    def config(self) -> ExperimentConfig:
        config = preset("mnist")
        config.data.validation_split = 0.0
        config.architecture.hidden = [Layer(units, "relu") for units in self.hidden]
        config.optimizer.name, config.learning_rate.value = self.optimizer, self.lr
        config.batch.mode, config.batch.size = "mini", self.batch
        return config

    @property
    def sizes(self) -> list[int]:
        return [784, *self.hidden, 10]

    def flops_per_sample(self) -> int:
        """6 per weight (forward, weight gradient, input gradient), less the first layer's
        input gradient, which nothing needs."""
        weights = [a * b for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        return 6 * sum(weights) - 2 * weights[0]


SETUPS = {
    "a": Setup((256, 128), "adam", 1e-3, 128),
    "b": Setup((64, 32), "momentum", 1e-2, 32),
    "c": Setup((), "sgd", 1e-2, 1),
    "d": Setup((1024, 1024), "adam", 1e-3, 512),
}
TIME_TO_98 = {"schedule": "cosine", "epochs": 12}  # configuration (a), cosine decay over 12 epochs


def run(sections=SECTIONS, repeats: int = 5, seconds: float = 2.0, json_path: Path | None = None,
        out=print, long_seconds: float = 600.0) -> dict:
    """Measure the chosen sections, print a table as each finishes, return the figures."""
    figures = {"machine": machine()}
    out(f"gdplayground bench on {figures['machine']['cpu']}: {figures['machine']['threads']}")
    out(f"each figure: median of {repeats} runs of {seconds:g} s after a warm-up\n")
    from gdplayground.bench.labs import (
        input_delay_section, inside_section, overlays_section, race_section, sweep_section)

    measures = {"engine": engine_section, "torch": torch_section, "gemm": gemm_section,
                "gui": gui_section, "input-delay": input_delay_section,
                "overlays": overlays_section, "inside": inside_section,
                "race": race_section,
                "startup": startup_section, "time-to-98": time_to_98_section,
                "memory": memory_section, "sweep": sweep_section,
                "long-run": lambda *args: long_run_section(*args, duration=long_seconds)}
    for name in sections:
        figures[name] = measures[name](figures, repeats, seconds, out)
    if json_path:
        write_atomic(Path(json_path), json.dumps(figures, indent=1).encode())
        out(f"\nwrote {json_path}")
    return figures


def machine() -> dict:
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()]
    threads = f"NumPy {np.__version__} with {', '.join(blas) or 'unknown BLAS'}"
    try:
        import torch
        threads += f"; torch {torch.__version__} with {torch.get_num_threads()} threads"
    except ImportError:
        pass
    return {"cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "threads": threads}


# --- engine, torch, gemm -------------------------------------------------------------------
def engine_section(figures, repeats, seconds, out) -> dict:
    out("engine: training samples per second")
    rates = {}
    for key, setup in SETUPS.items():
        rates[key] = _median_rate(engine_runner(setup.config()), repeats, seconds)
        out(f"  ({key}) {'-'.join(map(str, setup.sizes)):<16} {setup.optimizer:<8} batch "
            f"{setup.batch:<4} {rates[key]:12,.0f} samples/s")
    return rates


def engine_runner(config: ExperimentConfig):
    """A function that trains for some seconds and returns the samples per second."""
    from gdplayground.engine import Trainer

    trainer = Trainer(config)

    def train_for(seconds: float) -> float:
        start, samples = time.perf_counter(), trainer.samples_seen
        while time.perf_counter() - start < seconds:
            trainer.step()
        return (trainer.samples_seen - samples) / (time.perf_counter() - start)
    train_for(0.3)  # warm-up
    return train_for


def torch_section(figures, repeats, seconds, out) -> dict:
    try:
        import torch  # noqa: F401
    except ImportError:
        out("torch: skipped, PyTorch is not installed (pip install torch)")
        return {"skipped": "PyTorch is not installed"}
    out("torch: the same training in PyTorch on the CPU; engine/torch from alternating runs")
    results = {}
    for key, setup in SETUPS.items():
        _, rate, ratio = _alternate(engine_runner(setup.config()), _torch_runner(setup),
                                    repeats, seconds)
        results[key] = {"samples_per_second": rate, "engine_over_torch": ratio}
        out(f"  ({key}) {rate:12,.0f} samples/s    engine/torch {ratio:5.2f}")
    return results


def _torch_runner(setup: Setup):
    import torch

    from gdplayground.data.mnist import load_bundled_mnist

    images, labels = load_bundled_mnist()[:2]
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255)
    y = torch.from_numpy(labels.copy())  # the cached MNIST arrays are read-only
    layers = []
    for i, (n_in, n_out) in enumerate(zip(setup.sizes[:-1], setup.sizes[1:])):
        layers += [torch.nn.Linear(n_in, n_out)] + ([torch.nn.ReLU()] if i < len(setup.sizes) - 2 else [])
    model = torch.nn.Sequential(*layers)
    optimizer = {"adam": lambda p: torch.optim.Adam(p, setup.lr),
                 "momentum": lambda p: torch.optim.SGD(p, setup.lr, momentum=0.9),
                 "sgd": lambda p: torch.optim.SGD(p, setup.lr)}[setup.optimizer](model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    order, position = torch.randperm(len(x)), [0]

    def step() -> int:
        if position[0] >= len(x):
            order[:], position[0] = torch.randperm(len(x)), 0
        batch = order[position[0]:position[0] + setup.batch]
        position[0] += setup.batch
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x[batch]), y[batch]).backward()
        optimizer.step()
        return len(batch)

    def train_for(seconds: float) -> float:
        start, samples = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            samples += step()
        return samples / (time.perf_counter() - start)
    return train_for


def gemm_section(figures, repeats, seconds, out) -> dict:
    out("gemm: NumPy's products (np.dot, as the engine calls them) on each configuration's "
        "shapes, and the engine's share of their rate, from alternating runs")
    results = {}
    for key, setup in SETUPS.items():
        engine, rate, share = _alternate(engine_runner(setup.config()), _gemm_runner(setup),
                                         repeats, seconds)
        achieved = engine * setup.flops_per_sample()
        results[key] = {"gemm_gflops": rate / 1e9, "engine_gflops": achieved / 1e9,
                        "fraction": share * setup.flops_per_sample()}
        out(f"  ({key}) GEMM {rate / 1e9:7.1f} GFLOP/s   engine {achieved / 1e9:7.1f} GFLOP/s   "
            f"{share * setup.flops_per_sample():6.1%}")
    return results


def _gemm_runner(setup: Setup):
    """A function that runs one step's products for some seconds (forward, weight gradients,
    input gradients) and returns their flops per second."""
    rng = np.random.default_rng(0)
    b = setup.batch
    products = []
    for i, (n_in, n_out) in enumerate(zip(setup.sizes[:-1], setup.sizes[1:])):
        x, w = rng.random((b, n_in), np.float32), rng.random((n_in, n_out), np.float32)
        dz = rng.random((b, n_out), np.float32)
        products += [(x, w, np.empty((b, n_out), np.float32)),
                     (x.T, dz, np.empty((n_in, n_out), np.float32))]
        if i:
            products.append((dz, w.T, np.empty((b, n_in), np.float32)))
    flops = sum(2 * a.shape[0] * a.shape[1] * c.shape[1] for a, c, _ in products)

    def multiply_for(duration: float) -> float:
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < duration:
            for a, c, result in products:
                np.dot(a, c, out=result)
            count += 1
        return count * flops / (time.perf_counter() - start)
    return multiply_for


def _alternate(ours, theirs, repeats: int, seconds: float) -> tuple[float, float, float]:
    """Medians of our rate, their rate and the ratio ours/theirs, measured in turns so that a
    slow spell of the machine (on this VM a figure can drift by 30% within a minute) hits both."""
    ours(min(0.5, seconds)), theirs(min(0.5, seconds))  # warm-up
    pairs = [(ours(seconds), theirs(seconds)) for _ in range(repeats)]
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a / b for a, b in pairs))


def _median_rate(measure, repeats: int, seconds: float) -> float:
    measure(min(0.5, seconds))  # warm-up: caches, allocations, BLAS threads
    return statistics.median(measure(seconds) for _ in range(repeats))


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
    from gdplayground.gui.app import pause, wait_for

    ticks, frames = [], []
    window.redraw_timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.toggle_play()
    wait_for(lambda: window.last_step >= 20, 60)
    watcher = FrameWatcher(window, lambda f: frames.append((f.time, f.samples_seen)))
    ticks.clear()
    pause(seconds)
    window.toggle_play()
    wait_for(lambda: not window.running, 60)
    window.close()
    del watcher
    (t0, s0), (t1, s1) = frames[0], frames[-1]
    return (s1 - s0) / (t1 - t0), list(np.diff(ticks) * 1000)


def open_window(config: ExperimentConfig):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdplayground.gui.app import application, wait_for
    from gdplayground.gui.main_window import MainWindow

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
from gdplayground.gui.app import application, wait_for
from gdplayground.gui.main_window import MainWindow
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
    from gdplayground.gui.app import wait_for

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
from gdplayground.bench import SETUPS
from gdplayground.gui.app import application, pause, wait_for
from gdplayground.gui.main_window import MainWindow
app = application()
window = MainWindow(SETUPS["a"].config())
window.show()
wait_for(lambda: window.info is not None, 120)
window.toggle_play()
pause(float(sys.argv[1]))
window.toggle_play()
wait_for(lambda: not window.running, 60)
window.close()
from gdplayground.bench import memory_kb
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
from gdplayground.bench import memory_kb
from gdplayground.config import preset
from gdplayground.gui.app import application, pause, wait_for
from gdplayground.gui.main_window import MainWindow
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


# --- sweep ---------------------------------------------------------------------------------


def _seconds(value) -> str:
    return "not reached" if value is None else f"{value:.1f} s"

