"""A two-setting sweep's result: each cell's runs and figures (against a count of the runs
themselves), diverged, failed and empty cells, the heatmaps with their hover and click, runs that
arrive in any order, the PNG, and the Runs tab laid out at 1024×640."""

import random

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from gdplayground.config import preset
from gdplayground.labs.sweeps.grid import DIVERGED, EMPTY, FAILED, MEASURED, SweepGrid
from gdplayground.labs.sweeps.params import sweep_param
from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan, run_sweep
from gdplayground.labs.sweeps.runs import FailedRun, SweepRun

TIMEOUT = 30_000
LRS, SIZES = (0.03, 0.3, 100.0), (16, 64)  # a rate of 100 diverges on the spiral, every repeat


def grid_plan(lrs=LRS, sizes=SIZES, repeats=2, steps=20) -> SweepPlan:
    return SweepPlan((SweepAxis(sweep_param("lr"), lrs, True),
                      SweepAxis(sweep_param("batch-size"), sizes)), repeats, steps=steps)


@pytest.fixture(scope="module")
def swept():
    """(plan, runs) of a 3×2 grid with two repeats on the spiral; one run of (0.3, 64) failed,
    and (0.03, 64) has no run yet."""
    plan = grid_plan()
    runs = list(run_sweep(preset("spiral"), plan))
    assert all(run.diverged for run in runs if run.point[0] == 100.0)
    assert not any(run.diverged for run in runs if run.point[0] != 100.0)
    failed = next(run for run in runs if run.point == (0.3, 64) and run.repeat == 1)
    runs = [FailedRun(failed.index, failed.params, failed.point, failed.repeat, failed.config,
                      "the worker died (killed)") if run is failed else run
            for run in runs if run.point != (0.03, 64)]
    return plan, runs


def expected_mean(runs, figure):
    """The mean of a figure over the runs that trained to the end, counted directly."""
    values = [getattr(run, figure) for run in runs if type(run) is SweepRun
              and run.diverged_at_step is None and getattr(run, figure) is not None]
    return sum(values) / len(values) if values else None


# --- the cells -----------------------------------------------------------------------------------
def test_each_cell_holds_its_runs_and_their_means_counted_directly(swept):
    plan, runs = swept
    grid = SweepGrid(plan, runs)
    for i, lr in enumerate(LRS):
        for j, size in enumerate(SIZES):
            cell = grid.cells[i][j]
            mine = [run for run in runs if run.point == (lr, size)]
            assert cell.point == (lr, size)
            assert {run.index for run in cell.runs} == {run.index for run in mine}
            assert [run.repeat for run in cell.runs] == sorted(run.repeat for run in mine)
            assert cell.diverged == sum(isinstance(run, SweepRun) and run.diverged for run in mine)
            assert cell.failed == sum(isinstance(run, FailedRun) for run in mine)
            for figure in ("final_loss", "least_loss", "test_accuracy"):
                expected = expected_mean(mine, figure)
                found = getattr(cell, figure)
                assert np.isnan(found) if expected is None else found == pytest.approx(expected)
                assert np.isnan(grid.figure(figure)[i, j]) if expected is None else (
                    grid.figure(figure)[i, j] == pytest.approx(expected))


def test_diverged_failed_and_empty_cells_are_told_apart(swept):
    plan, runs = swept
    grid = SweepGrid(plan, runs)
    assert grid.states().tolist() == [[MEASURED, EMPTY], [MEASURED, MEASURED],
                                      [DIVERGED, DIVERGED]]
    diverged = grid.cells[2][0]
    assert diverged.diverged == 2 and np.isnan(diverged.final_loss)
    assert np.isnan(diverged.least_loss)  # a diverged run's least loss would flatter it
    one_failed = grid.cells[1][1]
    assert one_failed.failed == 1 and one_failed.final_loss == one_failed.runs[0].final_loss
    all_failed = [FailedRun.of(task, "out of memory") for task in plan.tasks(preset("spiral"))
                  if task.point == (0.03, 16)]
    grid = SweepGrid(plan, all_failed)
    assert grid.cells[0][0].state == FAILED and grid.cells[0][0].diverged == 0
    assert grid.cells[0][1].state == EMPTY and grid.cells[0][1].runs == ()


