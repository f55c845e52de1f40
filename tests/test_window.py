"""The real main window, driven offscreen with pytest-qt, as a user would drive it."""

import dataclasses
import random
import time

import numpy as np
import pytest

from gdplayground.config import preset
from gdplayground.gui.window.main_window import MainWindow

TIMEOUT = 20_000  # ms


def spiral(**changes):
    config = preset("spiral")
    config.data.samples = 200
    for path, value in changes.items():
        section, name = path.split(".") if "." in path else (None, path)
        setattr(getattr(config, section) if section else config, name, value)
    return config


@pytest.fixture
def open_window(qtbot):
    def make(config=None) -> MainWindow:
        window = MainWindow(config)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
        return window
    return make


def steps_of(window) -> np.ndarray:
    return window.history.column("step")


def wait_idle(qtbot, window):
    """Until the worker has nothing left to do and its last frame is drawn. A query answers
    only after every command sent before it; a job those commands started has said so by then,
    and if none is running at the answer, every frame has arrived (they come before it)."""
    while True:
        qtbot.waitUntil(lambda: not window.running, timeout=TIMEOUT)
        answers = []
        window.session.ask("snapshot", answers.append)
        qtbot.waitUntil(lambda: bool(answers), timeout=TIMEOUT)
        if not window.running:
            return


def test_opens_ready_on_mnist(open_window):
    window = open_window()
    assert window.info.dataset == "mnist" and window.info.sizes == (784, 256, 128, 10)
    assert window.training.data_view.currentWidget() is window.training.mosaic
    assert window.training.mosaic.n_units == 256
    assert window.architecture_panel.parameter_count.text().startswith("235,146")


def test_play_advances_and_pause_stops(qtbot, open_window):
    window = open_window()
    window.toggle_play()
    qtbot.waitUntil(lambda: window.last_step >= 20, timeout=TIMEOUT)
    assert window.controls.play_action.text() == "Pause"
    window.toggle_play()
    wait_idle(qtbot, window)
    stopped_at = window.last_step
    qtbot.wait(300)
    assert window.last_step == stopped_at
    assert window.controls.play_action.text() == "Play"
    assert np.array_equal(steps_of(window), np.arange(1, stopped_at + 1))


def points_in(curve) -> int:
    x = curve.getData()[0]
    return 0 if x is None else len(x)


def test_step_from_pause_adds_exactly_one_iteration_to_every_plot(qtbot, open_window):
    window = open_window(spiral())
    for expected in (1, 2, 3):
        window.step(1)
        wait_idle(qtbot, window)
        assert window.last_step == expected
        curves = (window.training.loss_view.raw, window.training.gradient_view.curves[0])
        qtbot.waitUntil(lambda: [points_in(c) for c in curves] == [expected] * 2, timeout=TIMEOUT)
    assert steps_of(window).tolist() == [1, 2, 3]


