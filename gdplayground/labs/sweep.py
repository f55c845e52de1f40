"""Sweeps: one setting varied over a list or a range of values, each value trained from the same
starting configuration, one run after another, and repeated with different seeds.

`sweep_param(name)` turns the name a user types (lr, batch-size, optimizer, activation, init,
layers, width, the name of any train flag, or a dotted path such as optimizer.beta1) into a
`SweepParam`, which reads and checks values and sets one in a configuration: the command line
and the window share it. `run_sweep` trains a `SweepPlan`'s runs and yields each as it ends.

What a run reports (`SweepRun`):
- final_loss and least_loss: the training loss as the window's loss plot shows it, at the last
  step and at its least. That is the moving average of the batch losses (History's
  "smoothed_loss"), one batch's loss being too noisy to compare runs by; with full-batch
  training every loss is exact and taken as it is. One curve for both keeps least <= final.
- test_loss and test_accuracy: the test split, evaluated once at the end.
- diverged_at_step: the step at which the trainer found the run diverged (a loss, gradient or
  weight NaN or infinite, or losses far above the start: trainer.DIVERGENCE_FACTOR). The run
  stops there, rolled back by the trainer to its last checkpoint as in the window and in
  `gdplayground train`, so its weights and history end at that checkpoint. A diverged run has
  no final loss and no test figures; its least_loss and curve cover every step before the
  divergence.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from gdplayground.config import (
    HIDDEN_ACTIVATIONS, MAX_LAYERS, ConfigError, ExperimentConfig, Layer,
    field_at, field_range, owner, range_words, setting_words, shown)
from gdplayground.data import DataError
from gdplayground.data.table import Preparation
from gdplayground.engine.history import History
from gdplayground.engine.trainer import Trainer, TrainingState, same_data

MAX_RUNS = 1000  # values × repeats: beyond it, surely a typo
MAX_REPEATS = 100
SEEDS = 2**32  # seeds run from 0 to 2**32 - 1; a repeat's seed wraps around
HISTORY_BATCH = 1000  # reports added to a run's history at once (far cheaper than one by one)
PROGRESS_EVERY = 16  # steps between progress reports
DIGITS = 6  # significant digits a value is written with; values that read the same are one
NEW_LAYER = Layer(64, "relu")  # what `layers` repeats when the starting network has none
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # ASCII, as flags take
# The names `gdplayground train` gives settings whose flag is not their field's name (the rest
# are: --beta1, --decay-steps); tests check every flag of cli.flags.SETTINGS reaches its field.
FLAG_NAMES = {"learning_rate.value": "lr", "learning_rate.min_value": "min-lr",
              "batch.mode": "batch", "batch.size": "batch-size", "optimizer.name": "optimizer"}
LABELS = {"learning_rate.value": "learning rate", "batch.size": "batch size",
          "optimizer.name": "optimizer", "architecture.init": "initialisation"}
RATES = ("learning_rate.value", "learning_rate.min_value")  # drawn on a log axis
NOT_SWEPT = ("data.name",)  # a sweep compares settings on one data set


class SweepError(ValueError):
    """A sweep that cannot run as asked: an unknown setting, a value outside its range."""


@dataclass(frozen=True)
class SweepParam:
    """A setting a sweep can vary: how its values are read and checked, and how one is set."""

    name: str  # as listed: "lr", "width", "beta1"
    path: str  # the field it sets: "learning_rate.value" ("architecture.hidden" for layers)
    label: str  # in words, for axes and headings: "learning rate"
    kind: type  # float, int, or str: one of `choices`
    setter: Callable[[ExperimentConfig, object], None]
    bounds: tuple[float, float, bool] = (-math.inf, math.inf, False)  # low, high, low left out
    choices: tuple[str, ...] = ()
    rate: bool = False  # drawn on a log axis

    @property
    def categorical(self) -> bool:
        return self.kind is str

    def parse(self, text: str):
        """A value from its text, checked."""
        text = text.strip()
        if self.categorical:
            return self.check(text.lower())
        if not NUMBER.fullmatch(text):
            raise SweepError(f"{self.name}: {shown(text)} is not a number")
        return self.check(float(text))

    def parse_list(self, text: str) -> tuple:
        """Values written V1,V2,…, checked; a repeated one counts once."""
        items = text.split(",")
        if any(not item.strip() for item in items):
            raise SweepError(f"{self.name}: {shown(text)} has an empty value; write V1,V2,…")
        return self.distinct(self.parse(item) for item in items)

    def check(self, value):
        """The value, if the setting takes it (a whole number as an int); SweepError if not."""
        if self.categorical:
            if value not in self.choices:
                raise SweepError(f"{self.name} takes one of: {', '.join(self.choices)} "
                                 f"(got {shown(value)})")
            return value
        low, high, low_out = self.bounds
        if not math.isfinite(value) or value < low or value > high or (low_out and value == low):
            raise SweepError(f"{self.name} takes values {range_words(*self.bounds)} (got {value:g})")
        if self.kind is int and not float(value).is_integer():
            raise SweepError(f"{self.name} takes whole numbers (got {value:g})")
        return self.kind(value)

    def range_values(self, low: float, high: float, count: int, log: bool) -> tuple:
        """`count` values from `low` to `high`, both included, evenly spaced on a linear or a
        log scale; whole numbers rounded (and counted once)."""
        if self.categorical:
            raise SweepError(f"{self.name} is chosen by name, not from a range: list the ones "
                             f"to compare from {', '.join(self.choices)}")
        if not 2 <= count <= MAX_RUNS:
            raise SweepError(f"a range takes a count from 2 to {MAX_RUNS} (got {count})")
        if not low < high:
            raise SweepError(f"a range goes from a low value to a higher one (got {low:g} to "
                             f"{high:g})")
        if log and low <= 0:
            raise SweepError(f"a log range needs bounds above 0 (got {low:g} to {high:g})")
        self.check(low)
        self.check(high)
        rounded = round if self.kind is int else float
        return self.distinct(self.check(rounded(v)) for v in sweep_values(low, high, count, log))

    def distinct(self, values) -> tuple:
        """The values in order, each that reads the same as an earlier one left out."""
        seen = {}
        for value in values:
            seen.setdefault(self.text(value), value)
        return tuple(seen.values())

    def text(self, value) -> str:
        """A value as tables, file names and axes write it: 0.001, 128, sgd."""
        return f"{value:.{DIGITS}g}" if isinstance(value, float) else str(value)

    def configure(self, base: ExperimentConfig, value) -> ExperimentConfig:
        """A copy of `base` with the value set, validated."""
        config = copy.deepcopy(base)
        try:
            self.setter(config, value)
            return config.validate()
        except (ConfigError, SweepError) as exc:
            raise SweepError(f"{self.name} {self.text(value)}: {exc}") from None


def sweep_values(low: float, high: float, count: int, log: bool = False) -> list[float]:
    """`count` values from `low` to `high` (both exact), evenly spaced on a linear or log scale."""
    values = (np.geomspace if log else np.linspace)(low, high, count)
    return [float(v) for v in values[:-1]] + [float(high)] if count > 1 else [float(low)]


def parse_bounds(text: str) -> tuple[float, float]:
    """LO:HI as two numbers."""
    low, colon, high = text.partition(":")
    if not (colon and NUMBER.fullmatch(low.strip()) and NUMBER.fullmatch(high.strip())):
        raise SweepError(f"{shown(text)} is not a range; write LO:HI, e.g. 1e-4:10")
    return float(low), float(high)


# --- the settings a sweep can vary ------------------------------------------------------------
def _set_field(path: str):
    def setter(config: ExperimentConfig, value) -> None:
        section, name = owner(config, path)
        setattr(section, name, value)
    return setter


def _set_layer_count(config: ExperimentConfig, count: int) -> None:
    """`count` dense hidden layers, each as the first one (or NEW_LAYER if there is none),
    after the convolutions and pools, which stay as they are."""
    arch = config.architecture
    template = arch.dense[0] if arch.dense else NEW_LAYER
    arch.hidden = arch.features + [dataclasses.replace(template) for _ in range(count)]


def _set_every_layer(attribute: str, kinds: tuple[str, ...] = ("dense", "conv"),
                     what: str = "hidden layer"):
    """A setter of `attribute` in every hidden layer of one of `kinds` (what they are called)."""
    def setter(config: ExperimentConfig, value) -> None:
        layers = [layer for layer in config.architecture.hidden if layer.kind in kinds]
        if not layers:
            raise SweepError(f"the network has no {what} to set the {attribute} of; "
                             "give it some first")
        for layer in layers:
            setattr(layer, attribute, value)
    return setter


def _field_param(path: str) -> SweepParam:
    f = field_at(path)
    name = FLAG_NAMES.get(path, path.rpartition(".")[2].replace("_", "-"))
    label = LABELS.get(path, setting_words(path))
    if "choices" in f.metadata:
        return SweepParam(name, path, label, str, _set_field(path), choices=f.metadata["choices"])
    low, high = f.metadata["range"]
    return SweepParam(name, path, label, type(f.default), _set_field(path),
                      (low, high, f.metadata["lo_open"]), rate=path in RATES)


def _field_paths() -> list[str]:
    """Every field with a range or choices, as dotted paths, in the configuration's order."""
    paths = []
    for section in dataclasses.fields(ExperimentConfig):
        inner = section.default_factory
        named = dataclasses.fields(inner) if dataclasses.is_dataclass(inner) else [section]
        prefix = f"{section.name}." if dataclasses.is_dataclass(inner) else ""
        paths += [prefix + f.name for f in named
                  if {"range", "choices"} & set(f.metadata) and prefix + f.name not in NOT_SWEPT]
    return paths


