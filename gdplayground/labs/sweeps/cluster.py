"""The executor of a Dask cluster: `ClusterPool(address)` sends a sweep's runs to a running
`dask.distributed` scheduler, whose workers train them with `runs.train_task`, as local workers do.

- Dask is an optional extra (`pip install ".[cluster]"`): it is imported only when a pool
  connects, and its absence is one message.
- The data's sources are sent once to every worker (`scatter(broadcast=True)`), not with each
  run; each worker thread builds its data sets from them once (`_run_data`) and keeps them for
  the tasks that follow.
- Runs come back as each ends. A run's progress travels as the scheduler's events (a topic of the
  sweep's own), at its start and then at most every runs.PROGRESS_SECONDS, and is told from the
  thread that iterates, as InProcess tells it.
- A task whose worker died is rescheduled by Dask (up to the scheduler's allowed failures); an
  exception is retried once; a task that still fails becomes a FailedRun with the reason in
  words, and the sweep goes on.
- On cancel, every run is cancelled and the sweep ends at once; a run a worker has begun stops
  at its next step (`_dropped`).

The workers need this gdplayground installed, with the same Python and NumPy (the task is
`_train_on_worker`, imported by name there, and runs travel pickled): `connect` checks them, and
that they run one thread each.
"""

from __future__ import annotations

import asyncio
import queue
import re
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence

from gdplayground.config import shown
from gdplayground.labs.sweeps.params import SweepError
from gdplayground.labs.sweeps.runs import (
    FailedRun, Progress, RunData, RunTask, SweepRun, train_task)

CONNECT_SECONDS = 5.0  # to reach the scheduler and shake hands with it
POLL_SECONDS = 0.1  # how often `cancelled()` is asked while the runs train
SCHEMES = ("tcp", "tls", "ws", "wss")  # distributed's transports over TCP (ucx needs its own)
ADDRESS = re.compile(r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
                     r":(?P<port>[0-9]{1,5})")
INSTALL_DASK = 'sending a sweep to a cluster needs Dask: pip install ".[cluster]"'
SAME_VERSIONS = {"gdplayground": 3, "python": 2, "numpy": 2}  # the parts a worker must share
KEPT_DATA = 4  # a worker's data per sweep's sources (and thread): sweeps that share a cluster


class ClusterPool:
    """Trains a sweep's runs on the workers of a Dask scheduler at `address` (tcp://HOST:PORT).
    Making one checks only the address's form; `connect()` reaches the scheduler."""

    def __init__(self, address: str, timeout: float = CONNECT_SECONDS):
        self.address, self.host, self.port = parse_address(address)
        self.timeout = timeout
        self.client = None

    def connect(self) -> ClusterPool:
        """Reach the scheduler (if not yet); SweepError with one message if it cannot be."""
        if self.client is None:
            try:
                from distributed import Client
            except ImportError:
                raise SweepError(INSTALL_DASK) from None
            try:
                _answer(self.address, self.host, self.port, self.timeout)
                self.client = Client(self.address, timeout=self.timeout, set_as_default=False)
            except OSError:  # refused, unreachable, unknown host, or no answer in time
                raise SweepError(
                    f"no Dask scheduler answers at {self.address}: start one with `dask "
                    "scheduler`, or check the address and the firewall") from None
            self._check_workers()
        return self

    def _check_workers(self) -> None:
        """SweepError, the client closed, if the workers cannot train a sweep's runs."""
        problem = self._workers_problem()
        if problem:
            self.close()
            raise SweepError(problem)

    def _workers_problem(self) -> str | None:
        """No worker; one that runs tasks on several threads (a run's BLAS threads are set for
        its whole process, by threadpoolctl: runs side by side in one process would change one
        another's); or one without this gdplayground, Python and NumPy (a worker that cannot
        read a task ends)."""
        threads = self.client.nthreads()
        start = f"`dask worker {self.address} --nthreads 1`"
        if not threads:
            return f"the Dask scheduler at {self.address} has no worker: start some with {start}"
        if max(threads.values()) > 1:
            return (f"the Dask workers at {self.address} run up to {max(threads.values())} "
                    f"threads each: start them with {start} (and --nworkers N for N "
                    "processes): a run's BLAS threads are set for its whole process")
        versions = self.client.get_versions(packages=["gdplayground"])
        for worker, info in versions["workers"].items():
            if mismatch := _mismatch(versions["client"]["packages"], info["packages"]):
                return (f"the Dask worker {worker} has {mismatch}: the workers need this "
                        "gdplayground with its cluster extra, and the same Python and NumPy "
                        "minor versions")
        return None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> ClusterPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, tasks: Sequence[RunTask], sources: dict,
            cancelled: Callable[[], bool] | None = None, progress: Progress | None = None
            ) -> Iterator[SweepRun | FailedRun]:
        """Train the tasks on the cluster, yielding each run as it ends (see the module's
        docstring); `progress(index, step, steps)` at each run's start and as it trains."""
        client = self.connect().client
        sweep = uuid.uuid4().hex  # names the sweep's tasks, its data on the workers, its topic
        topic = _topic(sweep)
        news = queue.Queue()  # runs' progress, and tasks ended: put there by Dask's threads
        client.subscribe_topic(topic, lambda event: news.put(event[1]))  # [index, step, steps]
        data = client.scatter([sources], broadcast=True)[0]
        futures = client.map(_train_on_worker, tasks, sources=data, sweep=sweep,
                             key=[f"sweep-{sweep}-run-{task.index}" for task in tasks],
                             pure=False, retries=1)
        pending = {task.index: future for task, future in zip(tasks, futures)}
        for task, future in zip(tasks, futures):
            future.add_done_callback(lambda _, task=task: news.put(task))
        try:
            while pending:
                if cancelled is not None and cancelled():
                    return
                try:
                    item = news.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(item, RunTask):
                    yield _outcome(pending.pop(item.index), item)
                elif progress is not None and item[0] in pending:  # not a late word of an end
                    progress(*item)
        finally:  # ended, cancelled, or the caller stopped iterating
            client.cancel(list(pending.values()))
            client.unsubscribe_topic(topic)


