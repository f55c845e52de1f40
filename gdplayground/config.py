"""The experiment configuration: one object that says what to train, how, and from which seed.

Every field carries its allowed range or choices and a sentence of help in its metadata, so
validation, the CLI's help and the window's tooltips all read them from this one place.
The configuration round-trips to TOML.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import tomli_w

from gdplayground.files import open_regular, write_atomic

HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "identity")
OUTPUTS_FOR_LOSS = {
    "cross_entropy": ("softmax",),
    "bce": ("sigmoid",),
    "mse": ("identity", "sigmoid", "tanh", "relu", "leaky_relu"),
}
DATASETS = ("mnist", "mnist-binary", "linear-system", "spiral", "xor", "circles", "gaussians",
            "penguins", "auto-mpg", "idx", "table")
TOY_DATASETS = ("spiral", "xor", "circles", "gaussians")
TABLE_FILES = {"penguins": "penguins.csv", "auto-mpg": "auto-mpg.csv"}  # shipped in resources/tables
MAX_FILE_BYTES = 1 << 20  # an experiment file is a few hundred bytes
MAX_LAYERS = 32
LAYER_KINDS = {"dense": "Dense", "conv": "Convolution", "maxpool": "Max-pool 2×2",
               "avgpool": "Average pool 2×2"}
SHOWN_CHARS = 60  # of a value echoed in a message


class ConfigError(ValueError):
    """A configuration value outside what the engine accepts; the message names the field."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def number(default, lo, hi, label, help, *, lo_open=False):
    """A numeric field allowed in [lo, hi] (or (lo, hi] with lo_open); its type is the default's."""
    return field(default=default, metadata={"range": (lo, hi), "lo_open": lo_open,
                                            "label": label, "help": help})


def choice(default, options: dict[str, str], label, help):
    """A field taking one of `options`' keys; its values are the words the window shows."""
    return field(default=default, metadata={"choices": tuple(options), "words": dict(options),
                                            "label": label, "help": help})


def text(default, label, help, empty=""):
    """A field of free text; `empty` is what the window calls it when it is empty."""
    return field(default=default, metadata={"label": label, "help": help, "empty": empty})


def flag(default, label, help):
    return field(default=default, metadata={"label": label, "help": help})


DATASET_WORDS = {
    "mnist": "MNIST digits", "mnist-binary": "MNIST 0 vs 1", "linear-system": "Linear system Ax = Y",
    "spiral": "Spiral", "xor": "XOR", "circles": "Circles", "gaussians": "Two Gaussians",
    "penguins": "Palmer penguins (table)", "auto-mpg": "Auto MPG (regression table)",
    "idx": "IDX folder…", "table": "Table file (CSV, TSV)…"}
ACTIVATION_WORDS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "tanh": "tanh",
                    "sigmoid": "sigmoid", "identity": "identity", "softmax": "softmax"}


@dataclass
class DataConfig:
    name: str = choice("mnist", DATASET_WORDS, "Dataset", "Which data to learn from.")
    path: str = text("", "File", "Folder holding MNIST-format IDX files, for the 'idx' dataset; "
                     "the CSV or TSV file, for the 'table' dataset.", empty="none")
    target: str = text("", "Label column",
                       "A table's column to predict; empty = its last column. Integer or text "
                       "labels make classes, real numbers a regression.", empty="the last column")
    missing: str = choice(
        "drop", {"drop": "Drop the row", "error": "Refuse the table"}, "Missing values",
        "What a table's row with a missing value (empty, NA, NaN, ?) does: left out (and "
        "counted), or an error naming it.")
    validation_split: float = number(
        0.1, 0.0, 0.5, "Validation split",
        "Fraction of the training set held out to measure generalisation while training.")
    samples: int = number(400, 20, 100_000, "Points", "Number of points in a 2-D toy dataset.")
    noise: float = number(0.05, 0.0, 1.0, "Noise",
                          "Noise added to a 2-D toy dataset; more noise blurs the classes.")
    test_fraction: float = number(
        0.5, 0.05, 0.9, "Test fraction",
        "Fraction of a 2-D toy dataset or a table kept aside as the test set.")

    @property
    def words(self) -> str:
        """The data set as the window names it: a file's or folder's name, or its words."""
        if self.name in ("table", "idx") and self.path:
            return Path(self.path).name
        return DATASET_WORDS[self.name]

    @property
    def is_table(self) -> bool:
        """A table's data: a shipped one, or a CSV or TSV file (data.path)."""
        return self.name in TABLE_FILES or self.name == "table"


