"""Sweeps: values and settings read and refused in words, real sweeps on small data, and the
runner that keeps the window free (the command line's: test_sweep_cli.py)."""

import numpy as np
import pytest

from gdplayground.cli.flags import SETTINGS
from gdplayground.config import differences, field_at, preset
from gdplayground.layer_grammar import layer_words
from gdplayground.labs.sweeps.params import (
    PARAMS, SweepError, parse_bounds, sweep_param, sweep_values)
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, run_sweep


def line(name, values, **kwargs):
    """A plan of one setting."""
    return SweepPlan((SweepAxis(sweep_param(name), tuple(values)),), **kwargs)


def spiral_sweep(values=(0.01, 0.1), repeats=1, steps=30, **kwargs):
    plan = line("lr", values, repeats=repeats, steps=steps)
    return list(run_sweep(preset("spiral"), plan, **kwargs))


# --- values ----------------------------------------------------------------------------------
def test_values_are_spaced_evenly_on_a_log_or_linear_scale_with_both_ends_exact():
    assert sweep_values(1e-4, 10, 11, log=True)[::5] == [1e-4, 0.03162277660168379, 10.0]
    assert np.allclose(np.diff(np.log10(sweep_values(1e-4, 10, 11, log=True))), 0.5)
    assert sweep_values(0.1, 0.9, 5) == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    assert sweep_values(0.1, 0.7, 7)[-1] == 0.7  # not 0.7000000000000001
    assert len(sweep_values(1, 2, 100)) == 100


def test_whole_numbers_are_rounded_and_counted_once():
    assert sweep_param("width").range_values(16, 256, 5, log=True) == (16, 32, 64, 128, 256)
    assert sweep_param("batch-size").range_values(1, 3, 10, log=False) == (1, 2, 3)
    assert sweep_param("lr").parse_list("0.1, 1e-2,0.1") == (0.1, 0.01)
    assert sweep_param("optimizer").parse_list("sgd,Adam") == ("sgd", "adam")


def test_every_train_flag_names_its_setting_and_friendly_names_reach_theirs():
    for flag, path in SETTINGS.items():
        if not {"range", "choices"} & set(field_at(path).metadata):  # a name: --target
            continue
        assert sweep_param(flag).path == path and sweep_param(flag[2:]).path == path
    assert list(PARAMS)[:7] == ["lr", "batch-size", "optimizer", "activation", "init", "layers",
                                "width"]
    assert sweep_param("optimizer.beta1").name == "beta1"
    assert sweep_param("batch_size").path == "batch.size"


def test_settings_are_set_as_named():
    base = preset("mnist")  # hidden 256 relu, 128 relu
    widths = sweep_param("width").configure(base, 32).architecture.hidden
    assert [(layer.units, layer.activation) for layer in widths] == [(32, "relu"), (32, "relu")]
    deeper = sweep_param("layers").configure(base, 3).architecture.hidden
    assert [layer.units for layer in deeper] == [256, 256, 256]
    tanh = sweep_param("activation").configure(base, "tanh").architecture.hidden
    assert {layer.activation for layer in tanh} == {"tanh"}
    assert sweep_param("lr").configure(base, 0.5).learning_rate.value == 0.5
    assert base.learning_rate.value == preset("mnist").learning_rate.value  # left as it was


