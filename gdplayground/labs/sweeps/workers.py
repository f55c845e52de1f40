"""A sweep on every core: `WorkerPool` trains the runs in worker processes, one run at a time
each, and yields each run as it ends.

The workers are spawned, not forked: the window's process has Qt threads, and a fork copies
their locks in whatever state they are. A worker is sent the data's sources once, when it
starts, then takes tasks one at a time in the plan's order and trains each with
`runs.train_task` (one BLAS thread: a run's figures do not depend on the number of workers).
It says `("ready", None)` once it has its data, then sends back `("progress", (index, step,
steps))` reports and `("run", SweepRun)`, or `("failed", reason)` when its training raised.

The parent waits on the workers' pipes and process sentinels together, so a worker's death is
seen at once: its run is tried again on a fresh worker, and marked failed if that one dies too.
A worker killed while it starts costs a retry too; only when a replacement also dies before any
worker has said a word do the workers count as unable to start.
Whatever ends the sweep (its last run, Cancel, or the generator closed), no worker outlives it.

A spawned process imports the main module again, as `__mp_main__`: a script that sweeps with a
WorkerPool keeps its work under `if __name__ == "__main__":`, or its workers end as they start
(SweepError).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
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
    """A worker's life: its data's sources, then one task after another until it is ended."""
    _leave_with_parent()

    def report(index: int, step: int, steps: int) -> None:
        connection.send(("progress", (index, step, steps)))

    try:
        data = RunData(connection.recv())  # the payload below, as a Connection reads any
        connection.send(("ready", None))  # started: a death from now on is its run's
        while True:
            task = connection.recv()
            try:
                connection.send(("run", train_task(task, data, progress=report)))
            except Exception as exc:  # the run's failure, not the sweep's: reported as such
                connection.send(("failed", f"its training failed: {type(exc).__name__}: {exc}"))
    except (EOFError, BrokenPipeError):  # the sweep's process is gone, and so is the work
        pass


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
    pid: int  # kept: the process object's is unreadable once closed
    connection: Connection
    task: RunTask | None = None  # the run it trains


class WorkerPool:
    """An executor of `workers` local processes (every core if None), one sweep at a time: see
    the module."""

    def __init__(self, workers: int | None = None):
        self.workers = default_workers() if workers is None else workers
        if self.workers < 1:
            raise SweepError(f"a sweep needs at least one worker (got {self.workers})")
        self._sweep: _Sweep | None = None

    @property
    def pids(self) -> tuple[int, ...]:
        """The ids of the worker processes of the sweep in progress (any thread may ask)."""
        sweep = self._sweep
        return () if sweep is None else tuple(worker.pid for worker in sweep.live)

    def run(self, tasks: Sequence[RunTask], sources: dict, cancelled=None,
            progress: Progress | None = None) -> Iterator[SweepRun | FailedRun]:
        cancelled = cancelled or (lambda: False)
        self._sweep = sweep = _Sweep(tasks, sources, progress)
        try:
            sweep.start(min(self.workers, len(tasks)))
            while sweep.live and not cancelled():
                for worker in sweep.ready():
                    yield from sweep.hear(worker)
        finally:
            sweep.stop()
            self._sweep = None


class _Sweep:
    """A sweep's workers and the tasks not yet handed out."""

    def __init__(self, tasks: Sequence[RunTask], sources: dict, progress: Progress | None):
        self.pending, self.progress = deque(tasks), progress
        self.sources = sources
        self.live: list[_Worker] = []
        self.deaths: dict[int, int] = {}  # by task index
        self.heard = False  # from any worker: if not, a death may be the workers' failing to start
        self.stillborn = 0  # workers dead before any worker was heard from

    def start(self, count: int) -> None:
        """Start `count` workers, then send each the sources and its first task. The workers
        import side by side meanwhile: the sources are pickled then, and a send waits for its
        worker to read, so the first ready trains while the others are waited for."""
        context = multiprocessing.get_context(START_METHOD)
        started = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_work, args=(theirs,), daemon=True,
                                      name="gdplayground sweep worker")
            process.start()
            theirs.close()
            started.append(_Worker(process, process.pid, ours))
            self.live = [*self.live, started[-1]]  # a new list: `pids` reads it from any thread
        for worker in started:
            _send(worker.connection.send_bytes, self.payload)
            self.give(worker)

    @cached_property
    def payload(self) -> bytes:
        """The sources as a Connection sends them, pickled once for every worker (only our own
        processes' messages are ever unpickled: tasks, sources, runs; never a user's file)."""
        return bytes(ForkingPickler.dumps(self.sources))

    def give(self, worker: _Worker) -> None:
        """Hand the worker the next task, or let it go if none is left."""
        worker.task = self.pending.popleft() if self.pending else None
        if worker.task is None:
            self.end(worker)
        else:
            _send(worker.connection.send, worker.task)

    def ready(self) -> list[_Worker]:
        """The workers with something to say or dead, waiting at most CANCEL_POLL_SECONDS."""
        waits = {}
        for worker in self.live:
            waits[worker.connection] = waits[worker.process.sentinel] = worker
        ready = wait(list(waits), timeout=CANCEL_POLL_SECONDS)
        return list({id(waits[handle]): waits[handle] for handle in ready}.values())

    def hear(self, worker: _Worker) -> Iterator[SweepRun | FailedRun]:
        """Read what the worker sent; a death with nothing left to read is its run's loss."""
        try:
            while worker.connection.poll():
                kind, message = worker.connection.recv()
                self.heard = True
                if kind == "ready":
                    continue
                if kind == "progress":
                    if self.progress is not None:
                        self.progress(*message)
                    continue
                task = worker.task
                self.give(worker)  # first, so that it trains while the run is used
                yield message if kind == "run" else FailedRun.of(task, message)
                return
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            yield from self.died(worker)

    def died(self, worker: _Worker) -> Iterator[FailedRun]:
        """Its run goes back to the front of the line, or fails if it had been tried."""
        task, how = worker.task, death_words(worker.process.exitcode)
        self.end(worker)
        if not self.heard:  # killed while starting, or unable to (an unguarded __main__)?
            self.stillborn += 1
            if self.stillborn == ATTEMPTS:  # a replacement too: they cannot start
                raise SweepError(f"the sweep's worker processes end as they start ({how})")
        self.deaths[task.index] = self.deaths.get(task.index, 0) + 1
        if self.deaths[task.index] < ATTEMPTS:
            self.pending.appendleft(task)
        else:
            yield FailedRun.of(task, f"its worker process died twice ({how})")
        if self.pending:
            self.start(1)

    def end(self, worker: _Worker) -> None:
        self.live = [other for other in self.live if other is not worker]
        _stop_all([worker])

    def stop(self) -> None:
        workers, self.live = self.live, []
        _stop_all(workers)


def _send(send: Callable, message) -> None:
    try:
        send(message)
    except OSError:  # the worker died: its sentinel tells
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


def death_words(exitcode: int) -> str:
    """How a worker process ended, in words: "killed by signal 9, SIGKILL — out of memory?"
    (the kernel's out-of-memory killer sends SIGKILL)."""
    if exitcode >= 0:
        return f"exit code {exitcode}"
    number = -exitcode
    try:
        words = f"killed by signal {number}, {signal.Signals(number).name}"
    except ValueError:
        words = f"killed by signal {number}"
    out_of_memory = number == getattr(signal, "SIGKILL", None)  # no SIGKILL on Windows
    return f"{words} — out of memory?" if out_of_memory else words
