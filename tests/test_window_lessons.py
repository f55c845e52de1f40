"""Lessons in the real window: every shipped lesson opens from the Lessons menu with its text in
the dock and its tab in view, each tab set up as the lesson says; a broken lesson file gives its
message and changes nothing; a run under way is replaced only when the user agrees. (Two
windows in all: each costs seconds to build.)"""

import pytest
from PySide6.QtWidgets import QDockWidget

from gdplayground.config import preset
from gdplayground.gui.lessons.lesson_actions import tab_of
from gdplayground.gui.window.main_window import MainWindow
from gdplayground.labs.lessons import TABS, lessons_folder, load_lesson, shipped_lessons

TIMEOUT = 20_000
BROKEN = [
    ('title = "T"\norder = 1\ntab = "weights"\n', "tab 'weights' is not one of"),
    ('title = "T"\norder = 1\ntab = "training"\n[experiment]\nlearning_rate.value = -1\n',
     "learning_rate.value must be above 0"),
    ('title = "T"\norder = 1\ntab = "optimizers"\n[race]\nsurface = "saddle"\n'
     'racers = [{rule = "sgd"}]\n', "race.racers[0].lr is missing"),
    (None, "broken.md is missing"),
]


@pytest.fixture
def window(qtbot):
    window = MainWindow(preset("spiral"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    window.asked = []
    window.confirm = lambda title, text, items: window.asked.append(title) or True
    return window


def trained(qtbot, window, steps=5):
    window.step(steps)
    qtbot.waitUntil(lambda: window.last_step == steps and not window.running, timeout=TIMEOUT)


def lesson(name: str):
    return load_lesson(lessons_folder() / f"{name}.toml")


def test_every_shipped_lesson_opens_from_the_menu_with_its_text_and_its_tab(qtbot, window):
    lessons = shipped_lessons()
    entries = [a for a in window.lessons.menu.actions() if not a.isSeparator()]
    assert [a.text() for a in entries[:len(lessons)]] == [
        f"{n}. {one.title}" for n, one in enumerate(lessons, 1)]
    assert {tab_of(window, tab).SPEC.title for tab in TABS} == {
        window.tabs.tabText(i) for i in range(window.tabs.count())}
    for one, entry in zip(lessons, entries):
        previous = window.info
        entry.trigger()
        assert window.tabs.currentWidget() is tab_of(window, one.tab), one.name
        dock = window.lessons.dock
        assert dock.isVisible() and dock.lesson == one
        assert dock.windowTitle() == "Lesson"
        shown = dock.text.toPlainText()
        assert shown.startswith(one.title) and "**" not in shown  # Markdown rendered
        if one.experiment is not None:
            assert window.config == one.experiment
            qtbot.waitUntil(lambda: window.info is not previous, timeout=TIMEOUT)  # its run
            hidden = one.experiment.architecture.hidden
            assert list(window.info.sizes[1:-1]) == [layer.units for layer in hidden]
        if one.race is not None:
            race = window.optimizers.race
            assert race.surface.name == one.race.surface and not window.optimizers.playing
            assert [(r.optimizer, r.lr) for r in race.racers] == [
                (r.optimizer, r.lr) for r in one.race.racers]
            assert race.start.tolist() == list(one.race.start or race.surface.start)
        if one.sweep is not None:
            plan = window.sweep._plan()
            assert plan.axes == one.sweep.plan().axes and plan.steps == one.sweep.steps
        if one.landscape_view is not None:
            landscape = window.landscape
            assert landscape.views.currentWidget() is getattr(landscape, one.landscape_view)
    assert window.lessons.start(lesson("x-squared-step"))  # and the tab takes the step it says
    window.optimizers.step()
    assert window.optimizers.race.points[0].tolist() == pytest.approx([1.6])


def test_a_broken_or_declined_lesson_changes_nothing_and_one_accepted_starts_from_step_0(
        qtbot, window, tmp_path):
    trained(qtbot, window)
    before, race = window.config, window.optimizers.race
    path = tmp_path / "broken.toml"
    for toml, says in BROKEN:
        if toml is None:
            path.with_suffix(".md").unlink()
        else:
            path.write_text(toml, encoding="utf-8")
            path.with_suffix(".md").write_text("# T\n", encoding="utf-8")
        assert not window.lessons.open_lesson(path)
        assert window.banner.isVisible() and str(path.with_suffix("")) in window.banner.text()
        assert says in window.banner.text()
        assert window.config is before and window.last_step == 5 and not window.asked
        assert window.tabs.currentWidget() is window.training and window.optimizers.race is race
        assert not window.lessons.dock.isVisible()
    window.confirm = lambda *_: False  # a lesson that would end the run, declined
    assert not window.lessons.start(lesson("overfitting"))
    assert window.config is before and window.last_step == 5
    assert window.tabs.currentWidget() is window.training and not window.lessons.dock.isVisible()
    assert window.lessons.start(lesson("saddle-point"))  # a lesson with no experiment asks nothing
    assert not window.banner.isVisible() and window.last_step == 5
    assert window.tabs.currentWidget() is window.optimizers
    window.confirm = lambda title, text, items: window.asked.append(title) or True
    window.resize(1024, 640)  # a lesson starts its run from step 0, asking once
    assert window.lessons.start(lesson("gradient-check"))  # these settings alone would go on
    assert window.asked == ["Start a new run?"]
    qtbot.waitUntil(lambda: window.last_step == 0, timeout=TIMEOUT)
    trained(qtbot, window)
    assert window.lessons.start(lesson("overfitting"))
    assert window.asked == ["Start a new run?"] * 2  # another network: asked once, by propose
    qtbot.waitUntil(lambda: window.last_step == 0 and window.info.sizes[1] == 64, timeout=TIMEOUT)
    dock = window.lessons.dock  # in a 1024×640 window, a tab beside the experiment's panels
    assert (window.width(), window.height()) == (1024, 640)
    assert dock in window.tabifiedDockWidgets(window.experiment_dock)
    assert window.rect().contains(dock.geometry()) and dock.width() >= 300
    window.resize(1280, 800)  # a column of its own beside the views
    qtbot.waitUntil(lambda: dock in window.tabifiedDockWidgets(window.coach_dock), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=TIMEOUT)
    assert window.rect().contains(dock.geometry()) and dock.width() >= 140
    assert dock.features() & QDockWidget.DockWidgetClosable
    dock.close()
    assert not dock.isVisible()
    show = dock.toggleViewAction()
    assert show in window.lessons.menu.actions()
    show.trigger()
    assert dock.isVisible() and "Overfitting" in dock.text.toPlainText()
    path = tmp_path / "inside.toml"  # a teacher's own lesson, on the Inside tab
    path.write_text('title = "Saturation"\norder = 1\ntab = "inside"\n'
                    '[inside]\npage = "distributions"\n', encoding="utf-8")
    path.with_suffix(".md").write_text("# Saturation\n\nSee the [weights](https://x.org).\n",
                                       encoding="utf-8")
    assert window.lessons.open_lesson(path)
    assert window.tabs.currentWidget() is window.inside
    assert window.inside.pages.currentWidget() is window.inside.distributions
    assert dock.text.toPlainText() == "Saturation\nSee the weights."