# --- the view ------------------------------------------------------------------------------------
def make_view(qtbot):
    from gdplayground.gui.runs.sweep_grid_view import SweepGridView

    view = SweepGridView()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    return view


def test_the_heatmaps_colour_measured_cells_and_mark_the_others(qtbot, swept):
    plan, runs = swept
    view = make_view(qtbot)
    view.show_results(runs, plan)
    final = view.heatmaps[0]
    image = final.image.image  # rows: batch sizes; columns: rates
    assert image.shape == (2, 3)
    assert np.allclose(image.T, SweepGrid(plan, runs).figure("final_loss"), equal_nan=True)
    assert final.image.levels.tolist() == pytest.approx(
        [np.nanmin(image), np.nanmax(image)])  # a span under a decade: a linear scale
    assert sorted(zip(*final.crosses.getData())) == [(2.0, 0.0), (2.0, 1.0)]
    assert list(zip(*final.fills[DIVERGED].getData())) == [(2.0, 0.0), (2.0, 1.0)]
    assert len(final.fills[FAILED].getData()[0]) == 0  # (0.3, 64) has a run that trained
    accuracy = view.heatmaps[2]
    assert accuracy.image.levels.tolist() == [0.0, 1.0]
    assert accuracy.bar.axis._tickLevels[0][-1] == (1.0, "100%")
    assert final.getPlotItem().getAxis("bottom").labelText == "learning rate (log scale)"
    assert final.getPlotItem().getAxis("left").labelText == "batch size"
    assert final.getPlotItem().getAxis("bottom")._tickLevels[0] == [
        (0.0, "0.03"), (1.0, "0.3"), (2.0, "100")]
    assert "3 cells diverged" not in view.grid_summary.text()
    assert "4 of 12 runs" not in view.grid_summary.text()
    assert view.grid_summary.text().startswith(f"{len(runs)} of 12 runs ended")
    assert "2 cells diverged" in view.grid_summary.text()


def test_a_loss_spanning_decades_is_coloured_on_a_log_scale():
    from gdplayground.gui.runs.sweep_grid_view import bar_ticks, scale_of

    assert scale_of("final_loss", np.array([0.01, np.nan, 2.0])) == (
        True, pytest.approx(-2), pytest.approx(np.log10(2)))
    assert scale_of("final_loss", np.array([0.5, 2.0])) == (False, 0.5, 2.0)
    assert scale_of("test_accuracy", np.array([0.5, 0.6])) == (False, 0.0, 1.0)
    ticks = bar_ticks("final_loss", True, -2, np.log10(3))
    assert [text for _, text in ticks] == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
    assert [10 ** at for at, _ in ticks] == pytest.approx([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2])


def test_hovering_a_cell_tells_each_repeat(qtbot, swept):
    plan, runs = swept
    view = make_view(qtbot)
    view.show_results(runs, plan)
    final = view.heatmaps[0]
    vb = final.getPlotItem().vb
    assert final.cell_at(vb.mapViewToScene(QPointF(1.2, 0.8))) == (1, 1)
    assert final.cell_at(vb.mapViewToScene(QPointF(3.0, 0.0))) is None  # off the grid
    final.cell_hovered.emit(1, 1)  # (0.3, 64): one repeat trained, one failed
    trained = next(run for run in runs if run.point == (0.3, 64) and run.repeat == 0)
    tip = final.toolTip()
    assert "<b>learning rate 0.3, batch size 64</b>" in tip
    assert (f"repeat 0: final {trained.final_loss:.4g}, least {trained.least_loss:.4g}, "
            f"test accuracy {trained.test_accuracy:.1%}") in tip
    assert "repeat 1: failed: the worker died (killed)" in tip
    final.cell_hovered.emit(2, 0)
    steps = sorted(run.diverged_at_step for run in runs if run.point == (100.0, 16))
    assert all(f"diverged at step {step}" in final.toolTip() for step in steps)
    final.cell_hovered.emit(0, 0)  # two repeats that trained
    cell = view.grid.cells[0][0]
    assert (f"mean of 2: final {cell.final_loss:.3g}, least {cell.least_loss:.3g}, "
            f"test accuracy {cell.test_accuracy:.1%}") in final.toolTip()
    final.cell_hovered.emit(0, 1)
    assert "no run has ended yet" in final.toolTip()
    final.cell_hovered.emit(-1, -1)
    assert final.toolTip().startswith("One cell per pair of values")


