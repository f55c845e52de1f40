"""The Landscape tab, driven offscreen with pytest-qt: each view computed for a small spiral run
shows the lab's numbers (checked against the engine's own loss), Cancel and a new Compute stop a
computation, a lab's refusal and a missing path are said in the tab, highlight_step marks the
kept step nearest the one asked, and closing the window stops the thread. Tests about the tab
alone stand the lab in with small functions."""

import threading
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMainWindow

from gdplayground.config import preset
from gdplayground.engine import Trainer
from gdplayground.engine.path import KeptPath
from gdplayground.labs import landscape, sharpness
from gdplayground.labs.gradient_lab import _Model
from gdplayground.labs.landscape import Line, PathPlane, Plane, Terrain
from gdplayground.labs.sharpness import Sharpness
from gdplayground.gui.landscape.surface import loss_ticks
from gdplayground.gui.landscape.tab import LandscapeTab

TIMEOUT = 60_000  # ms
STEPS = 120


@pytest.fixture(scope="module")
def terrain() -> Terrain:
    trainer = Trainer(preset("spiral"))
    for _ in range(STEPS):
        trainer.step()
    return Terrain.of(trainer)


def make_tab(qtbot, terrain) -> LandscapeTab:
    """A tab whose `ask` answers as the session does: later, on the GUI thread."""
    tab = LandscapeTab(lambda what, callback: QTimer.singleShot(5, lambda: callback(terrain)))
    qtbot.addWidget(tab)
    tab.resize(1024, 640)
    tab.show()
    return tab


def loss_at(probe, flat) -> float:
    """The engine's loss of the probe's network at weights `flat`, on all its examples."""
    return _Model(probe.at(flat), np.float64).value()


def compute(qtbot, tab, view):
    tab.views.setCurrentWidget(view)
    qtbot.mouseClick(tab.compute_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.state == "idle", timeout=TIMEOUT)
    return view.result


# --- with the lab ---------------------------------------------------------------------------
def test_the_plane_s_centre_is_the_current_loss_and_the_picture_is_its_log(qtbot, terrain):
    tab = make_tab(qtbot, terrain)
    tab.grid.setValue(7)
    tab.samples.setValue(len(terrain.probe.x))  # every example: the engine's loss is comparable
    plane = compute(qtbot, tab, tab.plane)
    assert isinstance(plane, Plane) and plane.loss.shape == (7, 7)
    centre = loss_at(terrain.probe, terrain.probe.flat())
    assert plane.loss[3, 3] == pytest.approx(centre, rel=1e-6)
    assert f"Loss at the centre (now): <b>{centre:.4g}</b>" in tab.plane.caption.text()
    assert np.allclose(tab.plane.surface.image.image, np.log10(plane.loss), rtol=1e-5)
    assert len(tab.plane.surface.contours) == 8
    assert tab.status.text().startswith(
        f"Plane computed at step {STEPS:,} on {len(terrain.probe.x):,} examples")


def test_the_line_starts_at_the_initial_loss_and_reaches_the_current_one(qtbot, terrain):
    tab = make_tab(qtbot, terrain)
    tab.samples.setValue(len(terrain.probe.x))
    line = compute(qtbot, tab, tab.line)
    assert isinstance(line, Line)
    start = loss_at(terrain.probe, terrain.path.weights[0])
    now = loss_at(terrain.probe, terrain.probe.flat())
    zero, one = np.argmin(np.abs(line.alphas)), np.argmin(np.abs(line.alphas - 1))
    assert line.loss[zero] == pytest.approx(start, rel=1e-6)
    assert line.loss[one] == pytest.approx(now, rel=1e-6)
    said = tab.line.caption.text()
    assert f"Loss at the start (step 0) <b>{start:.4g}</b>" in said
    assert f"now (step {STEPS:,}) <b>{now:.4g}</b>" in said
    assert [mark.label.format for mark in tab.line.marks] == ["start (step 0)",
                                                             f"now (step {STEPS:,})"]
    assert np.array_equal(tab.line.loss_curve.getOriginalDataset()[1], line.loss)