@dataclass
class Layer:
    """A hidden layer: dense, or (before the dense ones, on images) a convolution or a pool."""

    units: int = number(64, 1, 8192, "units",
                        "Neurons in this hidden layer; a convolution's filters (output channels).")
    activation: str = choice(
        "relu", {name: ACTIVATION_WORDS[name] for name in HIDDEN_ACTIVATIONS}, "activation",
        "Non-linearity after the layer. Sigmoid and tanh saturate and can starve deep layers "
        "of gradient; ReLU does not saturate for positive inputs.")
    kind: str = choice(
        "dense", LAYER_KINDS, "kind",
        "Dense: every unit sees every input. Convolution: each filter slides over the image and "
        "sees a kernel×kernel patch, so it learns one local pattern (an edge, a stroke) used "
        "everywhere. Pooling keeps the largest (or the mean) of each 2×2 block, halving height "
        "and width. Convolutions and pools come before the dense layers, on images only.")
    kernel: int = number(5, 1, 15, "kernel", "A convolution's filter size: kernel×kernel pixels.")
    stride: int = number(1, 1, 2, "stride",
                         "A convolution's step between patches: 2 halves height and width.")
    padding: str = choice(
        "same", {"same": "Same (zeros around)", "valid": "Valid (no padding)"}, "padding",
        "Same pads the image with zeros so the output keeps its size (odd kernels only); "
        "valid reads only whole patches and shrinks it by kernel − 1.")

    def settings(self) -> dict:
        """The fields that matter for its kind, as a file keeps them: a dense layer's units and
        activation, a convolution's kernel, stride and padding too, a pool's kind and activation."""
        names = {"dense": ("units", "activation"),
                 "conv": ("units", "activation", "kind", "kernel", "stride", "padding")}
        return {name: getattr(self, name) for name in names.get(self.kind, ("kind", "activation"))}

    @property
    def is_feature(self) -> bool:
        """A convolution or a pool: a layer that works on images, before the dense ones."""
        return self.kind != "dense"

    @property
    def has_weights(self) -> bool:
        return self.kind in ("dense", "conv")


@dataclass
class ArchitectureConfig:
    hidden: list[Layer] = field(
        default_factory=lambda: [Layer(256, "relu"), Layer(128, "relu")],
        metadata={"label": "Hidden layers",
                  "help": "Hidden layers, input side first. None at all gives a linear model."})
    output: str = choice(
        "softmax", {name: ACTIVATION_WORDS[name]
                    for name in sorted({o for outs in OUTPUTS_FOR_LOSS.values() for o in outs})},
        "Output", "Activation of the output layer; it must suit the loss.")
    loss: str = choice(
        "cross_entropy", {"cross_entropy": "Cross-entropy", "bce": "Binary cross-entropy",
                          "mse": "Mean squared error"}, "Loss",
        "What training minimises: cross_entropy (softmax output), bce (sigmoid output) or "
        "mse (mean squared error, any output).")
    bias: bool = flag(True, "Bias", "Give every layer a bias vector.")
    init: str = choice(
        "he", {"zeros": "Zeros", "normal": "Normal (σ below)", "xavier": "Xavier / Glorot",
               "he": "He"}, "Initialisation",
        "How weights start: He suits ReLU, Xavier suits tanh and sigmoid; zeros leaves every "
        "unit of a layer identical forever.")
    init_sigma: float = number(0.01, 0.0, 10.0, "Init σ",
                               "Standard deviation of the 'normal' initialisation.")
    dropout: float = number(
        0.0, 0.0, 0.9, "Dropout",
        "Probability of silencing each hidden unit on a training step (a convolution's too); "
        "fights overfitting.")

    @property
    def features(self) -> list[Layer]:
        """The convolutions and pools, which come first."""
        return [layer for layer in self.hidden if layer.is_feature]

    @property
    def dense(self) -> list[Layer]:
        return [layer for layer in self.hidden if not layer.is_feature]

    @property
    def weighted(self) -> list[Layer]:
        """The hidden layers with weights, as the network numbers its layers (pools have none)."""
        return [layer for layer in self.hidden if layer.has_weights]


