"""Sweeps in worker processes: the same figures as in this process, whatever the number of
workers; every run once, with its progress; Cancel, a closed sweep, a killed worker and a failing
run, each leaving no worker process behind."""

import dataclasses
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from gdplayground.config import preset
from gdplayground.labs.sweeps.params import SweepError, sweep_param
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan
from gdplayground.labs.sweeps.runs import FailedRun, InProcess, SweepRun, data_sources
from gdplayground.labs.sweeps.workers import (
    START_METHOD, WorkerPool, _work, death_words, default_workers)
from tiny_images import conv_config, image_folder

FIGURES = ("final_loss", "least_loss", "test_loss", "test_accuracy", "diverged_at_step")


def spiral_tasks(rates=(0.01, 0.1, 0.3), steps=40):
    plan = SweepPlan((SweepAxis(sweep_param("lr"), tuple(rates)),), steps=steps)
    return plan.tasks(preset("spiral"))


def images_tasks(folder):
    """A grid of lr × batch size training a small convolutional network on an IDX folder."""
    plan = SweepPlan((SweepAxis(sweep_param("lr"), (0.003, 0.03)),
                      SweepAxis(sweep_param("batch-size"), (8, 32))), steps=12)
    return plan.tasks(conv_config(image_folder(folder)))


def train(executor, tasks, sources=None, progress=None):
    sources = data_sources(tasks) if sources is None else sources
    return list(executor.run(tasks, sources, None, progress))


def by_index(runs):
    return {run.index: run for run in runs}


def assert_same_runs(runs, reference):
    """Bit for bit: every figure, the loss curve and the weights."""
    assert sorted(by_index(runs)) == sorted(by_index(reference))
    for index, expected in by_index(reference).items():
        run = by_index(runs)[index]
        assert [getattr(run, name) for name in FIGURES] == \
               [getattr(expected, name) for name in FIGURES]
        assert np.array_equal(run.curve[1], expected.curve[1])
        for name, weights in expected.state.parameters.items():
            assert np.array_equal(run.state.parameters[name], weights), (index, name)


def gone(pids, within=5.0, zombies=False):
    """Whether every process of `pids` has ended within `within` seconds: reaped, or at least
    a zombie if `zombies`."""
    def running(pid):
        try:
            status = psutil.Process(pid).status()
        except psutil.NoSuchProcess:
            return False
        return not (zombies and status == psutil.STATUS_ZOMBIE)
    deadline = time.monotonic() + within
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(map(running, pids))


# --- the same figures --------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_runs_in_workers_are_bit_identical_to_runs_in_this_process(workers, tmp_path):
    tasks = spiral_tasks(rates=(0.01, 0.1, 60.0)) + images_tasks(tmp_path)
    tasks = [dataclasses.replace(task, index=index) for index, task in enumerate(tasks)]
    reference = train(InProcess(), tasks)
    assert any(run.diverged for run in reference) and any(run.test_accuracy for run in reference)
    runs = train(WorkerPool(workers), tasks)
    assert all(isinstance(run, SweepRun) for run in runs)
    assert_same_runs(runs, reference)


def test_every_run_is_yielded_once_with_progress_from_its_start(tmp_path):
    tasks = spiral_tasks(rates=(0.01, 0.03, 0.1, 0.3, 1.0))
    reports = []
    runs = train(WorkerPool(2), tasks, progress=lambda *report: reports.append(report))
    assert sorted(run.index for run in runs) == list(range(5))
    firsts = {index: (step, steps) for index, step, steps in reversed(reports)}
    assert firsts == {index: (0, 40) for index in range(5)}


def test_the_workers_build_their_data_from_the_sources_they_were_sent(tmp_path):
    tasks = images_tasks(tmp_path)[:2]
    sources = data_sources(tasks)
    shutil.rmtree(tmp_path)  # the workers read no file
    runs = train(WorkerPool(2), tasks, sources)
    assert all(isinstance(run, SweepRun) for run in runs) and len(runs) == 2


