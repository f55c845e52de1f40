"""The Optimizers tab: the engine's update rules racing on a surface a learner can see. The run
controls drive it while it is in view: Play races at the pace set, Step takes one iteration and
draws what moved each racer, Reset puts them back at the start.

A race step moves a few points of two coordinates (microseconds), so the race runs on the GUI
thread, a time-boxed batch of steps per frame.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from gdplayground.config import ConfigError
from gdplayground.labs.expression import ExpressionError
from gdplayground.labs.race import STALL_WORDS, BowlTheory, Race, stable_limit
from gdplayground.labs.surfaces import SurfaceError
from gdplayground.gui.optimizers.race_settings import RaceSettings
from gdplayground.gui.optimizers.race_view import RaceView, colour
from gdplayground.gui.widgets.tab_spec import TabSpec

FRAME_MS = 25  # a frame every 25 ms asked for: with the drawing, over 30 a second
STEP_BUDGET_S = 0.005  # of a frame, the time "as fast as possible" spends stepping
RACE_LIMIT = 100_000  # steps: a race still going by then has shown what it can
WORDS_INTERVAL_S = 0.2  # while racing, the numbers are rewritten this often (the eye reads no faster)
OPENING_PACE = 10  # steps a second: slow enough to follow each racer's path as it is drawn


class OptimizersTab(QWidget):
    SPEC = TabSpec(
        "Optimizers",
        "Optimizers race on surfaces you can see: the engine's own update rules, one "
        "point each",
        runs_on_its_own=True)

    playing_changed = Signal(bool)
    drawn = Signal()  # after each frame of the race is drawn
    has_epochs = False  # a race has no epochs: "Step epoch" does not apply

    def __init__(self):
        super().__init__()
        self.settings, self.view = RaceSettings(), RaceView()
        self.forces_on = QComboBox()
        self.forces_on.setToolTip("Whose gradient, momentum and step Step draws")
        self.readout = QLabel()
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self._lay_out()
        self.pace: int | None = OPENING_PACE
        self.playing, self._detail, self._owed = False, False, 0.0
        self.race: Race | None = None  # None while the settings make no race
        self._refusal = ""  # why they make none
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.setTimerType(Qt.PreciseTimer)  # a coarse timer may fire 5% late, and drift
        self.timer.timeout.connect(self._frame)
        self._last_frame = self._last_words = time.perf_counter()
        self.settings.surface_changed.connect(self._new_surface)
        self.settings.racers_changed.connect(self._new_race)
        self.settings.start_changed.connect(self._new_race)
        self.view.start_chosen.connect(self._start_chosen)
        self.forces_on.currentIndexChanged.connect(self._draw)
        self._new_surface()

    def _lay_out(self) -> None:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.addWidget(self.settings)
        layout.addWidget(QLabel("Forces drawn on a step:"))
        layout.addWidget(self.forces_on)
        layout.addWidget(self.readout)
        layout.addStretch()
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(splitter)

    # --- the run controls ------------------------------------------------------------------
    def toggle_play(self) -> None:
        if not self.playing and self.race is None:
            self.readout.setText(_in_red(f"Nothing to play: {self._refusal}"))
        elif not self.playing and self.race.finished:
            self.readout.setText(self._numbers() + "<br>" + _in_red(
                "Every racer has finished: Reset (Ctrl+R) races them again."))
        self._set_playing(not self.playing)

    def step(self, steps: int = 1) -> None:
        """Pause and take one iteration, drawing the forces behind it (Step epoch: none here)."""
        self._set_playing(False)
        if steps == 1 and self.race is not None and not self.race.finished:
            self.race.step()
            self._detail = True
            self._draw()

    def reset(self) -> None:
        self._set_playing(False)
        self._new_race()

    def set_pace(self, steps_per_second: int | None) -> None:
        self.pace = steps_per_second

    def _set_playing(self, playing: bool) -> None:
        playing = playing and self.race is not None and not self.race.finished
        if playing == self.playing:
            return
        self.playing, self._owed = playing, 0.0
        self._last_frame = time.perf_counter()
        self.timer.start() if playing else self.timer.stop()
        if not playing:
            self._draw()  # the numbers, rewritten only now and then while racing, as they end
        self.playing_changed.emit(playing)

    # --- the race --------------------------------------------------------------------------
    def _new_surface(self) -> None:
        try:
            surface = self.settings.surface()
        except (SurfaceError, ExpressionError):
            return  # said under the formula; the race on show stays
        self.view.show_surface(surface)
        self.settings.show_start(np.array(surface.start))
        self._new_race()

    def _start_chosen(self, start: np.ndarray) -> None:
        self.settings.show_start(start)
        self._new_race()

    def _new_race(self) -> None:
        surface = self.view.surface
        if surface is None:
            return
        start = self.settings.start(surface.dims)
        self.view.show_start(start)
        try:
            self.race = Race(surface, start, self.settings.racers())
        except ConfigError as exc:  # no race rather than the last one under these settings
            self._no_race(str(exc))
            return
        self.forces_on.blockSignals(True)
        chosen = self.forces_on.currentIndex()
        self.forces_on.clear()
        self.forces_on.addItems(self.race.labels)
        self.forces_on.setCurrentIndex(min(max(chosen, 0), len(self.race.labels) - 1))
        self.forces_on.blockSignals(False)
        self._detail = False
        self._draw()
        if self.playing and self.race.finished:
            self._set_playing(False)

    def _no_race(self, reason: str) -> None:
        """Settings that make no race: nothing runs, the plots are empty, the reason is said."""
        self._set_playing(False)
        self.race, self._refusal = None, reason
        self.view.clear_race()
        self.forces_on.clear()
        self.settings.theory.setVisible(False)
        self.readout.setText(_in_red(reason))

    def _frame(self) -> None:
        """Take the steps the pace owes since the last frame (flat out: a frame's budget of
        them), then draw once."""
        now = time.perf_counter()
        race, taken = self.race, 0
        if self.pace is None:
            deadline = now + STEP_BUDGET_S
            while not race.finished and race.step_count < RACE_LIMIT and time.perf_counter() < deadline:
                race.step()
                taken += 1
        else:
            self._owed += (now - self._last_frame) * self.pace
            while self._owed >= 1 and not race.finished and race.step_count < RACE_LIMIT:
                race.step()
                self._owed -= 1
                taken += 1
        self._last_frame = now
        if taken:
            self._detail = False
            self._draw()
        if race.finished or race.step_count >= RACE_LIMIT:
            self._set_playing(False)

    def _draw(self) -> None:
        if self.race is None:
            return
        self.view.draw(self.race, self.forces_on.currentIndex() if self._detail else None,
                       self.settings.colours())
        now = time.perf_counter()
        if not self.playing or now - self._last_words >= WORDS_INTERVAL_S:
            self._last_words = now
            self.settings.theory.setText(self._theory())
            self.settings.theory.setVisible(self.race.surface.name == "quadratic")
            self.readout.setText(self._numbers())
        self.drawn.emit()

    # --- words -------------------------------------------------------------------------------
    def _theory(self) -> str:
        """On the bowl: what theory says of the rates, and which racers it says will diverge."""
        if self.race.surface.name != "quadratic":
            return ""
        theory = BowlTheory(self.settings.kappa.value())
        lines = [
            f"<b>Theory</b> (κ = {theory.kappa:g}): eigenvalues λ₁ = 1, λ₂ = {theory.kappa:g}",
            f"gradient descent is stable below 2/λ₂ = <b>{theory.stable_lr:.4g}</b>",
            f"best fixed rate 2/(λ₁+λ₂) = {theory.best_lr:.4g}: error × {theory.best_factor:.4f} "
            "a step",
            f"momentum at its best (rate {theory.momentum_lr:.4g}, μ {theory.momentum_mu:.4f}): "
            f"× {theory.momentum_factor:.4f} a step"]
        for label, racer in zip(self.race.labels, self.race.racers):
            limit = stable_limit(racer, theory.kappa)
            if limit is not None and racer.lr > limit:
                lines.append(f"<span style='color:#b00020'>⚠ {label}: rate above the stable "
                             f"{limit:.4g}, theory says it diverges</span>")
        return "<br>".join(lines)

    def _numbers(self) -> str:
        race = self.race
        dims = race.surface.dims
        rows = [f"<b>Step {race.step_count:,}</b>"
                + (" — <span style='color:#c89600'>gold</span>: the gradient (uphill, length "
                   "scaled); <span style='color:#008282'>teal</span>: where momentum's buffer or "
                   "Adam's mean gradient pushes (−v, −m-hat); dashed: the step taken"
                   if self._detail and dims == 2 else "")]
        for i, (label, c) in enumerate(zip(race.labels, self.settings.colours())):
            rows.append(self._racer_line(i, label, colour(c)))
        return "<br>".join(rows)

    def _racer_line(self, i: int, label: str, rgb) -> str:
        race = self.race
        point, status = race.points[i], race.status[i]
        with np.errstate(all="ignore"):
            value = float(race.surface.f(point))
            grad = race.surface.grad(point)
        swatch = f"<span style='color:rgb{tuple(rgb)}'>●</span>"
        text = (f"{swatch} <b>{label}</b>: at {vector(point)}, f {value:.4g}, ∇f {vector(grad)}")
        path = race.trajectory(i)
        if len(path) >= 2 and race.surface.dims == 1:
            text += ", " + one_step_in_words(race, i)
        elif len(path) >= 2:
            text += f", last step {vector(path[-1] - path[-2])}"
        velocity = race.velocity(i)
        if velocity is not None:  # PyTorch's forms: the step goes against them
            name = "mean gradient m-hat" if race.racers[i].optimizer.name == "adam" else "buffer v"
            text += f", {name} {vector(velocity)} (the step goes along −{name.split()[-1]})"
        stuck = race.local_minimum_words(i)
        if stuck:
            text += f" — <b>at step {race.finished_at[i]:,}, {stuck}</b>"
        elif status != "running":
            text += f" — <b>{status} at step {race.finished_at[i]:,}</b>"
        elif race.step_count >= RACE_LIMIT:
            text += f" — <b>still running when the race stopped at {RACE_LIMIT:,} steps</b>"
        elif race.stalled(i):
            text += f" — <b>stalled: the gradient vanishes at {STALL_WORDS[race.stalled(i)]}</b>"
        return text


def _in_red(text: str) -> str:
    return f"<span style='color:#b00020'>{text}</span>"


def vector(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{float(x):.4g}" for x in np.ravel(v)) + ")"


def one_step_in_words(race: Race, i: int) -> str:
    """The last step on a 1-D surface, as the update rule computes it: for plain gradient
    descent, x − lr·f′(x) with the numbers in."""
    before, after = (float(x) for x in race.trajectory(i)[-2:, 0])
    racer = race.racers[i]
    if racer.optimizer.name != "sgd":
        return f"last step x {before:.4g} → {after:.4g} (Δ {after - before:.4g})"
    slope = float(race.surface.grad(np.array([before]))[0])
    return (f"last step x {before:.4g} → {after:.4g} = {before:.4g} − {racer.lr:g} × f′({before:.4g})"
            f" = {before:.4g} − {racer.lr:g} × {slope:.4g}")
