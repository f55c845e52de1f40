"""The replay slider in the real window: each kept step's weights in the picture, the network
diagram and the linear system's path, the step marked on the plots, and the live run back on
release; on a paused run, a running one and a reopened weight file."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gdplayground.config import preset
from gdplayground.engine import Trainer
from gdplayground.store.weights import WeightFile
from test_window import TIMEOUT, open_window, spiral, wait_idle  # noqa: F401  (a fixture)


def snapshot(qtbot, window):
    answers = []
    window.session.ask("snapshot", answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
    return answers[0]


def trainer_at(config, flat) -> Trainer:
    """An independent network at a kept point: a fresh Trainer of the run's settings."""
    trainer = Trainer(config)
    trainer.network.flat[...] = flat
    return trainer


def boundary_of(trainer) -> np.ndarray:
    """The probability of class 1 over the boundary's 80 × 80 grid on ±4, rows along y."""
    axis = np.linspace(-4.0, 4.0, 80)
    xx, yy = np.meshgrid(axis, axis)
    return trainer.predict(np.column_stack([xx.ravel(), yy.ravel()]))[:, 0].reshape(80, 80)


def replay_to(qtbot, window, step: int) -> int:
    """Move the slider as a user would (pressing it first); returns the kept step shown."""
    slider = window.training.replay_bar.slider
    slider.touched.emit()
    slider.setValue(step)
    qtbot.waitUntil(lambda: window.training.replay_step is not None, timeout=TIMEOUT)
    return window.training.replay_step