def parse_address(address: str) -> tuple[str, str, int]:
    """(address with its scheme, host, port) of a scheduler's address; SweepError if it is
    not one."""
    match = ADDRESS.fullmatch(address.strip()) if isinstance(address, str) else None
    port = int(match["port"]) if match else 0
    if not match or (match["scheme"] or "tcp") not in SCHEMES or not 0 < port < 65536:
        raise SweepError(f"{shown(address)} is not a Dask scheduler's address: write it "
                         f"tcp://HOST:PORT (or {', '.join(f'{s}://' for s in SCHEMES[1:])})")
    scheme = match["scheme"] or "tcp"
    return f"{scheme}://{match['host']}:{port}", match["host"].strip("[]"), port


def _mismatch(ours: dict, theirs: dict) -> str | None:
    """What a worker's versions (get_versions' "packages") lack against this process's: "numpy
    1.26.4 (here 2.4.6)"; None if nothing."""
    for name, parts in SAME_VERSIONS.items():
        if _release(theirs.get(name), parts) != _release(ours.get(name), parts):
            return f"{name} {theirs.get(name) or 'missing'} (here {ours.get(name)})"
    return None


def _release(version: str | None, parts: int) -> list[str] | None:
    return None if version is None else version.split(".")[:parts]


def _answer(address: str, host: str, port: int, timeout: float) -> None:
    """Ask the scheduler who it is, in `timeout` seconds; OSError if it does not say. Dask's
    Client would try a refused port again and again until its timeout, and would wait for ever
    on a port that takes the connection and says nothing (the dashboard's, say); and when it
    fails it leaves its thread behind."""
    socket.create_connection((host, port), timeout).close()  # refused, unknown host: at once
    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever loop the caller runs
        identity = thread.submit(asyncio.run, _identity(address, timeout)).result()
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":  # a worker, say
        raise ConnectionRefusedError(f"{address} is no scheduler")


async def _identity(address: str, timeout: float) -> dict:
    from distributed.comm import connect
    from distributed.security import Security

    async def ask() -> dict:
        comm = await connect(address, timeout, **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    return await asyncio.wait_for(ask(), timeout)


def _outcome(future, task: RunTask) -> SweepRun | FailedRun:
    """The run a finished task made, or a FailedRun saying why there is none."""
    from distributed import CancelledError
    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return FailedRun.of(task, "its worker died each time it was given one (killed, or out "
                                  "of memory?)")
    except CancelledError:
        return FailedRun.of(task, "the cluster dropped it (the scheduler closed or was lost?)")
    except Exception as exc:  # training's own, raised on the worker: the other runs go on
        return FailedRun.of(task, f"{type(exc).__name__}: {exc}")


# --- on a worker ---------------------------------------------------------------------------------
_RUN_DATA: dict[tuple[str, int], RunData] = {}  # (sweep, thread): that thread's data


def _topic(sweep: str) -> str:
    return f"gdplayground-sweep-{sweep}"


def _run_data(sweep: str, sources: dict) -> RunData:
    """This worker thread's data sets built from the sweep's sources, for every task of the sweep
    (a RunData builds data sets for one thread at a time)."""
    slot = (sweep, threading.get_ident())
    if slot not in _RUN_DATA:
        while len(_RUN_DATA) >= KEPT_DATA:
            del _RUN_DATA[next(iter(_RUN_DATA))]  # the oldest
        _RUN_DATA[slot] = RunData(sources)
    return _RUN_DATA[slot]


def _train_on_worker(task: RunTask, sources: dict, sweep: str) -> SweepRun | None:
    """A task as a worker runs it: the run trained, its progress logged under the sweep's topic;
    None if the client cancelled it. (`sweep` is no Dask key: Dask would pass a key's value.)"""
    from distributed import get_worker

    worker, topic = get_worker(), _topic(sweep)
    key = worker.get_current_task()
    tell = lambda index, step, steps: worker.log_event(topic, (index, step, steps))  # noqa: E731
    return train_task(task, _run_data(sweep, sources), lambda: _dropped(worker, key), tell)


def _dropped(worker, key) -> bool:
    """Whether the client cancelled the task running as `key`. Dask cannot stop a running task,
    but marks it cancelled in its worker's state, which a run reads before each step (a dict
    look-up in distributed's WorkerState, there from 2024.1 at least; without it a run trains
    on to its end)."""
    state = getattr(worker, "state", None)
    task = state.tasks.get(key) if state is not None else None
    return task is not None and task.state == "cancelled"
