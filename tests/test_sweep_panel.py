"""The Runs tab's sweep panel and its runner: a second setting makes a grid, the workers and the
cluster fields choose what trains the runs, runs end in any order with several in training, a
failed run is said and not kept, and Cancel or closing the window ends every worker process."""

import itertools
import threading

import psutil
import pytest

from gdplayground.config import preset
from gdplayground.gui.runs import sweep_panel
from gdplayground.gui.runs.sweep_panel import SweepPanel
from gdplayground.labs.sweeps.plan import executor_for
from gdplayground.labs.sweeps.cluster import ClusterPool
from gdplayground.labs.sweeps.params import sweep_param
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, run_sweep
from gdplayground.labs.sweeps.runs import FailedRun
from gdplayground.labs.sweeps.workers import WorkerPool
from gdplayground.store.runs import RunStore
from test_runs import window_on  # noqa: F401 - a fixture
from test_window import TIMEOUT

RATES = (0.1, 0.2, 0.3, 0.4)


def make_panel(qtbot, config="xor", workers=1) -> SweepPanel:
    panel = SweepPanel(lambda: preset(config))
    qtbot.addWidget(panel)
    panel.workers.setValue(workers)
    return panel


def choose(fields, name: str, values: str) -> None:
    fields.param.setCurrentIndex(fields.param.findData(name))
    fields.values.setText(values)