def test_replay_shows_each_kept_steps_boundary_diagram_and_mark_then_live_again(qtbot, open_window):  # noqa: F811
    window = open_window(spiral())
    replayed = []
    window.training.replayed.connect(replayed.append)
    window.step(200)
    qtbot.waitUntil(lambda: window.last_step == 200, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    snap = snapshot(qtbot, window)
    path, training = snap.state.path, window.training
    live = boundary_of(restored(snap))

    qtbot.keyClick(training.replay_bar.slider, Qt.Key_Home)  # the first touch fetches the path
    qtbot.waitUntil(lambda: training.replay_step == 0, timeout=TIMEOUT)
    first = boundary_of(trainer_at(snap.config, path.weights[0]))
    assert np.allclose(training.boundary.image.image, first, atol=1e-6)
    assert not np.allclose(first, live, atol=1e-2)  # the step's picture, not the live one

    shown = replay_to(qtbot, window, 101)
    i = int(np.searchsorted(path.steps, 101, side="right")) - 1
    assert shown == path.steps[i] and 0 < shown <= 101
    expected = trainer_at(snap.config, path.weights[i])
    assert np.allclose(training.boundary.image.image, boundary_of(expected), atol=1e-6)
    for view, mark in zip(training.plot_views, training._replay_marks):
        assert mark.isVisible() and mark.value() == shown, view.title
    assert np.array_equal(window.inside.diagram.weights[0], expected.network.layers[0].W)
    assert f"step {shown:,} of 200" in training.replay_bar.words.text()
    assert replayed == [0, shown]

    qtbot.keyClick(training.replay_bar.slider, Qt.Key_BracketRight)  # the next kept step
    assert training.replay_step == path.steps[i + 1]
    qtbot.keyClick(training.replay_bar.slider, Qt.Key_Left)
    assert training.replay_step == path.steps[i]

    qtbot.keyClick(training.replay_bar.slider, Qt.Key_Escape)
    assert training.replay_step is None and replayed[-1] is None
    assert not any(mark.isVisible() for mark in training._replay_marks)
    qtbot.waitUntil(lambda: np.allclose(training.boundary.image.image, live, atol=1e-6),
                    timeout=TIMEOUT)
    trained = snap.state.parameters["layer1.weight"]
    assert np.array_equal(window.inside.diagram.weights[0], trained)
    assert "live: step 200" in training.replay_bar.words.text()


def test_a_replay_holds_its_step_while_training_goes_on(qtbot, open_window):  # noqa: F811
    window = open_window(spiral())
    window.step(100)
    qtbot.waitUntil(lambda: window.last_step == 100, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    snap = snapshot(qtbot, window)
    shown = replay_to(qtbot, window, 50)
    i = list(snap.state.path.steps).index(shown)
    held = boundary_of(trainer_at(snap.config, snap.state.path.weights[i]))
    window.step(300)
    qtbot.waitUntil(lambda: window.last_step == 400, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    training = window.training
    assert training.replay_step == shown and training.live_step == 400
    assert np.allclose(training.boundary.image.image, held, atol=1e-6)
    assert f"step {shown:,} of 400" in training.replay_bar.words.text()
    qtbot.keyClick(training.replay_bar.slider, Qt.Key_End)  # the slider's end: the live run
    assert training.replay_step is None
    live = boundary_of(restored(snapshot(qtbot, window)))
    qtbot.waitUntil(lambda: np.allclose(training.boundary.image.image, live, atol=1e-6),
                    timeout=TIMEOUT)


def restored(snap) -> Trainer:
    """An independent network at a snapshot's (the live run's) weights."""
    trainer = Trainer(snap.config)
    trainer.restore(snap.state)
    return trainer


def test_a_reopened_weight_file_replays_the_path_it_carries(qtbot, open_window):  # noqa: F811
    window = open_window(spiral())
    trainer = Trainer(window.config)
    for _ in range(120):
        trainer.step()
    state = trainer.snapshot(path=True)
    window.session.resume(WeightFile(trainer.config, state, {}))
    qtbot.waitUntil(lambda: window.last_step == 120, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    shown = replay_to(qtbot, window, 60)
    i = list(state.path.steps).index(shown)
    expected = boundary_of(trainer_at(trainer.config, state.path.weights[i]))
    assert np.allclose(window.training.boundary.image.image, expected, atol=1e-6)


def test_the_linear_systems_replay_marks_x_at_the_step(qtbot, open_window):  # noqa: F811
    window = open_window(preset("linear-system"))
    window.step(60)
    qtbot.waitUntil(lambda: window.last_step == 60, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    path = snapshot(qtbot, window).state.path
    shown = replay_to(qtbot, window, 30)
    i = list(path.steps).index(shown)
    view = window.training.linear_view
    xs, ys = view.step_points.getData()
    assert np.all(xs == shown) and np.allclose(ys, path.weights[i])  # x is the one layer's W
    assert all(line.isVisible() and line.value() == shown for line in view.step_lines)
    window.training.back_to_live()
    assert len(view.step_points.getData()[0]) == 0
    assert not any(line.isVisible() for line in view.step_lines)


def test_the_mosaic_replays_the_first_layer_of_the_step(qtbot, open_window):  # noqa: F811
    config = preset("mnist")
    config.architecture.hidden = config.architecture.hidden[:1]
    window = open_window(config)
    window.step(20)
    qtbot.waitUntil(lambda: window.last_step == 20, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    snap = snapshot(qtbot, window)
    path, mosaic = snap.state.path, window.training.mosaic
    shown = replay_to(qtbot, window, 10)
    i = list(path.steps).index(shown)
    n_in, units = snap.state.parameters["layer1.weight"].shape
    first_layer = path.weights[i][:n_in * units].reshape(n_in, units)  # Network.flat's layout
    assert np.array_equal(mosaic.weights, first_layer)
    assert np.array_equal(mosaic.image.image, mosaic.mosaic(first_layer - mosaic.initial))
    window.training.back_to_live()
    qtbot.waitUntil(lambda: np.array_equal(mosaic.weights, snap.state.parameters["layer1.weight"]),
                    timeout=TIMEOUT)


def test_a_convolutional_runs_replayed_weights_give_the_losses_the_run_had(tmp_path):
    from gdplayground.labs.replay import StepNetwork
    from tiny_images import conv_config, image_folder

    trainer = Trainer(conv_config(image_folder(tmp_path / "images"), "conv3x3,pool,conv4x3s2,8"))
    measured = {0: trainer.evaluate("train")[0]}
    for _ in range(6):
        step = trainer.step().step
        measured[step] = trainer.evaluate("train")[0]
    data, path = trainer.dataset, trainer.path.kept()
    stepper = StepNetwork(trainer.config, trainer.network.sizes, data.input_scale,
                          data.image_shape)
    stepper.rows = 5  # in chunks, as a large sample is measured
    assert len(path) == 7
    for step, weights in zip(path.steps, path.weights):
        replayed = stepper.at(weights).loss_on(data.train.x, data.train.y)
        assert replayed == pytest.approx(measured[int(step)], rel=1e-6)
    assert len(set(measured.values())) == 7  # the steps' losses differ: each is its own