@pytest.mark.parametrize("make, message", [
    (lambda: sweep_param("warp"), "'warp' is not a setting a sweep can vary; allowed: lr, "
                                  "batch-size, optimizer, activation, init, layers, width"),
    (lambda: sweep_param("lr").parse_list("0.1,200"),
     "lr takes values above 0 and at most 100 (got 200)"),
    (lambda: sweep_param("lr").parse_list("0.1,,1"), "has an empty value"),
    (lambda: sweep_param("lr").parse_list("0.1,fast"), "lr: 'fast' is not a number"),
    (lambda: sweep_param("batch-size").parse_list("1.5"),
     "batch-size takes whole numbers (got 1.5)"),
    (lambda: sweep_param("optimizer").parse_list("sgd,adamw"), "optimizer takes one of: sgd, "
                                                             "momentum"),
    (lambda: sweep_param("optimizer").range_values(1, 2, 3, False), "optimizer is chosen by name"),
    (lambda: sweep_param("l2").range_values(0, 1, 5, True), "a log range needs bounds above 0"),
    (lambda: sweep_param("lr").range_values(1, 0.1, 5, True), "from a low value to a higher one"),
    (lambda: sweep_param("lr").range_values(0.1, 1, 1, True), "a count from 2 to 1000"),
    (lambda: parse_bounds("1e-4..10"), "'1e-4..10' is not a range; write LO:HI"),
    (lambda: sweep_param("width").configure(preset("linear-system"), 8), "width 8: the network "
                                                                         "has no hidden layer"),
    (lambda: sweep_param("loss").configure(preset("mnist"), "bce"),
     "loss bce: architecture.output"),
    (lambda: line("lr", (0.1,) * 11, repeats=100), "1,100 runs, more than 1,000"),
])
def test_bad_sweeps_are_refused_in_words(make, message):
    with pytest.raises(SweepError) as caught:
        make()
    assert message in str(caught.value)


# --- real sweeps -----------------------------------------------------------------------------
def test_a_sweep_runs_every_value_and_repeat_each_repeat_from_its_own_seed():
    runs = spiral_sweep(repeats=2)
    assert [(run.point[0], run.repeat, run.config.seed) for run in runs] == [
        (0.01, 0, 0), (0.1, 0, 0), (0.01, 1, 1), (0.1, 1, 1)]
    assert all(run.config.learning_rate.value == run.point[0] for run in runs)
    assert all(run.summary["steps"] == 30 and run.state.step == 30 for run in runs)
    assert all(run.least_loss <= run.final_loss and 0 <= run.test_accuracy <= 1 for run in runs)
    assert runs[0].final_loss != runs[2].final_loss  # repeats differ …
    again = spiral_sweep(repeats=2)
    assert [run.final_loss for run in again] == [run.final_loss for run in runs]  # … reproducibly
    assert np.array_equal(again[3].state.parameters["layer1.weight"],
                          runs[3].state.parameters["layer1.weight"])
    # each run keeps its path, for the replay and the landscape of a sweep's run: 0 … 30
    assert all(run.state.path.steps.tolist() == list(range(31)) for run in runs)
    assert np.array_equal(runs[3].state.path.weights[-1],
                          np.concatenate([p.ravel() for p in runs[3].state.parameters.values()]))


def test_a_rate_far_too_high_is_marked_diverged_at_its_step():
    plan = line("lr", (0.01, 100.0), steps=500)
    gentle, wild = run_sweep(preset("linear-system"), plan)
    assert not gentle.diverged and gentle.final_loss < 5.67
    assert wild.diverged and 1 < wild.diverged_at_step < 500
    assert wild.final_loss is None and wild.test_accuracy is None
    assert wild.least_loss == pytest.approx(17 / 3)  # before it blew up: the loss at x = 0
    assert wild.state.step == 0 and len(wild.history) == 0  # rolled back to the checkpoint
    assert len(wild.curve[0]) == wild.diverged_at_step - 1  # the curve up to the blow-up
    assert wild.summary["diverged"] and wild.summary["diverged_at_step"] == wild.diverged_at_step
    from gdplayground.gui.runs.sweep_result_view import summary_words
    assert summary_words([gentle, wild], plan.params[0]).endswith(  # the setting named
        f"1 diverged: lr 100 (repeat 0) at step {wild.diverged_at_step}.")


def test_a_run_whose_loss_stays_finite_but_far_above_its_start_is_marked_diverged():
    """Adam at rate 100 on the spiral: its loss goes 0.67, 163, 278 and hovers around 50 for
    ever without reaching infinity, and the sweep called it a finished run with a final loss."""
    gentle, wild = spiral_sweep(values=(0.01, 100.0), steps=200)
    assert not gentle.diverged and gentle.final_loss is not None
    assert wild.diverged_at_step == 2 and wild.final_loss is None  # where the trainer's rule says
    assert wild.least_loss == pytest.approx(0.6683, abs=1e-4)  # the first step's, before it


def test_a_cancelled_sweep_keeps_the_runs_that_ended_and_reports_progress():
    seen = []
    runs = spiral_sweep(values=(0.01, 0.03, 0.1), steps=40,
                        cancelled=lambda: any(run == 1 for run, _, _ in seen),  # once run 1 is on
                        progress=lambda run, step, steps: seen.append((run, step, steps)))
    assert len(runs) == 1 and seen == [(0, 0, 40), (1, 0, 40)]  # each run told as it starts


