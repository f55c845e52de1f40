"""The Gradient check tab, driven offscreen with pytest-qt: a check that finishes, one that is
cancelled, one closed mid-way, and one on a real training session's probe."""

import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMainWindow

from gdplayground.config import preset
from gdplayground.labs import gradient_lab
from gdplayground.labs.gradient_lab import Probe
from gdplayground.engine.network import Network
from gdplayground.gui.gradient_check.tab import GradientCheckTab
from gdplayground.gui.training.worker import TrainingSession

TIMEOUT = 30_000  # ms
PARAMETERS = ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight",
              "layer3.bias"]


def small_probe() -> Probe:
    rng = np.random.default_rng(5)
    net = Network([3, 5, 4, 2], ["tanh", "relu"], dtype=np.float32)
    net.initialise("he", 0.0, rng)
    x, labels = rng.normal(size=(16, 3)), rng.integers(0, 2, 16)
    return Probe.of(net, "cross_entropy", "softmax", x, labels)


def later(what, callback):
    """An `ask` that answers as the session does: later, on the GUI thread."""
    QTimer.singleShot(10, lambda: callback(small_probe()))


@pytest.fixture
def tab(qtbot):
    widget = GradientCheckTab(later)
    qtbot.addWidget(widget)
    widget.resize(1024, 640)
    widget.show()
    return widget


@pytest.fixture
def slow(monkeypatch):
    """Every evaluation takes 5 ms longer: a check of several seconds, to cancel or close."""
    tick = gradient_lab._Meter.tick

    def slow_tick(self):
        time.sleep(0.005)
        tick(self)
    monkeypatch.setattr(gradient_lab._Meter, "tick", slow_tick)


def table_rows(tab) -> list[tuple[str, ...]]:
    return [tuple(tab.table.item(row, column).text() for column in range(tab.table.columnCount()))
            for row in range(tab.table.rowCount())]


def test_the_check_fills_the_table_and_draws_the_sweep(qtbot, tab):
    assert "Press Check the gradient" in tab.table.item(0, 0).text()
    qtbot.mouseClick(tab.check_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.state == "finished", timeout=TIMEOUT)
    rows = table_rows(tab)
    assert [r[:2] for r in rows] == [(p, d) for p in PARAMETERS for d in ("float64", "float32")]
    assert all(r[4] in ("excellent", "ok") for r in rows if r[1] == "float64")
    assert all(float(r[3]) < 1e-4 for r in rows if r[1] == "float64")
    assert tab.progress.value() == tab.progress.maximum()
    assert tab.check_button.isEnabled() and not tab.cancel_button.isEnabled()
    drawn = [c for c in tab.sweep.plot.getPlotItem().listDataItems() if c.getData()[0] is not None]
    assert len(drawn) == 4 + 4 + 1  # the measured curves, the theory lines, the best-h markers
    assert "Best h" in tab.sweep.summary.text()
    assert "backprop agrees" in tab.status.text()


def test_a_gradient_within_round_off_says_cannot_resolve_and_why(qtbot):
    # L2 of 1e8: L is about 1e8, and its round-off swamps the biases' gradients
    tab = GradientCheckTab(lambda what, callback: callback(replace(small_probe(), l2=1e8)))
    qtbot.addWidget(tab)
    tab.check()
    qtbot.waitUntil(lambda: tab.state == "finished", timeout=TIMEOUT)
    rows = {(r[0], r[1]): row for row, r in enumerate(table_rows(tab))}
    cell = tab.table.item(rows["layer1.bias", "float64"], 4)
    assert cell.text() == "cannot resolve"
    assert cell.toolTip().startswith("Above 1e-2, but no more than round-off alone can make")
    assert "round-off alone can make a relative error of" in cell.toolTip()
    assert tab.table.item(rows["layer1.weight", "float64"], 4).text() == "excellent"
    assert "cannot resolve the gradient of layer1.bias" in tab.status.text()
    assert "cannot resolve" in tab.legend.text()
    assert "(ε|\u2060L|\u2060/h)" in tab.legend.text()  # joined: Qt broke the line after "(ε|"


def test_the_empty_sweep_shows_the_h_it_sweeps_and_a_span_of_errors(qtbot, tab):
    def shown():  # the axes' ranges in h and error, not their logarithms
        (x0, x1), (y0, y1) = tab.sweep.plot.getPlotItem().viewRange()
        return 10 ** x0, 10 ** x1, 10 ** y0, 10 ** y1

    for moment in ("new", "running"):
        if moment == "running":  # cleared for the next check, after drawing one
            tab.sweep.draw(gradient_lab.h_sweep(small_probe(), hs=[1e-3, 1e-6]))
            tab._set_state("running")
        low_h, high_h, low_error, high_error = shown()
        assert 5e-13 < low_h < 1e-12 and 0.1 < high_h < 0.2, (moment, shown())
        assert low_error == pytest.approx(1e-12) and high_error == pytest.approx(3), moment


