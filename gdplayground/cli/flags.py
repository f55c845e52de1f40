"""Flags and their values: every engine setting as a flag, numbers written in ASCII, and
errors that name the flag that set what they are about."""

from __future__ import annotations

import argparse
import contextlib
import copy
import re
import sys
from pathlib import Path
from typing import Callable, Iterator

from gdplayground.config import (
    DATASETS, OUTPUTS_FOR_LOSS, ConfigError, ExperimentConfig, HIDDEN_ACTIVATIONS, Layer,
    field_at, owner, preset, shown, validate_fields)
from gdplayground.layer_grammar import LAYERS_GRAMMAR, parse_layer
from gdplayground.engine.conv import conv_padding
from gdplayground.files import StagedFolder
from gdplayground.gui.training.paces import PACES
from gdplayground.gui.window.window_size import LARGEST, OPENING, SMALLEST

MAX_STEPS = 10**12  # a month at 400,000 steps a second: beyond it, surely a typo
MAX_EPOCH_LINES = 100  # a run of more epochs prints a line every tenth of the run instead
SHARPNESS_SAMPLES = 1000  # training examples λ_max is measured on (train, sharpness)

# Each flag that sets one configuration field, and the field's dotted path.
SETTINGS = {
    "--validation-split": "data.validation_split",
    "--samples": "data.samples",
    "--noise": "data.noise",
    "--test-fraction": "data.test_fraction",
    "--target": "data.target",
    "--missing": "data.missing",
    "--output": "architecture.output",
    "--loss": "architecture.loss",
    "--init": "architecture.init",
    "--init-sigma": "architecture.init_sigma",
    "--dropout": "architecture.dropout",
    "--optimizer": "optimizer.name",
    "--momentum": "optimizer.momentum",
    "--beta1": "optimizer.beta1",
    "--beta2": "optimizer.beta2",
    "--rho": "optimizer.rho",
    "--eps": "optimizer.eps",
    "--l1": "optimizer.l1",
    "--l2": "optimizer.l2",
    "--clip-norm": "optimizer.clip_norm",
    "--lr": "learning_rate.value",
    "--schedule": "learning_rate.schedule",
    "--decay-steps": "learning_rate.decay_steps",
    "--gamma": "learning_rate.gamma",
    "--min-lr": "learning_rate.min_value",
    "--warmup-steps": "learning_rate.warmup_steps",
    "--batch": "batch.mode",
    "--batch-size": "batch.size",
    "--seed": "seed",
    "--dtype": "dtype",
    "--eval-every": "eval_every",
}
# The configuration each flag sets, so that an error about a setting names the flag that set
# it (and not a flag the user never typed).
FLAG_FIELDS = {**SETTINGS, "--dataset": "data", "--layers": "architecture.hidden",
               "--activation": "architecture.hidden", "--no-bias": "architecture.bias"}


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)  # `--out` is never `--output`

    def error(self, message):
        raise UsageError(message)


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """Flags for every engine setting; each defaults to the configuration's (or the file's)."""
    parser.add_argument("--config", type=path_given, help="experiment file (TOML) to start from")
    parser.add_argument("--dataset", type=text_given,
                        help=f"one of {', '.join(d for d in DATASETS if d not in ('idx', 'table'))}, "
                             "a folder of MNIST-format IDX files, or a table (CSV or TSV file: "
                             "a header line, comma, semicolon or tab separated, UTF-8): its "
                             "label is the last column (or --target); numeric features are "
                             "standardised with the training rows' mean and spread, text ones "
                             "one-hot encoded; integer or text labels make classes (sigmoid and "
                             "bce for two, softmax and cross_entropy for more), real numbers a "
                             "regression (identity and mse), unless --loss says otherwise")
    parser.add_argument("--layers", help=f"hidden layers, {LAYERS_GRAMMAR}; e.g. 256,128 or "
                        "conv8x5,pool,conv16x5,pool,128")
    parser.add_argument("--activation", choices=HIDDEN_ACTIVATIONS,
                        help="activation of every hidden layer without its own")
    parser.add_argument("--no-bias", dest="bias", action="store_false", default=None,
                        help="no bias vectors")
    for flag, path in SETTINGS.items():
        f = field_at(path)
        kind = {int: whole_number, float: decimal_number}.get(type(f.default), str)
        parser.add_argument(flag, type=kind, choices=f.metadata.get("choices"),
                            help=f.metadata["help"])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=at_least_one, help="passes over the training set (default 1)")
    length.add_argument("--steps", type=at_least_one, help="iterations to run instead of whole epochs")
    if parser.prog.endswith("screenshot"):
        parser.add_argument("--out", type=path_given, required=True, help="the PNG file to write")
        parser.add_argument("--size", type=window_size, default=OPENING,
                            help=f"the window's size in pixels, from {SMALLEST[0]}x{SMALLEST[1]} "
                                 f"(default {OPENING[0]}x{OPENING[1]})")
        parser.add_argument("--pace", type=int, choices=[rate for rate in PACES if rate],
                            help="steps a second, as the window's pace control sets them "
                                 "(default: as fast as possible)")
    elif parser.prog.endswith("train"):
        parser.add_argument("--weights", type=path_given, help="a weight file (.npz) to go on "
                            "training from; its configuration is the starting point, and a "
                            "table's rows are prepared as the file says")
        parser.add_argument("--onnx", action="store_true", help="also write model.onnx "
                            '(needs pip install "gdplayground[onnx]"; written anyway when installed)')
        parser.add_argument("--torch", action="store_true", help="also write model_torch.py, the "
                            "network as a standalone PyTorch script, and test_set.npz, which it "
                            "evaluates")
        parser.add_argument("--log-every", type=at_least_one,
                            help="steps between metric lines (default: each epoch, or a tenth of "
                                 f"the run when it has more than {MAX_EPOCH_LINES} epochs)")
        parser.add_argument("--metrics-every", type=at_least_one, default=1,
                            help="write every Nth step to metrics.csv (default: every step)")
        parser.add_argument("--sharpness-every", type=at_least_one, metavar="N",
                            help="measure λ_max, the loss's largest Hessian eigenvalue, every N "
                                 "steps (a sharpness column in metrics.csv; beside 2/lr in the "
                                 "metric lines)")
        parser.add_argument("--sharpness-samples", type=at_least_one, default=SHARPNESS_SAMPLES,
                            help="training examples, fixed for the run, that --sharpness-every "
                                 f"measures on (default {SHARPNESS_SAMPLES:,})")
        parser.add_argument("--out", type=path_given, help="a new folder for metrics.csv, "
                            "weights.npz and config.toml, or an earlier run folder to replace "
                            "(default: gdplayground-runs/DATASET-TIME)")