# --- the window's pieces ---------------------------------------------------------------------
def test_the_result_view_draws_means_spreads_and_diverged_marks(qtbot):
    from gdplayground.gui.runs.sweep_result_view import SweepResultView, columns, positions

    plan = line("lr", (0.01, 100.0), repeats=2, steps=200)
    runs = list(run_sweep(preset("linear-system"), plan))
    view = SweepResultView()
    qtbot.addWidget(view)
    view.show_results(runs, plan.params[0])
    where = positions([run.point[0] for run in runs], plan.params[0])
    final = columns(runs, where, lambda run: run.final_loss)
    assert [c.x for c in final] == [0.01, 100.0] and final[1].diverged and np.isnan(final[1].mean)
    assert "2 diverged" in view.summary.text()
    assert view.loss.plot.getPlotItem().ctrl.logXCheck.isChecked()  # a rate: log axis
    view.show_results([], plan.params[0])  # before the first run ends
    assert view.summary.text() == "No run has finished yet."


def test_a_choice_is_drawn_at_labelled_positions(qtbot):
    from gdplayground.gui.runs.sweep_result_view import SweepResultView

    plan = line("optimizer", ("sgd", "adam"), steps=10)
    view = SweepResultView()
    qtbot.addWidget(view)
    view.show_results(list(run_sweep(preset("xor"), plan)), plan.params[0])
    ticks = view.loss.plot.getAxis("bottom")._tickLevels[0]
    assert ticks == [(0.0, "sgd"), (1.0, "adam")]


def test_the_runner_hands_over_every_run_then_finishes(qtbot):
    from gdplayground.gui.runs.sweep_runner import SweepRunner

    runner = SweepRunner()
    plan = line("lr", (0.01, 0.1), repeats=2, steps=30)
    handed, progress = [], []
    runner.run_finished.connect(handed.append)
    runner.progressed.connect(progress.append)
    with qtbot.waitSignal(runner.finished, timeout=30_000) as finished:
        runner.start(preset("spiral"), plan)
    assert [(run.point[0], run.repeat) for run in finished.args[0]] == [
        (0.01, 0), (0.1, 0), (0.01, 1), (0.1, 1)]
    assert handed == finished.args[0] == runner.results and not runner.running
    assert progress[-1].fraction == 1 and progress[-1].runs == 4
    assert "of 4 runs" in progress[-1].words()


def test_a_cancelled_runner_keeps_the_runs_that_ended(qtbot):
    from gdplayground.gui.runs.sweep_runner import SweepRunner

    runner = SweepRunner()
    plan = line("lr", (0.01, 0.03, 0.1), steps=10_000)  # a second a run
    runner.run_finished.connect(lambda run: runner.cancel())
    with qtbot.waitSignal(runner.cancelled, timeout=60_000) as cancelled:
        runner.start(preset("spiral"), plan)
    assert [run.point[0] for run in cancelled.args[0]] == [0.01]
    assert runner.results == cancelled.args[0]
    assert not runner.running


def test_a_runner_that_fails_says_why(qtbot, monkeypatch):
    from gdplayground.engine.trainer import Trainer
    from gdplayground.gui.runs.sweep_runner import SweepRunner

    def broken(self, split):
        raise ValueError("no test set today")
    monkeypatch.setattr(Trainer, "evaluate", broken)
    runner = SweepRunner()
    with qtbot.waitSignal(runner.failed, timeout=30_000) as failed:
        runner.start(preset("xor"), line("lr", (0.1,), steps=5))
    assert failed.args == ["ValueError: no test set today"] and runner.results == []


