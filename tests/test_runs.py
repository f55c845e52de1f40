"""The run list: runs kept when they end, persisted, overlaid, restored, renamed, pinned,
deleted; a damaged run folder skipped with a message."""

from __future__ import annotations

import copy
import csv
import html
import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QToolTip

from gdplayground.config import preset
from gdplayground.gui.window.main_window import MainWindow
from gdplayground.gui.widgets.plots import PlotView
from gdplayground.store.runs import KeptRun, RunStore, read_metrics
from test_window import TIMEOUT, spiral, wait_idle


@pytest.fixture
def window_on(qtbot):
    """A window keeping its runs under a folder; closing it (and opening another on the same
    folder) is a restart of the app."""
    def make(folder, config=None) -> MainWindow:
        store = RunStore(folder)
        skipped = store.load()
        window = MainWindow(config or spiral(), store)
        window.skipped = skipped
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
        return window
    return make


def train(qtbot, window, steps: int) -> None:
    window.step(steps)
    qtbot.waitUntil(lambda: window.last_step >= steps, timeout=TIMEOUT)
    wait_idle(qtbot, window)


def test_runs_are_kept_on_reset_and_on_closing_and_come_back_after_a_restart(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    train(qtbot, window, 30)
    final_loss = float(window.history.column("smoothed_loss")[-1])
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 1, timeout=TIMEOUT)
    train(qtbot, window, 12)
    window.close()
    assert [run.figures["steps"] for run in window.runs_tab.store.runs] == [30, 12]

    again = window_on(tmp_path)
    runs = again.runs_tab.store.runs
    assert again.skipped == [] and [run.figures["steps"] for run in runs] == [30, 12]
    assert runs[0].figures["final_loss"] == pytest.approx(final_loss)
    assert runs[0].curves["step"][-1] == 30 and again.runs_tab.table.rowCount() == 2
    assert 0 <= runs[0].figures["final_test_accuracy"] <= 1  # measured once, at the end
    assert (runs[0].folder / "weights.npz").is_file() and (runs[0].folder / "metrics.csv").is_file()


def test_a_run_is_kept_with_the_settings_it_trained_with_and_named_by_them(qtbot, window_on,
                                                                         tmp_path):
    """A rate changed mid-run names both; one changed after the last step, just before Reset
    (for the next run), trained nothing and is not the kept run's."""
    window = window_on(tmp_path)
    window.lr_panel.value.widget.setValue(0.01)
    train(qtbot, window, 10)
    window.lr_panel.value.widget.setValue(0.2)
    train(qtbot, window, 20)
    window.lr_panel.value.widget.setValue(0.03)
    wait_idle(qtbot, window)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 1, timeout=TIMEOUT)
    run = window.runs_tab.store.runs[0]
    assert run.name == "adam, lr 0.01→0.2, 8-8"
    assert run.config.learning_rate.value == 0.2
    assert "learning_rate.value,0.01,0.2" in (run.folder / "changes.csv").read_text()
    assert "0.03" not in (run.folder / "changes.csv").read_text()
    assert window.config.learning_rate.value == 0.03  # the new run's


def test_a_run_the_engine_found_diverged_is_kept_as_diverged(qtbot, window_on, tmp_path):
    """At rate 50 the spiral's loss goes to 200 times its start without reaching infinity: the
    trainer went on, the coach alone said "Divergence", and the Runs table asked the coach. By
    the engine's one rule the run is rolled back and the window pauses saying so; the table
    takes the engine's word."""
    window = window_on(tmp_path)
    train(qtbot, window, 150)  # a checkpoint at step 100 to roll back to
    window.lr_panel.value.widget.setValue(50)
    window.step(50)
    qtbot.waitUntil(lambda: window.diverged, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    assert window.last_step == 100 and window.banner.text().startswith("Training diverged at step 15")
    assert "rolled back to step 100" in window.banner.text()
    assert "divergence" in [d.name for d in window.coach.diagnoses]
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 1, timeout=TIMEOUT)
    assert window.runs_tab.store.runs[0].diverged
    assert window.runs_tab.store.runs[0].name == "adam, lr 0.01→50, 8-8"
    assert window.runs_tab.table.item(0, window.runs_tab.table.columnCount() - 1).text() == "diverged"


