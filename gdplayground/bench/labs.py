"""`gdplayground bench` sections of the labs (the sections are listed in bench.py): the kept
runs overlaid on the live plots, the Optimizers tab's frames, and a sweep against the same runs
made by `gdplayground train`."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from gdplayground.bench import SETUPS, engine_runner, fastest_config, open_window, window_rate
from gdplayground.config import preset

SWEEP_RATES = (0.003, 0.01, 0.03, 0.1)  # the spiral preset's learning rates the bench sweeps
OVERLAID_RUNS = 10


def overlays_section(figures, repeats, seconds, out) -> dict:
    """Ten runs overlaid on the plots against none (target: within 0.03)."""
    out(f"overlays: default MNIST configuration, window live with {OVERLAID_RUNS} kept runs "
        "overlaid and with none, each against headless")
    plain, overlaid = _paired_ratios(_overlay_runs, repeats, seconds)
    out(f"  window/headless: {plain:.3f} with none, {overlaid:.3f} with {OVERLAID_RUNS} "
        f"overlaid: difference {plain - overlaid:+.3f} (target: within 0.03)")
    return {"ratio_none": plain, "ratio_overlaid": overlaid, "difference": plain - overlaid}


def inside_section(figures, repeats, seconds, out) -> dict:
    """The Inside tab in view against the Training tab (target: within 0.05)."""
    out("inside: default MNIST configuration, window live with the Inside tab in view and with "
        "the Training tab, each against headless")
    training, inside = _paired_ratios(_show_inside, repeats, seconds)
    out(f"  window/headless: {training:.3f} with the Training tab, {inside:.3f} with the Inside "
        f"tab: difference {training - inside:+.3f} (target: within 0.05)")
    return {"ratio_training": training, "ratio_inside": inside, "difference": training - inside}


def _paired_ratios(prepare, repeats: int, seconds: float) -> tuple[float, float]:
    """Median window/headless ratios of the default MNIST network, the window as it opens and
    as `prepare(window)` sets it up, taken in turns so that the machine's drift hits both."""
    config = SETUPS["a"].config()
    config.data.validation_split = preset("mnist").data.validation_split
    headless = engine_runner(config)
    plain, prepared = [], []
    for _ in range(max(2, repeats)):
        plain.append(window_rate(config, seconds * 2)[0] / headless(seconds * 2))
        prepared.append(window_rate(config, seconds * 2, prepare=prepare)[0]
                        / headless(seconds * 2))
    return statistics.median(plain), statistics.median(prepared)


def _show_inside(window) -> None:
    window.tabs.setCurrentWidget(window.inside)


def _overlay_runs(window) -> None:
    """Ten kept runs of 20,000 steps each, drawn under the live curves."""
    from gdplayground.runs import KeptRun

    steps = np.linspace(1, 20_000, 2000)
    runs = []
    for i in range(OVERLAID_RUNS):
        decay = 2.3 * np.exp(-steps / (2000 + 500 * i)) + 0.05
        curves = {"step": steps, "loss": decay, "accuracy": 1 - decay / 2.5,
                  **{f"layer{n}_grad_norm": decay / n for n in (1, 2, 3)}}
        runs.append((KeptRun(f"run {i}", window.config, {}, curves), i))
    window.training.overlay(runs)


def race_section(figures, repeats, seconds, out) -> dict:
    """The Optimizers tab redrawing six racers flat out (targets: >= 30 frames a second, no gap
    over 50 ms)."""
    rates, gaps = [], []
    for _ in range(max(2, repeats)):
        rate, frame_gaps = _race_frames(seconds * 2)
        rates.append(rate)
        gaps.extend(frame_gaps)
    result = {"frames_per_second": statistics.median(rates), "gap_p50_ms": float(np.median(gaps)),
              "gap_max_ms": float(np.max(gaps)), "frames": len(gaps)}
    out(f"race: six optimizers on Rosenbrock, the Optimizers tab flat out: "
        f"{result['frames_per_second']:.1f} frames/s (target >= 30), gaps p50 "
        f"{result['gap_p50_ms']:.0f} ms, max {result['gap_max_ms']:.0f} ms (target <= 50 ms) over "
        f"{len(gaps)} frames")
    return result