def _params() -> dict[str, SweepParam]:
    every = {param.name: param for param in map(_field_param, _field_paths())}
    hidden = "architecture.hidden"
    for param in (
            SweepParam("activation", hidden, "hidden activation", str,
                       _set_every_layer("activation"), choices=HIDDEN_ACTIVATIONS),
            SweepParam("layers", hidden, "hidden layers", int, _set_layer_count,
                       (0, MAX_LAYERS, False)),
            SweepParam("width", hidden, "units per hidden layer", int,
                       _set_every_layer("units", ("dense",)), (*field_range(Layer, "units"), False)),
            SweepParam("filters", hidden, "filters per convolution", int,
                       _set_every_layer("units", ("conv",), "convolution"),
                       (*field_range(Layer, "units"), False)),
            SweepParam("kernel", hidden, "kernel size of every convolution", int,
                       _set_every_layer("kernel", ("conv",), "convolution"),
                       (*field_range(Layer, "kernel"), False))):
        every[param.name] = param
    friendliest = ["lr", "batch-size", "optimizer", "activation", "init", "layers", "width",
                   "filters", "kernel"]
    return {name: every.pop(name) for name in friendliest} | every


PARAMS = _params()  # by name, the friendliest first
BY_PATH = {param.path: param for param in PARAMS.values() if param.path != "architecture.hidden"}