def test_step_epoch_stops_at_the_end_of_the_epoch(qtbot, open_window):
    window = open_window(spiral())  # 100 training points, batch 16: 7 steps an epoch
    window.step(1)
    window.step(-1)
    qtbot.waitUntil(lambda: window.last_step == 7, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert window.last_step == 7 and window.last_epoch == 1


def test_learning_rate_change_appears_in_the_next_report(qtbot, open_window):
    window = open_window(spiral())
    window.toggle_play()
    qtbot.waitUntil(lambda: window.last_step >= 10, timeout=TIMEOUT)
    window.lr_panel.value.widget.setValue(0.05)  # as if typed into the field
    qtbot.waitUntil(lambda: window.history.column("learning_rate")[-1] == 0.05, timeout=TIMEOUT)
    window.toggle_play()
    wait_idle(qtbot, window)
    rates = window.history.column("learning_rate")
    assert set(np.unique(rates)) == {0.01, 0.05}
    first_new = int(np.argmax(rates == 0.05))
    assert (rates[first_new:] == 0.05).all()  # never back: the change held without a reset
    assert window.last_step > first_new and steps_of(window)[0] == 1


def test_learning_rate_slider_and_field_agree(open_window):
    window = open_window(spiral())
    panel = window.lr_panel
    panel.slider.setValue(-200)  # 10^-2
    assert panel.value.value == pytest.approx(0.01)
    panel.value.widget.setValue(0.3)
    assert panel.slider.value() == round(np.log10(0.3) * 100)


def test_divergence_pauses_explains_and_rolls_counter_curves_and_files_back(qtbot, open_window, tmp_path):
    from gdplayground.store.weights import load_weights

    window = open_window(spiral(**{"learning_rate.value": 0.01, "optimizer.name": "sgd",
                                   "architecture.output": "identity", "architecture.loss": "mse"}))
    window.step(150)  # a checkpoint at step 100 to roll back to
    qtbot.waitUntil(lambda: window.last_step == 150 and not window.running, timeout=TIMEOUT)
    window.lr_panel.value.widget.setValue(100.0)
    window.toggle_play()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert "diverged" in window.banner.text() and "Lower the learning rate" in window.banner.text()
    assert window.controls.play_action.text() == "Play"
    assert window.last_step == 100 and steps_of(window).tolist() == list(range(1, 101))
    window.redraw()
    steps, losses = window.training.loss_view.raw.getData()
    assert steps.max() == 100 and np.isfinite(losses).all() and losses.max() < 1e3
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT):
        window.files.export_weights(tmp_path / "w.npz")
    assert load_weights(tmp_path / "w.npz").state.step == 100
    window.lr_panel.value.widget.setValue(0.001)
    window.step(1)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=TIMEOUT)
    assert steps_of(window).tolist() == list(range(1, 102))


def test_architecture_change_asks_and_cancel_keeps_the_run(qtbot, open_window):
    window = open_window(spiral())
    window.step(5)
    qtbot.waitUntil(lambda: window.last_step == 5, timeout=TIMEOUT)
    asked = []
    window.confirm = lambda title, text, items: asked.append(text + " " + "; ".join(items)) or False
    window.architecture_panel.layers.rows[0][1].setValue(12)
    assert asked and window.config.architecture.hidden[0].units == 8
    assert window.architecture_panel.layers.layers()[0].units == 8  # the panel went back
    window.confirm = lambda title, text, items: True
    window.architecture_panel.layers.rows[0][1].setValue(12)
    qtbot.waitUntil(lambda: window.info.sizes == (2, 12, 8, 1), timeout=TIMEOUT)
    assert window.last_step == 0 and len(window.history) == 0


def test_a_burst_of_resets_lays_the_views_out_once_for_the_last_run(qtbot, open_window,
                                                                    monkeypatch):
    """The storm's stalls: every run start of a burst laid the views out (40-260 ms each)."""
    window = open_window(spiral())
    starts = []
    start = window.training.start
    monkeypatch.setattr(window.training, "start", lambda info, *args, **kwargs: (
        starts.append(info.run_id), start(info, *args, **kwargs))[1])
    first = window.info.run_id
    for _ in range(5):
        window.session.reset()
    deadline = time.monotonic() + TIMEOUT / 1000
    while window.session.worker.announced < first + 5 and time.monotonic() < deadline:
        time.sleep(0.01)  # the starts queue up: the window takes no event meanwhile
    qtbot.waitUntil(lambda: window.info.run_id == first + 5, timeout=TIMEOUT)
    assert starts == [first + 5]
    wait_idle(qtbot, window)
    window.session.step(2)
    qtbot.waitUntil(lambda: window.last_step == 2, timeout=TIMEOUT)  # its frames are drawn
    assert list(steps_of(window)) == [1, 2]


