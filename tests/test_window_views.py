"""The Training tab's views say what they cannot draw, and draw what they can crisply: exact
zeros on a log axis, empty plots, small windows, the weight mosaic at any size, and a run start
that completes whatever part of it fails."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QSpinBox

from gdplayground.engine.history import History
from gdplayground.engine.trainer import LayerStats, StepReport
from gdplayground.gui.widgets.plots import GradientView, LossView


def gradient_report(step, norms):
    return StepReport(step, 1, False, 8, 1.0, 0.5, 0.1,
                      tuple(LayerStats(norm, 0.0, 1.0) for norm in norms))


def title_of(view) -> str:
    return view.plot.getPlotItem().titleLabel.text


def test_exactly_zero_gradients_are_said_not_drawn_as_a_fall_to_1e_300(qtbot):
    """Layer 2's gradient is exactly 0 from step 40 (a dead layer): its moving average fell
    towards 0 geometrically, a line down to 1e-300 on the log axis that squashed the real
    curves into its top few pixels."""
    view = GradientView()
    qtbot.addWidget(view)
    view.set_layers(("2→8", "8→8", "8→1"))
    history = History(3)
    rng = np.random.default_rng(0)
    history.add([gradient_report(step, (rng.uniform(0.1, 0.3), 0.0 if step >= 40 else 0.05,
                                        rng.uniform(0.01, 0.02)))
                 for step in range(1, 3001)])
    view.draw(history)
    drawn = np.concatenate([curve.getData()[1] for curve in view.curves])  # log10 of the norms
    smoothed = np.concatenate([history.column(f"smoothed_layer{i}_grad_norm") for i in (1, 3)])
    assert drawn.min() >= np.log10(smoothed.min()) - 1e-9  # nothing below the real values
    low, high = view.plot.getPlotItem().vb.viewRange()[1]
    assert high - low < 2  # decades: the real data fill the plot
    assert "layer 2 from step 40" in title_of(view) and "layer 1 from" not in title_of(view)
    history.add([gradient_report(3001, (0.2, 0.04, 0.015))])  # the layer comes back to life
    view.draw(history)
    assert "exactly 0" not in title_of(view)


def test_where_a_zero_began_among_summarised_steps_is_given_as_a_bound():
    from gdplayground.gui.widgets.plots import zero_since

    history = History(1, recent=100, max_blocks=1000)
    history.add([gradient_report(step, (0.0 if step >= 155 else 1.0,)) for step in range(1, 501)])
    # rows up to step 300 or so are summarised in blocks of 8: the zeros began inside one
    since = zero_since(history, "layer1_grad_norm")
    assert since.endswith(" at the latest") and 155 <= int(since.split()[0]) <= 155 + 8
    recent = History(1)
    recent.add([gradient_report(step, (0.0 if step >= 155 else 1.0,)) for step in range(1, 501)])
    assert zero_since(recent, "layer1_grad_norm") == "155"


# --- the weight mosaic ------------------------------------------------------------------------
def dark_runs(pixels: np.ndarray) -> list[int]:
    """Lengths of the runs of dark pixels (the lines between tiles) along a line of RGB pixels."""
    dark = np.r_[False, pixels.max(axis=1) < 120, False]
    edges = np.flatnonzero(np.diff(dark.astype(int)))
    return list(edges[1::2] - edges[::2])


@pytest.mark.parametrize("size", [(420, 470), (300, 330), (533, 601)])
def test_every_line_between_weight_tiles_is_one_screen_pixel_wide(qtbot, size):
    """Drawn as rows and columns of the image, the lines were scaled with it: at 1440×900 they
    came out two pixels wide or vanished by turns."""
    from gdplayground.gui.training.weight_mosaic import WeightMosaic

    mosaic = WeightMosaic()
    qtbot.addWidget(mosaic)
    mosaic.resize(*size)
    mosaic.show()
    weights = np.zeros((28 * 28, 256), np.float32)  # white tiles: only the lines are dark
    mosaic.set_layout((28, 28), weights, class_templates=False)
    mosaic.show_weights(weights)
    qtbot.wait(50)
    image = mosaic.canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4)
    corners = [mosaic.box.mapViewToDevice(QPointF(x, x)) for x in (0, 16 * 28)]
    (x0, y0), (x1, y1) = [(round(corner.x()), round(corner.y())) for corner in corners]
    row = pixels[(y0 + y1) // 2 + 3, x0 + 2:x1 - 2, :3]  # across the middle, inside the tiles
    column = pixels[y0 + 2:y1 - 2, (x0 + x1) // 2 + 3, :3]
    assert dark_runs(row) == [1] * 15 and dark_runs(column) == [1] * 15


def test_the_mosaic_shows_the_starting_weights_until_there_is_a_change_to_show(qtbot):
    """'Change since step 0' at step 0, where there is no change: a learner saw a blank grid
    instead of the random weights a run starts from."""
    from gdplayground.gui.training.weight_mosaic import WeightMosaic

    mosaic = WeightMosaic()
    qtbot.addWidget(mosaic)
    initial = np.random.default_rng(0).normal(0, 0.05, (4 * 3, 5)).astype(np.float32)
    mosaic.set_layout((4, 3), initial, class_templates=False)
    mosaic.show_weights(initial.copy())  # step 0's picture, as a frame brings it
    assert mosaic.change.isChecked()
    assert len(np.unique(mosaic.image.image[:4, :3])) > 5  # a tile of 12 weights, many colours
    assert "starting weights: no change yet" in mosaic.title.text
    trained = initial.copy()
    trained[:, 0] += 0.5  # training changed unit 1 alone
    mosaic.show_weights(trained)
    assert "change since step 0" in mosaic.title.text
    assert len(np.unique(mosaic.image.image[:4, 3:6])) == 1  # unit 2 unchanged: one colour
    mosaic.change.setChecked(False)
    assert "weights" in mosaic.title.text and len(np.unique(mosaic.image.image[:4, 3:6])) > 5


# --- empty plots and the learning rate's axis ---------------------------------------------------
def loss_report(step, rate):
    return StepReport(step, 1, False, 8, 2.0 / step, 0.5, rate, (LayerStats(1.0, 0.5, 2.0),))


def test_the_learning_rates_axis_shows_with_the_rate_and_stays_linear_on_a_log_loss(qtbot):
    """An empty plot showed the last run's learning-rate axis; on a log loss scale that axis
    turned logarithmic over a linear view, and lost its ticks."""
    view = LossView()
    qtbot.addWidget(view)
    right = view.plot.getPlotItem().getAxis("right")
    assert not right.isVisible()  # nothing drawn yet: no axis of a rate
    history = History(1)
    history.add([loss_report(step, 0.01) for step in range(1, 200)])
    view.draw(history)
    assert right.isVisible() and view.rate_box.viewRange()[1][1] == pytest.approx(0.0112)
    view.log_scale.setChecked(True)
    assert view.plot.getPlotItem().getAxis("left").logMode and not right.logMode
    assert right.isVisible() and view.rate_box.viewRange()[1][1] == pytest.approx(0.0112)
    assert "learning rate" in title_of(view)
    assert view.plot.getPlotItem().vb.autoRangeEnabled() == [False, False]  # axes move in jumps
    view.restart()  # a new run
    assert not right.isVisible() and "learning rate" not in title_of(view)


# --- a run start completes whatever part of it fails --------------------------------------------
def test_a_run_start_completes_when_an_overlay_fails_and_says_so_once(qtbot, monkeypatch):
    """A kept run without a loss curve raised KeyError in its overlay: from then on every run
    start stopped half way (the mosaic kept the last network's layout, and raised 30 times a
    second), without a word on screen. The overlay now says such a run in its key
    (test_runs); whatever else may fail in a part of a run start, the others are done."""
    from gdplayground.config import Layer, preset
    from gdplayground.gui.window.main_window import MainWindow
    from gdplayground.gui.widgets.overlays import Overlay
    from gdplayground.store.runs import KeptRun

    window = MainWindow(preset("mnist"))
    qtbot.addWidget(window)
    window.show()
    window.confirm = lambda title, text, items: True
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    said = []
    window.banner.say = lambda text, kind, where=None: said.append(text)

    def fail(self, runs):
        if runs:
            raise KeyError("loss")
    monkeypatch.setattr(Overlay, "show", fail)
    curveless = KeptRun("diverged at once", window.config, {}, {"step": np.empty(0)})
    window.runs_tab.overlay_changed.emit([(curveless, 0)])
    assert said == ["Could not draw the kept runs on the loss plot (KeyError: 'loss'); the kept "
                    "runs on the accuracy plot (KeyError: 'loss'); the kept runs on the "
                    "gradient magnitude per layer plot (KeyError: 'loss')."]
    smaller = preset("mnist")
    smaller.architecture.hidden = [Layer(32, "relu")]
    assert window.propose(smaller)
    qtbot.waitUntil(lambda: window.info.sizes == (784, 32, 10), timeout=20_000)
    assert window.training.mosaic.n_units == 32 and len(window.training.gradient_view.curves) == 2
    assert "784-32-10" in window.architecture_panel.parameter_count.text()
    assert len(said) == 2 and said[1] == said[0]  # once for the start, not on every frame
    window.step(2)
    qtbot.waitUntil(lambda: window.last_step == 2 and not window.running, timeout=20_000)
    window.redraw()
    assert window.training.mosaic.weights.shape == (784, 32) and len(said) == 2


# --- small windows ------------------------------------------------------------------------------
def test_at_1024_by_640_the_loss_plots_key_leaves_the_plot_most_of_its_height(qtbot):
    """The coach took a third column, and the loss plot's key four lines of it: the plot was
    a strip under them."""
    from gdplayground.config import preset
    from gdplayground.gui.window.main_window import MainWindow

    window = MainWindow(preset("spiral"))
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    window.resize(1024, 640)  # as a user narrows it, or `screenshot --size 1024x640`
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=5000)
    assert window.tabifiedDockWidgets(window.experiment_dock) == [window.coach_dock]
    view = window.training.loss_view
    history = History(1)
    history.add([StepReport(step, 1, False, 8, 2.0 / step, 0.5, 0.01, (LayerStats(1.0, 0.5, 2.0),),
                            val_loss=1.0 / step, test_loss=1.5 / step) for step in range(1, 200)])
    view.draw(history)
    qtbot.wait(50)
    title = title_of(view)
    assert all(name in title for name in ("batch", "smoothed", "validation", "test", "rate")), title
    assert title.count("<br>") <= 2
    assert view.plot.getPlotItem().vb.height() > 0.5 * view.height()
    window.resize(1440, 900)  # wide again: the coach has its column back
    qtbot.waitUntil(lambda: window.width() == 1440, timeout=5000)
    assert not window.tabifiedDockWidgets(window.experiment_dock)


def test_a_screenshot_is_the_size_asked_for_and_the_smallest_is_said_alike(tmp_path, capsys, qapp):
    """`screenshot --size 640x480` wrote 1018×530 (the window's minimum won silently), though
    the flag's own message gave 640x480 as the limit."""
    from PySide6.QtGui import QImage
    from gdplayground.cli import main

    assert main(["screenshot", "--dataset", "xor", "--steps", "3", "--size", "800x600",
                 "--out", str(tmp_path / "small.png")]) == 2
    assert "from 1024x640 to 4000x3000 pixels (got '800x600')" in capsys.readouterr().err
    out = tmp_path / "xor.png"
    assert main(["screenshot", "--dataset", "xor", "--steps", "3", "--size", "1024x640",
                 "--out", str(out)]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 640)


def test_a_narrow_plots_key_keeps_to_two_lines_in_smaller_type(qtbot):
    view = LossView()
    qtbot.addWidget(view)
    view.resize(200, 230)
    view.show()
    history = History(1)
    history.add([StepReport(step, 1, False, 8, 2.0 / step, 0.5, 0.01, (LayerStats(1.0, 0.5, 2.0),),
                            val_loss=1.0 / step, test_loss=1.5 / step) for step in range(1, 200)])
    view.draw(history)
    qtbot.wait(10)
    title = title_of(view)
    assert title.count("<br>") == 2 and "font-size:8pt" not in title
    assert view.plot.getPlotItem().geometry().width() <= 200


def test_the_redraw_a_click_on_log_scale_asks_for_runs_while_training_waits(qtbot):
    """Against a tiny model training flat out, that redraw waited for the interpreter lock at
    every call into NumPy: hundreds of steps went by during it, and it took 60 to 300 ms."""
    import time

    from gdplayground.bench.window import fastest_config
    from gdplayground.gui.window.main_window import MainWindow
    from gdplayground.gui.widgets.training_run import LONGEST_COURTESY_S

    window = MainWindow(fastest_config())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    trainer, started = window.session.worker.trainer, []
    step = trainer.step

    def timed_step():
        started.append(time.perf_counter())
        return step()
    trainer.step = timed_step
    window.set_pace(None)
    window.toggle_play()
    qtbot.waitUntil(lambda: len(started) > 1000, timeout=20_000)
    during, allowed = [], []
    for _ in range(5):
        begun = time.perf_counter()
        window.training.loss_view.log_scale.toggle()
        ended = time.perf_counter()
        during.append(sum(begun < t < ended for t in started))
        # the step that had passed its look at the window before the click, and one for each
        # courtesy the worker grants the window (a busy machine can make the redraw that long)
        allowed.append(1 + int((ended - begun) / LONGEST_COURTESY_S))
        qtbot.wait(30)
    window.toggle_play()
    qtbot.waitUntil(lambda: not window.running, timeout=20_000)
    assert all(n <= most for n, most in zip(during, allowed)), (during, allowed)


def test_a_screenshot_the_window_cannot_be_laid_out_in_is_refused_saying_why(tmp_path,
                                                                            monkeypatch, qapp):
    from gdplayground.config import preset
    from gdplayground.gui.window import app
    from gdplayground.gui.window.main_window import MainWindow

    build = MainWindow.__init__

    def demanding(self, *args, **kwargs):  # a widget that asks for more room than 1024 pixels
        build(self, *args, **kwargs)
        self.tabs.setMinimumWidth(1200)
    monkeypatch.setattr(MainWindow, "__init__", demanding)
    out = tmp_path / "shot.png"
    with pytest.raises(app.WindowTooSmall, match=r"needs at least 1\d\d\dx\d+ pixels \(asked "
                                                 r"for 1024x640\)"):
        app.save_screenshot(preset("xor"), 1, out, size=(1024, 640))
    assert not out.exists()


def test_new_hidden_layers_replace_the_old_rows_at_once(qtbot):
    """A lesson's two layers over the run's two: the old rows left the layout only when the event
    loop deleted them, and till then four rows showed (a screenshot taken meanwhile had them)."""
    from gdplayground.config import Layer
    from gdplayground.gui.training.layer_list import LayerList

    rows = LayerList()
    qtbot.addWidget(rows)
    rows.set_layers([Layer(8, "tanh"), Layer(8, "tanh")])
    rows.set_layers([Layer(64, "relu"), Layer(64, "relu")])  # no event loop between them
    assert rows.rows_box.count() == 2
    shown = [rows.rows_box.itemAt(i).widget() for i in range(rows.rows_box.count())]
    assert [w.findChild(QSpinBox).value() for w in shown] == [64, 64]