def sweep_param(name: str) -> SweepParam:
    """The setting a name stands for: lr, --lr, batch_size, optimizer.beta1 …"""
    key = name.strip().lower().lstrip("-")
    param = PARAMS.get(key.replace("_", "-")) or BY_PATH.get(key)
    if param is None:
        raise SweepError(f"{shown(name)} is not a setting a sweep can vary; allowed: "
                         f"{', '.join(PARAMS)}, or a field's dotted path (optimizer.beta1)")
    return param


# --- the plan and its runs ----------------------------------------------------------------------
@dataclass(frozen=True)
class SweepPlan:
    """Which setting, its values, runs per value (each from its own seed), and each run's length:
    `steps`, or `epochs` (one when neither is given, as `gdplayground train`)."""

    param: SweepParam
    values: tuple
    repeats: int = 1
    steps: int | None = None
    epochs: int | None = None
    log: bool = False  # the values are log-spaced: drawn on a log axis

    def __post_init__(self):
        if not self.values:
            raise SweepError("a sweep needs at least one value")
        if not 1 <= self.repeats <= MAX_REPEATS:
            raise SweepError(f"repeats must be from 1 to {MAX_REPEATS} (got {self.repeats})")
        if self.steps is not None and self.epochs is not None:
            raise SweepError("a run lasts some steps or some epochs, not both")
        if self.runs > MAX_RUNS:
            raise SweepError(f"{len(self.values)} values × {self.repeats} repeats are "
                             f"{self.runs:,} runs, more than {MAX_RUNS:,}")

    @property
    def runs(self) -> int:
        return len(self.values) * self.repeats

    @property
    def log_axis(self) -> bool:
        return log_axis(self.param, self.values, self.log)

    def configs(self, base: ExperimentConfig) -> list[tuple[object, int, ExperimentConfig]]:
        """Every run's (value, repeat, configuration), in the order they train, each checked:
        a pass over every value per repeat, so the first pass shows the whole sweep and later
        ones add the spread. Repeat r starts from the seed of `base` plus r."""
        configured = [(value, self.param.configure(base, value)) for value in self.values]
        runs = []
        for repeat in range(self.repeats):
            for value, config in configured:
                config = copy.deepcopy(config)
                config.seed = (config.seed + repeat) % SEEDS
                runs.append((value, repeat, config))
        return runs

    def steps_for(self, trainer: Trainer) -> int:
        return self.steps or (self.epochs or 1) * trainer.steps_per_epoch