def test_a_burst_of_short_runs_costs_the_result_view_work_in_proportion_to_its_runs(
        qtbot, monkeypatch):
    """300 runs of 2 steps froze the window for 51 s: each run drew every run again."""
    from gdplayground.gui.widgets.plots import PlotView
    from gdplayground.gui.runs.sweep_panel import SweepPanel
    from gdplayground.gui.runs.sweep_result_view import FIGURES_INTERVAL_MS, ValuePlot

    plan = line("lr", sweep_values(0.01, 1, 20, log=True), repeats=3, steps=2)
    runs = list(run_sweep(preset("xor"), plan))
    panel = SweepPanel(lambda: preset("xor"))
    qtbot.addWidget(panel)
    counts = {"curve": 0, "figures": 0}

    def counting(method, count):
        original = getattr(method[0], method[1])

        def counted(self, *args, **kwargs):
            counts[count] += 1
            return original(self, *args, **kwargs)
        monkeypatch.setattr(*method, counted)
    counting((PlotView, "curve"), "curve")
    counting((ValuePlot, "draw"), "figures")
    panel.plan = plan
    panel.view.begin(plan)  # as a sweep starts
    counts.update(curve=0, figures=0)
    for run in runs:  # handed over one after another, as a burst of short runs ends
        panel._run_finished(run)
    assert counts == {"curve": 20, "figures": 0}  # a curve per value; the figures wait …
    qtbot.wait(2 * FIGURES_INTERVAL_MS)
    assert counts["figures"] == 2  # … and are drawn once, on both plots
    curves = panel.view.line.curves.plot.getPlotItem().listDataItems()
    assert len(curves) == 20 + 1  # and the ✕ marks
    x, _ = curves[1].getData()  # a value's three repeats, joined with breaks between them
    assert len(x) == 3 * (len(runs[0].curve[0]) + 1)


def test_the_runner_lets_the_window_answer_between_two_runs(qtbot):
    """Runs that ended while the window was busy were handed over in one go."""
    import time

    from PySide6.QtCore import QTimer

    from gdplayground.gui.runs.sweep_runner import SweepRunner

    runner = SweepRunner()
    order = []

    def busy_keeping(run):  # as keeping a run, which writes its folder, takes a while
        order.append("run")
        QTimer.singleShot(0, lambda: order.append("turn"))  # the window's next turn
        time.sleep(0.02)
    runner.run_finished.connect(busy_keeping)
    plan = line("lr", sweep_values(0.01, 1, 12, log=True), steps=2)
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        runner.start(preset("xor"), plan)
    qtbot.wait(10)
    assert order == ["run", "turn"] * 12


def test_cancel_leaves_the_bar_at_the_runs_that_ended(qtbot):
    """The bar stayed at 55%, as if the sweep were still on its way."""
    from gdplayground.gui.runs.sweep_panel import SweepPanel

    panel = SweepPanel(lambda: preset("spiral"))
    qtbot.addWidget(panel)
    panel.workers.setValue(1)  # one run after another
    panel.param.setCurrentIndex(panel.param.findData("lr"))
    panel.values.setText("0.01,0.03,0.1")
    panel.steps.setValue(8_000)
    panel.runner.progressed.connect(  # part way through the second run
        lambda progress: panel.runner.cancel() if progress.fraction > 0.45 else None)
    with qtbot.waitSignal(panel.runner.cancelled, timeout=60_000):
        panel.start()
    assert panel.progress.value() == 33 and panel.progress.text() == "1 of 3 runs"
    assert panel.status.text() == "Sweep cancelled: 1 run that ended is kept."


def test_a_sweep_starts_on_axes_of_its_own_values_and_steps(qtbot):
    """An empty sweep plot showed the learning-rate axis of the last sweep."""
    from gdplayground.gui.runs.sweep_panel import SweepPanel

    panel = SweepPanel(lambda: preset("xor"))
    qtbot.addWidget(panel)
    panel.workers.setValue(1)  # one worker: runs end in the plan's order
    panel.param.setCurrentIndex(panel.param.findData("lr"))
    panel.values.setText("0.1,1")
    panel.steps.setValue(50)
    with qtbot.waitSignal(panel.runner.finished, timeout=30_000):
        panel.start()
    panel.values.setText("1e-4:1e-3")
    panel.count.setValue(3)
    panel.log.setChecked(True)
    panel.steps.setValue(400)
    panel.start()
    view = panel.view.line  # before its first run ends
    low, high = view.loss.plot.getPlotItem().vb.viewRange()[0]
    assert low <= -4 < -3 <= high < -2.5  # log10 of the rates: this sweep's
    assert view.accuracy.plot.getPlotItem().vb.viewRange()[0] == [low, high]
    steps = view.curves.plot.getPlotItem().vb.viewRange()[0]
    assert steps[0] <= 0 and 400 <= steps[1] < 450
    bottom, top = (10 ** v for v in view.loss.plot.getPlotItem().vb.viewRange()[1])
    assert 0.05 < bottom <= 0.1 and 10 <= top < 20  # an empty loss plot: 0.1 to 10
    assert view.summary.text() == "No run has finished yet."
    with qtbot.waitSignal(panel.runner.finished, timeout=30_000):
        pass