def test_the_path_s_table_gives_each_point_s_true_loss_plane_loss_and_distance(qtbot, terrain):
    tab = make_tab(qtbot, terrain)
    tab.grid.setValue(5)
    tab.samples.setValue(len(terrain.probe.x))
    result = compute(qtbot, tab, tab.path)
    assert isinstance(result, PathPlane)
    rows = tab.path.table.rowCount()
    kept_now = terrain.path.steps[-1] == terrain.step  # then the current point is the last kept
    assert rows == len(result.steps) == len(terrain.path) + (not kept_now)
    last = [tab.path.table.item(rows - 1, column).text() for column in range(4)]
    now = loss_at(terrain.probe, terrain.probe.flat())
    assert last[0] == f"now ({STEPS:,})" and last[1] == f"{now:.4g}"
    assert last[3] == f"{result.distance[-1]:.3g}"
    first = [tab.path.table.item(0, column).text() for column in range(4)]
    assert first[1] == f"{loss_at(terrain.probe, terrain.path.weights[0]):.4g}"
    share = [int(round(100 * e)) for e in result.explained]
    labels = [tab.path.surface.getAxis(side).labelText for side in ("bottom", "left")]
    assert labels == [f"PC{i + 1}, {share[i]}% of the path's variance" for i in (0, 1)]
    assert "from it, against" in tab.path.warning.text()


def test_sharpness_is_drawn_against_two_over_the_rate(qtbot, terrain):
    tab = make_tab(qtbot, terrain)
    tab.samples.setValue(100)
    run = compute(qtbot, tab, tab.sharpness)
    bound = 2 / terrain.learning_rate
    assert run.bound == pytest.approx(bound)
    assert len(run.steps) == len(run.largest) == min(len(terrain.path), 32)
    assert f"λ_max = <b>{run.now.largest:.4g}</b>" in tab.sharpness.caption.text()
    assert f"2/lr = <b>{bound:.4g}</b>" in tab.sharpness.caption.text()
    x, y = tab.sharpness.bound_curve.getOriginalDataset()
    assert x[-1] == STEPS and y[-1] == pytest.approx(bound)
    assert "2/lr is plain gradient descent's bound" in tab.sharpness.caption.text()  # Adam


# --- the tab alone ----------------------------------------------------------------------------
def small_terrain(steps=(0, 10, 20, 30, 40), now=50, path=True) -> Terrain:
    probe = replace(Terrain.of(Trainer(preset("xor"))).probe)
    n = probe.flat().size
    kept = KeptPath(np.array(steps), np.zeros((len(steps), n)), np.full(len(steps), 0.1)) \
        if path else KeptPath(np.zeros(0, np.int64), np.zeros((0, n)), np.zeros(0))
    return Terrain(probe, kept, now, 0.1, "sgd", "xor")


def fake_path_plane(probe, path, grid=21, samples=2000, seed=0, progress=None, cancelled=None,
                    *, step=None):
    k = len(path) + 1
    coords = np.column_stack([np.arange(k, 0, -1.0) - 1, np.linspace(0, 1, k)])
    surface = Plane(np.linspace(-1, 5, 5), np.linspace(-1, 2, 5), np.ones((5, 5)), None, 10, "")
    return PathPlane(surface, (0.8, 0.1), np.append(path.steps, step), coords,
                     np.ones(k), np.ones(k), np.zeros(k))


def test_highlight_step_marks_the_kept_point_nearest_it(qtbot, monkeypatch):
    monkeypatch.setattr(landscape, "path_plane", fake_path_plane)
    monkeypatch.setattr(sharpness, "sharpness_along", lambda probe, path, progress=None,
                        cancelled=None: (path.steps, np.arange(1.0, len(path) + 1)))
    monkeypatch.setattr(sharpness, "sharpness", lambda probe, **_: Sharpness(
        9.0, (9.0,), None, 10, True))
    tab = make_tab(qtbot, small_terrain())
    result = compute(qtbot, tab, tab.path)
    compute(qtbot, tab, tab.sharpness)
    tab.highlight_step(33)  # nearest kept step: 30, the fourth point
    assert tab.path.marked == tuple(result.coords[3])
    assert tab.path.table.selectionModel().selectedRows()[0].row() == 3
    assert tab.sharpness.marked == (30, 4.0)
    tab.highlight_step(48)  # nearest: the current step, 50
    assert tab.path.marked == tuple(result.coords[-1])
    assert tab.sharpness.marked == (50, 9.0)
    tab.highlight_step(None)  # back to the live run
    assert tab.path.marked is None and tab.sharpness.marked is None
    tab.highlight_step(12)
    compute(qtbot, tab, tab.path)  # a new picture keeps the replay's mark
    assert tab.path.marked == tuple(result.coords[1])