def plan_from_fields(param: SweepParam, text: str, count: int, log: bool, repeats: int,
                     steps: int) -> SweepPlan:
    """A plan as the Runs tab's fields write it: a range LO:HI cut into `count` values
    (log-spaced if `log`), or a list V1,V2,…; SweepError if they make none."""
    if ":" in text:
        values = param.range_values(*parse_bounds(text), count, log)
    else:
        values = param.parse_list(text)
    return SweepPlan(param, values, repeats, steps=steps, log=log and ":" in text)


def log_axis(param: SweepParam, values, log: bool = False) -> bool:
    """Whether values go on a log axis: rates and log-spaced values, when all are above 0."""
    return (log or param.rate) and not param.categorical and min(values) > 0


@dataclass
class SweepRun:
    """One finished run of a sweep, with what its run folder needs."""

    param: SweepParam
    value: object
    repeat: int
    config: ExperimentConfig  # its settings, seed included
    final_loss: float | None  # training loss at the end, as plotted; None if it diverged
    least_loss: float | None  # the least training loss, as plotted
    test_loss: float | None  # at the end, if the data has a test split and it did not diverge
    test_accuracy: float | None
    diverged_at_step: int | None
    seconds: float  # training: the steps and their history, not the test evaluation
    curve: tuple[np.ndarray, np.ndarray]  # (steps, training loss as plotted), up to a divergence
    history: History  # every step's metrics, rolled back with the weights after a divergence
    state: TrainingState  # where it ended (after a divergence, the checkpoint it rolled back to)
    input_scale: float
    summary: dict = field(default_factory=dict)  # its figures, as summary.json holds them
    preparation: Preparation | None = None  # a table's (Dataset.preparation), for its weight file

    @property
    def diverged(self) -> bool:
        return self.diverged_at_step is not None


def check_runs(base: ExperimentConfig, plan: SweepPlan,
               check: Callable[[Trainer], None] | None = None) -> None:
    """Build each value's trainer (and hand it to `check`) before any run trains, so that a
    value whose data does not load, whose loss does not suit the data or whose network does not
    fit in memory is refused before anything is trained or written: SweepError naming the
    value, or the starting configuration's own error when it fails as well (the value is not to
    blame). Repeats differ only in their seed, which changes none of that."""
    dataset, previous = None, None
    for value in plan.values:
        config = plan.param.configure(base, value)
        reuse = previous is not None and same_data(previous, config)
        try:
            trainer = Trainer(config, dataset if reuse else None)
        except (ConfigError, DataError) as exc:
            _blame(base, plan.param, value, exc)
        dataset, previous = trainer.dataset, config
        if check is not None:
            check(trainer)


def _blame(base: ExperimentConfig, param: SweepParam, value, exc: ValueError):
    """Raise the starting configuration's error if it fails the same way (its type and the
    setting it names), else `exc` as the value's."""
    try:
        Trainer(base)
    except (ConfigError, DataError) as own:
        if type(own) is type(exc) and getattr(own, "field", "") == getattr(exc, "field", ""):
            raise own from None
    raise SweepError(f"{param.name} {param.text(value)}: {exc}") from None


Progress = Callable[[int, int, int], None]  # (run number from 0, steps done, steps of the run)


