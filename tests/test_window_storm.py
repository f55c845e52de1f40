"""A storm of clicks over every tab: random actions on every control the real window shows (the
panels edited while training runs, data sets switched, layers added and removed, exports while
playing; races edited and run, gradient checks started and cancelled, the Inside tab's pages,
cells and canvas, kept runs selected, renamed, pinned, restored and swept; keys, mouse moves over
every picture, the window resized), over several seeds. Afterwards the window, the trainer and the
history must agree, every tab must draw and the worker must still answer, and the event loop
must never have stalled. An exception in Qt's event loop fails the test (pytest-qt).

The actions are found, not listed: each is a kind of control (a button, a box, a field, a table,
a picture) picked at random among those visible in the tab in view, so a control added later is
stormed without a change here. STORM_ACTIONS, STORM_SEEDS and STORM_FIRST_SEED set a longer storm
or other seeds (the CI runs a short one)."""

import collections
import copy
import gc
import os
import sys
import threading
import time
import traceback

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QDoubleSpinBox,
    QFileDialog, QGraphicsView, QInputDialog, QLineEdit, QMessageBox, QPushButton, QSpinBox,
    QTableWidget, QTabWidget, QToolButton, QWidget)

from gdplayground.config import field_at, preset
from gdplayground.gui.window.main_window import MainWindow
from gdplayground.store.runs import RunStore

ACTIONS_PER_SEED = int(os.environ.get("STORM_ACTIONS", 800))
FIRST_SEED = int(os.environ.get("STORM_FIRST_SEED", 0))
SEEDS = range(FIRST_SEED, FIRST_SEED + int(os.environ.get("STORM_SEEDS", 1)))
LIGHT_DATASETS = ("spiral", "xor", "circles", "gaussians", "linear-system", "mnist-binary")
# Ranges a storm keeps to, so that a run stays small enough to build in a moment.
SMALL = {"data.samples": (20, 2000), "batch.size": (1, 256), "learning_rate.decay_steps": (1, 500),
         "learning_rate.warmup_steps": (0, 200), "eval_every": (0, 50)}
# What a storm types into a field: numbers, lists, formulas, names, and what breaks them.
TYPED = ["", " ", "0", "-1", "3", "0.5", "1e-3", "1e400", "nan", "inf", "-0", "12", "99999999",
         "0.001, 0.01, 0.1", "1,2,3", "1e-4..1e-1", "8:tanh,16:relu", "x^2 + y^2", "x − y",
         "(x-1)^2 + 10*(y-x^2)^2", "0/0", "log(x-2)", "10^400", "9**9**9**9",
         "sin(3*x)*cos(2*y)", "x*", "<b>bold</b>", "\x1b[31mred", "two\nlines", "é ü 漢字",
         "name " * 60]
KEYS = [(Qt.Key_Space, Qt.NoModifier), (Qt.Key_N, Qt.NoModifier), (Qt.Key_Right, Qt.NoModifier),
        (Qt.Key_Right, Qt.ShiftModifier), (Qt.Key_BracketLeft, Qt.NoModifier),
        (Qt.Key_BracketRight, Qt.NoModifier), (Qt.Key_R, Qt.ControlModifier),
        (Qt.Key_G, Qt.ControlModifier), (Qt.Key_T, Qt.ControlModifier),
        (Qt.Key_Escape, Qt.NoModifier), (Qt.Key_Tab, Qt.NoModifier)]