@dataclass
class OptimizerConfig:
    name: str = choice(
        "adam", {"sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "Nesterov momentum",
                 "adagrad": "AdaGrad", "rmsprop": "RMSprop", "adam": "Adam"}, "Algorithm",
        "The update rule that turns gradients into weight changes.")
    momentum: float = number(
        0.9, 0.0, 0.999, "Momentum μ",
        "Momentum and Nesterov: fraction of the last update carried into the next.")
    beta1: float = number(0.9, 0.0, 0.9999, "β1", "Adam: decay of the running mean of gradients.")
    beta2: float = number(0.999, 0.0, 0.99999, "β2",
                          "Adam: decay of the running mean of squared gradients.")
    rho: float = number(0.9, 0.0, 0.9999, "ρ",
                        "RMSprop: decay of the running mean of squared gradients.")
    eps: float = number(
        1e-8, 0.0, 1.0, "ε",
        "Adam, RMSprop, AdaGrad: added to the denominator so it never divides by zero.",
        lo_open=True)
    l1: float = number(0.0, 0.0, 1.0, "L1", "L1 penalty on weights: pushes weights to exactly zero.")
    l2: float = number(0.0, 0.0, 1.0, "L2", "L2 penalty (weight decay): keeps weights small.")
    clip_norm: float = number(
        0.0, 0.0, 1e6, "Clip norm",
        "Rescale the gradient when its global norm exceeds this (0 = never).")


@dataclass
class LearningRateConfig:
    value: float = number(
        1e-3, 0.0, 100.0, "Value",
        "Step size of every update: too small crawls, too large overshoots and diverges.",
        lo_open=True)
    schedule: str = choice(
        "constant", {"constant": "Constant", "step": "Step decay",
                     "exponential": "Exponential decay", "cosine": "Cosine"}, "Schedule",
        "How the learning rate changes over the run.")
    decay_steps: int = number(
        1000, 1, 10**9, "Decay steps",
        "Step and exponential decay: steps per factor of gamma. Cosine: steps to reach the floor.")
    gamma: float = number(0.5, 0.0, 1.0, "γ", "Step and exponential decay: factor per decay_steps.",
                          lo_open=True)
    min_value: float = number(0.0, 0.0, 100.0, "Floor",
                              "Cosine: the floor the learning rate decays to.")
    warmup_steps: int = number(
        0, 0, 10**9, "Warm-up steps",
        "Steps over which the learning rate ramps up linearly from near zero.")


@dataclass
class BatchConfig:
    mode: str = choice(
        "mini", {"full": "Full batch", "mini": "Mini-batch",
                 "stochastic": "Stochastic (one example)"}, "Batch",
        "full: every training example per step; mini: batch_size examples; stochastic: one.")
    size: int = number(128, 1, 100_000, "Batch size", "Examples per mini-batch.")


