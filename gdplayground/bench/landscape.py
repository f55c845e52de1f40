"""`gdplayground bench` section landscape (listed in __init__.py): the Landscape tab's plane and
line of the default MNIST network, 784-256-128-10, on 2,000 training digits, in float64."""

from __future__ import annotations

import statistics
import time

import numpy as np

from gdplayground.bench.engine import SETUPS

PLANE_GRID, LINE_POINTS, SAMPLES = 31, 201, 2000
PLANE_TARGET, LINE_TARGET = 10.0, 2.0  # seconds (issue 19)


def landscape_section(figures, repeats, seconds, out) -> dict:
    """A 31×31 plane (target: at most 10 s) and the 201-point line (at most 2 s), each the
    median of `repeats` timings after a warm-up."""
    from gdplayground.labs.landscape import line, plane

    terrain = _terrain()
    probe, start = terrain.probe, terrain.path.weights[0]
    out(f"landscape: {probe.describe().rsplit(',', 1)[0]}, on {SAMPLES:,} training digits, "
        f"float64")
    plane(probe, 3, samples=SAMPLES)  # warm-up
    plane_s = _median_seconds(lambda: plane(probe, PLANE_GRID, samples=SAMPLES), repeats)
    alphas = np.linspace(-0.5, 1.5, LINE_POINTS)
    line_s = _median_seconds(lambda: line(probe, start, probe.flat(), alphas, SAMPLES), repeats)
    out(f"  plane {PLANE_GRID}×{PLANE_GRID}: {plane_s:.2f} s (target <= {PLANE_TARGET:g} s)   "
        f"line of {LINE_POINTS} points: {line_s:.2f} s (target <= {LINE_TARGET:g} s)")
    return {"plane_s": plane_s, "line_s": line_s, "plane_grid": PLANE_GRID,
            "line_points": LINE_POINTS, "samples": SAMPLES}


def _terrain():
    """The default MNIST network after a few steps, as the Landscape tab gets it."""
    from gdplayground.engine import Trainer
    from gdplayground.labs.landscape import Terrain

    trainer = Trainer(SETUPS["a"].config())
    for _ in range(20):
        trainer.step()
    return Terrain.of(trainer)


def _median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
