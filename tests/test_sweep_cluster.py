"""Sweeps on a Dask cluster: a LocalCluster of two worker processes on this machine trains the
same runs as this process does, bit for bit; the data is sent once to each worker; a run that
raises, a worker killed, a cancel; addresses that no scheduler answers, that are no address, and
schedulers whose workers cannot train the runs, each refused in one message."""

import dataclasses
import os
import signal
import socket
import sys
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed")

from gdplayground.config import preset  # noqa: E402
from gdplayground.labs.sweeps import cluster  # noqa: E402
from gdplayground.labs.sweeps.cluster import ClusterPool, parse_address  # noqa: E402
from gdplayground.labs.sweeps.params import SweepError, sweep_param  # noqa: E402
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, run_sweep  # noqa: E402
from gdplayground.labs.sweeps.runs import FailedRun, SweepRun, data_sources  # noqa: E402

# lr 30 diverges: a run that stops early must stop at the same step on the cluster
GRID = SweepPlan((SweepAxis(sweep_param("lr"), (0.03, 30.0)),
                  SweepAxis(sweep_param("batch-size"), (16, 64))), repeats=2, steps=25)


@pytest.fixture(scope="module")
def local_cluster():
    """A two-worker cluster shared by the file's tests (it takes seconds to start)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local:
        yield local


@pytest.fixture
def pool(local_cluster):
    with ClusterPool(local_cluster.scheduler_address) as pool:
        yield pool


def figures(run: SweepRun) -> tuple:
    return (run.final_loss, run.least_loss, run.test_loss, run.test_accuracy,
            run.diverged_at_step)


def test_a_cluster_sweep_trains_the_runs_of_this_process_bit_for_bit(pool):
    told = []
    on_cluster = list(run_sweep(preset("xor"), GRID, pool,
                                progress=lambda *progress: told.append(progress)))
    here = {run.index: run for run in run_sweep(preset("xor"), GRID)}
    assert sorted(run.index for run in on_cluster) == list(range(GRID.runs)) == sorted(here)
    assert any(run.diverged for run in on_cluster) and not all(run.diverged for run in on_cluster)
    for run in on_cluster:
        local = here[run.index]
        assert (run.point, run.repeat, run.config) == (local.point, local.repeat, local.config)
        assert figures(run) == figures(local)
        assert run.state.parameters.keys() == local.state.parameters.keys()
        for name, weights in run.state.parameters.items():
            assert np.array_equal(weights, local.state.parameters[name])
        assert np.array_equal(run.curve[1], local.curve[1])
        def swept(summary):
            return {key: value for key, value in summary.items() if key.startswith("sweep_")}
        assert swept(run.summary) == swept(local.summary)
    # every run told its start; none was told after its end
    assert {(index, step, steps) for index, step, steps in told if step == 0} == {
        (index, 0, 25) for index in range(GRID.runs)}


def test_a_run_that_raises_is_a_failed_run_with_its_reason_and_the_others_finish(pool):
    tasks = GRID.tasks(preset("spiral"))
    broken = dataclasses.replace(tasks[2], config=dataclasses.replace(tasks[2].config))
    broken.config.learning_rate = dataclasses.replace(broken.config.learning_rate, value=-1.0)
    tasks[2] = broken
    runs = {run.index: run for run in pool.run(tasks, data_sources(tasks))}
    assert sorted(runs) == list(range(len(tasks)))
    failed = runs.pop(2)
    assert isinstance(failed, FailedRun) and failed.point == tasks[2].point
    assert failed.reason == "ConfigError: learning_rate.value must be above 0 and at most 100 " \
                            "(got -1.0)"
    assert all(isinstance(run, SweepRun) for run in runs.values())


def kept_data(clear=False) -> int:
    """How many data sets a worker keeps (it runs there); `clear` empties its store first."""
    if clear:
        cluster._RUN_DATA.clear()
    return len(cluster._RUN_DATA)


def test_the_data_is_sent_once_to_each_worker_not_with_each_run(pool, monkeypatch):
    cluster._RUN_DATA.clear()  # this process's: it must stay empty, the runs train elsewhere
    client = pool.connect().client
    assert set(client.run(kept_data, clear=True).values()) == {0}
    scattered = []
    scatter = client.scatter
    monkeypatch.setattr(client, "scatter", lambda data, **kwargs: scattered.append(kwargs)
                        or scatter(data, **kwargs))
    plan = SweepPlan((SweepAxis(sweep_param("lr"), (0.01, 0.02, 0.03, 0.04, 0.05, 0.06)),),
                     steps=5)
    assert len(list(run_sweep(preset("spiral"), plan, pool))) == 6
    assert scattered == [{"broadcast": True}]
    built = client.run(kept_data)  # each worker's data: one per thread, one thread a worker
    assert len(built) == 2 and set(built.values()) <= {0, 1} and sum(built.values()) >= 1
    assert cluster._RUN_DATA == {}


def test_an_address_that_no_scheduler_answers_is_one_clear_message_at_once():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again: nothing listens there
    pool = ClusterPool(f"tcp://127.0.0.1:{port}")
    started = time.perf_counter()
    with pytest.raises(SweepError) as error:
        list(run_sweep(preset("xor"), GRID, pool))
    assert str(error.value) == (
        f"no Dask scheduler answers at tcp://127.0.0.1:{port}: start one with `dask scheduler`, "
        "or check the address and the firewall")
    assert time.perf_counter() - started < cluster.CONNECT_SECONDS  # refused: no waiting
    assert pool.client is None


def test_a_port_that_is_no_scheduler_is_the_same_message_in_the_time_given(pool):
    """A listener that says nothing (Dask's Client would wait for ever) and a worker."""
    worker = next(iter(pool.connect().client.scheduler_info()["workers"]))
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        for address in ("tcp://127.0.0.1:%d" % mute.getsockname()[1], worker):
            with pytest.raises(SweepError, match=f"^no Dask scheduler answers at {address}: "):
                ClusterPool(address, timeout=0.5).connect()


@pytest.mark.parametrize("workers, threads, problem", [
    (0, 1, "has no worker: start some with `dask worker {} --nthreads 1`$"),
    (1, 2, "run up to 2 threads each: start them with `dask worker {} --nthreads 1` \\(and "
           "--nworkers N for N processes\\): a run's BLAS threads are set for its whole process$")])
def test_a_scheduler_without_workers_of_one_thread_is_refused_as_the_pool_connects(
        workers, threads, problem):
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=threads, processes=False,
                                  protocol="tcp", dashboard_address=":0") as local:
        pool = ClusterPool(local.scheduler_address)
        with pytest.raises(SweepError, match=problem.format(local.scheduler_address)):
            pool.connect()
        assert pool.client is None  # closed