def slow_plane(calls):
    """A plane that takes until it is cancelled, counting its calls and its cancellations."""
    def plane(probe, grid=21, extent=1.0, samples=2000, seed=0, bias=False, progress=None,
              cancelled=None):
        calls.append("started")
        for done in range(10_000):
            progress(done, 10_000)
            if cancelled():
                calls.append("cancelled")
                raise RuntimeError("cancelled")
            threading.Event().wait(0.001)
        raise AssertionError("never cancelled")
    return plane


def test_cancel_stops_a_computation_and_keeps_the_last_picture(qtbot, monkeypatch):
    tab = make_tab(qtbot, small_terrain())
    calls = []
    monkeypatch.setattr(landscape, "plane", slow_plane(calls))
    tab.views.setCurrentWidget(tab.plane)
    tab.compute()
    qtbot.waitUntil(lambda: tab.state == "running" and tab.progress.value() > 0, timeout=TIMEOUT)
    task = tab.background._task
    assert tab.cancel_button.isEnabled()
    qtbot.mouseClick(tab.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.state == "idle", timeout=TIMEOUT)
    assert calls == ["started", "cancelled"] and task.isFinished()
    assert tab.status.text() == "Cancelled." and tab.plane.result is None
    assert not tab.cancel_button.isEnabled()


def test_compute_during_a_computation_cancels_it_and_starts_again(qtbot, monkeypatch):
    tab = make_tab(qtbot, small_terrain())
    calls = []
    monkeypatch.setattr(landscape, "plane", slow_plane(calls))
    tab.views.setCurrentWidget(tab.plane)
    tab.compute()
    qtbot.waitUntil(lambda: tab.state == "running", timeout=TIMEOUT)
    tab.compute()
    qtbot.waitUntil(lambda: calls == ["started", "cancelled", "started"], timeout=TIMEOUT)
    assert tab.state == "running"
    tab.cancel()
    qtbot.waitUntil(lambda: tab.state == "idle", timeout=TIMEOUT)
    assert calls == ["started", "cancelled", "started", "cancelled"]


def test_closing_the_window_mid_computation_stops_the_thread(qtbot, monkeypatch):
    monkeypatch.setattr(landscape, "plane", slow_plane([]))
    window = QMainWindow()
    qtbot.addWidget(window)
    tab = LandscapeTab(lambda what, callback: callback(small_terrain()))
    window.setCentralWidget(tab)
    window.show()
    tab.views.setCurrentWidget(tab.plane)
    tab.compute()
    qtbot.waitUntil(lambda: tab.state == "running", timeout=TIMEOUT)
    task = tab.background._task
    window.close()
    assert task.isFinished()  # waited for, not left running under a closing window
    assert not tab.follow_timer.isActive()


