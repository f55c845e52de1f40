"""`gdplayground bench` section sweep-cluster (listed in __init__.py): two sweeps of 8 runs, the
spiral preset's and MNIST 784-64-10's for 300 steps, trained through a two-worker Dask
LocalCluster against the same runs one after another in this process on one BLAS thread (what
`--workers 1` does). The cluster's start is timed apart and not counted in the sweeps."""

from __future__ import annotations

import dataclasses
import statistics
import time
from contextlib import contextmanager
from typing import Iterator

from gdplayground.config import ExperimentConfig, Layer, preset
from gdplayground.labs.sweeps.params import sweep_param, sweep_values
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, run_sweep

RUNS = 8
CLUSTER_WORKERS = 2
TARGET = 1.5  # workers 1 / cluster


def bench_sweeps(spiral_steps: int) -> dict[str, tuple[ExperimentConfig, SweepPlan]]:
    """The two sweeps, by name: 8 learning rates, log-spaced, of each network."""
    mnist = preset("mnist")
    mnist.architecture.hidden = [Layer(64, "relu")]  # 784-64-10
    return {"spiral": (preset("spiral"), _rates(0.003, 0.3, spiral_steps)),
            "mnist": (mnist, _rates(3e-4, 3e-2, 300))}


def _rates(low: float, high: float, steps: int) -> SweepPlan:
    return SweepPlan((SweepAxis(sweep_param("lr"), tuple(sweep_values(low, high, RUNS, True)),
                                log=True),), steps=steps)


def sweep_seconds(base: ExperimentConfig, plan: SweepPlan, executor=None) -> float:
    """Wall seconds of a whole sweep, its data read and sent included."""
    started = time.perf_counter()
    for _ in run_sweep(base, plan, executor):
        pass
    return time.perf_counter() - started


@contextmanager
def local_cluster(workers: int = CLUSTER_WORKERS) -> Iterator:
    """A LocalCluster of `workers` processes of one thread and a ClusterPool connected to it,
    with the seconds they took to start (the workers' first, short sweep included: it imports
    gdplayground there)."""
    from distributed import LocalCluster

    from gdplayground.labs.sweeps.cluster import ClusterPool

    started = time.perf_counter()
    with (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                       dashboard_address=":0") as cluster,
          ClusterPool(cluster.scheduler_address) as pool):
        spiral, plan = bench_sweeps(1)["spiral"]
        sweep_seconds(spiral, plan, pool)  # warm-up
        yield pool, time.perf_counter() - started


def cluster_seconds(spiral_steps: int, repeats: int) -> dict:
    """Median wall seconds of each sweep in this process ("workers 1") and on the cluster, taken
    in turns, and the cluster's start."""
    sweeps = bench_sweeps(spiral_steps)
    for base, plan in sweeps.values():  # warm-up
        sweep_seconds(base, dataclasses.replace(plan, steps=5))
    with local_cluster() as (pool, start):
        figures = {"start_s": start}
        for name, (base, plan) in sweeps.items():
            pairs = [(sweep_seconds(base, plan), sweep_seconds(base, plan, pool))
                     for _ in range(repeats)]
            local, remote = (statistics.median(side) for side in zip(*pairs))
            figures[name] = {"runs": plan.runs, "steps": plan.steps, "workers_1_s": local,
                             "cluster_s": remote,
                             "ratio": statistics.median(a / b for a, b in pairs)}
    return figures


def sweep_cluster_section(figures, repeats, seconds, out) -> dict:
    """workers 1 / cluster for the two sweeps (target: at least 1.5)."""
    spiral_steps = max(50, round(1000 * seconds))
    out(f"sweep-cluster: {RUNS}-run sweeps (spiral {spiral_steps:,} steps a run, MNIST 784-64-10 "
        f"300 steps) in this process on one BLAS thread (as --workers 1) and on a "
        f"{CLUSTER_WORKERS}-worker LocalCluster, wall time")
    result = cluster_seconds(spiral_steps, max(1, min(repeats, 3)))  # a pair: ~10 s here
    out(f"  cluster start {result['start_s']:.2f} s (not counted below)")
    for name in ("spiral", "mnist"):
        row = result[name]
        out(f"  {name:<7} workers 1 {row['workers_1_s']:.2f} s   cluster {row['cluster_s']:.2f} s"
            f"   workers 1 / cluster {row['ratio']:.2f} (target >= {TARGET})")
    return result