@dataclass
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    architecture: ArchitectureConfig = field(default_factory=ArchitectureConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    learning_rate: LearningRateConfig = field(default_factory=LearningRateConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    seed: int = number(0, 0, 2**32 - 1, "Seed",
                       "Seeds initialisation, shuffling, dropout and toy data.")
    dtype: str = choice("float32", {"float32": "float32", "float64": "float64"}, "Precision",
                        "Floating-point precision of training.")
    eval_every: int = number(
        0, 0, 10**9, "Validation every", "Steps between validation passes; 0 = at the end of every epoch.")

    def validate(self) -> "ExperimentConfig":
        """Raise ConfigError naming the first field that is out of range; return self."""
        validate_fields(self, "")
        allowed = OUTPUTS_FOR_LOSS[self.architecture.loss]
        if self.architecture.output not in allowed:
            raise ConfigError(
                f"architecture.output '{self.architecture.output}' does not fit loss "
                f"'{self.architecture.loss}': allowed {', '.join(allowed)}", "architecture.output")
        if self.data.name == "idx" and not self.data.path:
            raise ConfigError("data.path must name a folder of IDX files for the 'idx' dataset",
                              "data.path")
        if self.data.name == "table" and not self.data.path:
            raise ConfigError("data.path must name a CSV or TSV file for the 'table' dataset",
                              "data.path")
        return self

    # --- files -------------------------------------------------------------------------------
    def to_toml(self) -> str:
        settings = dataclasses.asdict(self)
        settings["architecture"]["hidden"] = [layer.settings() for layer in self.architecture.hidden]
        return tomli_w.dumps(settings)

    @classmethod
    def from_toml(cls, text: str, source: str = "configuration",
                  validate: bool = True) -> "ExperimentConfig":
        """The configuration a TOML text describes; ConfigError names `source` and the field.
        Without `validate`, only the types are checked (flags may still correct a value)."""
        try:
            raw = tomllib.loads(text.removeprefix("\ufeff"))  # a byte-order mark, as Notepad writes
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{source} is nested too deeply to be a configuration") from None
        except ValueError:  # Python refuses to read an integer of more than 4,300 digits
            raise ConfigError(f"{source}: {_too_long_number(text)}") from None
        try:
            config = _build(cls, raw, "")
            return config.validate() if validate else config
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}", exc.field) from None

    def save(self, path: str | Path) -> None:
        write_atomic(Path(path), self.to_toml().encode())

    @classmethod
    def load(cls, path: str | Path, validate: bool = True) -> "ExperimentConfig":
        path = Path(path)
        try:
            with open_regular(path, MAX_FILE_BYTES) as file:
                text = file.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConfigError(f"cannot read configuration {path}: {reason}") from None
        return cls.from_toml(text, str(path), validate)


def owner(config, path: str):
    """(object, attribute name) that a dotted path like "optimizer.beta1" names in a config."""
    *sections, name = path.split(".")
    for section in sections:
        config = getattr(config, section)
    return config, name


def field_at(path: str) -> dataclasses.Field:
    """The field a dotted path names, with its default, range or choices, and help."""
    section, name = owner(ExperimentConfig(), path)
    return next(f for f in dataclasses.fields(section) if f.name == name)


class Change(NamedTuple):
    """One setting that differs between two configurations ("architecture.hidden": the number
    of hidden layers)."""

    path: str
    old: Any
    new: Any


def changes(here, there, prefix: str = "") -> list[Change]:
    """Each setting that differs between two configurations; of two layers, the settings that
    matter to both (Layer.settings: not a pool's units, nor a dense layer's kernel) and the kind."""
    found = []
    for f in dataclasses.fields(here):
        if isinstance(here, Layer) and f.name not in {"kind"} | (here.settings().keys()
                                                                & there.settings().keys()):
            continue
        name, a, b = prefix + f.name, getattr(here, f.name), getattr(there, f.name)
        if dataclasses.is_dataclass(a):
            found += changes(a, b, name + ".")
        elif isinstance(a, list):
            if len(a) != len(b):
                found.append(Change(name, len(a), len(b)))
            for i, (x, y) in enumerate(zip(a, b)):
                found += changes(x, y, f"{name}[{i}].")
        elif a != b:
            found.append(Change(name, a, b))
    return found


def differences(here, there) -> list[str]:
    """Each setting that differs, in the window's words: "Optimizer › Algorithm: Adam → SGD"."""
    return [f"{setting_words(c.path, there)}: {value_words(c.path, c.old)} → "
            f"{value_words(c.path, c.new)}" for c in changes(here, there)]


SECTION_WORDS = {"data": "Data", "batch": "Data", "architecture": "Architecture",
                 "optimizer": "Optimizer", "learning_rate": "Learning rate"}


def setting_words(path: str, config: ExperimentConfig | None = None) -> str:
    """A setting's name as the window shows it: "Architecture › Hidden layer 2 units"; a
    convolution's or pool's of `config` by its kind: "Architecture › Convolution 1 filters"."""
    section, _, rest = path.rpartition(".") if "[" not in path else path.partition(".")
    layer = re.fullmatch(r"hidden\[(\d+)\]\.(\w+)", rest)
    label = (_layer_setting_words(int(layer.group(1)), layer.group(2), config) if layer
             else _field(path).metadata["label"])
    return f"{SECTION_WORDS[section]} › {label}" if section else label


def _layer_setting_words(index: int, name: str, config: ExperimentConfig | None) -> str:
    hidden = config.architecture.hidden if config is not None else []
    kind = hidden[index].kind if index < len(hidden) else "dense"
    if kind == "dense":
        return f"Hidden layer {index + 1} {name}"
    conv = kind == "conv"
    number = sum(layer.is_feature and (layer.kind == "conv") == conv for layer in hidden[:index + 1])
    return f"{'Convolution' if conv else 'Pool'} {number} {'filters' if name == 'units' else name}"


def value_words(path: str, value) -> str:
    """A setting's value as the window shows it: choices in their words, numbers with %g."""
    words = _field(path).metadata.get("words", {})
    if value in words:
        return words[value]
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == "":
        return _field(path).metadata.get("empty") or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _field(path: str) -> dataclasses.Field:
    """The field a dotted path names, list indices included ("architecture.hidden[0].units")."""
    cls, f = ExperimentConfig, None
    for part in re.sub(r"\[\d+\]", "", path).split("."):
        f = next(f for f in dataclasses.fields(cls) if f.name == part)
        cls = Layer if part == "hidden" else f.default_factory
    return f


def field_help(cls, name: str) -> str:
    """The one-sentence help of a configuration field, for CLI help and tooltips."""
    return next(f.metadata.get("help", "") for f in dataclasses.fields(cls) if f.name == name)


def field_range(cls, name: str) -> tuple:
    return next(f.metadata["range"] for f in dataclasses.fields(cls) if f.name == name)


def shown(value) -> str:
    """A value for a message: its repr (one line, whatever it holds), cut short."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # nested too deeply; an integer of 4,300 digits and more
        text = f"a {type(value).__name__} too large to show"
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def validate_fields(obj: Any, prefix: str) -> None:
    """Raise ConfigError naming the first field of a section (or a whole configuration) out of
    its range or choices; `prefix` is the section's dotted path, e.g. "optimizer."."""
    for f in dataclasses.fields(obj):
        name, value = prefix + f.name, getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            validate_fields(value, name + ".")
        elif f.name == "hidden":
            _check_layers(name, value)
        elif "choices" in f.metadata and value not in f.metadata["choices"]:
            raise ConfigError(
                f"{name} {shown(value)} is not one of: {', '.join(f.metadata['choices'])}", name)
        elif "range" in f.metadata:
            _check_range(name, value, f)
        elif isinstance(f.default, str):
            _check_text(name, value)


def _check_layers(name: str, layers) -> None:
    if not isinstance(layers, list) or not all(isinstance(item, Layer) for item in layers):
        raise ConfigError(f"{name} must be a list of layers", name)
    if len(layers) > MAX_LAYERS:
        raise ConfigError(f"{name} allows at most {MAX_LAYERS} layers (got {len(layers)})", name)
    for i, layer in enumerate(layers):
        validate_fields(layer, f"{name}[{i}].")
    kinds = [layer.is_feature for layer in layers]
    if kinds != sorted(kinds, reverse=True):
        first_dense, misplaced = kinds.index(False), len(kinds) - 1 - kinds[::-1].index(True)
        raise ConfigError(f"{name}[{misplaced}] ({LAYER_KINDS[layers[misplaced].kind].lower()}) "
                          f"comes after the dense layer {name}[{first_dense}]: convolutions and "
                          "pools work on images, so they come first", name)


def _check_text(name: str, value) -> None:
    """Text that a TOML file can hold: a folder name undecodable in this locale cannot be."""
    try:
        value.encode("utf-8")
    except (AttributeError, UnicodeEncodeError):
        raise ConfigError(f"{name} must be text in Unicode (got {shown(value)})", name) from None
    if "\0" in value:  # no file name can hold one
        raise ConfigError(f"{name} must not hold a NUL character (got {shown(value)})", name)


def _check_range(name: str, value, f: dataclasses.Field) -> None:
    lo, hi = f.metadata["range"]
    allowed = range_words(lo, hi, f.metadata["lo_open"])
    kind = type(f.default)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{name} must be a whole number {allowed} (got {shown(value)})", name)
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))
                          or not math.isfinite(value)):
        raise ConfigError(f"{name} must be a number {allowed} (got {shown(value)})", name)
    too_low = value <= lo if f.metadata["lo_open"] else value < lo
    if too_low or value > hi:
        raise ConfigError(f"{name} must be {allowed} (got {shown(value)})", name)