def test_runs_arriving_in_any_order_draw_the_same_result(qtbot, swept):
    plan, runs = swept
    in_order, shuffled = make_view(qtbot), make_view(qtbot)
    for view, order in ((in_order, runs), (shuffled, random.Random(3).sample(runs, len(runs)))):
        view.begin(plan)
        for run in order:
            view.add(run)
        view.draw_figures()
    for mine, theirs in zip(in_order.heatmaps, shuffled.heatmaps):
        assert np.array_equal(mine.image.image, theirs.image.image, equal_nan=True)
    assert shuffled.choice() == (0, 0)  # along the rate at batch size 16
    lines = [view.line.loss.plot.getPlotItem().listDataItems()[0].getData() for view in
             (in_order, shuffled)]
    assert np.array_equal(lines[0][1], lines[1][1])
    assert [run.point for run in shuffled.line.results] != [run.point for run in in_order.line.results]


def test_the_plots_below_follow_the_chosen_row_or_column(qtbot, swept):
    plan, runs = swept
    view = make_view(qtbot)
    view.show_results(runs, plan)
    assert view.chooser.itemText(0) == "along learning rate at batch size = 16"
    assert view.chooser.itemText(2) == "along batch size at learning rate = 0.03"
    assert sorted(run.point for run in view.line.results) == [(0.03, 16), (0.03, 16), (0.3, 16), (0.3, 16), (100.0, 16), (100.0, 16)]
    view.chooser.setCurrentIndex(3)  # along batch size at 0.3: the run that failed is left out
    assert sorted(run.point for run in view.line.results) == [(0.3, 16), (0.3, 16), (0.3, 64)]
    assert view.line.loss.plot.getAxis("bottom").labelText == "batch size"
    assert view.line.summary.text().startswith("3 runs of batch-size (batch size)")


def test_a_png_of_a_two_by_three_grid_is_written(tmp_path):
    from gdplayground.gui.runs.sweep_grid_view import PNG_SIZE, save_sweep_grid_png

    plan = grid_plan(lrs=(0.03, 100.0), sizes=(8, 16, 64), repeats=1, steps=10)
    runs = list(run_sweep(preset("spiral"), plan))
    save_sweep_grid_png(runs, plan, tmp_path / "sweep.png", "Sweep of learning rate × batch size")
    image = QImage(str(tmp_path / "sweep.png"))
    assert (image.width(), image.height()) == PNG_SIZE
    reds = sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height() // 3, 2)
               if image.pixelColor(x, y).getRgb()[:3] == (214, 39, 40))
    assert reds > 30  # the ✕ of the diverged cells in the heatmaps above


# --- in the window ---------------------------------------------------------------------------------
@pytest.fixture
def swept_window(qtbot, tmp_path):
    """A window at 1024×640 whose Runs tab shows a 2×2 sweep of the XOR set, done."""
    from gdplayground.gui.window.main_window import MainWindow
    from gdplayground.store.runs import RunStore

    window = MainWindow(preset("xor"), RunStore(tmp_path))
    qtbot.addWidget(window)
    window.resize(1024, 640)
    window.show()
    qtbot.waitUntil(lambda: window.info is not None, timeout=TIMEOUT)
    window.tabs.setCurrentWidget(window.runs_tab)
    window.runs_tab.pages.setCurrentWidget(window.sweep)
    plan = grid_plan(lrs=(0.1, 100.0), sizes=(2, 4), repeats=2, steps=15)
    window.sweep._plan = lambda: plan
    window.sweep.start_button.click()
    qtbot.waitUntil(lambda: window.sweep.start_button.isEnabled(), timeout=TIMEOUT)
    assert len(window.runs_tab.store.runs) == plan.runs
    return window


