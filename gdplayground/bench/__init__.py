"""`gdplayground bench`: how fast the engine and the window are, measured side by side.

Sections (all by default; --only picks some):
  engine      training samples/s of configurations (a)-(e) on float32 MNIST-shaped data
  torch       the same network, loss, optimizer, batch and data in PyTorch on the CPU, on as
              many threads as OpenBLAS has
  gemm        NumPy's own matrix-multiply rate on each dense configuration's exact shapes, and
              the fraction of it the engine reaches
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
  sweep-workers
              an 8-run sweep of the spiral preset and one of MNIST 784-64-10 (300 steps a run):
              wall time with one worker process, with two (target: 1.7 times faster) and on a
              running two-worker Dask LocalCluster (target: 1.5 times faster)
  sharpness   λ_max of configuration (a)'s network on 1,000 digits to 1%, against a tight
              reference (targets: within 1% in at most 5 s)
  path-cost   training samples/s keeping the run's path and not keeping it (target: at most 2%
              slower)
  landscape   the Landscape tab's 31×31 plane and 201-point line of the default MNIST network
              on 2,000 training digits (targets: at most 10 s and 2 s)
Every figure is a median over repetitions after a warm-up; the thread counts are printed.
Ratios (engine/torch, the GEMM share, window/headless) come from runs taken in turns, so that
the drift of a shared machine hits both sides alike.

Each section is a function of a module here, listed by `run`: engine.py (engine, torch, gemm,
path-cost and the configurations), window.py (gui, startup, time-to-98, memory, long-run),
input_delay.py (input-delay), labs.py (overlays, inside, race, sweep, sharpness), landscape.py
(landscape), sweeps.py (sweep-workers). They import one another one way only: engine.py and
sweeps.py none of the others, window.py and landscape.py
engine.py, labs.py and input_delay.py engine.py and window.py; and none of them this registry.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from gdplayground.bench.engine import (
    engine_section, gemm_section, path_cost_section, torch_section)
from gdplayground.bench.input_delay import input_delay_section
from gdplayground.bench.landscape import landscape_section
from gdplayground.bench.labs import (
    inside_section, overlays_section, race_section, sharpness_section, sweep_section)
from gdplayground.bench.sweeps import sweep_workers_section
from gdplayground.bench.window import (
    gui_section, long_run_section, memory_section, startup_section, time_to_98_section)
from gdplayground.files import write_atomic

SECTIONS = ("engine", "torch", "gemm", "gui", "input-delay", "overlays", "inside", "race",
            "startup", "time-to-98", "memory", "long-run", "sweep", "sweep-workers",
            "sharpness", "path-cost", "landscape")


def run(sections=SECTIONS, repeats: int = 5, seconds: float = 2.0, json_path: Path | None = None,
        out=print, long_seconds: float = 600.0) -> dict:
    """Measure the chosen sections, print a table as each finishes, return the figures."""
    figures = {"machine": machine()}
    out(f"gdplayground bench on {figures['machine']['cpu']}: {figures['machine']['threads']}")
    out(f"each figure: median of {repeats} runs of {seconds:g} s after a warm-up\n")
    measures = {"engine": engine_section, "torch": torch_section, "gemm": gemm_section,
                "gui": gui_section, "input-delay": input_delay_section,
                "overlays": overlays_section, "inside": inside_section,
                "race": race_section,
                "startup": startup_section, "time-to-98": time_to_98_section,
                "memory": memory_section, "sweep": sweep_section,
                "sweep-workers": sweep_workers_section,
                "sharpness": sharpness_section, "path-cost": path_cost_section,
                "landscape": landscape_section,
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
