"""A sweep on every core: `WorkerPool` trains the runs in worker processes, one run at a time
each, and yields each run as it ends.

The workers are spawned, not forked: the window's process has Qt threads, and a fork copies
their locks in whatever state they are. A worker is sent the data's sources once, when it
starts, then takes tasks one at a time in the plan's order and trains each with
`runs.train_task` (one BLAS thread: a run's figures do not depend on the number of workers).
It sends back `("progress", (index, step, steps))` reports and then `("run", SweepRun)` or
`("failed", reason)` when its training raised.

The parent waits on the workers' pipes and process sentinels together, so a worker's death is
seen at once: its run is tried again on a fresh worker, and marked failed if that one dies too.
Whatever ends the sweep (its last run, Cancel, or the generator closed), no worker outlives it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterator, Sequence

from gdplayground.labs.sweeps.params import SweepError
from gdplayground.labs.sweeps.runs import (
    FailedRun, Progress, RunData, RunTask, SweepRun, train_task)

START_METHOD = "spawn"  # never fork a process with threads (the window's)
CANCEL_POLL_SECONDS = 0.1  # how often `cancelled()` is asked while the workers train
STOP_SECONDS = 2.0  # a terminated worker's time to go before it is killed
ATTEMPTS = 2  # a run whose worker dies is tried once more, on a fresh worker


def default_workers() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# --- in the worker process ----------------------------------------------------------------------
def _work(connection: Connection) -> None:
    """A worker's life: its data's sources, then tasks until told to stop (None)."""
    _leave_with_parent()
    data = RunData(connection.recv())

    def report(index: int, step: int, steps: int) -> None:
        connection.send(("progress", (index, step, steps)))

    while (task := connection.recv()) is not None:
        try:
            connection.send(("run", train_task(task, data, progress=report)))
        except Exception as exc:  # the run's failure, not the sweep's: it is reported as such
            connection.send(("failed", f"its training failed: {type(exc).__name__}: {exc}"))


def _leave_with_parent() -> None:
    """Ctrl+C is the parent's to handle (it ends the workers), and a worker whose parent dies
    (killed: no `finally` ran) ends at once rather than train on for no one."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    threading.Thread(target=lambda: (parent.join(), os._exit(0)), daemon=True).start()


# --- in the sweep's process ---------------------------------------------------------------------
@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    task: RunTask | None = None  # the run it trains


class WorkerPool:
    """An executor of `workers` local processes (every core if None): see the module."""

    def __init__(self, workers: int | None = None):
        self.workers = default_workers() if workers is None else workers
        if self.workers < 1:
            raise SweepError(f"a sweep needs at least one worker (got {self.workers})")
        self._context = multiprocessing.get_context(START_METHOD)
        self._live: list[_Worker] = []

    @property
    def pids(self) -> tuple[int, ...]:
        """The worker processes' ids, while a sweep runs."""
        return tuple(worker.process.pid for worker in self._live)

    def run(self, tasks: Sequence[RunTask], sources: dict, cancelled=None,
            progress: Progress | None = None) -> Iterator[SweepRun | FailedRun]:
        cancelled = cancelled or (lambda: False)
        pending, deaths = deque(tasks), {}
        try:
            for worker in self._start(min(self.workers, len(tasks)), sources):
                self._give(worker, pending)
            while self._live and not cancelled():
                for worker in self._ready():
                    yield from self._hear(worker, pending, deaths, sources, progress)
        finally:
            self._stop()

    def _start(self, count: int, sources: dict) -> list[_Worker]:
        """Start `count` workers, then send each the sources (a send waits for the worker to
        read them, after its imports: the workers import side by side)."""
        started = []
        for _ in range(count):
            ours, theirs = self._context.Pipe()
            process = self._context.Process(target=_work, args=(theirs,), daemon=True,
                                            name="gdplayground sweep worker")
            process.start()
            theirs.close()
            started.append(_Worker(process, ours))
            self._live.append(started[-1])
        for worker in started:
            _send(worker, sources)
        return started

    def _give(self, worker: _Worker, pending: deque) -> None:
        """Hand the worker the next task, or let it go if none is left."""
        worker.task = pending.popleft() if pending else None
        if worker.task is None:
            self._end(worker)
            return
        _send(worker, worker.task)

    def _ready(self) -> list[_Worker]:
        """The workers with something to say or dead, waiting at most CANCEL_POLL_SECONDS."""
        waits = {}
        for worker in self._live:
            waits[worker.connection] = waits[worker.process.sentinel] = worker
        ready = wait(list(waits), timeout=CANCEL_POLL_SECONDS)
        return list({id(waits[handle]): waits[handle] for handle in ready}.values())

    def _hear(self, worker: _Worker, pending: deque, deaths: dict, sources: dict,
              progress) -> Iterator[SweepRun | FailedRun]:
        """Read what the worker sent; a death with nothing left to read is its run's loss."""
        try:
            while worker.connection.poll():
                kind, message = worker.connection.recv()
                if kind == "progress":
                    if progress is not None:
                        progress(*message)
                    continue
                task = worker.task
                self._give(worker, pending)  # first, so that it trains while the run is used
                yield message if kind == "run" else FailedRun.of(task, message)
                return
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            yield from self._died(worker, pending, deaths, sources)

    def _died(self, worker: _Worker, pending: deque, deaths: dict,
              sources: dict) -> Iterator[FailedRun]:
        task, how = worker.task, death_words(worker.process.exitcode)
        self._end(worker)
        if task is None:
            return
        deaths[task.index] = deaths.get(task.index, 0) + 1
        if deaths[task.index] < ATTEMPTS:
            pending.appendleft(task)
        else:
            yield FailedRun.of(task, f"its worker process died twice ({how})")
        if pending:
            self._give(self._start(1, sources)[0], pending)

    def _end(self, worker: _Worker) -> None:
        self._live.remove(worker)
        _stop_all([worker])

    def _stop(self) -> None:
        workers, self._live = self._live, []
        _stop_all(workers)


def _send(worker: _Worker, message) -> None:
    try:
        worker.connection.send(message)
    except OSError:  # it died: its sentinel tells
        pass


def _stop_all(workers: list[_Worker]) -> None:
    """End the workers' processes: terminated, then killed if they linger; all joined."""
    for worker in workers:
        if worker.process.is_alive():
            worker.process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()
        worker.process.close()


def death_words(exitcode: int | None) -> str:
    """How a worker process ended, in words: "killed by signal 9 — out of memory?" """
    if exitcode is None:
        return "still running"
    if exitcode >= 0:
        return f"exit code {exitcode}"
    number = -exitcode
    try:
        name = f" ({signal.Signals(number).name})"
    except ValueError:
        name = ""
    if number == signal.SIGKILL:
        return f"killed by signal {number}{name} — out of memory?"
    return f"killed by signal {number}{name}"
