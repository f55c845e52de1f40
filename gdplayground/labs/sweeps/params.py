"""The settings a sweep can vary: `sweep_param(name)` turns the name a user types (lr,
batch-size, optimizer, activation, init, layers, width, filters, kernel, the name of any train
flag, or a dotted path such as optimizer.beta1) into a `SweepParam`, which reads and checks
values and sets one in a configuration: the command line, the window and the lessons share it."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from gdplayground.config import (
    HIDDEN_ACTIVATIONS, MAX_LAYERS, ConfigError, ExperimentConfig, Layer,
    field_at, field_range, owner, range_words, setting_words, shown)

MAX_RUNS = 1000  # a sweep's values × repeats: beyond it, surely a typo
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

    def __reduce__(self):
        """Pickled as its name (its setter is a closure that does not pickle), so that a run
        that names it crosses to a worker process or a cluster and back."""
        return sweep_param, (self.name,)


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




def log_axis(param: SweepParam, values, log: bool = False) -> bool:
    """Whether values go on a log axis: rates and log-spaced values, when all are above 0."""
    return (log or param.rate) and not param.categorical and min(values) > 0