class Storm:
    def __init__(self, window: MainWindow, qtbot, rng: np.random.Generator, folder):
        self.window, self.qtbot, self.rng, self.folder = window, qtbot, rng, folder
        window.confirm = lambda title, text, items: bool(rng.random() < 0.7)
        self.actions = [
            (4, self.tab), (10, self.key), (12, self.button), (6, self.combo), (6, self.spin),
            (4, self.type_text), (4, self.table), (8, self.mouse), (2, self.inner_tab),
            (12, self.edit_field), (2, self.dataset), (3, self.layers), (2, self.export),
            (1, self.open_file), (1, self.resize), (1, self.evaluate), (3, self.wait)]
        weights = np.array([w for w, _ in self.actions], float)
        self.odds = weights / weights.sum()
        self.done: list[str] = []  # the actions so far, to read a failure by

    def act(self) -> None:
        _, action = self.actions[self.rng.choice(len(self.actions), p=self.odds)]
        action()
        self.done.append(action.__name__)
        self.qtbot.wait(int(self.rng.integers(0, 15)))

    def pick(self, items):
        return items[self.rng.integers(len(items))] if items else None

    # --- what is in view ---------------------------------------------------------------------
    def in_view(self, kind) -> list:
        """Visible, enabled widgets of `kind` in the tab in view and the docks beside it."""
        roots = [self.window.tabs.currentWidget()]
        roots += [dock for dock in (self.window.experiment_dock, self.window.coach_dock)
                  if dock.isVisible()]
        return [w for root in roots for w in root.findChildren(kind)
                if w.isVisible() and w.isEnabled() and not self._is_panel_field(w)]

    def _is_panel_field(self, widget: QWidget) -> bool:
        """The experiment's own fields go through edit_field, which keeps runs small."""
        return any(widget is e.widget for p in self.window.panels for e in p.editors.values())

    # --- every tab ---------------------------------------------------------------------------
    def tab(self):
        index = int(self.rng.integers(self.window.tabs.count()))
        self.qtbot.keyClick(self.window, Qt.Key_1 + index, Qt.ControlModifier)

    def key(self):
        key, modifier = self.pick(KEYS)
        focus = QApplication.focusWidget() or self.window
        self.qtbot.keyClick(focus if self.rng.random() < 0.5 else self.window, key, modifier)

    def button(self):
        buttons = [b for b in self.in_view(QAbstractButton) if not isinstance(b, QToolButton)
                   or b.parent() is not None]
        button = self.pick(buttons)
        if button is not None:
            button.click()

    def combo(self):
        combo = self.pick([c for c in self.in_view(QComboBox) if c.count()])
        if combo is not None:
            combo.setCurrentIndex(int(self.rng.integers(combo.count())))

    def spin(self):
        box = self.pick(self.in_view(QAbstractSpinBox))
        if box is None:
            return
        if isinstance(box, (QSpinBox, QDoubleSpinBox)):
            low, high = box.minimum(), min(box.maximum(), 1e6)
            value = low + (high - low) * self.rng.random() ** 6  # mostly small: runs stay short
            box.setValue(int(value) if isinstance(box, QSpinBox) else value)
        else:  # pyqtgraph's SpinBox: typed, as a user would
            box.lineEdit().setText(self.pick(TYPED[:13]))
            QTest.keyClick(box, Qt.Key_Return)

    def type_text(self):
        field = self.pick([f for f in self.in_view(QLineEdit) if not f.isReadOnly()
                           and not isinstance(f.parent(), QAbstractSpinBox)])
        if field is None:
            return
        field.setFocus()
        field.selectAll()
        text = self.pick(TYPED)
        if self.rng.random() < 0.2 and text.isascii() and text.isprintable():  # QTest aborts on others
            QTest.keyClicks(field, text)
        else:
            field.setText(text)
        QTest.keyClick(field, Qt.Key_Return)

    def table(self):
        table = self.pick([t for t in self.in_view(QTableWidget) if t.rowCount()])
        if table is None:
            return
        row = int(self.rng.integers(table.rowCount()))
        if self.rng.random() < 0.15:  # rename, if the cell takes it
            item = table.item(row, 0)
            if item is not None and item.flags() & Qt.ItemIsEditable:
                item.setText(self.pick(TYPED))
            return
        modifier = Qt.ControlModifier if self.rng.random() < 0.4 else Qt.NoModifier
        rect = table.visualRect(table.model().index(row, 0))
        if rect.isValid() and table.viewport().rect().contains(rect.center()):
            QTest.mouseClick(table.viewport(), Qt.LeftButton, modifier, rect.center())

    def mouse(self):
        """Hover, click or drag over a picture in view."""
        view = self.pick(self.in_view(QGraphicsView))
        if view is None:
            return
        port = view.viewport()
        size = port.size()
        if size.width() < 2 or size.height() < 2:
            return

        def anywhere() -> QPoint:
            return QPoint(int(self.rng.integers(size.width())), int(self.rng.integers(size.height())))
        kind = self.rng.random()
        if kind < 0.5:
            for _ in range(int(self.rng.integers(1, 6))):
                QTest.mouseMove(port, anywhere())
                self.qtbot.wait(1)
        elif kind < 0.85:
            QTest.mouseClick(port, Qt.LeftButton, Qt.NoModifier, anywhere())
        else:
            start = anywhere()
            QTest.mousePress(port, Qt.LeftButton, Qt.NoModifier, start)
            for _ in range(int(self.rng.integers(2, 8))):
                QTest.mouseMove(port, anywhere())
            QTest.mouseRelease(port, Qt.LeftButton, Qt.NoModifier, anywhere())

    def inner_tab(self):
        inner = self.pick([t for t in self.in_view(QTabWidget) if t.count()])
        if inner is not None:
            inner.setCurrentIndex(int(self.rng.integers(inner.count())))

    def wait(self):
        self.qtbot.wait(int(self.rng.integers(20, 200)))

    def resize(self):
        self.window.resize(int(self.rng.integers(1024, 1601)), int(self.rng.integers(640, 1001)))

    def evaluate(self):
        self.window.evaluate()

    # --- the experiment ----------------------------------------------------------------------
    def edit_field(self):
        editors = [e for panel in self.window.panels for e in panel.editors.values()
                   if e.widget.isVisibleTo(panel) and e.path != "data.name"]
        editor = editors[self.rng.integers(len(editors))]
        widget, field = editor.widget, field_at(editor.path)
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(int(self.rng.integers(widget.count())))
        elif isinstance(widget, QCheckBox):
            widget.toggle()
        elif isinstance(widget, QSpinBox):
            lo, hi = SMALL.get(editor.path, field.metadata["range"])
            widget.setValue(int(self.rng.integers(lo, min(hi, 2**31 - 2) + 1)))
        else:
            lo, hi = field.metadata["range"]
            if editor.path == "learning_rate.value":
                value = 10 ** self.rng.uniform(-5, 1)
            else:
                value = self.rng.uniform(max(lo, 1e-6) if field.metadata["lo_open"] else lo, hi)
            widget.setValue(float(f"{value:.3g}"))

    def dataset(self):
        combo = self.window.data_panel.dataset.widget
        combo.setCurrentIndex(combo.findData(self.pick(LIGHT_DATASETS)))

    def layers(self):
        layer_list = self.window.architecture_panel.layers
        removers = [b for b in layer_list.findChildren(QToolButton) if b.isVisibleTo(layer_list)]
        if removers and self.rng.random() < 0.5:
            self.pick(removers).click()
        elif len(layer_list.rows) < 4:
            next(b for b in layer_list.findChildren(QPushButton) if b.text() == "Add layer").click()
            if layer_list.rows:  # unless the new run was declined and there are none
                layer_list.rows[-1][1].setValue(int(self.rng.integers(1, 33)))

    def export(self):
        files, kind = self.window.files, self.rng.integers(3)
        if kind == 0:
            files.export_metrics(self.folder / "metrics.csv")
        elif kind == 1:
            files.export_weights(self.folder / "weights.npz")
        else:
            files.export_run(self.folder / f"run{self.rng.integers(3)}")

    def open_file(self):
        """Reopen what the storm exported (or a file that is not there)."""
        files = self.window.files
        if self.rng.random() < 0.5:
            files.open_weights(self.folder / "weights.npz")
        else:
            files.open_experiment(self.folder / f"run{self.rng.integers(3)}" / "config.toml")


