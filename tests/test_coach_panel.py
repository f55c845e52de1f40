"""The coach's panel alone: newest first, each with its evidence and suggestion, a button that
names the step, and the placeholder when there is nothing to say."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from gdplayground.labs.diagnostics import Diagnosis
from gdplayground.gui.training.coach_panel import CoachPanel

VANISHING = Diagnosis("vanishing-gradients", 120, "layer 1's gradient per weight is 3.2e-05 of "
                      "the last layer's", "try ReLU with He initialisation")
PLATEAU = Diagnosis("plateau", 1000, "the loss went from 2.30 to 2.30", "raise the learning rate")
ZERO = Diagnosis("rate-zero", 1500, "the learning rate reached 0", "stop here")


@pytest.fixture
def panel(qtbot):
    widget = CoachPanel()
    widget.resize(300, 640)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def buttons(panel) -> list[QPushButton]:
    """The "show on the plots" buttons, top to bottom."""
    return sorted(panel.findChildren(QPushButton), key=lambda b: b.mapTo(panel, b.rect().topLeft()).y())


def test_the_placeholder_shows_until_there_is_a_diagnosis(panel):
    assert panel.placeholder.isVisible() and "vanishing or exploding gradients" in panel.placeholder.text()
    panel.add([])
    assert panel.placeholder.isVisible()
    panel.add([VANISHING])
    assert not panel.placeholder.isVisible()


def test_newest_first_with_evidence_and_suggestion(qtbot, panel):
    panel.add([VANISHING])
    panel.add([ZERO, PLATEAU])  # together: the more urgent on top
    assert panel.diagnoses == [PLATEAU, ZERO, VANISHING]
    qtbot.waitUntil(lambda: len(buttons(panel)) == 3 and buttons(panel)[0].isVisible())
    assert [b.text() for b in buttons(panel)] == [
        "Show step 1,000 on the plots", "Show step 1,500 on the plots", "Show step 120 on the plots"]
    texts = [label.text() for label in panel.findChildren(QLabel)]
    assert "Layer 1's gradient per weight is 3.2e-05 of the last layer's." in texts
    assert "Try ReLU with He initialisation." in texts
    assert any("Vanishing gradients" in text and "from step 120" in text for text in texts)
    assert any("Learning rate at zero" in text for text in texts)


def test_a_divergence_seen_with_other_problems_tops_them(panel):
    """At a rate of 50 the coach saw saturation and divergence together: divergence, the cause
    to fix first, was shown under saturation."""
    divergence = Diagnosis("divergence", 12, "the loss was above 10× its start", "lower the rate")
    saturation = Diagnosis("saturation", 10, "all of layer 2's activations …", "lower the rate")
    panel.add([divergence, saturation])
    assert panel.diagnoses == [divergence, saturation]


def test_the_button_emits_the_step_the_diagnosis_began(qtbot, panel):
    panel.add([VANISHING, PLATEAU])
    qtbot.waitUntil(lambda: buttons(panel)[-1].isVisible())
    with qtbot.waitSignal(panel.show_step) as signal:
        qtbot.mouseClick(buttons(panel)[-1], Qt.LeftButton)
    assert signal.args == [120]


def test_texts_wrap_in_a_narrow_column(qtbot, panel):
    panel.add([Diagnosis("saturation", 10, "in every batch of the last 200 steps, 81% or more of "
                         "layer 1's activations were within 2% of their range from its ends",
                         "start from smaller weights (Xavier initialisation)")])
    qtbot.waitUntil(lambda: buttons(panel)[0].isVisible())
    labels = [label for label in panel.findChildren(QLabel) if label.isVisible()]
    assert all(label.wordWrap() for label in labels)
    assert max(label.width() for label in labels) <= 300


def test_clear_forgets_everything(qtbot, panel):
    panel.add([VANISHING, PLATEAU])
    panel.clear()
    assert panel.diagnoses == [] and panel.placeholder.isVisible()
    qtbot.waitUntil(lambda: not panel.findChildren(QPushButton))
    panel.add([ZERO])
    assert panel.diagnoses == [ZERO]


# --- the worker's coach ---------------------------------------------------------------------
def test_frames_carry_what_the_workers_coach_newly_sees_and_a_new_run_starts_afresh(qtbot):
    from gdplayground.config import preset
    from gdplayground.engine import Trainer
    from gdplayground.labs.diagnostics import Coach
    from gdplayground.gui.training.worker import TrainingSession

    config = preset("spiral")
    config.learning_rate.value = 3.0  # oscillates
    session = TrainingSession(config)
    infos, frames = [], []
    session.started.connect(infos.append)
    session.framed.connect(frames.append)
    session.framed.connect(lambda frame: session.frame_consumed())
    session.start()
    try:
        runs = []
        for _ in range(2):  # the second time after a reset: the same run, the same diagnoses
            qtbot.waitUntil(lambda: len(infos) == len(runs) + 1, timeout=20_000)
            run_id = infos[-1].run_id
            session.step(400)
            qtbot.waitUntil(lambda: any(f.run_id == run_id and f.reports and f.reports[-1].step == 400
                                        for f in frames), timeout=20_000)
            runs.append([f for f in frames if f.run_id == run_id])
            session.reset()
    finally:
        session.shutdown()
    seen = []
    for run, info in zip(runs, infos):
        reports = [report for frame in run for report in frame.reports]
        seen.append([d for frame in run for d in frame.diagnoses])
        assert seen[-1] == Coach(Trainer(info.config)).add(reports)
    assert "oscillation" in [d.name for d in seen[0]] and seen[1] == seen[0]


def test_in_a_narrow_window_the_coach_is_a_tab_that_counts_what_is_new(qtbot):
    """At 1024×640 the coach's own column was 70 pixels wide: below NARROW_WINDOW it shares the
    experiment's column as a tab, titled with the diagnoses that arrived out of sight."""
    from gdplayground.config import preset
    from gdplayground.gui.window.main_window import NARROW_WINDOW, MainWindow

    window = MainWindow(preset("spiral"))
    qtbot.addWidget(window)
    window._fit_to_screen(NARROW_WINDOW - 100, 600)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    assert window.tabifiedDockWidgets(window.experiment_dock) == [window.coach_dock]
    for tab in (window.inside, window.training):  # docks hidden with other tabs, back with it
        window.tabs.setCurrentWidget(tab)
    qtbot.wait(10)
    assert not window._coach_in_sight  # the experiment's tab is in front
    window._coach_says([PLATEAU, ZERO])
    assert window.coach_dock.windowTitle() == "Coach (2 new)"
    window.coach_dock.raise_()
    qtbot.waitUntil(lambda: window.coach_dock.windowTitle() == "Coach", timeout=5_000)
    assert window.coach.diagnoses == [PLATEAU, ZERO]


def test_in_a_wide_window_the_coach_in_view_has_nothing_new_to_announce(qtbot):
    """The coach in its own column, in view: its title stays "Coach" (it said "1 new" beside
    the diagnosis it meant)."""
    from gdplayground.config import preset
    from gdplayground.gui.window.main_window import MainWindow

    window = MainWindow(preset("spiral"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    window._coach_says([PLATEAU])
    assert window.coach_dock.windowTitle() == "Coach"
    window.tabs.setCurrentWidget(window.inside)  # the coach hides with the Training tab
    window._coach_says([ZERO])
    assert window.coach_dock.windowTitle() == "Coach (1 new)"
    window.tabs.setCurrentWidget(window.training)
    qtbot.waitUntil(lambda: window.coach_dock.windowTitle() == "Coach", timeout=5_000)