def whole_number(text: str) -> int:
    """An integer written in ASCII digits (Python's int() also takes '٣', '１' and '1_0')."""
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        raise argparse.ArgumentTypeError(f"must be a whole number (got {shown(text)})")
    try:
        return int(text)
    except ValueError:  # more digits than Python reads
        raise argparse.ArgumentTypeError(
            f"must be a whole number of at most {sys.get_int_max_str_digits():,} digits "
            f"(got {shown(text)})") from None


def decimal_number(text: str) -> float:
    """A number written in ASCII, like 0.01, 1e-3 or inf (which validation then refuses)."""
    if not re.fullmatch(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", text) and \
            text.strip().lower().lstrip("+-") not in ("inf", "infinity", "nan"):
        raise argparse.ArgumentTypeError(f"must be a number (got {shown(text)})")
    return float(text)


def at_least_one(text: str) -> int:
    """A count of steps or epochs: a whole number from 1 to MAX_STEPS."""
    if not re.fullmatch(r"\s*[0-9]{1,13}\s*", text) or not 1 <= int(text) <= MAX_STEPS:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of at least 1 and at most {MAX_STEPS:,} (got {shown(text)})")
    return int(text)


def window_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT from the smallest size the window is laid out for to the largest."""
    match = re.fullmatch(r"\s*([0-9]{3,4})\s*[xX×]\s*([0-9]{3,4})\s*", text)
    size = (int(match[1]), int(match[2])) if match else None
    if not size or not all(low <= n <= high for n, low, high in zip(size, SMALLEST, LARGEST)):
        raise argparse.ArgumentTypeError(
            f"must be WIDTHxHEIGHT from {SMALLEST[0]}x{SMALLEST[1]} to {LARGEST[0]}x{LARGEST[1]} "
            f"pixels (got {shown(text)})")
    return size


def text_given(text: str) -> str:
    """A flag's text, refused when empty or blank (as `--dataset "$UNSET"` gives it)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the value is empty")
    return text


def path_given(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return Path(text)


def config_from_args(args, base: ExperimentConfig | None = None) -> ExperimentConfig:
    """The configuration file (or `base`, or the dataset's preset), with every given flag
    applied on top."""
    dataset, path = dataset_name(args.dataset)
    if args.config:  # validated once the flags are applied: a flag may correct the file
        config = ExperimentConfig.load(args.config, validate=False)
    else:
        config = copy.deepcopy(base) if base else preset(dataset or "mnist")
    if dataset:
        config.data.name, config.data.path = dataset, path
    if args.layers is not None:
        config.architecture.hidden = parse_layers(args.layers, args.activation or "relu")
    elif args.activation:
        for layer in config.architecture.weighted:  # a pool keeps its own (none)
            layer.activation = args.activation
    if args.bias is not None:
        config.architecture.bias = args.bias
    for flag, path in SETTINGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            section, name = owner(config, path)
            setattr(section, name, value)
    if args.batch_size is not None and args.batch is None:
        config.batch.mode = "mini"
    for flag in ("--target", "--missing"):
        if getattr(args, flag[2:]) is not None and not config.data.is_table:
            raise UsageError(f"{flag} goes with a table (a CSV or TSV file, penguins, auto-mpg); "
                             f"{config.data.name} is none")
    if dataset and config.data.is_table and not (args.config or base or args.output):
        _suit_table(config, args.loss)
    try:
        return config.validate()
    except ConfigError as exc:
        if args.config and _flag_for(exc.field, flags_given(args)) is None:
            raise ConfigError(f"{args.config}: {exc}", exc.field) from None  # the file's fault
        raise


def _suit_table(config: ExperimentConfig, loss: str | None) -> None:
    """The output and loss the table's label asks for: identity and mse for real numbers,
    sigmoid and bce for two classes, softmax and cross_entropy for more; or, for a `loss`
    given, its output, once the label is known to suit it."""
    from gdplayground.data.datasets import table_path
    from gdplayground.data.table import read_table

    table = read_table(table_path(config.data), config.data.target, config.data.missing)
    suited = table.output_and_loss
    fits = loss in ("mse", suited[1]) or loss == "cross_entropy" and not table.is_regression
    if loss and not fits:
        label = "real numbers, a regression" if table.is_regression else \
            f"{len(set(table.columns[table.target].values))} classes"
        raise UsageError(f"--loss {loss} does not suit {table.source}: its label "
                         f"{table.target!r} holds {label}; use --loss {suited[1]} (or leave "
                         "--loss out: it is chosen from the label)")
    arch = config.architecture
    arch.output, arch.loss = (OUTPUTS_FOR_LOSS[loss][0], loss) if loss else suited


def parse_layers(text: str, default_activation: str) -> list[Layer]:
    """Layers from the --layers grammar (config.LAYERS_GRAMMAR). A dense layer or a convolution
    without its own activation takes `default_activation`; a pool none (identity)."""
    if text.strip().lower() == "none":
        return []
    layers = []
    for item in text.split(","):
        word, _, activation = item.strip().lower().partition(":")
        layer = parse_layer(word)
        if layer is None:
            raise UsageError(f"--layers: {shown(item)} is not a layer; write "
                             f"{LAYERS_GRAMMAR}")
        if activation or layer.kind in ("dense", "conv"):
            layer.activation = activation or default_activation
        _check_layer(item.strip(), layer)
        layers.append(layer)
    return layers


def _check_layer(word: str, layer: Layer) -> None:
    """A word's own numbers, said in its terms: --layers conv8x99 is refused as a kernel, not as
    architecture.hidden[0].kernel; and 'same' padding (the default) needs an odd kernel."""
    try:
        validate_fields(layer, "")
        if layer.kind == "conv":
            conv_padding(layer.kernel, layer.padding)
    except ConfigError as exc:
        what = {"units": "a convolution's filters" if layer.kind == "conv" else "a layer's units",
                "kernel": "a kernel's size", "stride": "a stride"}.get(exc.field, exc.field)
        problem = str(exc).removeprefix(exc.field)  # " must be from 1 to 15 (got 99)"
        raise UsageError(f"--layers: {shown(word)}: {what}{problem}") from None
    except ValueError as exc:
        valid = word.partition(":")[0].removesuffix("same") + "valid"
        raise UsageError(f"--layers: {shown(word)}: {exc} ({valid} pads nothing)") from None


# --- helpers -------------------------------------------------------------------------------
@contextlib.contextmanager
def staged_output(out: Path, replaceable: Callable[[Path], bool],
                  kind: str) -> Iterator[StagedFolder]:
    """--out, written all or nothing (files.StagedFolder): a folder that cannot be written, or
    holds files that are not `kind`, is refused in one line before the block's work; a write
    that fails in the block is one line too, and leaves --out as it was. Write each file to
    `folder.file(name)` of the folder yielded."""
    try:
        folder = StagedFolder(out, replaceable, kind)
    except OSError as exc:
        raise UsageError(f"--out: cannot write to {out}: {exc.strerror or exc}") from None
    try:
        with folder:
            yield folder
    except OSError as exc:
        reason = exc.strerror or str(exc).replace(str(folder.staging), str(out))  # as typed
        raise UsageError(f"cannot write the results to {out}: {reason}") from None


def dataset_name(value: str | None) -> tuple[str | None, str]:
    """A dataset's name and path: a named one, a folder of IDX files, or a table's file."""
    if value is None or value in DATASETS and value not in ("idx", "table"):
        return value, ""
    try:
        is_folder, is_file = Path(value).is_dir(), Path(value).is_file()
    except (OSError, ValueError):  # a name too long for the system, or with a NUL in it
        is_folder = is_file = False
    if is_folder or is_file:
        return "idx" if is_folder else "table", str(Path(value).resolve())
    raise UsageError(f"--dataset {shown(value)} is neither a folder, a table file (CSV, TSV) nor "
                     f"one of: {', '.join(d for d in DATASETS if d not in ('idx', 'table'))}")


def flags_given(args) -> dict[str, str]:
    """Configuration path -> the flag that set it, for the flags on this command line."""
    destinations = {"--no-bias": "bias"}
    return {path: flag for flag, path in FLAG_FIELDS.items()
            if getattr(args, destinations.get(flag, flag[2:].replace("-", "_")), None) is not None}


def _flag_for(field: str, given: dict[str, str]) -> str | None:
    """The flag on the command line that set `field` (or the section holding it), if any."""
    return next((flag for path, flag in given.items()
                 if field == path or field.startswith((path + ".", path + "["))), None)


def flag_message(exc: Exception, given: dict[str, str]) -> str:
    """The message, led by the flag that set the setting it is about, if a flag did."""
    flag = _flag_for(getattr(exc, "field", ""), given)
    return f"{flag}: {exc}" if flag else str(exc)
