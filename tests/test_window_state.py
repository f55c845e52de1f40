"""The window's state after a burst of requests, failures and restores: the panels show what
the trainer runs, every query is answered, messages belong to their cause, and a restored
run shows the step, epoch, time and weights it was kept with."""

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from gdplayground.config import preset
from gdplayground.gui.window.main_window import MainWindow

TIMEOUT = 20_000


@pytest.fixture
def open_window(qtbot):
    def make(config=None, runs=None) -> MainWindow:
        window = MainWindow(config, runs)
        qtbot.addWidget(window)
        window.show()
        window.confirm = lambda title, text, items: True
        qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
        return window
    return make


def toy(name="spiral"):
    config = preset(name)
    config.data.samples = 200
    return config


def settle(qtbot, window):
    """Until every request sent has been answered (a query answers after them all)."""
    answers = []
    window.session.ask("snapshot", answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
    qtbot.wait(50)


def choose_dataset(window, name):
    combo = window.data_panel.dataset.widget
    combo.setCurrentIndex(combo.findData(name))


def test_a_failure_superseded_by_a_later_request_leaves_the_panels_on_what_the_trainer_runs(
        qtbot, open_window, monkeypatch, tmp_path):
    """An empty IDX folder, then XOR at once: the worker refuses the folder (keeping the
    spiral) and then builds XOR. The window took the refusal's spiral for its own settings."""
    window = open_window(toy())
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path))
    choose_dataset(window, "idx")
    choose_dataset(window, "xor")
    qtbot.waitUntil(lambda: window.info.dataset == "xor", timeout=TIMEOUT)
    settle(qtbot, window)
    trainer = window.session.worker.trainer
    assert trainer.config.data.name == "xor"
    assert window.data_panel.dataset.value == "xor"
    assert window.config == trainer.config == window.session.config


def test_a_failure_of_the_last_request_puts_back_what_the_worker_holds(qtbot, open_window,
                                                                       monkeypatch, tmp_path):
    window = open_window(toy())
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path))
    choose_dataset(window, "idx")
    qtbot.waitUntil(lambda: window.data_panel.dataset.value == "spiral", timeout=TIMEOUT)
    settle(qtbot, window)
    assert window.config == window.session.worker.trainer.config == window.session.config
    assert "Could not use those settings" in window.banner.text()


def status_figures(window) -> tuple:
    return window.last_step, window.last_epoch, round(window.training_seconds(), 6)


def test_a_restored_run_shows_the_step_epoch_and_time_it_was_kept_with(qtbot, open_window,
                                                                       tmp_path):
    """Restore settings and weights (Runs tab) and File ▸ Open weights of an export of the same
    state show what the run showed: it said 0.0 s training, and epoch 5 for the run's 6."""
    from gdplayground.store.runs import RunStore

    store = RunStore(tmp_path / "runs")
    window = open_window(toy(), store)  # 100 training points in batches of 16: 7 steps an epoch
    window.step(37)
    qtbot.waitUntil(lambda: window.last_step == 37 and not window.running, timeout=TIMEOUT)
    settle(qtbot, window)
    exported = tmp_path / "w.npz"
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT):
        window.files.export_weights(exported)
    step, epoch, _ = status_figures(window)
    assert (step, epoch) == (37, 6)  # 5 epochs of 7 steps, then 2 steps into the sixth
    window.reset()
    qtbot.waitUntil(lambda: len(store.runs) == 1 and window.last_step == 0, timeout=TIMEOUT)
    kept = store.runs[0]
    assert kept.figures["seconds"] > 0
    window.keeper.restore(kept, with_weights=True)
    qtbot.waitUntil(lambda: window.last_step == 37, timeout=TIMEOUT)
    assert status_figures(window) == (37, 6, round(kept.figures["seconds"], 6))
    window.files.open_weights(exported)
    qtbot.waitUntil(lambda: window.info.run_id == 4, timeout=TIMEOUT)
    assert window.last_step == 37 and window.last_epoch == 6 and window.training_seconds() > 0
    window.step(1)  # the next step's report goes on counting from there
    qtbot.waitUntil(lambda: window.last_step == 38, timeout=TIMEOUT)
    assert window.last_epoch == 6


def test_a_restored_runs_mosaic_shows_the_change_since_the_runs_own_step_0(qtbot, open_window,
                                                                         tmp_path):
    from gdplayground.engine import Trainer
    from gdplayground.store.runs import RunStore

    store = RunStore(tmp_path / "runs")
    window = open_window(runs=store)  # MNIST
    window.step(3)
    qtbot.waitUntil(lambda: window.last_step == 3 and not window.running, timeout=TIMEOUT)
    window.reset()
    qtbot.waitUntil(lambda: len(store.runs) == 1 and window.last_step == 0, timeout=TIMEOUT)
    window.keeper.restore(store.runs[0], with_weights=True)
    qtbot.waitUntil(lambda: window.last_step == 3, timeout=TIMEOUT)
    step_0 = Trainer(window.config).network.layers[0].W  # built from the seed, as the run was
    assert np.array_equal(window.training.mosaic.initial, step_0)
    trained = window.session.worker.trainer.network.layers[0].W
    assert not np.array_equal(trained, step_0)


