"""The Optimizers tab in the real window: the run controls drive the tab in view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from test_window import TIMEOUT, open_window, spiral  # noqa: F401  (a fixture)


@pytest.fixture
def race_tab(open_window):  # noqa: F811
    window = open_window(spiral())
    window.tabs.setCurrentWidget(window.optimizers)
    return window, window.optimizers


def choose_surface(tab, name: str) -> None:
    tab.settings.surface_choice.setCurrentIndex(tab.settings.surface_choice.findData(name))


def test_the_run_controls_act_on_the_tab_in_view(qtbot, race_tab):
    window, tab = race_tab
    assert not window.experiment_dock.isVisible()  # the race's own settings take its place
    assert not window.controls.epoch_action.isEnabled()
    window.controls.step_action.trigger()
    assert tab.race.step_count == 1 and window.last_step == 0  # the network did not train
    window.controls.pace.setCurrentIndex(window.controls.pace.findData(None))
    window.controls.play_action.trigger()
    assert window.controls.play_action.text() == "Pause" and not window.playing
    qtbot.waitUntil(lambda: tab.race.step_count > 50, timeout=TIMEOUT)
    window.controls.play_action.trigger()
    stopped = tab.race.step_count
    qtbot.wait(100)
    assert tab.race.step_count == stopped
    window.controls.reset_action.trigger()
    assert tab.race.step_count == 0
    window.tabs.setCurrentWidget(window.training)
    assert window.experiment_dock.isVisible() and window.controls.epoch_action.isEnabled()
    assert window.controls.steps_per_second == window.training_pace == 100


def test_one_step_on_the_parabola_draws_the_tangent_and_says_the_step_in_numbers(race_tab):
    _, tab = race_tab
    choose_surface(tab, "parabola")
    tab.step(1)
    text = tab.readout.text()
    assert "2 → 1.6 = 2 − 0.1 × f′(2) = 2 − 0.1 × 4" in text
    tangent = [item for item in tab.view._detail if hasattr(item, "xData") and item.opts["pen"].style()
               == Qt.DashLine and len(item.xData) == 2 and item.yData[0] != item.yData[1]]
    x, y = tangent[0].getData()
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(4.0)  # f′(2) = 4
    tab.step(1)
    assert tab.race.points[0][0] == pytest.approx(1.28)


def test_clicking_a_start_and_the_bowls_theory_warns_of_a_rate_above_the_stable_one(race_tab):
    _, tab = race_tab
    choose_surface(tab, "quadratic")
    tab.settings.kappa.setValue(50.0)
    tab.view.start_chosen.emit(np.array([2.0, -1.0]))
    assert np.array_equal(tab.race.start, [2.0, -1.0])
    assert float(tab.settings.start_x.value()) == 2.0
    rows = tab.settings._rows
    rows[0].lr.setValue(0.041)  # above 2/κ = 0.04
    theory = tab.settings.theory.text()
    assert "2/λ₂ = <b>0.04</b>" in theory and "⚠ sgd 0.041" in theory
    rows[0].lr.setValue(0.039)
    assert "⚠ sgd" not in tab.settings.theory.text()


def test_a_refused_formula_is_said_and_the_race_on_show_stays(race_tab):
    _, tab = race_tab
    choose_surface(tab, "expression")
    shown = tab.race
    tab.settings.expression.setText("__import__('os').system('true')")
    tab.settings.expression.returnPressed.emit()
    assert "is not allowed" in tab.settings.expression_error.text()
    assert tab.race is shown
    tab.settings.expression.setText("x^2 + 10*y^2")
    tab.settings.expression.returnPressed.emit()
    assert tab.race.surface.name == "expression" and not tab.settings.expression_error.text()


def test_a_formula_is_typed_whole_spaces_and_ns_included(qtbot, race_tab):
    window, tab = race_tab
    choose_surface(tab, "expression")
    field = tab.settings.expression
    field.clear()
    field.setFocus()
    qtbot.keyClicks(field, "sin(x) + tan(y) ^ 2")
    qtbot.keyClick(field, Qt.Key_Return)
    assert field.text() == "sin(x) + tan(y) ^ 2"
    assert tab.race.surface.title == "f(x, y) = sin(x) + tan(y) ^ 2"
    assert tab.race.step_count == 0 and not tab.playing  # Space and N ran nothing


@pytest.mark.parametrize("formula", ["log(x-2)", "10^400", "0/0"])
def test_a_refused_race_leaves_nothing_to_run_and_says_why(qtbot, race_tab, formula):
    """The old race stayed under the new surface: N stepped it, and leaving a racer out drew
    it with one colour too few (IndexError in race_view on every frame)."""
    window, tab = race_tab
    choose_surface(tab, "expression")
    tab.settings.expression.setText(formula)
    tab.settings.expression.returnPressed.emit()
    assert tab.view.surface.title == f"f(x, y) = {formula}"  # the surface asked for is shown …
    assert tab.race is None and "not a number at the start" in tab.readout.text()  # … no race
    assert all(len(path.xData or []) == 0 for path in tab.view._paths)
    window.controls.step_action.trigger()
    tab.settings._rows[0].enabled.setChecked(False)
    window.controls.play_action.trigger()
    qtbot.wait(100)
    assert tab.race is None and not tab.playing
    assert "Nothing to play" in tab.readout.text()
    tab.view.start_chosen.emit(np.array([2.5, 1.0]))  # a start where log(x-2) is defined
    if formula == "log(x-2)":
        assert tab.race is not None and len(tab.race.racers) == len(tab.settings._rows) - 1


def test_play_with_every_racer_left_out_says_so(qtbot, race_tab):
    window, tab = race_tab
    for row in tab.settings._rows:
        row.enabled.setChecked(False)
    assert tab.race is None and "no racer is in the race" in tab.readout.text()
    window.controls.play_action.trigger()
    assert not tab.playing and "Nothing to play: no racer" in tab.readout.text()
    tab.settings._rows[2].enabled.setChecked(True)
    assert [tab.race.racers[0].optimizer.name] == ["nesterov"] and tab.view._points.data.size == 1


def test_double_well_racers_in_the_shallow_valley_are_said_to_be_stuck(qtbot, race_tab):
    window, tab = race_tab
    choose_surface(tab, "double-well")
    tab.set_pace(None)
    tab.toggle_play()
    qtbot.waitUntil(lambda: not tab.playing, timeout=10_000)
    text = tab.readout.text()
    stuck = [i for i in range(len(tab.race.racers)) if tab.race.points[i][0] > 0]
    assert stuck and text.count("stuck in a local minimum") == len(stuck)
    assert "the global minimum is f = -1.515 at (-1.057)" in text


def test_the_f_minus_f_star_plot_shows_steps_from_0_and_at_least_a_decade(race_tab):
    """Empty, it ran from −400 to 400 "step (×0.001)"; at the start, from −100 to 100 steps,
    its log axis crowded with labels over a sliver of a decade, and the start was no dot."""
    _, tab = race_tab
    plot = tab.view.loss_plot

    def ranges():
        (x0, x1), (y0, y1) = plot.viewRange()
        return x0, x1, y0, y1
    tab.settings.surface_choice.setCurrentIndex(0)  # the parabola, from its start
    tab._no_race("nothing")  # as a refused race leaves it: empty
    x0, x1, y0, y1 = ranges()
    assert -1 < x0 <= 0 and 10 <= x1 < 11 and y0 < -1 and 1 < y1 < 1.2  # steps 0–10, f 0.1–10
    tab.reset()  # f − f* = 4 at the start, step 0
    x0, x1, y0, y1 = ranges()
    assert -1 < x0 <= 0 and 10 <= x1 < 11
    assert y0 < np.log10(4) < y1 and 2 <= y1 - y0 < 2.4
    assert tab.view._losses[0].opts["symbol"] == "o"  # a line of one point draws nothing
    ticks = plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in ticks] == ["1", "10"]  # decades only: 3, 4, … 9 crowded
    for _ in range(40):
        tab.step(1)
    x0, x1, y0, y1 = ranges()
    lowest = min(float(tab.race.surface.f(p)) for p in tab.race.points)
    assert 40 <= x1 < 42 and y0 < np.log10(lowest) and np.log10(4) < y1
