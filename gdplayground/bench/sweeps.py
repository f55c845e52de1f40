"""`gdplayground bench` section sweep-workers (the sections are listed in __init__.py): a sweep's
wall time with one worker process, with two, and on a two-worker Dask LocalCluster, and their
speed-ups over one worker, for an 8-run sweep of the spiral preset and one of MNIST 784-64-10.
A pool's start is part of its sweep (every sweep starts its workers); the cluster is started
and warmed before its sweep is timed (a cluster is running before a sweep is sent to it)."""

from __future__ import annotations

import importlib.util
import logging
import statistics
import time
from contextlib import contextmanager, nullcontext

from gdplayground.config import Layer, preset
from gdplayground.labs.sweeps.params import sweep_param
from gdplayground.labs.sweeps.cluster import ClusterPool
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, run_sweep
from gdplayground.labs.sweeps.runs import FailedRun, data_sources
from gdplayground.labs.sweeps.workers import WorkerPool

SWEEP_RUNS = 8
SPIRAL_RATES = tuple(0.01 * 1.5**i for i in range(SWEEP_RUNS))  # 0.01 to 0.17: none diverges
MNIST_RATES = tuple(0.0005 * 1.5**i for i in range(SWEEP_RUNS))  # Adam's, 5e-4 to 8.5e-3
MNIST_STEPS = 300

CLUSTER_WORKERS = 2


@contextmanager
def local_cluster():
    """A ClusterPool on a LocalCluster of CLUSTER_WORKERS processes of one thread, its workers
    warmed by a sweep of one step (which imports gdplayground there)."""
    from distributed import LocalCluster

    with (LocalCluster(n_workers=CLUSTER_WORKERS, threads_per_worker=1, processes=True,
                       dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster,
          ClusterPool(cluster.scheduler_address) as pool):
        list(run_sweep(preset("xor"), _line((0.1,), 1), pool))
        yield pool


# What each sweep is timed with, by name: a factory of a context giving the executor (entered
# and left outside the timed span: a cluster's start; a pool's start is in its run) and the
# speed-up over the first that it is to reach. The cluster needs the cluster extra.
EXECUTORS = {
    "workers 1": (lambda: nullcontext(WorkerPool(1)), None),
    "workers 2": (lambda: nullcontext(WorkerPool(2)), 1.7),
    f"cluster of {CLUSTER_WORKERS}": (local_cluster, 1.5),
}


def sweep_workers_section(figures, repeats, seconds, out) -> dict:
    """Each sweep's wall time with every executor in turns, their medians, and the first's time
    over each other's (targets in EXECUTORS). No warm-up: a pool's start is part of its sweep."""
    executors = {name: executor for name, executor in EXECUTORS.items()
                 if not name.startswith("cluster") or importlib.util.find_spec("distributed")}
    if len(executors) < len(EXECUTORS):
        out('sweep-workers: no cluster (Dask is not installed: pip install ".[cluster]")')
    results = {}
    for name, (base, plan) in _sweeps(seconds).items():
        out(f"sweep-workers: {name}, {plan.runs} runs of {plan.steps:,} steps: wall time of "
            f"the whole sweep, a pool's start included, a running cluster's not")
        results[name] = _compare(base, plan, executors, repeats, out)
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


def _compare(base, plan: SweepPlan, executors: dict, repeats: int, out) -> dict:
    tasks = plan.tasks(base)
    sources = data_sources(tasks)  # read once, as run_sweep does before any executor starts
    walls = {name: [] for name in executors}
    for _ in range(repeats):
        for name, (executor, _) in executors.items():
            with executor() as pool:
                walls[name].append(_wall_seconds(pool, tasks, sources))
    seconds = {name: statistics.median(times) for name, times in walls.items()}
    out("  " + "   ".join(f"{name} {wall:.2f} s" for name, wall in seconds.items()))
    first, *others = executors
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