@pytest.mark.parametrize("low, high, width", [(0.003, 0.01, 250), (1e-4, 1.0, 300),
                                              (2e-6, 3e-5, 250), (1, 1000, 200)])
def test_log_axis_labels_along_the_bottom_never_run_together(qtbot, low, high, width):
    """"0.0030.0040.005…": the labels between decades were spaced for their height."""
    from PySide6.QtGui import QFont, QFontMetricsF

    from gdplayground.gui.runs.sweep_result_view import PlainLogAxis

    axis = PlainLogAxis("bottom")
    axis.setLogMode(True)
    lo, hi = np.log10(low), np.log10(high)
    labels = []
    for spacing, values in axis.tickValues(lo, hi, width):
        strings = axis.tickStrings(values, 1.0, spacing)
        labels += [(v, s) for v, s in zip(values, strings) if s]
    metrics = QFontMetricsF(axis.style["tickFont"] or QFont())
    labels = dict((round(v, 9), s) for v, s in labels)  # a decade is on two levels
    placed = sorted(((v - lo) / (hi - lo) * width, metrics.horizontalAdvance(s), s)
                    for v, s in labels.items() if lo <= v <= hi)
    assert len(placed) >= 2
    for (x1, w1, s1), (x2, w2, s2) in zip(placed, placed[1:]):
        assert x2 - x1 >= (w1 + w2) / 2, (s1, s2)


def test_a_sweeps_steps_wait_while_the_window_works(qtbot, monkeypatch):
    """A sweep trained on beside the window's drawing, and the two took turns at the
    interpreter lock a switch interval at a time: a redraw of the window took seconds."""
    import time

    from gdplayground.engine.trainer import Trainer
    from gdplayground.gui.runs.sweep_runner import SweepRunner
    from gdplayground.gui.widgets.training_run import LONGEST_COURTESY_S, WindowWork

    work, steps = WindowWork(), []
    step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self: (steps.append(1), step(self))[1])
    runner = SweepRunner(window_work=work)
    with work:  # the window works for a while: a step at most every LONGEST_COURTESY_S
        runner.start(preset("spiral"), line("lr", (0.01,), steps=2_000))
        time.sleep(0.5)
        held = len(steps)
    assert held <= 0.5 / LONGEST_COURTESY_S + 1
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        pass
    assert len(steps) == 2_000


# --- convolutional networks ------------------------------------------------------------------
def test_filters_and_kernel_set_the_convolutions_width_the_dense_layers_and_layers_keeps_the_rest(tmp_path):
    from tiny_images import conv_config
    base = conv_config(tmp_path, "conv8x5,pool,conv16x5,pool,128,64")

    def words(name, value):
        return ",".join(map(layer_words, sweep_param(name).configure(base, value).architecture.hidden))
    assert words("filters", 4) == "conv4x5,pool,conv4x5,pool,128,64"
    assert words("kernel", 3) == "conv8x3,pool,conv16x3,pool,128,64"
    assert words("width", 32) == "conv8x5,pool,conv16x5,pool,32,32"
    assert words("layers", 1) == "conv8x5,pool,conv16x5,pool,128"
    assert words("layers", 0) == "conv8x5,pool,conv16x5,pool"
    assert differences(base, sweep_param("filters").configure(base, 4)) == [
        "Architecture › Convolution 1 filters: 8 → 4", "Architecture › Convolution 2 filters: 16 → 4"]
    assert differences(base, sweep_param("width").configure(base, 32))[0] == \
        "Architecture › Hidden layer 5 units: 128 → 32"
    with pytest.raises(SweepError, match="filters 4: the network has no convolution"):
        sweep_param("filters").configure(preset("spiral"), 4)