class Dialogs:
    """Every dialog the window can open answers at once, as a hurried user would: a file in the
    storm's folder, the first choice, OK. Any other modal dialog is closed and remembered."""

    def __init__(self, monkeypatch, folder, rng):
        self.unexpected: list[str] = []
        names = ["weights.npz", "run0", "run1/config.toml", "plots", "new.toml", "missing.npz", ""]

        def path(*_args, **_kwargs):
            name = names[rng.integers(len(names))]
            return (str(folder / name) if name else "", "")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(path))
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(path))
        monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                            staticmethod(lambda *a, **k: path()[0]))
        monkeypatch.setattr(QInputDialog, "getItem",
                            staticmethod(lambda parent, title, label, items, *a, **k:
                                         (items[int(rng.integers(len(items)))], True)))
        for name in ("information", "warning", "critical", "question"):
            monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *a, **k: QMessageBox.Ok))
        self.closer = QTimer()
        self.closer.timeout.connect(self._close_modal)
        self.closer.start(100)

    def _close_modal(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None:
            self.unexpected.append(f"{type(modal).__name__}: {modal.windowTitle()}")
            modal.close()


class Heart:
    """Beats on the GUI thread every 10 ms; while a beat is late, a watchdog thread samples
    where the GUI thread is four times a second, so a stall names where its time went."""

    LATE = 0.5  # seconds without a beat before the watchdog samples

    def __init__(self):
        self.beats: list[float] = []
        self.samples: dict[float, list[str]] = {}  # last beat before a stall -> stacks during it
        self._gui = threading.get_ident()
        self._timer = QTimer()
        self._timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.beats.append(time.perf_counter())
        self._timer.start(10)
        self._watchdog.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()
        self._watchdog.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            last = self.beats[-1]
            if time.perf_counter() - last > self.LATE:
                frame = sys._current_frames().get(self._gui)
                stack = "".join(traceback.format_stack(frame)[-8:])
                self.samples.setdefault(last, []).append(stack)

    def longest_gap(self) -> float:
        return float(max(np.diff(self.beats)))

    def where_the_longest_went(self) -> str:
        """The stacks sampled during the longest stall, the most frequent first, with counts."""
        gaps = np.diff(self.beats)
        start = self.beats[int(np.argmax(gaps))]
        counts = collections.Counter(self.samples.get(start, []))
        return "\n".join(f"{n} samples of a quarter second:\n{stack}" for stack, n in counts.most_common(4))


def asked(window, qtbot, what: str):
    """The worker's answer to a query, waited for."""
    answers = []
    window.session.ask(what, answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=20_000)
    return answers[0]


@pytest.fixture
def own_heap():
    """The window's garbage collections while the storm runs see the objects it makes, not the
    heap of every test before it in this process (a full collection of that took 1.8 s)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_storm_of_clicks_over_every_tab_leaves_window_trainer_and_history_agreeing(
        qtbot, tmp_path, monkeypatch, seed, own_heap):
    rng = np.random.default_rng(seed)
    dialogs = Dialogs(monkeypatch, tmp_path, rng)
    config = preset("spiral")
    config.data.samples = 200
    window = MainWindow(config, RunStore(tmp_path / "kept"))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    heart = Heart()
    heart.start()
    storm = Storm(window, qtbot, rng, tmp_path)
    for _ in range(ACTIONS_PER_SEED):
        storm.act()
    if window.playing:
        window.toggle_play()
    window.session.pause()
    qtbot.waitUntil(lambda: not window.running, timeout=20_000)
    # its answer comes after whatever the worker said of the commands sent before the query
    assert asked(window, qtbot, "probe") is not None, "the worker no longer answers"
    heart.stop()
    dialogs.closer.stop()
    assert not dialogs.unexpected, f"dialogs the storm did not expect: {dialogs.unexpected}"
    trainer = window.session.worker.trainer
    assert window.config == trainer.config == window.session.config, storm.done[-20:]
    assert window.last_step == trainer.step_count
    history = window.history
    assert (history.column("step")[-1] if len(history) else window.info.step) == window.last_step
    shown = copy.deepcopy(window.config)
    for panel in window.panels:
        panel.store(shown)
    assert shown == window.config, "the panels show other settings than the run has"
    for index in range(window.tabs.count()):  # every tab still draws
        window.tabs.setCurrentIndex(index)
        assert not window.grab().isNull()
    assert heart.longest_gap() < 2.0, (f"the event loop stalled for {heart.longest_gap():.2f} s; "
                                       f"where its time went:\n" + heart.where_the_longest_went())
