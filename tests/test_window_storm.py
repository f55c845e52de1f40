"""A storm of clicks: random actions on every control of the real window (panels edited while
training runs, data sets switched, layers added and removed, exports while playing, the window
resized), over several seeds. Afterwards the window, the trainer and the history must agree, and
the event loop must never have stalled. Exceptions in Qt's event loop fail the test (pytest-qt)."""

import copy
import math
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton, QSpinBox, QToolButton

from gdplayground.config import field_at, preset
from gdplayground.gui.main_window import MainWindow
from gdplayground.gui.paces import PACES

ACTIONS_PER_SEED = 1000
SEEDS = range(5)
LIGHT_DATASETS = ("spiral", "xor", "circles", "gaussians", "linear-system", "mnist-binary")
# Ranges a storm keeps to, so that a run stays small enough to build in a moment.
SMALL = {"data.samples": (20, 2000), "batch.size": (1, 256), "learning_rate.decay_steps": (1, 500),
         "learning_rate.warmup_steps": (0, 200), "eval_every": (0, 50)}


class Storm:
    def __init__(self, window: MainWindow, qtbot, rng: np.random.Generator, folder):
        self.window, self.qtbot, self.rng, self.folder = window, qtbot, rng, folder
        window.confirm = lambda title, text, items: bool(rng.random() < 0.7)
        self.actions = [
            (8, self.play), (6, self.step), (1, self.step_epoch), (2, self.reset), (3, self.pace),
            (20, self.edit_field), (3, self.dataset), (3, self.layers), (2, self.export),
            (1, self.resize), (1, self.log_scale), (1, self.evaluate), (3, self.key)]
        weights = np.array([w for w, _ in self.actions], float)
        self.odds = weights / weights.sum()

    def act(self) -> None:
        _, action = self.actions[self.rng.choice(len(self.actions), p=self.odds)]
        action()
        self.qtbot.wait(int(self.rng.integers(0, 15)))

    def play(self):
        self.window.toggle_play()

    def step(self):
        self.window.step(1)

    def step_epoch(self):
        self.window.step(-1)

    def reset(self):
        self.window.reset()

    def pace(self):
        self.window.set_pace(list(PACES)[self.rng.integers(len(PACES))])

    def key(self):
        key = [Qt.Key_Space, Qt.Key_N, Qt.Key_Right, Qt.Key_BracketLeft, Qt.Key_BracketRight]
        self.qtbot.keyClick(self.window, key[self.rng.integers(len(key))])

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
        combo.setCurrentIndex(combo.findData(LIGHT_DATASETS[self.rng.integers(len(LIGHT_DATASETS))]))

    def layers(self):
        layer_list = self.window.architecture_panel.layers
        removers = [b for b in layer_list.findChildren(QToolButton) if b.isVisibleTo(layer_list)]
        if removers and self.rng.random() < 0.5:
            removers[self.rng.integers(len(removers))].click()
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
            files.export_run(self.folder / "run")

    def resize(self):
        self.window.resize(int(self.rng.integers(1024, 1601)), int(self.rng.integers(640, 1001)))

    def log_scale(self):
        self.window.training.loss_view.log_scale.toggle()

    def evaluate(self):
        self.window.evaluate()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_storm_of_clicks_leaves_window_trainer_and_history_agreeing(qtbot, tmp_path, seed):
    config = preset("spiral")
    config.data.samples = 200
    window = MainWindow(config)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: window.info is not None, timeout=20_000)
    beats = []
    heart = QTimer()
    heart.timeout.connect(lambda: beats.append(time.perf_counter()))
    heart.start(10)
    storm = Storm(window, qtbot, np.random.default_rng(seed), tmp_path)
    for _ in range(ACTIONS_PER_SEED):
        storm.act()
    if window.playing:
        window.toggle_play()
    window.session.pause()
    qtbot.waitUntil(lambda: not window.running, timeout=20_000)
    qtbot.wait(500)  # whatever is queued arrives
    heart.stop()
    assert max(np.diff(beats)) < 2.0, "the event loop stalled"
    trainer = window.session.worker.trainer
    assert window.config == trainer.config == window.session.config
    assert window.last_step == trainer.step_count
    history = window.history
    assert (history.column("step")[-1] if len(history) else window.info.step) == window.last_step
    shown = copy.deepcopy(window.config)
    for panel in window.panels:
        panel.store(shown)
    assert shown == window.config, "the panels show other settings than the run has"