def run_sweep(base: ExperimentConfig, plan: SweepPlan, cancelled: Callable[[], bool] | None = None,
              progress: Progress | None = None) -> Iterator[SweepRun]:
    """Train the plan's runs one after another with the engine's Trainer, yielding each as it
    ends. Every configuration is checked before the first step. `cancelled()` is asked before
    every step: once it says so, the run in progress is dropped and the sweep ends (the runs
    yielded stand). `progress(run, step, steps)` says how far the run in progress has come."""
    dataset, previous = None, None
    for index, (value, repeat, config) in enumerate(plan.configs(base)):
        reuse = previous is not None and same_data(previous, config)
        trainer = Trainer(config, dataset if reuse else None)  # MNIST is loaded once a seed
        dataset, previous = trainer.dataset, config
        tell = (lambda step, steps, index=index: progress(index, step, steps)) if progress else None
        trained = _train(trainer, plan.steps_for(trainer), cancelled, tell)
        if trained is None:
            return
        yield _finished_run(plan.param, value, repeat, trainer, *trained)


def _train(trainer: Trainer, steps: int, cancelled, progress):
    """(history, loss curve, step it diverged at or None, seconds) of up to `steps` steps; None
    if cancelled first."""
    history = History(len(trainer.network.layers))
    pending, diverged_at, report = [], None, None
    started = time.perf_counter()
    for done in range(steps):
        if cancelled is not None and cancelled():
            return None
        report = trainer.step()
        if report.status != "ok":
            diverged_at = done + 1
            break
        pending.append(report)
        if len(pending) == HISTORY_BATCH:
            history.add(pending)
            pending.clear()
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, steps)
    history.add(pending)
    seconds = time.perf_counter() - started
    column = "loss" if trainer.config.batch.mode == "full" else "smoothed_loss"  # as plotted
    curve = history.series(column)  # before the rollback takes the last steps back
    if diverged_at is not None:
        history.add([report])  # back to the checkpoint, with the trainer
    if progress is not None:
        progress(steps, steps)
    return history, curve, diverged_at, seconds


def _finished_run(param: SweepParam, value, repeat: int, trainer: Trainer, history: History,
                  curve, diverged_at: int | None, seconds: float) -> SweepRun:
    losses = curve[1][np.isfinite(curve[1])]
    least = float(losses.min()) if len(losses) else None
    final = float(losses[-1]) if len(losses) and diverged_at is None else None
    test_loss, test_accuracy = (math.nan, None) if diverged_at else trainer.evaluate("test")
    test_loss = None if math.isnan(test_loss) else float(test_loss)
    test_accuracy = None if test_accuracy is None else float(test_accuracy)
    run = SweepRun(param, value, repeat, trainer.config, final, least, test_loss, test_accuracy,
                   diverged_at, seconds, curve, history, _kept_state(trainer),
                   trainer.dataset.input_scale)
    run.summary = _summary(run, trainer)
    run.preparation = trainer.dataset.preparation
    return run


def _kept_state(trainer: Trainer) -> TrainingState:
    """The run's state with its path thinned as a file keeps it: a sweep holds all its runs."""
    state = trainer.snapshot(path=True)
    return dataclasses.replace(state, path=state.path.stored())


def _summary(run: SweepRun, trainer: Trainer) -> dict:
    """The figures `gdplayground train` gives a run, and the sweep's own."""
    summary = {"steps": trainer.step_count, "epochs": trainer.epochs_done,
               "samples_seen": trainer.samples_seen, "seconds": round(run.seconds, 3),
               "samples_per_second": round(trainer.samples_seen / max(run.seconds, 1e-9)),
               "diverged": run.diverged, "sweep_param": run.param.name,
               "sweep_value": run.value, "sweep_repeat": run.repeat}
    test_loss = None if run.test_loss is None else trainer.dataset.loss_in_units(run.test_loss)
    optional = {"diverged_at_step": run.diverged_at_step,
                "final_train_loss": run.history.last("loss"),
                "sweep_final_loss": run.final_loss, "sweep_least_loss": run.least_loss,
                "test_loss": test_loss, "test_accuracy": run.test_accuracy}
    return summary | {key: value for key, value in optional.items() if value is not None}