def range_words(lo: float, hi: float, lo_open: bool = False) -> str:
    """A range as messages give it: "from 1 to 100,000", "above 0 and at most 100"."""
    if lo_open:
        return f"above {number_words(lo)} and at most {number_words(hi)}"
    return f"from {number_words(lo)} to {number_words(hi)}"


def number_words(value: float) -> str:
    """A bound as a reader writes it: 100 (not 100.0), 4,294,967,295, 0.0001, 1e-08."""
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def _too_long_number(text: str) -> str:
    """Which setting holds the integer too long for Python to read (tomllib does not say)."""
    limit = sys.get_int_max_str_digits()
    for match in re.finditer(r"([\w-]+)[ \t]*=[ \t]*[+-]?([0-9][0-9a-fA-Fxob_]*)", text):
        if len(match[2]) > limit:
            line = text.count("\n", 0, match.start()) + 1
            tables = re.findall(r"^[ \t]*\[([\w.-]+)\][ \t]*$", text[:match.start()], re.M)
            key = f"{tables[-1]}.{match[1]}" if tables and _starts_line(text, match.start()) \
                else match[1]
            return (f"{key} (line {line}) is a number of {len(match[2]):,} digits, more than "
                    "any setting takes")
    return f"it holds a whole number of more than {limit:,} digits, more than any setting takes"