def test_a_picture_of_another_network_is_not_drawn_on_the_layout_of_this_one(qtbot, open_window):
    """The storm brought another network's weights to the mosaic: every redraw raised."""
    window = open_window()  # MNIST: the mosaic of 784-pixel tiles, a tile per unit
    window.session.step(1)
    qtbot.waitUntil(lambda: window.training._live_picture is not None, timeout=TIMEOUT)
    drawn = window.training.mosaic.weights.copy()
    frame = window.training._live_picture
    for stranger in (np.ones((196, 16), np.float32), np.ones((8, 1, 5, 5), np.float32)):
        window.training._draw_picture(dataclasses.replace(frame, first_layer=stranger), window.history)
        np.testing.assert_array_equal(window.training.mosaic.weights, drawn)


def test_switching_dataset_shows_its_view(qtbot, open_window):
    window = open_window(spiral())
    window.data_panel.dataset.widget.setCurrentIndex(
        window.data_panel.dataset.widget.findData("linear-system"))
    qtbot.waitUntil(lambda: window.info.dataset == "linear-system", timeout=TIMEOUT)
    assert window.training.data_view.currentWidget() is window.training.linear_view
    assert window.config.architecture.bias is False and window.config.dtype == "float64"
    window.step(30)
    qtbot.waitUntil(lambda: window.last_step == 30, timeout=TIMEOUT)
    qtbot.waitSignal(window.training.redrawn, timeout=TIMEOUT)
    path = window.training.linear_view.path.rows()
    assert path[:, 0].tolist() == list(range(31)) and (path[0, 1:] == 0).all()  # from x = 0


def test_garbage_is_collected_on_the_gui_thread_only(qtbot, open_window):
    """Qt objects in reference cycles must die on the GUI thread: a collection run by the
    worker destroyed them there and deadlocked on the interpreter lock."""
    import gc
    import threading

    window = open_window(spiral())
    collected_on = set()

    def note(phase, info):
        collected_on.add(threading.current_thread().name)
    gc.callbacks.append(note)
    try:
        assert not gc.isenabled()
        window.toggle_play()
        for _ in range(20):
            for _ in range(1000):  # garbage in reference cycles, as Qt and pyqtgraph code leaves
                cycle = []
                cycle.append(cycle)
            qtbot.wait(50)
        window.toggle_play()
    finally:
        gc.callbacks.remove(note)
    assert collected_on == {threading.main_thread().name}


def test_automatic_collection_is_back_on_once_the_last_window_closes(qtbot, open_window):
    """It stayed off after a window closed: garbage piled up until one collection, in the next
    window, took seconds."""
    import gc

    first, second = open_window(spiral()), open_window(spiral())
    assert not gc.isenabled()
    first.close()
    assert not gc.isenabled()  # the second window still trains
    second.close()
    assert gc.isenabled()


def test_closing_mid_training_stops_the_thread(qtbot, qtlog, open_window):
    window = open_window()
    window.toggle_play()
    qtbot.waitUntil(lambda: window.last_step >= 5, timeout=TIMEOUT)
    thread = window.session.thread
    window.close()
    assert window.stopped_in_time  # within a second: the shutdown's own bound
    assert not thread.isRunning()
    assert not [m for m in qtlog.records if "Destroyed while thread" in m.message]


def test_a_thousand_random_presses_end_consistent(qtbot, open_window):
    window = open_window(spiral())
    presses = random.Random(0)
    actions = [window.toggle_play, lambda: window.step(1), lambda: window.step(-1), window.reset]
    for i in range(1000):
        presses.choice(actions)()
        if i % 7 == 0:
            qtbot.wait(presses.randint(0, 3))
    if window.playing:
        window.toggle_play()
    wait_idle(qtbot, window)
    trainer = window.session.worker.trainer  # the worker is idle: safe to look
    n = trainer.step_count
    assert window.last_step == n == len(window.history)
    assert np.array_equal(steps_of(window), np.arange(1, n + 1))
    assert window.controls.play_action.text() == "Play" and window.session.thread.isRunning()


