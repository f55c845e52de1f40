"""`gdplayground bench` section sweep-workers (the sections are listed in __init__.py): a sweep's
wall time with one worker process and with two, and the speed-up, for an 8-run sweep of the
spiral preset and one of MNIST 784-64-10."""

from __future__ import annotations

import statistics
import time
from contextlib import nullcontext

from gdplayground.config import Layer, preset
from gdplayground.labs.sweeps.params import sweep_param
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan
from gdplayground.labs.sweeps.runs import FailedRun, data_sources
from gdplayground.labs.sweeps.workers import WorkerPool

SWEEP_RUNS = 8
SPIRAL_RATES = tuple(0.01 * 1.5**i for i in range(SWEEP_RUNS))  # 0.01 to 0.17: none diverges
MNIST_RATES = tuple(0.0005 * 1.5**i for i in range(SWEEP_RUNS))  # Adam's, 5e-4 to 8.5e-3
MNIST_STEPS = 300

# What each sweep is timed with, by name: a factory of a context giving the executor (entered
# and left outside the timed span: a cluster's start, say; a pool's start is in its run) and the
# speed-up over the first that it is to reach. Another executor is one more line here.
EXECUTORS = {
    "workers 1": (lambda: nullcontext(WorkerPool(1)), None),
    "workers 2": (lambda: nullcontext(WorkerPool(2)), 1.7),
}


def sweep_workers_section(figures, repeats, seconds, out) -> dict:
    """Each sweep's wall time with every executor in turns, their medians, and the first's time
    over each other's (targets in EXECUTORS). No warm-up: a pool's start is part of its sweep."""
    results = {}
    for name, (base, plan) in _sweeps(seconds).items():
        out(f"sweep-workers: {name}, {plan.runs} runs of {plan.steps:,} steps: wall time of "
            f"the whole sweep, the pool's start included")
        results[name] = _compare(base, plan, repeats, out)
    return results


def _sweeps(seconds: float) -> dict:
    """The spiral's runs take 5,000 steps a second of `seconds`: 10,000 at the default 2 s, 1.4 s
    a run on one idle 2.8 GHz Xeon core (a pool's start, ~0.3 s, is small beside four of them);
    MNIST's are 300 steps at the default (fewer at a shorter --seconds)."""
    mnist = preset("mnist")
    mnist.architecture.hidden = [Layer(64, "relu")]  # --layers 64
    steps = max(10, round(5000 * seconds)), max(1, min(MNIST_STEPS, round(150 * seconds)))
    return {"spiral": (preset("spiral"), _line(SPIRAL_RATES, steps[0])),
            "MNIST 784-64-10": (mnist, _line(MNIST_RATES, steps[1]))}


def _line(rates: tuple, steps: int) -> SweepPlan:
    return SweepPlan((SweepAxis(sweep_param("lr"), rates),), steps=steps)


def _compare(base, plan: SweepPlan, repeats: int, out) -> dict:
    tasks = plan.tasks(base)
    sources = data_sources(tasks)  # read once, as run_sweep does before any executor starts
    walls = {name: [] for name in EXECUTORS}
    for _ in range(repeats):
        for name, (executor, _) in EXECUTORS.items():
            with executor() as pool:
                walls[name].append(_wall_seconds(pool, tasks, sources))
    seconds = {name: statistics.median(times) for name, times in walls.items()}
    out("  " + "   ".join(f"{name} {wall:.2f} s" for name, wall in seconds.items()))
    first, *others = EXECUTORS
    speedups = {}
    for name in others:
        speedups[name] = statistics.median(a / b for a, b in zip(walls[first], walls[name]))
        out(f"  {first} / {name}: {speedups[name]:.2f} (target >= {EXECUTORS[name][1]})")
    return {"runs": plan.runs, "steps": plan.steps, "seconds": seconds, "speedup": speedups}


def _wall_seconds(executor, tasks, sources) -> float:
    started = time.perf_counter()
    runs = list(executor.run(tasks, sources, None, None))
    seconds = time.perf_counter() - started
    failed = [run.reason for run in runs if isinstance(run, FailedRun)]
    if failed or len(runs) < len(tasks):
        raise RuntimeError(f"a benched sweep did not train all its runs: {failed}")
    return seconds