def _starts_line(text: str, at: int) -> bool:
    return not text[text.rfind("\n", 0, at) + 1:at].strip()


def _build(cls, raw: Any, prefix: str):
    """Make a dataclass from parsed TOML, naming any unknown key or misplaced section."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'configuration'} must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = unknown[0] if unknown[0].isidentifier() else shown(unknown[0])
        raise ConfigError(f"unknown setting {prefix}{key}; allowed: {', '.join(fields)}")
    values = {}
    for name, value in raw.items():
        f, path = fields[name], prefix + name
        section = f.default_factory if isinstance(f.default_factory, type) else None
        if section is not None and dataclasses.is_dataclass(section):
            value = _build(section, value, f"{path}.")
        elif name == "hidden":
            if not isinstance(value, list) or len(value) > MAX_LAYERS:
                raise ConfigError(f"{path} must be a list of at most {MAX_LAYERS} layers", path)
            value = [_build(Layer, item, f"{path}[{i}].") for i, item in enumerate(value)]
        else:
            value = _scalar(path, value, f)
        values[name] = value
    return cls(**values)


def _scalar(path: str, value, f: dataclasses.Field):
    """A TOML value of the kind the field's default is; whole numbers stand for floats too."""
    default = f.default
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, bool) and not isinstance(value, bool):
        raise ConfigError(f"{path} must be true or false (got {shown(value)})", path)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{path} must be text (got {shown(value)})", path)
    if isinstance(default, int) and not isinstance(default, bool) and not isinstance(value, int):
        raise ConfigError(f"{path} must be a whole number (got {shown(value)})", path)
    if isinstance(default, float) and not number:
        raise ConfigError(f"{path} must be a number (got {shown(value)})", path)
    if isinstance(default, float) and isinstance(value, int) and abs(value) > sys.float_info.max:
        allowed = range_words(*f.metadata["range"], f.metadata["lo_open"])
        raise ConfigError(f"{path} must be {allowed} (got {shown(value)})", path)
    return float(value) if isinstance(default, float) else value


def preset(dataset: str) -> ExperimentConfig:
    """The configuration a dataset opens with: a sensible network and optimizer for it."""
    config = ExperimentConfig(data=DataConfig(name=dataset))
    arch, opt, lr, batch = config.architecture, config.optimizer, config.learning_rate, config.batch
    if dataset == "mnist":
        # Adam at 2e-3, cosine-decayed to a tenth over five epochs of these batches (2,110 steps
        # of 128 from 54,000 digits): conv8x5,pool,conv16x5,pool,128 then passes 99% in five
        # epochs (99.15%; 98.85% at a constant 1e-3, as PyTorch's 98.72%), and the floor keeps
        # a longer run learning.
        lr.value, lr.schedule, lr.decay_steps, lr.min_value = 0.002, "cosine", 2110, 0.0002
    elif dataset == "mnist-binary":
        arch.hidden, arch.output, arch.loss = [Layer(32, "relu")], "sigmoid", "bce"
    elif dataset == "linear-system":
        # Ax = Y as one linear unit: the weights are x, the rows of A the examples.
        arch.hidden, arch.output, arch.loss, arch.bias, arch.init = [], "identity", "mse", False, "zeros"
        opt.name, lr.value, batch.mode = "sgd", 0.01, "full"
        config.data.validation_split, config.dtype = 0.0, "float64"
    elif dataset in TOY_DATASETS:
        arch.hidden = [Layer(8, "tanh"), Layer(8, "tanh")]
        arch.output, arch.loss, arch.init = "sigmoid", "bce", "xavier"
        lr.value, batch.size = 0.01, 16
        config.data.validation_split = 0.0
    elif config.data.is_table:
        arch.hidden, arch.init = [Layer(16, "relu"), Layer(16, "relu")], "he"
        lr.value, batch.size, config.data.test_fraction = 0.01, 32, 0.2
        if dataset == "penguins":
            config.data.target = "species"  # the package's first column
        if dataset == "auto-mpg":
            arch.output, arch.loss = "identity", "mse"
    return config