def test_weight_mosaic_places_every_unit_in_its_tile(qtbot):
    from gdplayground.gui.training.weight_mosaic import WeightMosaic
    mosaic = WeightMosaic()
    qtbot.addWidget(mosaic)
    weights = np.zeros((4 * 3, 5))  # five units of 4x3 pixels: 2 rows of 3 tiles
    weights[:, 3] = 1.0  # unit 4 all positive
    weights[7, 1] = -1.0  # unit 2, row 2 col 1: one negative pixel
    mosaic.set_layout((4, 3), weights, class_templates=False)
    mosaic.change.setChecked(False)
    codes = mosaic.mosaic(weights)
    assert codes.shape == (2 * 4, 3 * 3) and codes.dtype == np.uint8
    image = mosaic.lut[codes]
    red, blue, white, empty = mosaic.lut[254], mosaic.lut[0], mosaic.lut[127], mosaic.lut[255]
    tile = lambda unit: image[(unit // 3) * 4:][:4, (unit % 3) * 3:][:, :3]
    assert (tile(3) == red).all()
    assert (tile(1)[2, 1] == blue).all() and (tile(1)[0, 0] == white).all()
    assert (image[-4:, -3:] == empty).all()  # no sixth unit: the last tile stays empty
    assert mosaic.unit_at(3 + 1, 4 + 2) == 4 and mosaic.unit_at(8, 7) is None
    assert mosaic.unit_at(-0.5, 1) is None and mosaic.unit_at(9, 1) is None


def test_screenshot_command_trains_through_the_window_and_saves_a_png(tmp_path, capsys, qapp):
    from PySide6.QtGui import QImage
    from gdplayground.cli import main
    out = tmp_path / "xor.png"
    assert main(["screenshot", "--dataset", "xor", "--steps", "40", "--out", str(out)]) == 0
    assert "after 40 steps" in capsys.readouterr().out
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1440, 900)
    colours = {image.pixel(x, y) for x in range(0, 1440, 37) for y in range(0, 900, 29)}
    assert len(colours) > 20  # a drawn window, not a blank one


def test_screenshot_refuses_a_non_png_name(tmp_path, capsys):
    from gdplayground.cli import main
    assert main(["screenshot", "--steps", "1", "--out", str(tmp_path / "x.jpg")]) == 2
    assert "--out must name a .png file" in capsys.readouterr().err


def test_peak_series_stays_short_and_keeps_every_extreme():
    from gdplayground.gui.widgets.plots import POINT_LIMIT, PeakSeries
    rng = np.random.default_rng(0)
    x = np.arange(1, 300_001, dtype=float)
    y = rng.normal(size=len(x))
    y[123_457] = 50.0  # a spike, as when a run starts to diverge
    series, start = PeakSeries(), 0
    while start < len(x):
        end = start + int(rng.integers(1, 5000))
        series.extend(x[start:end], y[start:end], consumed=min(end, len(x)))
        start = end
    px, py = series.points()
    assert len(px) <= 4 * POINT_LIMIT + 2 * series.block
    assert py.max() == 50.0 and py.min() == y.min()
    assert np.all(np.diff(px) >= 0) and px[0] == 1 and series.consumed == len(x)
    small = PeakSeries()
    small.extend(x[:10], y[:10], consumed=10)
    assert np.array_equal(small.points()[1], y[:10])  # short series are drawn as they are


def test_a_screenshot_of_a_run_that_diverges_is_taken_at_the_rollback(tmp_path):
    from PySide6.QtGui import QImage

    from gdplayground.gui.window.app import save_screenshot

    config = preset("linear-system")
    config.learning_rate.value, config.learning_rate.warmup_steps = 1.0, 20_000  # unstable at ~2,000
    trained = save_screenshot(config, 3000, tmp_path / "shot.png", timeout_s=60)
    assert trained == 2000  # the checkpoint it rolled back to (it diverged at step 2,062, its
    # losses averaging 15 times the start); it does not wait for step 3,000
    assert QImage(str(tmp_path / "shot.png")).width() == 1440
