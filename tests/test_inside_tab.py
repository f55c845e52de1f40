"""The Inside tab in the real window: the diagram follows the run, distributions gather while
it is in view, and nothing is asked of the worker while it is hidden."""

from __future__ import annotations

import numpy as np

from test_window import TIMEOUT, open_window, spiral, wait_idle  # noqa: F401  (a fixture)


def test_the_diagram_shows_the_runs_weights_after_each_picture(qtbot, open_window):  # noqa: F811
    window = open_window(spiral())
    window.tabs.setCurrentWidget(window.inside)
    window.step(40)
    qtbot.waitUntil(lambda: window.last_step == 40, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    answers = []
    window.session.ask("snapshot", answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
    trained = answers[0].state.parameters
    shown = window.inside.diagram.weights
    assert len(shown) == 3 and np.allclose(shown[0], trained["layer1.weight"])
    assert [len(images) for images in window.inside.diagram.unit_images] == [2, 8, 8, 1]


def test_distributions_gather_in_view_and_nothing_is_asked_out_of_view(qtbot, open_window):  # noqa: F811
    window = open_window(spiral())
    window.inside.timer.stop()  # the asks are the test's: under load a 4 s tick made a third
    asked = []
    real_ask = window.session.ask
    window.inside._ask = lambda what, callback: (asked.append(what), real_ask(what, callback))
    window.inside._ask_for_reports()
    assert asked == []  # the Training tab is in view
    window.tabs.setCurrentWidget(window.inside)
    window.inside._ask_for_reports()
    assert asked == [] and window.inside.pages.tabText(0) == "Network"  # the diagram's page
    window.inside.pages.setCurrentWidget(window.inside.distributions)
    qtbot.waitUntil(lambda: len(window.inside.distributions.steps) == 1, timeout=TIMEOUT)
    window.step(30)
    qtbot.waitUntil(lambda: window.last_step == 30, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    window.inside._ask_for_reports()
    qtbot.waitUntil(lambda: window.inside.distributions.steps[-1] == 30, timeout=TIMEOUT)
    first = window.inside.distributions.rows[0]
    assert len(first) == 3 and first[0].weights.shape == (5,)
    assert set(asked) == {"distributions"}  # a 2-D set: no image report
    assert "2 times, from step 0 to step 30" in window.inside.distributions.caption.text()


def test_an_image_runs_inside_tab_shows_its_confusion_matrix_on_the_held_out_digits(qtbot, open_window):  # noqa: F811
    from gdplayground.labs.inside import confusion_matrix

    window = open_window()  # MNIST
    window.step(20)
    qtbot.waitUntil(lambda: window.last_step == 20, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.inside)
    shown = window.inside.images.confusion
    qtbot.waitUntil(lambda: shown.counts.sum() == 10_000, timeout=TIMEOUT)
    reports = []
    window.session.ask("inside", reports.append)
    qtbot.waitUntil(lambda: bool(reports), timeout=TIMEOUT)
    report = reports[0]
    assert report.step == 20 and report.images01.shape == (10_000, 28, 28)
    assert 0 <= report.images01.min() and report.images01.max() <= 1.0
    direct = np.zeros((10, 10), int)
    for true, guess in zip(report.labels, report.probabilities.argmax(1)):
        direct[true, guess] += 1
    assert np.array_equal(shown.counts, direct)
    assert np.array_equal(confusion_matrix(report.labels, report.probabilities.argmax(1), 10), direct)


def visit_every_page(qtbot, window) -> None:
    """Each page of the Inside tab in view, with what a learner puts there: a confusion cell,
    a digit's saliency, a drawn digit."""
    images = window.inside.images
    images.confusion.show_cell(3, 5)
    images.saliency.choose(7)
    for row in range(30, 70):
        images.drawing.canvas.stroke_to(row, 50, start=row == 30)
    images.drawing.refresh()
    for page in range(images.tabs.count()):
        images.tabs.setCurrentIndex(page)
        qtbot.wait(50)
    window.inside.pages.setCurrentWidget(window.inside.distributions)
    qtbot.wait(50)


def test_no_page_of_the_inside_tab_widens_the_window_past_1024_pixels(qtbot, open_window):  # noqa: F811
    """The misclassified digits' caption, one unwrapped line, raised the window's minimum
    width from 1,018 to 1,290 pixels for good: off a 1,024-pixel screen, the coach crushed."""
    window = open_window()  # MNIST
    window.resize(1024, 640)
    before = window.minimumSizeHint().width()
    window.step(20)
    qtbot.waitUntil(lambda: window.last_step == 20, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.inside)
    qtbot.waitUntil(lambda: window.inside.images.confusion.counts.sum() == 10_000, timeout=TIMEOUT)
    visit_every_page(qtbot, window)
    window.tabs.setCurrentWidget(window.training)
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= min(before, 1024)
    assert window.width() == 1024


def test_distributions_opened_while_paused_show_the_run_as_it_is_and_only_its_axes(qtbot, open_window):  # noqa: F811
    """Opened on a paused run the page showed empty plots (one measurement is one point: a
    line of one point draws nothing) and, after a reset, the last run's axes."""
    window = open_window(spiral())
    window.step(300)
    qtbot.waitUntil(lambda: window.last_step == 300, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.inside)
    view = window.inside.distributions
    window.inside.pages.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.steps == [300], timeout=TIMEOUT)
    low, high, median = view._curves["weights", 0]
    assert median.opts["symbol"] == "o" and list(median.getData()[0]) == [300]
    qtbot.wait(50)
    assert view.plots["weights"].viewRange()[0][0] < 300 < view.plots["weights"].viewRange()[0][1]
    assert len({tuple(plot.viewRange()[0]) for plot in view.plots.values()}) == 1  # one x axis
    assert "once, at step 300" in view.caption.text()
    window.tabs.setCurrentWidget(window.training)
    window.controls.reset_action.trigger()
    qtbot.waitUntil(lambda: window.last_step == 0, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert view.steps == [] and "nothing yet" in view.caption.text()
    for plot in view.plots.values():
        assert plot.viewRange()[0][1] < 11  # steps 0 to 10, not the last run's 300