def test_clicking_a_cell_selects_its_runs_and_overlays_them(qtbot, swept_window):
    window = swept_window
    heatmap = window.sweep.view.heatmaps[1]
    qtbot.waitUntil(lambda: heatmap.getPlotItem().vb.width() > 0)
    at = heatmap.mapFromScene(heatmap.getPlotItem().vb.mapViewToScene(QPointF(0, 1)))
    with qtbot.waitSignal(window.runs_tab.overlay_changed) as overlaid:
        qtbot.mouseClick(heatmap.viewport(), Qt.LeftButton, pos=at)
    names = ["lr 0.1, batch-size 4", "lr 0.1, batch-size 4 (seed +1)"]
    assert sorted(run.name for run in window.runs_tab.selected()) == names
    assert sorted(run.name for run, _ in overlaid.args[0]) == names
    assert sorted(name for _, name in window.training.overlays[0].items) == names
    assert window.sweep.view.choice() == (0, 1)  # the plots below: along the rate at size 4
    assert "Clicked <b>learning rate 0.1, batch size 4</b>" in window.sweep.view.grid_summary.text()


def test_the_grid_is_readable_in_a_window_of_1024_by_640(qtbot, swept_window):
    view = swept_window.sweep.view
    qtbot.waitUntil(lambda: view.line.curves.height() > 0)
    line = view.fontMetrics().height()
    for heatmap in view.heatmaps:
        item = heatmap.getPlotItem()
        assert item.vb.height() / 2 >= 1.5 * line  # two rows of cells, each room for its text
        cell_width = item.vb.width() / 2
        assert heatmap.texts and all(text.boundingRect().width() < cell_width
                                     for text in heatmap.texts)
        for side in ("bottom", "left"):  # the whole axis, its title included, within the plot
            box = item.getAxis(side).sceneBoundingRect()
            assert heatmap.sceneRect().contains(box)
    assert view.chooser.width() >= view.chooser.sizeHint().width()
    assert view.line.loss.plot.getPlotItem().vb.height() >= 60
    assert view.grid_summary.height() >= view.grid_summary.heightForWidth(view.grid_summary.width())


def test_a_run_joining_the_list_keeps_every_selected_run_overlaid(qtbot):
    """Each run of a sweep refreshes the list: of several selected runs, only the last stayed
    selected (QTableView.selectRow replaces the selection), and the overlay lost the others."""
    from PySide6.QtWidgets import QWidget

    from gdplayground.gui.runs.tab import RunsTab
    from gdplayground.store.runs import KeptRun, RunStore

    store = RunStore(None)
    store.runs += [KeptRun(f"run {i}", preset("xor"), {}, {}) for i in range(4)]
    tab = RunsTab(store, QWidget())
    qtbot.addWidget(tab)
    tab.select([store.runs[0], store.runs[2]])
    store.runs.append(KeptRun("run 4", preset("xor"), {}, {}))
    with qtbot.assertNotEmitted(tab.overlay_changed):
        tab.refresh()
    assert sorted(run.name for run in tab.selected()) == ["run 0", "run 2"]


def test_a_burst_of_runs_draws_the_heatmaps_once(qtbot, swept, monkeypatch):
    from gdplayground.gui.runs.sweep_grid_view import Heatmap
    from gdplayground.gui.runs.sweep_result_view import FIGURES_INTERVAL_MS

    plan, runs = swept
    view = make_view(qtbot)
    view.begin(plan)
    drawn = []
    monkeypatch.setattr(Heatmap, "draw", lambda self, grid: drawn.append(grid))
    for run in runs:
        view.add(run)
    assert drawn == []  # the heatmaps wait …
    qtbot.wait(2 * FIGURES_INTERVAL_MS)
    assert len(drawn) == 3 and len(view.runs) == len(runs)  # … and are drawn once each