def test_a_worker_without_this_gdplayground_python_and_numpy_is_named():
    here = {"python": "3.11.7.final.0", "numpy": "2.4.6", "gdplayground": "0.4.1"}
    assert cluster._mismatch(here, here | {"python": "3.11.9.final.0", "numpy": "2.4.1"}) is None
    assert cluster._mismatch(here, here | {"gdplayground": None}) == (
        "gdplayground missing (here 0.4.1)")
    assert cluster._mismatch(here, here | {"gdplayground": "0.4.0"}) == (
        "gdplayground 0.4.0 (here 0.4.1)")
    assert cluster._mismatch(here, here | {"numpy": "1.26.4"}) == "numpy 1.26.4 (here 2.4.6)"
    assert cluster._mismatch(here, here | {"python": "3.12.1.final.0"}) == (
        "python 3.12.1.final.0 (here 3.11.7.final.0)")


def test_without_dask_a_cluster_sweep_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    pool = ClusterPool("tcp://127.0.0.1:8786")  # made without Dask
    with pytest.raises(SweepError) as error:
        pool.connect()
    assert str(error.value) == 'sending a sweep to a cluster needs Dask: pip install ".[cluster]"'


@pytest.mark.parametrize("address", ["localhost", "tcp://", "http://host:8786", "tcp://host:0",
                                     "tcp://host:65536", "tcp://host:port", "tcp://a b:8786",
                                     "tcp://host:8786/x", "", None])
