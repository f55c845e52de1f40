"""The run list: runs kept when they end, persisted, overlaid, restored, renamed, pinned,
deleted; a damaged run folder skipped with a message."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from gdplayground.gui.main_window import MainWindow
from gdplayground.runs import RunStore, read_metrics
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
    from gdplayground.config import preset
    from gdplayground.runs import KeptRun
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


def test_a_sweep_in_the_window_keeps_every_run_and_draws_the_result(qtbot, window_on, tmp_path):
    from gdplayground.config import preset

    window = window_on(tmp_path, preset("linear-system"))
    sweep = window.sweep
    sweep.param.setCurrentIndex(sweep.param.findData("lr"))
    sweep.values.setText("0.001,0.01,100")
    sweep.steps.setValue(500)
    sweep.start_button.click()
    qtbot.waitUntil(lambda: sweep.start_button.isEnabled(), timeout=TIMEOUT)
    runs = window.runs_tab.store.runs
    assert [run.name for run in runs] == ["lr 0.001", "lr 0.01", "lr 100"]
    assert [run.diverged for run in runs] == [False, False, True]
    assert all((run.folder / "weights.npz").is_file() for run in runs)
    assert window.runs_tab.table.rowCount() == 3 and sweep.status.text() == "Sweep done: 3 runs."
    assert runs[1].figures["final_loss"] < runs[0].figures["final_loss"]  # 0.01 beats 0.001
    assert len(sweep.view.loss.plot.getPlotItem().listDataItems()) > 0


def test_a_bad_sweep_is_said_and_starts_nothing(qtbot, window_on, tmp_path):
    window = window_on(tmp_path)
    window.sweep.values.setText("0.1,abc")
    window.sweep.start_button.click()
    assert "is not a number" in window.sweep.status.text() and window.sweep.start_button.isEnabled()