def test_every_query_is_answered_and_one_that_raises_says_why(qtbot, open_window, monkeypatch):
    """A query that raised in the worker was never answered: its asker waited for ever (the
    Inside tab's distributions stayed empty) and the query stayed pending."""
    window = open_window(toy())

    def broken(split):
        raise FloatingPointError("output array is not acceptable")
    monkeypatch.setattr(window.session.worker.trainer, "evaluate", broken)
    answers, failures = [], []
    window.session.ask("evaluate", answers.append, failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT)
    assert answers == [] and failures == ["Could not evaluate the network: output array is not "
                                          "acceptable"]
    window.session.ask("evaluate", answers.append)  # no handler: no answer, and the banner says it
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
    assert answers == [None] and window.banner.text() == failures[0]
    assert not window.session._pending  # nothing left waiting
    monkeypatch.undo()
    window.session.ask("evaluate", answers.append)
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=TIMEOUT)
    assert set(answers[1]) == {"train", "validation", "test"} and not window.banner.isVisible()


# --- messages belong to their cause ------------------------------------------------------------
def test_a_data_sets_note_goes_when_a_run_is_restored(qtbot, open_window, tmp_path):
    from gdplayground.engine import Trainer
    from gdplayground.store.weights import save_weights

    spiral = toy()
    save_weights(tmp_path / "w.npz", spiral, Trainer(spiral).snapshot(), {})
    window = open_window()  # MNIST
    choose_dataset(window, "xor")
    qtbot.waitUntil(lambda: window.info.dataset == "xor", timeout=TIMEOUT)
    assert window.banner.kind == "note" and "XOR comes with its own settings" in window.banner.text()
    window.files.open_weights(tmp_path / "w.npz")  # what Restore settings and weights does
    qtbot.waitUntil(lambda: window.info.dataset == "spiral", timeout=TIMEOUT)
    assert not window.banner.isVisible()


def test_a_file_problem_shows_on_its_tab_until_an_action_of_its_kind_succeeds(
        qtbot, open_window, tmp_path):
    window = open_window(toy())
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a weight file")
    window.files.open_weights(bad)
    opening = window.banner.text()
    assert window.banner.isVisible() and "bad.npz" in opening
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT):
        window.files.export_metrics(tmp_path / "missing" / "m.csv")
    assert "Could not write metrics" in window.banner.text()
    window.tabs.setCurrentWidget(window.optimizers)  # neither applies to the race
    assert not window.banner.isVisible()
    window.tabs.setCurrentWidget(window.training)
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT):
        window.files.export_metrics(tmp_path / "m.csv")  # a write succeeds: the opening's stays
    assert window.banner.text() == opening
    experiment = tmp_path / "e.toml"
    toy("xor").save(experiment)
    assert window.files.open_experiment(experiment)  # an opening succeeds
    assert not window.banner.isVisible()


def test_a_data_set_the_worker_refuses_leaves_the_pace_as_it_was(qtbot, open_window, monkeypatch,
                                                                tmp_path):
    window = open_window(toy())
    assert window.training_pace == 100  # an IDX folder would bring "as fast as possible"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path))
    choose_dataset(window, "idx")
    qtbot.waitUntil(lambda: "Could not use those settings" in window.banner.text(), timeout=TIMEOUT)
    assert window.training_pace == window.controls.steps_per_second == 100
    assert "pace 100 steps/s" in window.status_label.text()


@pytest.mark.parametrize("typed, shown", [("0", 1e-6), ("1e9", 100.0)])
def test_a_learning_rate_brought_within_range_says_so(qtbot, open_window, typed, shown):
    from PySide6.QtWidgets import QToolTip

    window = open_window(toy())
    field = window.lr_panel.value.widget
    field.lineEdit().selectAll()
    qtbot.keyClicks(field.lineEdit(), typed)
    field.editingFinished.emit()  # as leaving the field does
    assert window.config.learning_rate.value == shown == window.lr_panel.value.value
    assert QToolTip.text() == f"{float(typed):g} is out of range (1e-06 to 100): set to {shown:g}"


def test_the_status_bar_gives_no_rate_while_paused(qtbot, open_window):
    window = open_window(toy())
    window.set_pace(None)
    window.toggle_play()
    qtbot.waitUntil(lambda: window._rate > 0, timeout=TIMEOUT)
    window._update_status()
    assert "— samples/s" not in window.status_label.text()
    window.toggle_play()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    assert "— samples/s" in window.status_label.text()


def test_a_pause_that_comes_while_training_waits_for_the_window_takes_no_step_more(
        qtbot, open_window):
    """Training waits (a moment) while the window works; a pause that came meanwhile still let
    one more step through, as long as a step of MNIST: the pause took effect a step late."""
    import time

    config = toy("xor")
    config.architecture.hidden, config.batch.mode = [], "full"  # steps of some 50 µs
    window = open_window(config)
    trainer = window.session.worker.trainer
    started, step = [], trainer.step

    def timed_step():
        started.append(time.perf_counter())
        return step()
    trainer.step = timed_step
    window.set_pace(None)
    window.toggle_play()
    qtbot.waitUntil(lambda: len(started) > 100, timeout=TIMEOUT)
    with window.session.window_work:  # the window works: training waits
        time.sleep(0.03)
        paused = time.perf_counter()
        window.session.pause()
    qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
    assert not [t for t in started if t > paused]


def test_a_failed_query_of_a_tab_is_said_on_that_tab(qtbot, open_window, monkeypatch):
    window = open_window(toy())

    def broken(*args):
        raise FloatingPointError("output array is not acceptable")
    monkeypatch.setattr(window.session.worker.trainer, "gradient_probe", broken)
    answers = []
    window.session.ask("distributions", answers.append)  # as the Inside tab asks
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
    assert answers == [None] and not window.banner.isVisible()  # the Training tab is in view
    window.tabs.setCurrentWidget(window.inside)
    assert window.banner.text() == "Could not measure the layers' values: output array is not " \
                                   "acceptable"