def test_what_is_no_scheduler_address_is_refused_as_the_pool_is_made(address):
    with pytest.raises(SweepError, match="is not a Dask scheduler's address: write it "
                                         r"tcp://HOST:PORT \(or tls://, ws://, wss://\)$"):
        ClusterPool(address)


def test_addresses_are_read_with_tcp_as_the_scheme_left_out():
    assert parse_address("10.0.0.5:8786") == ("tcp://10.0.0.5:8786", "10.0.0.5", 8786)
    assert parse_address(" tls://head.lab.example:9000 ") == (
        "tls://head.lab.example:9000", "head.lab.example", 9000)
    assert parse_address("tcp://[::1]:8786") == ("tcp://[::1]:8786", "::1", 8786)


def test_cancel_ends_the_sweep_at_once_keeps_the_runs_it_yielded_and_stops_the_workers(pool):
    """The first run is short, the others would take minutes; the sweep is cancelled once the
    first has ended and the next two have begun, one on each worker."""
    gentle = SweepPlan((SweepAxis(sweep_param("lr"), (0.01, 0.02, 0.03)),), steps=25)  # GRID's
    # lr 30 diverged in 4 steps, sometimes before the cancel was asked: then 3 runs were yielded
    tasks = [dataclasses.replace(task, steps=100_000) for task in gentle.tasks(preset("spiral"))]
    tasks[0] = dataclasses.replace(tasks[0], steps=20)
    runs, told, cancelled_at = [], set(), []

    def cancelled() -> bool:
        if not cancelled_at and runs and {(1, 0, 100_000), (2, 0, 100_000)} <= told:
            cancelled_at.append(time.perf_counter())
        return bool(cancelled_at)

    for run in pool.run(tasks, data_sources(tasks), cancelled, lambda *step: told.add(step)):
        runs.append(run)
    assert time.perf_counter() - cancelled_at[0] < 1.0
    assert len(runs) == 1 and runs[0].index == 0 and runs[0].final_loss is not None
    client = pool.client  # each worker free again: the runs in training stopped
    free = [client.submit(abs, -1, workers=[worker], pure=False) for worker in client.nthreads()]
    assert [future.result(timeout=3) for future in free] == [1, 1]


def sweep_killing_a_worker(pool) -> list:
    """A sweep of 8 runs during which one worker process is killed as its run trains (the
    nanny starts another): last in the file, the cluster changes."""
    client = pool.connect().client
    worker = next(iter(client.run(os.getpid).values()))
    plan = SweepPlan((SweepAxis(sweep_param("lr"), (0.01, 0.02, 0.03, 0.04)),), repeats=2,
                     steps=1000)
    killed = []

    def kill_once(index, step, steps):
        if step > 0 and not killed:
            killed.append(os.kill(worker, signal.SIGKILL))

    return list(run_sweep(preset("spiral"), plan, pool, progress=kill_once)), plan


def test_a_run_whose_worker_is_killed_is_trained_again_elsewhere_and_the_sweep_completes(
        pool):
    """(Two tests at the end of the file: the nanny restarts the killed worker, in seconds.)"""
    runs, plan = sweep_killing_a_worker(pool)
    here = {run.index: run for run in run_sweep(preset("spiral"), plan)}
    assert sorted(run.index for run in runs) == list(range(8))
    assert all(figures(run) == figures(here[run.index]) for run in runs)


def test_a_run_whose_worker_dies_more_often_than_allowed_is_a_failed_run(pool, local_cluster,
                                                                         monkeypatch):
    monkeypatch.setattr(local_cluster.scheduler, "allowed_failures", 0)
    runs, plan = sweep_killing_a_worker(pool)
    failed = [run for run in runs if isinstance(run, FailedRun)]
    assert sorted(run.index for run in runs) == list(range(8))
    assert 1 <= len(failed) <= 2  # the run it trained, and one it may have been given to follow
    assert {run.reason for run in failed} == {
        "its worker died each time it was given one (killed, or out of memory?)"}