def test_a_damaged_run_folder_is_skipped_with_a_message(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    train(qtbot, window, 5)
    window.close()
    good = next(tmp_path.iterdir())
    for damage, words in [(lambda f: (f / "run.json").write_text("{not json"), "not JSON"),
                          (lambda f: (f / "config.toml").unlink(), "config.toml"),
                          (lambda f: (f / "metrics.csv").write_text("step,nonsense\n1,2\n"),
                           "other columns")]:
        broken = tmp_path / f"broken-{len(list(tmp_path.iterdir()))}"
        broken.mkdir()
        for file in good.iterdir():
            (broken / file.name).write_bytes(file.read_bytes())
        damage(broken)
        store = RunStore(tmp_path)
        skipped = store.load()
        assert len(store.runs) == 1 and any(words in line for line in skipped), skipped
        shutil.rmtree(broken)


def test_the_runs_skipped_at_start_up_are_named_as_text(qtbot, tmp_path):
    """A folder named "<b>x" turned bold in the message line; one with a newline broke it."""
    from gdplayground.gui.window.banner import Banner
    from gdplayground.gui.runs.run_keeper import skipped_words

    for name in ("<b>x", "a\nb & c"):
        (tmp_path / name).mkdir()
    banner = Banner()
    qtbot.addWidget(banner)
    banner.say(skipped_words(RunStore(tmp_path).load()), "file")
    document = banner.text()
    assert "&lt;b&gt;x: run.json: No such file or directory" in document
    assert "a\\nb &amp; c: run.json" in document and "\n" not in document


def test_selected_runs_are_overlaid_named_in_the_key_and_hover_names_them(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    for lr in (0.01, 0.1):
        window.lr_panel.value.widget.setValue(lr)
        train(qtbot, window, 20)
        window.reset()
        wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 2, timeout=TIMEOUT)
    table = window.runs_tab.table
    table.selectAll()
    overlays = window.training.overlays[0].items
    assert len(overlays) == 2
    names = {run.name for run in window.runs_tab.store.runs}
    assert {name for _, name in overlays} == names
    title = window.training.loss_view.plot.getPlotItem().titleLabel.text
    assert all(name in title for name in names)
    curve, name = overlays[0]
    x, y = curve.getData()
    run = next(r for r in window.runs_tab.store.runs if r.name == name)
    assert np.allclose(y, run.curves["loss"][np.isfinite(run.curves["loss"])])
    box = window.training.loss_view.plot.getPlotItem().vb
    point = box.mapViewToScene(QPointF(float(x[5]), float(y[5])))
    assert window.training.overlays[0]._nearest(box, point) == (name, x[5], y[5])
    table.clearSelection()
    assert window.training.overlays[0].items == []


def test_rename_pin_delete_and_compare(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    train(qtbot, window, 5)
    window.reset()
    window.lr_panel.value.widget.setValue(0.2)
    train(qtbot, window, 5)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 2, timeout=TIMEOUT)
    tab = window.runs_tab
    first = tab.store.runs[0]
    row = next(r for r in range(tab.table.rowCount()) if tab._run_at(r) is first)
    tab.table.item(row, 0).setText("my first run")
    assert first.name == "my first run"
    assert json.loads((first.folder / "run.json").read_text())["name"] == "my first run"
    tab.table.selectAll()
    assert "Learning rate" in tab.compared.text() and "0.2" in tab.compared.text()
    tab.table.clearSelection()
    tab.table.selectRow(next(r for r in range(tab.table.rowCount()) if tab._run_at(r) is first))
    tab.buttons["pin"].click()
    assert first.pinned
    tab.table.clearSelection()
    tab.table.selectRow(next(r for r in range(tab.table.rowCount()) if tab._run_at(r) is not first))
    doomed = tab.selected()[0]
    tab.buttons["delete"].click()
    assert tab.store.runs == [first] and not doomed.folder.exists()
    bounded = RunStore(tmp_path, limit=1)
    bounded.load()
    assert bounded.runs[0].pinned


def test_restore_puts_a_runs_settings_and_weights_back(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    window.lr_panel.value.widget.setValue(0.05)
    train(qtbot, window, 15)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 1, timeout=TIMEOUT)
    window.confirm = lambda *args: True
    window.lr_panel.value.widget.setValue(0.3)
    tab = window.runs_tab
    tab.table.selectRow(0)
    tab.buttons["restore"].click()
    assert window.config.learning_rate.value == pytest.approx(0.05)
    tab.buttons["weights"].click()
    qtbot.waitUntil(lambda: window.last_step == 15, timeout=TIMEOUT)


def test_the_list_is_bounded_oldest_unpinned_first():
    store = RunStore(None, limit=2)
    runs = [KeptRun(f"r{i}", preset("spiral"), {}, {"step": np.empty(0)}, ended=f"2026-01-0{i + 1}")
            for i in range(4)]
    runs[0].pinned = True

    class Snap:
        state = None
    for run in runs:
        store.keep(run, None, Snap())
    assert [run.name for run in store.runs] == ["r0", "r3"]


def test_metrics_are_read_back_as_written(tmp_path, qtbot, window_on):
    window = window_on(tmp_path)
    train(qtbot, window, 25)
    window.close()
    folder = next(tmp_path.iterdir())
    history = read_metrics(folder / "metrics.csv", 3)
    assert history.column("step").tolist() == list(range(1, 26))
    assert np.allclose(history.column("smoothed_loss"), window.history.column("smoothed_loss"))


def start_sweep(window, setting: str, values: str, steps: int):
    """Start the window's sweep of `setting` over `values` on one worker (its runs end in the
    plan's order); its panel."""
    sweep = window.sweep
    sweep.workers.setValue(1)
    sweep.param.setCurrentIndex(sweep.param.findData(setting))
    sweep.values.setText(values)
    sweep.steps.setValue(steps)
    sweep.start_button.click()
    return sweep


def test_a_sweep_in_the_window_keeps_every_run_and_draws_the_result(qtbot, window_on, tmp_path):
    window = window_on(tmp_path, preset("linear-system"))
    sweep = start_sweep(window, "lr", "0.001,0.01,100", 500)
    qtbot.waitUntil(lambda: sweep.start_button.isEnabled(), timeout=TIMEOUT)
    runs = window.runs_tab.store.runs
    assert [run.name for run in runs] == ["lr 0.001", "lr 0.01", "lr 100"]
    assert [run.diverged for run in runs] == [False, False, True]
    assert all((run.folder / "weights.npz").is_file() for run in runs)
    assert window.runs_tab.table.rowCount() == 3 and sweep.status.text() == "Sweep done: 3 runs."
    assert runs[1].figures["final_loss"] < runs[0].figures["final_loss"]  # 0.01 beats 0.001
    assert len(sweep.view.line.loss.plot.getPlotItem().listDataItems()) > 0


def test_a_bad_sweep_is_said_and_starts_nothing(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    window.sweep.values.setText("0.1,abc")
    window.sweep.start_button.click()
    assert "is not a number" in window.sweep.status.text() and window.sweep.start_button.isEnabled()


def reset_and_wait(qtbot, window, kept: int) -> None:
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == kept, timeout=TIMEOUT)
    wait_idle(qtbot, window)


def made_up(name: str, config, steps=np.linspace(1, 2000, 500), **curves) -> KeptRun:
    """A kept run with these curves (the others decaying from 2)."""
    decay = 2 * np.exp(-steps / 500) + 0.05
    return KeptRun(name, config, {}, {"step": steps, "loss": decay, "accuracy": 1 - decay / 3,
                                      **{f"layer{i}_grad_norm": decay for i in (1, 2, 3)},
                                      **curves})


def key_of(view) -> str:
    return view.plot.getPlotItem().titleLabel.text


def test_a_full_batch_runs_figures_are_exact_and_a_mini_batch_runs_say_they_are_averages(
        qtbot, window_on, tmp_path):
    """The linear system's table said 0.5955 (the moving average) where metrics.csv ended at
    0.57888; nothing said which figure was which."""
    window = window_on(tmp_path, preset("linear-system"))
    train(qtbot, window, 60)
    reset_and_wait(qtbot, window, 1)
    run = window.runs_tab.store.runs[0]
    with open(run.folder / "metrics.csv") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert run.figures["final_loss"] == losses[-1] and run.figures["least_loss"] == min(losses)
    table = window.runs_tab.table
    assert table.item(0, 4).text() == f"{losses[-1]:.4g}" and "exact" in table.item(0, 4).toolTip()
    window.confirm = lambda *args: True
    window.propose(spiral())
    train(qtbot, window, 30)
    reset_and_wait(qtbot, window, 2)
    row = next(r for r in range(table.rowCount()) if window.runs_tab._run_at(r).config.data.name
               == "spiral")
    cell = table.item(row, 4)
    assert cell.text().startswith("≈") and "moving average" in cell.toolTip()
    headers = [table.horizontalHeaderItem(c) for c in range(table.columnCount())]
    words = {h.text(): h.toolTip() for h in headers}
    assert "once as the run ended" in words["Test acc.\nat end"]
    assert "while training" in words["Best test\nacc. seen"]


def test_run_names_are_text_wherever_they_are_shown(qtbot, window_on, tmp_path):
    """"<b>bold</b>" turned bold in the plot keys."""
    window = window_on(tmp_path)
    train(qtbot, window, 10)
    reset_and_wait(qtbot, window, 1)
    tab = window.runs_tab
    tab.table.item(0, 0).setText("<b>bold</b> & co")
    assert tab.store.runs[0].name == "<b>bold</b> & co"
    tab.table.selectRow(0)
    escaped = html.escape("<b>bold</b> & co")
    for view in (overlay.view for overlay in window.training.overlays):  # the plots runs overlay
        assert escaped in key_of(view) and "<b>bold" not in key_of(view)
    assert escaped in tab.table.item(0, 0).toolTip()
    assert tab.compared.textFormat() == Qt.PlainText


def test_a_name_with_control_characters_leaves_svg_plots_well_formed(qtbot, window_on, tmp_path):
    """"\\x1b[31mred" as a name broke SVG plots and Export run ("not well-formed")."""
    import xml.etree.ElementTree as ElementTree

    from gdplayground.gui.widgets.plot_export import capture, save_picture

    window = window_on(tmp_path / "runs")
    train(qtbot, window, 10)
    reset_and_wait(qtbot, window, 1)
    tab = window.runs_tab
    tab.table.item(0, 0).setText("\x1b[31mred\x07")
    assert tab.store.runs[0].name == "[31mred"
    tab.table.selectRow(0)
    save_picture(capture(window.training.loss_view.plot.getPlotItem(), "svg"), tmp_path / "loss.svg")
    text = (tmp_path / "loss.svg").read_text()
    ElementTree.fromstring(text)  # well-formed
    assert "[31mred" in text


def test_hovering_an_overlaid_run_names_it_on_a_linear_and_a_log_axis(qtbot, window_on, tmp_path):
    """'QPoint' object has no attribute 'toPoint'; on a log axis the distances were NaN."""
    window = window_on(tmp_path)
    train(qtbot, window, 40)
    window.training.overlay([(made_up("<i>kept</i>", window.config), 0)])
    overlay, view = window.training.overlays[0], window.training.loss_view
    box = view.plot.getPlotItem().vb
    for log in (False, True):
        view.log_scale.setChecked(log)
        curve, name = overlay.items[0]
        assert html.escape(name) in key_of(view)  # still in the key after the switch
        x, y = curve.getData()  # as drawn: log10 of the loss on a log axis
        i = int(np.argmin(abs(y - np.mean(box.viewRange()[1]))))  # a point in view
        point = box.mapViewToScene(QPointF(float(x[i]), float(y[i])))
        overlay._hovered((point,))  # raised AttributeError
        value = 2 * np.exp(-x[i] / 500) + 0.05
        assert overlay.tip_at(point) == f"<b>{html.escape(name)}</b><br>step {x[i]:,.0f}: " \
                                        f"{value:.4g}"
        QToolTip.hideText()


def test_a_run_with_no_curve_overlays_nothing_and_says_so(qtbot, window_on, tmp_path):
    """A sweep run that diverged before its first checkpoint raised KeyError: 'loss' in the
    overlay, and every run start after stopped half way."""
    window = window_on(tmp_path, preset("linear-system"))
    sweep = start_sweep(window, "lr", "100", 200)
    qtbot.waitUntil(lambda: sweep.start_button.isEnabled(), timeout=TIMEOUT)
    assert window.runs_tab.store.runs[0].diverged
    window.runs_tab.table.selectRow(0)
    assert "lr 100 (nothing to draw: no step was recorded)" in key_of(window.training.loss_view)
    before = window.info.run_id
    train(qtbot, window, 5)
    reset_and_wait(qtbot, window, 2)
    assert window.info.run_id > before
    assert window.training.data_view.currentWidget() is window.training.linear_view
    assert "lr 100 (nothing to draw" in key_of(window.training.loss_view)  # keyed again


def test_a_run_start_goes_on_when_an_overlay_fails(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    loss = window.training.overlays[0]

    def broken(run):
        raise RuntimeError("a bug in an overlay")
    loss.columns = broken
    window.training.overlay([(made_up("kept", window.config), 0)])
    assert "kept (could not be drawn)" in key_of(window.training.loss_view)
    assert "kept" in key_of(window.training.gradient_view)  # the other plots draw it
    before = window.info.run_id
    window.confirm = lambda *args: True
    window.propose(preset("xor"))  # a new data set: the boundary view lays out its points
    qtbot.waitUntil(lambda: window.info.run_id > before, timeout=TIMEOUT)
    train(qtbot, window, 5)
    assert window.info.dataset == "xor"
    assert len(window.training.boundary.train[0].data) > 0  # the new data's points, laid out
    assert window.training.data_view.currentWidget() is window.training.boundary


def test_overlays_off_the_live_scale_are_named_as_such(qtbot, window_on, tmp_path):
    """They vanished without a word; the scale follows the live run."""
    window = window_on(tmp_path)
    train(qtbot, window, 40)
    live = {f"layer{i}_grad_norm": window.history.column(f"smoothed_layer{i}_grad_norm")
            for i in (1, 3)}  # in view: the live run's own
    far = made_up("far", window.config, window.history.column("step"), loss=np.full(40, 1e6),
                  layer2_grad_norm=np.full(40, 1e-30), **live)
    window.training.overlay([(far, 0)])
    assert "far (▲ off the scale, from 1e+06 to 1e+06)" in key_of(window.training.loss_view)
    assert "far (layer 2 ▼ off the scale)" in key_of(window.training.gradient_view)
    window.training.loss_view.plot.setYRange(0, 2e6)  # once in view, it goes without saying
    assert "far (" not in key_of(window.training.loss_view)


def test_a_run_start_with_many_runs_overlaid_makes_no_curve_and_lays_each_key_out_as_with_one(
        qtbot, window_on, tmp_path, monkeypatch):
    """With ~50 kept runs selected each run start stalled ~2 s: every curve was made again and
    each plot's key laid out twice per curve."""
    window = window_on(tmp_path)
    counts = {"curve": 0, "retitle": 0}
    for method, count in (("curve", "curve"), ("_retitle", "retitle")):
        def counted(self, *args, original=getattr(PlotView, method), count=count, **kw):
            counts[count] += 1
            return original(self, *args, **kw)
        monkeypatch.setattr(PlotView, method, counted)
    laid_out = []
    for n in (1, 40):
        window.training.overlay([(made_up(f"run {i}", window.config), i) for i in range(n)])
        counts.update(curve=0, retitle=0)
        before = window.info.run_id
        window.session.reset()
        qtbot.waitUntil(lambda: window.info.run_id > before, timeout=TIMEOUT)
        assert counts["curve"] == 0
        laid_out.append(counts["retitle"])
    assert laid_out[0] == laid_out[1]


def test_with_every_run_pinned_the_tab_says_why_the_list_is_over_its_bound(qtbot, tmp_path):
    store = RunStore(None, limit=1)
    window = MainWindow(spiral(), store)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    train(qtbot, window, 5)
    reset_and_wait(qtbot, window, 1)
    store.pin(store.runs[0], True)
    train(qtbot, window, 5)
    reset_and_wait(qtbot, window, 2)  # the new run stays, beyond the bound
    note = window.runs_tab.over_limit
    assert not note.isHidden() and "2 runs are kept, more than the 1" in note.text()
    assert "pinned" in note.text()


def test_a_kept_run_has_the_curves_and_settings_of_one_run(qtbot, window_on, tmp_path):
    """A layer removed, then Ctrl+R before the new run was reported: the keeper paired the old
    run's history with the new run's settings, and the folder was skipped at the next start."""
    window = window_on(tmp_path)
    train(qtbot, window, 20)
    window.confirm = lambda *args: True
    fewer = copy.deepcopy(window.config)
    fewer.architecture.hidden = fewer.architecture.hidden[:1]
    window.propose(fewer)  # keeps the 20-step run, then applies the change …
    window.reset()  # … and at once again: the worker has the new run, the window the old one
    qtbot.waitUntil(lambda: window.info.sizes == (2, 8, 1), timeout=TIMEOUT)
    wait_idle(qtbot, window)
    train(qtbot, window, 7)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 2, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    store = RunStore(tmp_path)
    assert store.load() == []
    assert [(run.figures["steps"], len(run.config.architecture.hidden)) for run in store.runs] \
        == [(20, 2), (7, 1)]


def test_the_runs_tab_has_room_at_1024_by_640(qtbot):
    """The table showed three rows and a name column of 55 pixels, the sweep's plot was 30
    pixels tall."""
    store = RunStore(None)
    window = MainWindow(spiral(), store)
    qtbot.addWidget(window)
    for i in range(20):
        store.runs.append(made_up(f"adam, lr 0.{i:02d}, 8-8", window.config))
    window.runs_tab.refresh()
    window.resize(1024, 640)
    window.show()
    window.tabs.setCurrentWidget(window.runs_tab)
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    table = window.runs_tab.table
    qtbot.waitUntil(lambda: table.viewport().height() > 0)
    assert table.rowAt(table.viewport().height() - 1) >= 12  # rows in view, counted from 0
    assert table.columnWidth(0) >= 180
    window.runs_tab.pages.setCurrentWidget(window.sweep)
    view = window.sweep.view.line
    qtbot.waitUntil(lambda: view.curves.height() > 0)
    assert view.loss.plot.getPlotItem().vb.height() >= 100
    assert view.curves.plot.getPlotItem().vb.height() >= 60


def test_closing_the_window_during_a_sweep_keeps_every_run_that_ended(qtbot, window_on, tmp_path):
    """Runs that had ended but were still queued for the window were lost."""
    window = window_on(tmp_path, preset("xor"))
    sweep = start_sweep(window, "lr", "0.01,0.02,0.03,0.05,0.1,0.2,0.3,0.5", 2)
    sweep.runner.background._task.wait()  # all ended on the sweep's thread, none handed over
    window.close()
    assert sorted(run.name for run in window.runs_tab.store.runs) == sorted(
        f"lr {v}" for v in ("0.01", "0.02", "0.03", "0.05", "0.1", "0.2", "0.3", "0.5"))
    again = RunStore(tmp_path)
    assert again.load() == [] and len(again.runs) == 8


def test_a_run_that_cannot_be_kept_is_said_until_one_is_kept_again(qtbot, window_on, tmp_path):
    """The message was of the kind "file", which a later file action cleared and a later kept
    run did not."""
    window = window_on(tmp_path / "runs")
    train(qtbot, window, 5)
    window.runs_tab.store.root = tmp_path / "a file"
    window.runs_tab.store.root.write_text("not a folder")
    window.reset()
    qtbot.waitUntil(lambda: "Could not keep the run" in window.banner.text(), timeout=TIMEOUT)
    window.files.export_metrics(tmp_path / "metrics.csv")  # a write that succeeds: not this one
    assert window.banner.isVisible() and "Could not keep the run" in window.banner.text()
    window.runs_tab.store.root = tmp_path / "runs"
    train(qtbot, window, 5)
    reset_and_wait(qtbot, window, 1)
    assert "Could not keep" not in window.banner.text() or not window.banner.isVisible()


def test_two_kept_runs_alike_in_name_settings_and_figures_are_told_apart(qtbot, window_on, tmp_path):
    """Runs were compared by value, curves and all: two alike crashed the Runs tab ("the truth
    value of an array is ambiguous") on every selection."""
    window = window_on(None)
    store = window.runs_tab.store
    store.runs += [made_up("twin", window.config), made_up("twin", window.config)]
    window.runs_tab.refresh()
    window.runs_tab.table.selectRow(1)
    icons = [not window.runs_tab.table.item(row, 0).icon().isNull() for row in range(2)]
    assert icons == [False, True]
    tab = window.runs_tab
    assert [run for run, _ in tab._overlaid] == [tab._run_at(1)] and tab._run_at(0) is not tab._run_at(1)


def test_a_convolutional_run_is_kept_overlaid_and_compared_with_a_dense_one(qtbot, window_on,
                                                                           tmp_path):
    from gdplayground.cli.flags import parse_layers
    from tiny_images import conv_config, image_folder
    window = window_on(tmp_path / "runs", conv_config(image_folder(tmp_path / "images")))
    train(qtbot, window, 12)
    window.confirm = lambda *args: True
    dense = copy.deepcopy(window.config)
    dense.architecture.hidden = parse_layers("16,8", "relu")
    window.propose(dense)  # keeps the convolutional run
    qtbot.waitUntil(lambda: window.info.sizes == (64, 16, 8, 3), timeout=TIMEOUT)
    train(qtbot, window, 9)
    window.reset()
    qtbot.waitUntil(lambda: len(window.runs_tab.store.runs) == 2, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    tab = window.runs_tab
    assert [run.name for run in tab.store.runs] == ["adam, lr 0.01, conv3x3-pool-8",
                                                    "adam, lr 0.01, 16-8"]
    tab.table.selectAll()
    overlays = window.training.overlays[0].items
    assert sorted(name for _, name in overlays) == sorted(run.name for run in tab.store.runs)
    for curve, name in overlays:
        run = next(r for r in tab.store.runs if r.name == name)
        assert len(curve.getData()[0]) == np.isfinite(run.curves["loss"]).sum()
    gradients = window.training.overlays[2]  # a curve per network layer: the pool has none
    assert sorted(name for _, name in gradients.items) == sorted(
        f"{run.name} · layer {i}" for run in tab.store.runs for i in (1, 2, 3))
    assert not any(drawn.problem for drawn in gradients.drawn.values())
    compared = tab.compared.text()  # a layer's settings that matter to both layers, and its kind
    assert "Hidden layer 1 kind: Convolution → Dense; Architecture › Hidden layer 2 activation: " \
           "identity → ReLU; Architecture › Hidden layer 2 kind: Max-pool 2×2 → Dense." in compared
    assert "kernel" not in compared and "64 → 8" not in compared  # a dense layer's, a pool's
    again = RunStore(tmp_path / "runs")
    assert again.load() == [] and [run.figures["steps"] for run in again.runs] == [12, 9]


def test_a_sweep_of_filters_in_the_window_keeps_a_convolutional_run_per_value(qtbot, window_on,
                                                                            tmp_path):
    from tiny_images import conv_config, image_folder
    window = window_on(tmp_path / "runs", conv_config(image_folder(tmp_path / "images")))
    sweep = start_sweep(window, "filters", "2,4,8", 4)
    qtbot.waitUntil(lambda: sweep.start_button.isEnabled(), timeout=TIMEOUT)
    runs = window.runs_tab.store.runs
    assert sweep.status.text() == "Sweep done: 3 runs."
    assert [run.name for run in runs] == ["filters 2", "filters 4", "filters 8"]
    assert [run.config.architecture.hidden[0].units for run in runs] == [2, 4, 8]
    assert [run.figures["steps"] for run in runs] == [4, 4, 4]
    assert len(sweep.view.line.loss.plot.getPlotItem().listDataItems()) > 0
    assert RunStore(tmp_path / "runs").load() == []  # each read back at the next start