# --- no worker outlives a sweep -----------------------------------------------------------------
def long_tasks(short=1):
    """`short` quick runs, then two that would train for minutes."""
    tasks = spiral_tasks(rates=(0.01, 0.02, 0.03)[:short + 2], steps=20)
    return [task if task.index < short else dataclasses.replace(task, steps=10**8)
            for task in tasks]


def test_cancel_ends_every_worker_within_five_seconds_and_keeps_the_finished_runs():
    pool, cancel = WorkerPool(2), []
    sweep = pool.run(long_tasks(), {}, lambda: bool(cancel), None)
    first = next(sweep)
    pids = pool.pids
    assert first.index == 0 and len(pids) == 2 and all(psutil.pid_exists(pid) for pid in pids)
    cancel.append(True)
    started = time.monotonic()
    assert list(sweep) == []
    assert time.monotonic() - started < 5.0
    assert gone(pids, within=0.0) and pool.pids == ()


def test_a_sweep_closed_early_leaves_no_worker_process():
    pool = WorkerPool(2)
    sweep = pool.run(long_tasks(), {}, None, None)
    next(sweep)
    pids = pool.pids
    sweep.close()
    assert len(pids) == 2 and gone(pids, within=0.0)


def test_a_sweep_whose_reader_raises_leaves_no_worker_process():
    pool, pids = WorkerPool(2), []
    with pytest.raises(KeyboardInterrupt):
        for _ in pool.run(long_tasks(), {}, None, None):
            pids.extend(pool.pids)
            raise KeyboardInterrupt
    assert len(pids) == 2 and gone(pids, within=0.0)


# --- a worker's death costs its run only --------------------------------------------------------
def killing(pool, index, times):
    """A progress callback that kills the worker training run `index` as it starts, `times`
    times, and the pids it killed."""
    killed = []

    def progress(run, step, steps):
        if run == index and step == 0 and len(killed) < times:
            (pid,) = pool.pids  # one worker
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return progress, killed


def test_a_worker_killed_mid_run_costs_nothing_its_run_is_trained_again():
    tasks = spiral_tasks(steps=1000)
    pool = WorkerPool(1)
    progress, killed = killing(pool, index=1, times=1)
    runs = train(pool, tasks, progress=progress)
    assert len(killed) == 1 and gone(killed)
    assert sorted(run.index for run in runs) == [0, 1, 2]
    assert_same_runs(runs, train(InProcess(), tasks))


def test_a_worker_killed_while_it_starts_costs_only_a_retry_not_the_sweep():
    """A worker killed before any had said a word (importing, or reading the data, where memory
    peaks) ended the whole sweep as if no worker could start."""
    import threading

    tasks, pool, killed = spiral_tasks(steps=200), WorkerPool(2), []

    def kill_the_first_as_it_appears():
        while not pool.pids:
            time.sleep(0.001)
        killed.append(pool.pids[0])
        os.kill(killed[0], signal.SIGKILL)
    killer = threading.Thread(target=kill_the_first_as_it_appears)
    killer.start()
    runs = train(pool, tasks)
    killer.join()
    assert gone(killed) and sorted(run.index for run in runs) == [0, 1, 2]
    assert_same_runs(runs, train(InProcess(), tasks))


def test_a_run_whose_worker_dies_twice_fails_in_words_and_the_sweep_goes_on():
    tasks = spiral_tasks(steps=20)
    tasks[1] = dataclasses.replace(tasks[1], steps=10**8)  # killed for sure while it trains
    pool = WorkerPool(1)
    progress, killed = killing(pool, index=1, times=2)
    runs = by_index(train(pool, tasks, progress=progress))
    assert len(set(killed)) == 2 and gone(killed)
    assert isinstance(runs[1], FailedRun)
    assert runs[1].reason == ("its worker process died twice (killed by signal 9, SIGKILL — "
                              "out of memory?)")
    assert runs[1].point == (0.1,) and runs[1].config.learning_rate.value == 0.1
    assert isinstance(runs[0], SweepRun) and isinstance(runs[2], SweepRun)