def _race_frames(seconds: float) -> tuple[float, list[float]]:
    """(frames a second, gaps in ms between frames) of the race in the real window."""
    window = open_window(preset("spiral"))
    from gdplayground.gui.app import pause

    tab = window.optimizers
    window.tabs.setCurrentWidget(tab)
    window.controls.pace.setCurrentIndex(window.controls.pace.findData(None))  # flat out
    drawn = []
    tab.drawn.connect(lambda: drawn.append(time.perf_counter()))
    window.controls.play_action.trigger()
    pause(0.5)  # warm-up
    drawn.clear()
    pause(seconds)
    window.controls.play_action.trigger()
    window.close()
    return (len(drawn) - 1) / (drawn[-1] - drawn[0]), list(np.diff(drawn) * 1000)


def sweep_section(figures, repeats, seconds, out) -> dict:
    """run_sweep against the same runs by `gdplayground train` processes, one after another, in
    turns. Both sides count training alone: the steps and their history (train also writes
    metrics.csv as it goes: its summary's seconds); neither starting a process, loading the data,
    the test evaluation nor the run folder."""
    steps = max(50, round(1000 * seconds))  # 2,000 steps a run at the default 2 s
    out(f"sweep: spiral at lr {', '.join(map(str, SWEEP_RATES))}, {steps:,} steps a run: "
        "run_sweep against `gdplayground train` processes, training time only")
    _sweep_seconds(min(steps, 50))  # warm-up
    pairs = [(_sweep_seconds(steps), _train_seconds(steps)) for _ in range(repeats)]
    sweep, train = (statistics.median(side) for side in zip(*pairs))
    ratio = statistics.median(a / b for a, b in pairs)
    out(f"  sweep {sweep:.3f} s   train {train:.3f} s   sweep/train {ratio:.3f} (target <= 1.10)")
    return {"steps": steps, "sweep_s": sweep, "train_s": train, "ratio": ratio}


def _sweep_seconds(steps: int) -> float:
    from gdplayground.labs.sweep import SweepPlan, run_sweep, sweep_param

    plan = SweepPlan(sweep_param("lr"), SWEEP_RATES, steps=steps)
    return sum(run.seconds for run in run_sweep(preset("spiral"), plan))


def _train_seconds(steps: int) -> float:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        runs = [Path(folder) / str(lr) for lr in SWEEP_RATES]
        for lr, run in zip(SWEEP_RATES, runs):
            subprocess.run([sys.executable, "-m", "gdplayground", "train", "--dataset", "spiral",
                            "--lr", str(lr), "--steps", str(steps), "--out", str(run)],
                           capture_output=True, check=True)
        return sum(json.loads((run / "summary.json").read_text())["seconds"] for run in runs)


# --- input delay ---------------------------------------------------------------------------------
PRESSES = 100  # presses of Space, and clicks, per model
THINKING_S = (0.15, 0.35)  # a user's pause between two inputs, drawn at random
LOST_S = 5.0  # an input not answered within this is counted as lost


def input_delay_section(figures, repeats, seconds, out) -> dict:
    """What a user feels while training runs flat out, with the fastest model and the default
    MNIST network: the delay from a press of Space to the worker's last step, and from a click
    on the loss plot's Log scale to the plot repainted (targets: p99 under 100 ms, max under
    250 ms). The events are posted to the window from another thread at random moments, as a
    user's arrive, and go through Qt's event queue."""
    out(f"input-delay: {PRESSES} presses of Space to the worker's last step, {PRESSES} clicks on "
        "Log scale to the loss plot repainted, while training flat out")
    result = {}
    for name, config in (("fastest", fastest_config()), ("mnist", _mnist_as_the_window_opens())):
        delays = _input_delays(config, PRESSES)
        result[name] = {kind: _delay_figures(values) for kind, values in delays.items()}
        for kind, shown in result[name].items():
            out(f"  {name:8} {kind:6} p50 {shown['p50_ms']:5.1f}  p99 {shown['p99_ms']:5.1f}  max "
                f"{shown['max_ms']:5.1f} ms over {shown['inputs']} ({shown['lost']} lost) "
                "(targets: p99 < 100, max < 250)")
    return result


def _mnist_as_the_window_opens():
    config = SETUPS["a"].config()
    config.data.validation_split = preset("mnist").data.validation_split
    return config


def _delay_figures(delays: list[float | None]) -> dict:
    answered = np.array([d for d in delays if d is not None]) * 1000
    return {"p50_ms": float(np.median(answered)), "p99_ms": float(np.percentile(answered, 99)),
            "max_ms": float(answered.max()), "inputs": len(delays),
            "lost": len(delays) - len(answered)}


