"""The window's state after a burst of requests, failures and restores: the panels show what
the trainer runs, every query is answered, messages belong to their cause, and a restored
run shows the step, epoch, time and weights it was kept with."""

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from gdplayground.config import preset
from gdplayground.gui.main_window import MainWindow

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