def test_an_error_in_a_run_fails_that_run_only_and_is_not_tried_again(tmp_path):
    tasks = images_tasks(tmp_path)[:3]
    shutil.rmtree(tmp_path)  # no sources sent: the workers look for the folder, which is gone
    pool, reports = WorkerPool(1), []
    runs = train(pool, tasks, {}, progress=lambda *report: reports.append(report))
    assert [type(run) for run in runs] == [FailedRun] * 3 and reports == []
    assert runs[0].reason.startswith("its training failed: DataError: ")
    assert str(tmp_path) in runs[0].reason


# --- words and settings -------------------------------------------------------------------------
def test_a_worker_s_end_is_told_in_words():
    assert death_words(1) == "exit code 1"
    assert death_words(-9) == "killed by signal 9, SIGKILL — out of memory?"
    assert death_words(-11) == "killed by signal 11, SIGSEGV"


def test_workers_default_to_the_cores_this_process_may_use_and_are_at_least_one():
    assert WorkerPool().workers == default_workers() == len(os.sched_getaffinity(0))
    with pytest.raises(SweepError, match="at least one worker"):
        WorkerPool(0)


def test_ctrl_c_is_the_sweeps_to_handle_not_the_workers(capfd):
    pool, interrupted = WorkerPool(1), []

    def progress(index, step, steps):
        if index == 1 and not interrupted:
            os.kill(pool.pids[0], signal.SIGINT)  # as Ctrl+C sends it to every process
            interrupted.append(index)
    runs = train(pool, spiral_tasks(steps=1000), progress=progress)
    assert interrupted and [type(run) for run in runs] == [SweepRun] * 3
    assert "KeyboardInterrupt" not in capfd.readouterr().err


IMPORTS = """
import os
from gdplayground.config import preset
from gdplayground.labs.sweeps.params import sweep_param
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan
from gdplayground.labs.sweeps.workers import WorkerPool
"""
PARENT = IMPORTS + """
if __name__ == "__main__":
    plan = SweepPlan((SweepAxis(sweep_param("lr"), (0.01, 0.1)),), steps=10**8)
    pool = WorkerPool(2)

    def progress(index, step, steps):
        if len(pool.pids) == 2:
            print(*pool.pids, flush=True)
            os.kill(os.getpid(), 9)
    list(pool.run(plan.tasks(preset("spiral")), {}, None, progress))
"""


def run_script(folder, text):
    script = folder / "script.py"
    script.write_text(text)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)


def test_workers_end_at_once_and_quietly_when_their_parent_is_killed(tmp_path):
    done = run_script(tmp_path, PARENT)
    assert done.returncode == -signal.SIGKILL and done.stderr == ""  # no worker's traceback
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2 and gone(pids, zombies=True)  # orphans: reaped by whoever adopts them


UNGUARDED = IMPORTS + """
from gdplayground.labs.sweeps.params import SweepError
plan = SweepPlan((SweepAxis(sweep_param("lr"), (0.01, 0.1)),), steps=10)
try:
    print(len(list(WorkerPool(2).run(plan.tasks(preset("spiral")), {}, None, None))))
except SweepError as error:
    print(error)
"""


def test_workers_that_cannot_start_end_the_sweep_with_one_message(tmp_path):
    # a script without `if __name__ == "__main__":`: each worker runs it again, and spawn refuses
    done = run_script(tmp_path, UNGUARDED)
    assert done.stdout == "the sweep's worker processes end as they start (exit code 1)\n"


def test_a_worker_left_without_its_sweep_ends_quietly(capfd):
    context = multiprocessing.get_context(START_METHOD)
    ours, theirs = context.Pipe()
    worker = context.Process(target=_work, args=(theirs,))
    worker.start()
    theirs.close()
    ours.send_bytes(pickle.dumps({}))
    ours.close()  # as when the sweep's process is gone
    worker.join(30)
    assert worker.exitcode == 0 and capfd.readouterr().err == ""