def test_a_new_check_clears_the_last_one_s_results_while_it_waits_for_its_probe(qtbot):
    answers = []  # the first check is answered, the second waits
    tab = GradientCheckTab(lambda what, callback: answers.append(callback))
    qtbot.addWidget(tab)
    tab.check()
    answers.pop()(small_probe())
    qtbot.waitUntil(lambda: tab.state == "finished", timeout=TIMEOUT)
    assert tab.sweep.summary.text().startswith("Best h")
    tab.check()
    assert tab.state == "asking"
    assert tab.sweep.summary.text() == "The sweep of h follows the check…"
    assert tab.table.rowCount() == 1 and tab.table.item(0, 0).text() == "Checking…"
    assert not [c for c in tab.sweep.plot.getPlotItem().listDataItems() if c.getData()[0] is not None]
    tab.cancel()


def test_at_100_percent_the_words_no_longer_promise_the_sweep(qtbot, tab):
    tab._set_state("running")
    tab._progressed(500, 1000)
    assert "then sweeping h" in tab.status.text() and tab.progress.text() == "50%"
    tab._progressed(1000, 1000)
    assert tab.progress.text() == "100%"
    assert tab.status.text() == "Every loss evaluated: filling the table and drawing the sweep…"
    tab._set_state("idle")


def test_cancel_stops_a_running_check(qtbot, tab, slow):
    tab.check()
    qtbot.waitUntil(lambda: tab.state == "running" and tab.progress.value() > 0, timeout=TIMEOUT)
    assert tab.sweep.summary.text() == "The sweep of h follows the check…"  # not "Press Check"
    task = tab.background._task
    qtbot.mouseClick(tab.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.state == "cancelled", timeout=TIMEOUT)
    assert task.isFinished() and not tab.background.running
    assert tab.progress.value() < tab.progress.maximum()
    assert "cancelled" in tab.table.item(0, 0).text() and tab.table.rowCount() == 1
    assert tab.sweep.summary.text() == "Cancelled with the check."
    assert tab.report is None
    tab.check()  # and it runs again afterwards
    assert tab.state in ("asking", "running")
    tab.cancel()
    qtbot.waitUntil(lambda: tab.state == "cancelled", timeout=TIMEOUT)


def test_closing_mid_check_cancels_and_waits_for_the_thread(qtbot, tab, slow):
    tab.check()
    qtbot.waitUntil(lambda: tab.state == "running" and tab.progress.value() > 0, timeout=TIMEOUT)
    assert tab.sweep.summary.text() == "The sweep of h follows the check…"  # not "Press Check"
    task = tab.background._task
    tab.close()
    assert task.isFinished()  # waited for, not left running under a closing window
    qtbot.wait(50)  # its last signal, queued, reaches nobody harmful


def test_closing_the_window_that_holds_the_tab_stops_the_check(qtbot, slow):
    window = QMainWindow()
    qtbot.addWidget(window)
    tab = GradientCheckTab(later)
    window.setCentralWidget(tab)
    window.show()
    tab.check()
    qtbot.waitUntil(lambda: tab.state == "running" and tab.progress.value() > 0, timeout=TIMEOUT)
    assert tab.sweep.summary.text() == "The sweep of h follows the check…"  # not "Press Check"
    task = tab.background._task
    window.close()
    assert task.isFinished()
    qtbot.waitUntil(lambda: tab.state == "cancelled", timeout=TIMEOUT)


def test_ctrl_g_starts_the_check(qtbot, tab):
    tab.activateWindow()
    qtbot.keyClick(tab, Qt.Key_G, Qt.ControlModifier)
    qtbot.waitUntil(lambda: tab.state == "finished", timeout=TIMEOUT)


def test_the_numpy_gradient_panel_follows_its_spacing(qtbot, tab):
    panel = tab.numpy_gradient
    panel.spacing.setValue(0.2)
    assert len(panel.demo.x) == 21 and "21 samples" in panel.readout.text()
    edge = panel.demo.edge_error
    panel.spacing.setValue(0.4)
    assert panel.demo.edge_error == pytest.approx(2 * edge, rel=0.15)
    assert "(one-sided, ∝ Δ)" in panel.readout.text() and "(central, ∝ Δ²)" in panel.readout.text()
    panel.passed.setChecked(False)
    said = panel.readout.text()
    assert "∝" not in said, said  # the errors are the missing factor Δ's, not Δ's or Δ²'s
    assert "(f[1] − f[0] divided by 1, not Δ)" in said
    assert "((f[i+1] − f[i−1]) / 2, not / 2Δ)" in said
    assert "every value is 0.4 times what it should be" in said
    panel.spacing.setValue(1.0)  # samples 1 apart: nothing is missing
    assert "(central, ∝ Δ²)" in panel.readout.text()
    assert "raises ValueError" in panel.words.text()


def test_a_real_session_answers_with_a_probe_of_its_network(qtbot):
    config = preset("spiral")
    config.data.samples = 200
    session = TrainingSession(config)
    infos = []
    session.started.connect(infos.append)
    session.start()
    try:
        qtbot.waitUntil(lambda: bool(infos), timeout=TIMEOUT)
        widget = GradientCheckTab(session.ask)
        qtbot.addWidget(widget)
        widget.check()
        qtbot.waitUntil(lambda: widget.state == "finished", timeout=TIMEOUT)
        assert widget.probe.sizes == (2, 8, 8, 1) and len(widget.probe.x) == 32
        rows = table_rows(widget)
        assert len(rows) == 2 * 6
        assert all(r[4] == "excellent" for r in rows if r[1] == "float64")
    finally:
        session.shutdown()