def test_a_lab_s_refusal_is_one_message_and_the_tab_stays_usable(qtbot, monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("the path has 1 point: a plane needs at least 2")
    monkeypatch.setattr(landscape, "path_plane", refuse)
    monkeypatch.setattr(landscape, "plane", lambda probe, grid, *args, **kwargs: Plane(
        np.linspace(-1, 1, grid), np.linspace(-1, 1, grid), np.full((grid, grid), 0.5), None,
        10, "The linear system's loss is an exact quadratic: its contours are ellipses."))
    tab = make_tab(qtbot, small_terrain())
    assert compute(qtbot, tab, tab.path) is None
    said = "Could not compute the path: the path has 1 point: a plane needs at least 2"
    assert tab.status.text() == said and tab.path.caption.text() == said
    assert tab.compute_button.isEnabled()
    assert compute(qtbot, tab, tab.plane) is not None  # and the tab goes on
    assert "exact quadratic" in tab.plane.caption.text()  # the lab's note is shown


def test_a_network_without_a_path_says_why_the_line_cannot_be_drawn(qtbot, monkeypatch):
    monkeypatch.setattr(landscape, "line", lambda *args, **kwargs: pytest.fail("no θ₀ to use"))
    tab = make_tab(qtbot, small_terrain(path=False))
    assert compute(qtbot, tab, tab.line) is None
    assert "too large to keep its path" in tab.status.text()
    assert "The Plane and Sharpness views work without it" in tab.line.caption.text()


def test_follow_the_run_recomputes_only_when_the_run_has_moved(qtbot, monkeypatch):
    planes = []

    def plane(probe, grid, *args, **kwargs):
        planes.append(grid)
        return Plane(np.linspace(-1, 1, grid), np.linspace(-1, 1, grid),
                     np.full((grid, grid), 0.5), None, 10, "")
    monkeypatch.setattr(landscape, "plane", plane)
    terrains = [small_terrain(now=50)]
    tab = LandscapeTab(lambda what, callback: callback(terrains[-1]))
    qtbot.addWidget(tab)
    tab.show()
    tab.views.setCurrentWidget(tab.plane)
    tab.follow.setChecked(True)
    for now, expected in ((50, 1), (50, 1), (60, 2)):  # the timer's ticks, without the timer
        terrains.append(small_terrain(now=now))
        tab._follow()
        qtbot.waitUntil(lambda: tab.state == "idle", timeout=TIMEOUT)
        assert len(planes) == expected, now
    assert tab.status.text().startswith("Plane computed at step 60")


def test_the_colour_scale_reads_in_round_losses():
    assert [label for _, label in loss_ticks(np.log10(0.66), np.log10(0.68))] == [
        "0.66", "0.665", "0.67", "0.675", "0.68"]
    assert [label for _, label in loss_ticks(np.log10(0.01), np.log10(2.3))] == [
        "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert all(value == pytest.approx(np.log10(float(label)))
               for value, label in loss_ticks(-5, 0.5))


def test_an_empty_view_keeps_its_range_however_often_it_fits_it(qtbot):
    """The labels are no part of what a view fits: their size in data units shrinks with the
    range, so fitting them shrank the range of a view never computed a little at each paint,
    until a drag over it met a range of 1e-305 and pyqtgraph raised (a storm found it)."""
    from gdplayground.gui.landscape.path_view import PathView
    from gdplayground.gui.landscape.plane_view import PlaneView

    for view in (PathView(), PlaneView()):
        qtbot.addWidget(view)
        view.resize(600, 400)
        view.show()
        box = view.surface.getPlotItem().getViewBox()
        for _ in range(30):
            box.updateAutoRange()
            qtbot.wait(1)
        (x0, x1), (y0, y1) = box.viewRange()
        assert x1 - x0 > 0.1 and y1 - y0 > 0.1, box.viewRange()


def test_a_convolutional_runs_plane_and_sharpness_are_computed_in_the_tab(qtbot, tmp_path):
    from tiny_images import conv_config, image_folder
    trainer = Trainer(conv_config(image_folder(tmp_path / "images"), "conv3x3,pool,8"))
    for _ in range(12):
        trainer.step()
    conv = Terrain.of(trainer)
    tab = make_tab(qtbot, conv)
    tab.grid.setValue(5)
    tab.samples.setValue(len(conv.probe.x))
    plane = compute(qtbot, tab, tab.plane)
    assert isinstance(plane, Plane) and plane.loss.shape == (5, 5)
    centre = loss_at(conv.probe, conv.probe.flat())
    assert plane.loss[2, 2] == pytest.approx(centre, rel=1e-9)
    assert plane.loss[2, 2] == pytest.approx(trainer.evaluate("train")[0], rel=1e-5)  # float32
    run = compute(qtbot, tab, tab.sharpness)
    assert len(run.largest) == min(len(conv.path), 32) and run.now.largest > 0
    assert f"λ_max = <b>{run.now.largest:.4g}</b>" in tab.sharpness.caption.text()