def worker_processes() -> list[psutil.Process]:
    """This process's sweep workers (spawned: not the resource tracker multiprocessing starts)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def no_worker_within(seconds: float) -> bool:
    _, alive = psutil.wait_procs(worker_processes(), timeout=seconds)
    return not alive


# --- the fields ----------------------------------------------------------------------------------
def test_the_second_setting_is_off_until_ticked_and_then_makes_a_grid(qtbot):
    panel = make_panel(qtbot)
    choose(panel.first, "lr", "0.1,0.3")
    choose(panel.second, "batch-size", "2,4")
    panel.steps.setValue(3)
    assert not panel.second.values.isEnabled() and panel._plan().shape == (2,)
    panel.grid.setChecked(True)
    assert panel.second.values.isEnabled()
    assert not panel.second.count.isEnabled() and not panel.second.log.isEnabled()  # a list's
    panel.second.values.setText("2:4")
    assert panel.second.count.isEnabled() and panel.second.log.isEnabled()  # a range's
    panel.grid.setChecked(False)
    assert not panel.second.count.isEnabled()
    panel.grid.setChecked(True)
    panel.second.values.setText("2,4")
    with qtbot.waitSignal(panel.runner.finished, timeout=TIMEOUT):
        panel.start()
    assert [param.name for param in panel.plan.params] == ["lr", "batch-size"]
    assert sorted(run.point for run in panel.results) == list(
        itertools.product((0.1, 0.3), (2, 4)))
    assert [run.config.batch.size for run in panel.results] == [
        run.point[1] for run in panel.results]
    assert panel.status.text() == "Sweep done: 4 runs."
    assert panel.view.heading.text() == "<b>learning rate × batch size: 4 runs of 3 steps</b>"


def test_both_settings_rows_fit_in_a_window_1024_pixels_wide(qtbot):
    """With the docks beside it (the window's least width is that of its widest tab): the
    fields in two rows of every field took the window to 1118 pixels."""
    from gdplayground.gui.window.main_window import MainWindow

    window = MainWindow(preset("xor"), RunStore(None))
    qtbot.addWidget(window)
    window.sweep.grid.setChecked(True)
    assert window.minimumSizeHint().width() <= 1024


def test_the_same_setting_twice_is_said_and_starts_nothing(qtbot):
    panel = make_panel(qtbot)
    panel.grid.setChecked(True)
    choose(panel.second, "lr", "1,2")
    panel.start()
    assert "lr is swept twice; vary two different settings" in panel.status.text()
    assert not panel.runner.running and panel.start_button.isEnabled()


def test_a_lessons_sweep_of_one_setting_unticks_the_second(qtbot):
    from gdplayground.gui.lessons.lesson_actions import set_sweep
    from gdplayground.labs.lessons import SweepSetup

    panel = make_panel(qtbot)
    panel.grid.setChecked(True)
    lesson = SweepSetup("lr", "0.001:1", 4, True, 2, 50)
    set_sweep(panel, lesson)
    assert panel._plan() == lesson.plan() and len(lesson.plan().axes) == 1


def test_the_workers_and_cluster_fields_choose_what_trains_the_runs():
    one = executor_for(1)  # a process too: a run that dies costs only itself
    assert isinstance(one, WorkerPool) and one.workers == 1
    pool = executor_for(3, "  ")
    assert isinstance(pool, WorkerPool) and pool.workers == 3
    cluster = executor_for(3, " tcp://10.0.0.5:8786 ")
    assert isinstance(cluster, ClusterPool) and cluster.address == "tcp://10.0.0.5:8786"
    assert cluster.client is None  # reached once the sweep starts, off the GUI thread


def test_the_workers_field_starts_at_every_core_and_a_cluster_greys_it(qtbot):
    from gdplayground.labs.sweeps.workers import default_workers

    panel = SweepPanel(lambda: preset("xor"))
    qtbot.addWidget(panel)
    assert panel.workers.value() == min(default_workers(), 64) and panel.workers.isEnabled()
    panel.cluster.setText("tcp://scheduler:8786")
    assert not panel.workers.isEnabled()


# --- runs in any order, side by side ---------------------------------------------------------------
class Scripted:
    """An executor playing a script: four runs report their steps side by side, then end out of
    order, the second failed."""

    def __init__(self, runs):
        self.runs, self.shown = runs, threading.Event()

    def run(self, tasks, sources, cancelled, progress):
        for index, share in enumerate((0.4, 0.12, 0.8, 0.05)):
            progress(index, round(share * 100), 100)
        while not self.shown.wait(0.02):  # reports reach the window 30 times a second at most
            progress(3, 5, 100)
        yield self.runs[2]
        yield FailedRun.of(tasks[1], "its worker process died twice (killed by SIGKILL)")
        yield self.runs[0]
        yield self.runs[3]


def test_runs_in_training_side_by_side_are_shown_and_a_failed_run_is_said_not_kept(
        qtbot, monkeypatch):
    plan = SweepPlan((SweepAxis(sweep_param("lr"), RATES),), steps=3)
    script = Scripted(list(run_sweep(preset("xor"), plan)))
    monkeypatch.setattr(sweep_panel, "executor_for", lambda workers, cluster: script)
    panel = make_panel(qtbot)
    choose(panel.first, "lr", ",".join(map(str, RATES)))
    panel.steps.setValue(3)
    shown, kept = [], []

    def seen(progress):
        if len(progress.training) == 4 and not shown:
            shown.append((panel.activity.text(), panel.progress.value(), panel.status.text()))
            script.shown.set()
    panel.runner.progressed.connect(seen)
    panel.run_finished.connect(kept.append)
    with qtbot.waitSignal(panel.runner.finished, timeout=TIMEOUT):
        panel.start()
    activity, bar, status = shown[0]
    assert activity == ("training: lr 0.1 — 40% · lr 0.2 — 12% · lr 0.3 — 80% · lr 0.4 — 5%")
    assert bar == round(100 * (0.4 + 0.12 + 0.8 + 0.05) / 4) and status.startswith("0 of 4 runs")
    assert [run.point for run in kept] == [run.point for run in panel.results] == [
        (0.3,), (0.1,), (0.4,)]  # in the order they ended; the failed run not kept
    assert [run.point for run in panel.runner.failures] == [(0.2,)]
    assert panel.status.text() == "Sweep done: 3 runs. 1 run failed: not kept."
    assert panel.progress.text() == "4 of 4 runs"
    assert "failed, not kept: lr 0.2 — its worker process died twice (killed by SIGKILL)" in (
        panel.activity.text())


# --- worker processes ------------------------------------------------------------------------------
def test_cancel_ends_every_worker_within_five_seconds_and_keeps_the_runs_that_ended(qtbot):
    """Two worker processes start (a second or two: the reason this test takes a few)."""
    panel = make_panel(qtbot, "spiral", workers=2)
    choose(panel.first, "lr", "0.01,0.02,0.03,0.05,0.1,0.2")
    panel.steps.setValue(3000)
    in_training = []
    panel.runner.progressed.connect(lambda progress: in_training.append(len(progress.training)))
    panel.run_finished.connect(lambda run: panel.runner.cancel())
    with qtbot.waitSignal(panel.runner.cancelled, timeout=TIMEOUT) as cancelled:
        panel.start()
    assert no_worker_within(5)
    assert 1 <= len(cancelled.args[0]) < 6 and panel.results == cancelled.args[0]
    assert max(in_training) == 2  # both workers were seen at work
    assert panel.progress.text() == f"{len(panel.results)} of 6 runs"
    assert panel.start_button.isEnabled() and not panel.activity.isVisible()


def test_closing_the_window_mid_sweep_ends_every_worker_and_keeps_the_runs_that_ended(
        qtbot, window_on, tmp_path):  # noqa: F811 - the fixture
    """Two worker processes start (a second or two: the reason this test takes a few)."""
    window = window_on(tmp_path, preset("spiral"))
    sweep = window.sweep
    sweep.workers.setValue(2)
    choose(sweep.first, "lr", "0.01,0.02,0.03,0.05,0.1,0.2")
    sweep.steps.setValue(3000)
    sweep.start_button.click()
    qtbot.waitUntil(lambda: len(sweep.results) >= 1, timeout=TIMEOUT)
    assert worker_processes()
    window.close()
    assert no_worker_within(5)
    ended = len(sweep.results)
    assert 1 <= ended < 6
    again = RunStore(tmp_path)
    assert again.load() == [] and len(again.runs) == ended


@pytest.mark.parametrize("address", ["scheduler", "tcp://no port", "http://host:8786",
                                     "tcp://host:99999"])
def test_a_malformed_cluster_address_is_said_at_start_and_nothing_starts(qtbot, address):
    panel = make_panel(qtbot)
    panel.cluster.setText(address)
    panel.start()
    assert "tcp://" in panel.status.text() and "#b00020" in panel.status.text()
    assert not panel.runner.running and panel.start_button.isEnabled()
    assert not worker_processes()


def test_a_cluster_out_of_reach_stops_the_sweep_in_words_and_keeps_the_window_free(qtbot):
    """Connecting is the sweep's thread's work: start() returns at once."""
    panel = make_panel(qtbot)
    panel.cluster.setText("tcp://127.0.0.1:9")  # the discard port: nothing answers there
    with qtbot.waitSignal(panel.runner.failed, timeout=TIMEOUT):
        panel.start()
        assert panel.runner.running and panel.cancel_button.isEnabled()
    assert panel.status.text().startswith(
        "<span style='color:#b00020'>Sweep stopped: no Dask scheduler answers at "
        "tcp://127.0.0.1:9: start one with")
    assert panel.results == [] and panel.start_button.isEnabled()