def _input_delays(config, presses: int) -> dict[str, list[float | None]]:
    """Seconds from each input posted to its effect (None: lost), in the real window."""
    import random
    import threading

    from gdplayground.gui.app import wait_for

    window = open_window(config)
    probe = _InputProbe(window)
    delays = {"key": [], "click": []}
    rng, done = random.Random(0), threading.Event()

    def user() -> None:
        try:
            for _ in range(presses):
                if probe.play():
                    time.sleep(rng.uniform(*THINKING_S))
                    delays["key"].append(probe.pause())
            probe.play()
            for _ in range(presses):
                time.sleep(rng.uniform(*THINKING_S))
                delays["click"].append(probe.click())
            probe.pause()
        finally:
            done.set()
    threading.Thread(target=user, daemon=True).start()
    wait_for(done.is_set, presses * 4 * LOST_S)
    window.close()
    return delays


class _InputProbe:
    """Posts a user's inputs to the window from another thread, and times their effects: the
    worker's steps (timed on its own thread) and the loss plot's paints."""

    def __init__(self, window):
        import threading

        from PySide6.QtCore import Qt
        from PySide6.QtGui import QInputDevice, QPointingDevice

        QInputDevice.primaryKeyboard()  # the devices the events name: made on the GUI thread
        QPointingDevice.primaryPointingDevice()
        self.window, self.box = window, window.training.loss_view.log_scale
        self.running, self.stopped = threading.Event(), threading.Event()
        self.last_step = self.paused_at = self.painted_at = 0.0
        worker = window.session.worker
        trainer = worker.trainer
        step = trainer.step

        def timed_step():
            report = step()
            self.last_step = time.perf_counter()
            return report
        trainer.step = timed_step
        worker.job_changed.connect(self._job_changed, Qt.DirectConnection)  # on the worker thread
        toggle = window.toggle_play

        def timed_toggle():
            toggle()
            self.paused_at = time.perf_counter()
        window.toggle_play = timed_toggle
        view = window.training.loss_view.plot
        axis, paint = view.getPlotItem().getAxis("left"), view.paintEvent
        self._painted_log = axis.logMode

        def timed_paint(event):  # the first paint that shows the other scale
            paint(event)
            if axis.logMode != self._painted_log:
                self._painted_log, self.painted_at = axis.logMode, time.perf_counter()
        view.paintEvent = timed_paint

    def _job_changed(self, running: bool, ticket: int) -> None:
        (self.running if running else self.stopped).set()

    def play(self) -> bool:
        self.running.clear()
        self._post_key()
        return self.running.wait(LOST_S)

    def pause(self) -> float | None:
        """Seconds from Space to the moment after which the worker took no step: its last step,
        or the pause itself if none came after it."""
        self.stopped.clear()
        posted = time.perf_counter()
        self._post_key()
        if not self.stopped.wait(LOST_S):
            return None
        return max(self.last_step, self.paused_at) - posted

    def click(self) -> float | None:
        """Seconds from a click on Log scale to the loss plot repainted."""
        before = self.painted_at
        posted = time.perf_counter()
        self._post_click()
        deadline = posted + LOST_S
        while self.painted_at == before and time.perf_counter() < deadline:
            time.sleep(0.001)
        return None if self.painted_at == before else self.painted_at - posted

    def _post_key(self) -> None:
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QKeyEvent
        from PySide6.QtWidgets import QApplication

        for kind in (QEvent.KeyPress, QEvent.KeyRelease):
            QApplication.postEvent(self.window, QKeyEvent(kind, Qt.Key_Space, Qt.NoModifier, " "))

    def _post_click(self) -> None:
        from PySide6.QtCore import QEvent, QPointF, Qt
        from PySide6.QtGui import QMouseEvent
        from PySide6.QtWidgets import QApplication

        at = QPointF(self.box.rect().center())
        screen = QPointF(self.box.mapToGlobal(self.box.rect().center()))
        for kind, buttons in ((QEvent.MouseButtonPress, Qt.LeftButton),
                              (QEvent.MouseButtonRelease, Qt.NoButton)):
            QApplication.postEvent(self.box, QMouseEvent(kind, at, screen, Qt.LeftButton, buttons,
                                                         Qt.NoModifier))
