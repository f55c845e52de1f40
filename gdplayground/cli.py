"""The command line: `gdplayground train` and `gdplayground gradcheck`, on the same engine as
the window. Bad input ends in one line naming what is wrong and what is allowed, exit code 2."""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

from gdplayground.bench import SECTIONS
from gdplayground.gui.paces import PACES
from gdplayground.config import (
    DATASETS, ConfigError, ExperimentConfig, HIDDEN_ACTIVATIONS, Layer, field_at, owner, preset,
    shown)
from gdplayground.console import ForgivingStream, error_line, stops_as_interrupts
from gdplayground.data import DataError
from gdplayground.onnx_export import OnnxUnavailable
from gdplayground.weights import WeightFileError

EXIT_USAGE = 2
HISTORY_BATCH = 1000  # steps whose reports are added to the history at once
MAX_STEPS = 10**12  # a month at 400,000 steps a second: beyond it, surely a typo
MAX_EPOCH_LINES = 100  # a run of more epochs prints a line every tenth of the run instead

# Each flag that sets one configuration field, and the field's dotted path.
SETTINGS = {
    "--validation-split": "data.validation_split",
    "--samples": "data.samples",
    "--noise": "data.noise",
    "--test-fraction": "data.test_fraction",
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given: dict[str, str] = {}
    stdout = ForgivingStream(sys.stdout)
    try:
        with contextlib.redirect_stdout(stdout):
            args = parser.parse_args(argv)
            given = flags_given(args)
            code = run_window(args) if args.command is None else args.run(args)
    except (UsageError, ConfigError, DataError, WeightFileError, OnnxUnavailable) as exc:
        return _error(_flag_message(exc, given))
    if stdout.failure:  # the work is done, but what it printed went nowhere
        return _error(f"cannot write to standard output: {stdout.failure}")
    return code


def _error(message: str) -> int:
    print(f"gdplayground: error: {error_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> Parser:
    parser = Parser(prog="gdplayground", description="Watch gradient descent train a neural network.")
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    train = commands.add_parser("train", help="train from the command line, headless")
    add_train_flags(train)
    train.set_defaults(run=run_train)
    evaluate = commands.add_parser("evaluate", help="loss and accuracy of a weight file")
    evaluate.add_argument("weights", type=path_given, help="a .npz weight file written by gdplayground")
    evaluate.set_defaults(run=run_evaluate)
    bench = commands.add_parser("bench", help="measure the engine against PyTorch and NumPy's "
                                "GEMM, and the window's cost to training")
    bench.add_argument("--only", help="comma-separated sections: " + ", ".join(SECTIONS))
    bench.add_argument("--repeats", type=whole_number, default=5, help="runs per figure (median)")
    bench.add_argument("--seconds", type=decimal_number, default=2.0, help="length of each run")
    bench.add_argument("--json", type=path_given, help="also write the figures to this JSON file")
    bench.add_argument("--long-seconds", type=decimal_number, default=600.0,
                       help="length of the long-run section's run (default ten minutes)")
    bench.set_defaults(run=run_bench)
    check = commands.add_parser("gradcheck", help="check backprop against finite differences")
    check.set_defaults(run=run_gradcheck)
    window = commands.add_parser("window", help="open the playground window (the default), "
                                 "set up with any train flags")
    add_train_flags(window)
    window.set_defaults(run=run_window)
    shot = commands.add_parser("screenshot", help="train N steps in the window offscreen and "
                               "save it as a PNG")
    add_train_flags(shot)
    shot.set_defaults(run=run_screenshot)
    return parser


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """Flags for every engine setting; each defaults to the configuration's (or the file's)."""
    parser.add_argument("--config", type=path_given, help="experiment file (TOML) to start from")
    parser.add_argument("--dataset", help=f"one of {', '.join(d for d in DATASETS if d != 'idx')}, "
                        "or a folder of MNIST-format IDX files")
    parser.add_argument("--layers", help="hidden layers, e.g. 256,128 or 64:tanh,32:relu; "
                        "'none' for a linear model")
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
        parser.add_argument("--size", type=window_size, default=(1440, 900),
                            help="the window's size in pixels, e.g. 1024x640 (default 1440x900)")
        parser.add_argument("--pace", type=int, choices=[rate for rate in PACES if rate],
                            help="steps a second, as the window's pace control sets them "
                                 "(default: as fast as possible)")
    elif parser.prog.endswith("train"):
        parser.add_argument("--weights", type=path_given, help="a weight file (.npz) to go on "
                            "training from; its configuration is the starting point")
        parser.add_argument("--onnx", action="store_true", help="also write model.onnx "
                            '(needs pip install "gdplayground[onnx]"; written anyway when installed)')
        parser.add_argument("--log-every", type=at_least_one,
                            help="steps between metric lines (default: each epoch, or a tenth of "
                                 f"the run when it has more than {MAX_EPOCH_LINES} epochs)")
        parser.add_argument("--metrics-every", type=at_least_one, default=1,
                            help="write every Nth step to metrics.csv (default: every step)")
        parser.add_argument("--out", type=path_given, help="a new folder for metrics.csv, "
                            "weights.npz and config.toml, or an earlier run folder to replace "
                            "(default: gdplayground-runs/DATASET-TIME)")


def whole_number(text: str) -> int:
    """An integer written in ASCII digits (Python's int() also takes '٣', '１' and '1_0')."""
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        raise argparse.ArgumentTypeError(f"must be a whole number (got {shown(text)})")
    return int(text)


def decimal_number(text: str) -> float:
    """A number written in ASCII, like 0.01, 1e-3 or inf (which validation then refuses)."""
    if not re.fullmatch(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", text) and \
            text.strip().lower().lstrip("+-") not in ("inf", "infinity", "nan"):
        raise argparse.ArgumentTypeError(f"must be a number (got {shown(text)})")
    return float(text)


def at_least_one(text: str) -> int:
    """A count of steps or epochs: a whole number from 1 to MAX_STEPS."""
    if not re.fullmatch(r"\s*[0-9]+\s*", text) or not 1 <= int(text) <= MAX_STEPS:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of at least 1 and at most {MAX_STEPS:,} (got {shown(text)})")
    return int(text)


def window_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*([0-9]{3,4})\s*[xX×]\s*([0-9]{3,4})\s*", text)
    if not match or not (640 <= int(match[1]) <= 4000 and 480 <= int(match[2]) <= 3000):
        raise argparse.ArgumentTypeError(
            f"must be WIDTHxHEIGHT from 640x480 to 4000x3000 pixels (got {shown(text)})")
    return int(match[1]), int(match[2])


def path_given(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return Path(text)


def config_from_args(args, base: ExperimentConfig | None = None) -> ExperimentConfig:
    """The configuration file (or `base`, or the dataset's preset), with every given flag
    applied on top."""
    dataset, path = _dataset_name(args.dataset)
    if args.config:  # validated once the flags are applied: a flag may correct the file
        config = ExperimentConfig.load(args.config, validate=False)
    else:
        config = copy.deepcopy(base) if base else preset(dataset or "mnist")
    if dataset:
        config.data.name, config.data.path = dataset, path
    if args.layers is not None:
        config.architecture.hidden = parse_layers(args.layers, args.activation or "relu")
    elif args.activation:
        for layer in config.architecture.hidden:
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
    try:
        return config.validate()
    except ConfigError as exc:
        if args.config and _flag_for(exc.field, flags_given(args)) is None:
            raise ConfigError(f"{args.config}: {exc}", exc.field) from None  # the file's fault
        raise


def parse_layers(text: str, default_activation: str) -> list[Layer]:
    if text.strip().lower() == "none":
        return []
    layers = []
    for item in text.split(","):
        units, _, activation = item.strip().partition(":")
        if not re.fullmatch("[0-9]+", units):
            raise UsageError(f"--layers: {shown(item)} is not a layer; write sizes like 256,128, "
                             "64:tanh,32:relu, or none")
        layers.append(Layer(int(units), activation or default_activation))
    return layers


# --- train ---------------------------------------------------------------------------------
def run_train(args) -> int:
    from gdplayground.engine import Trainer
    from gdplayground.engine.history import History
    from gdplayground.export import write_run

    saved = load_weight_file(args.weights) if args.weights else None
    config = config_from_args(args, base=saved.config if saved else None)
    if args.onnx:
        require_onnx()
    trainer = Trainer(config)
    if saved:
        _resume(trainer, saved, args.weights)
        print(f"resuming from {args.weights} at step {trainer.step_count}")
    total = _total_steps(args, trainer, default_epochs=1)
    one_step_epochs = trainer.steps_per_epoch == 1
    many_epochs = one_step_epochs or total > MAX_EPOCH_LINES * trainer.steps_per_epoch
    log_every = args.log_every or (max(1, total // 10) if many_epochs else None)
    out = args.out or Path("gdplayground-runs") / (
        f"{trainer.dataset.name}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    with _run_folder(out) as run:  # checked before training: a bad --out fails at once
        _describe(trainer)
        history = History(len(trainer.network.layers))
        started, interrupted = time.perf_counter(), False
        start = (trainer.step_count, trainer.samples_seen)
        with open(run.file("metrics.csv"), "w", encoding="utf-8", newline="") as metrics:
            log = MetricsLog(trainer, history, metrics, args.metrics_every)
            try:
                with stops_as_interrupts():
                    _train_loop(trainer, log, total, log_every, exact_loss=one_step_epochs)
            except KeyboardInterrupt:
                interrupted = True
                print("\ninterrupted: saving what has been trained so far", file=sys.stderr)
            log.finish()
        summary = _summarise(trainer, time.perf_counter() - started, history, start)
        notes = [f"`metrics.csv` holds a row every {args.metrics_every} steps, and the last."] \
            if args.metrics_every > 1 else []
        written = write_run(run, trainer.config, trainer.snapshot(), summary,
                            trainer.dataset.input_scale, started_with=trainer.started_with,
                            changes=tuple(trainer.changes), onnx=args.onnx or None, notes=notes)
    print(f"wrote {out}/: {', '.join(written)}")
    return 130 if interrupted else 0


def _total_steps(args, trainer, default_epochs: int) -> int:
    steps = args.steps if args.steps is not None else \
        (args.epochs or default_epochs) * trainer.steps_per_epoch
    if steps > MAX_STEPS:
        raise UsageError(f"--epochs: {args.epochs:,} epochs are {steps:,} steps, more than "
                         f"{MAX_STEPS:,}")
    return steps


def load_weight_file(path: Path):
    from gdplayground.weights import load_weights

    return load_weights(path)


def _resume(trainer, saved, path: Path) -> None:
    try:
        trainer.restore(saved.state)
    except ValueError as exc:
        raise UsageError(f"{path} does not fit this network: {exc}") from None


def require_onnx() -> None:
    from gdplayground.onnx_export import INSTALL_HINT, onnx_available

    if not onnx_available():
        raise OnnxUnavailable(f"--onnx: {INSTALL_HINT}")


@contextlib.contextmanager
def _run_folder(out: Path):
    """The staged run folder; a failure to write into it, or to move it into place, is one line."""
    from gdplayground.export import RunFolder

    try:
        run = RunFolder(out)
    except OSError as exc:
        raise UsageError(f"--out: cannot write the run to {out}: {exc.strerror or exc}") from None
    try:
        with run:
            yield run
    except OSError as exc:
        raise UsageError(f"cannot write the results to {out}: {exc.strerror or exc}") from None


class MetricsLog:
    """Reports reach the history a thousand at a time (far cheaper than one by one), and
    metrics.csv as training goes, up to the step no divergence can take back: so the file
    agrees with the saved weights whatever happens, and is never held whole in memory."""

    def __init__(self, trainer, history, out, every: int):
        self.trainer, self.history, self.out, self.every = trainer, history, out, every
        self.pending, self.written = [], None  # reports not yet in the history; last step in the file

    def add(self, report) -> None:
        self.pending.append(report)
        if len(self.pending) == HISTORY_BATCH:
            self._flush(self.trainer.settled_step)

    def finish(self) -> None:
        self._flush(self.trainer.step_count)

    def _flush(self, until_step: int) -> None:
        self.history.add(self.pending)
        self.pending.clear()
        after = -math.inf if self.written is None else self.written
        self.history.write_csv(self.out, after_step=after, until_step=until_step,
                               header=self.written is None, every=self.every)
        self.written = until_step


def _describe(trainer) -> None:
    cfg, data = trainer.config, trainer.dataset
    sizes = "-".join(map(str, trainer.network.sizes))
    print(f"{data.name}: {len(data.train)} training, {len(data.validation)} validation, "
          f"{len(data.test)} test examples")
    print(f"network {sizes} ({trainer.network.n_parameters:,} parameters), "
          f"{cfg.optimizer.name} lr {cfg.learning_rate.value:g} ({cfg.learning_rate.schedule}), "
          f"batch {cfg.batch.mode} {trainer._batch_size()}, {cfg.dtype}, seed {cfg.seed}")


def _train_loop(trainer, log: MetricsLog, total: int, log_every: int | None, exact_loss: bool) -> None:
    """Train `total` steps, printing a line per epoch or every `log_every` steps. With
    `exact_loss` (an epoch is one step: the whole training set), a line gives the training loss
    of the weights after that many updates, from the start: the trace of gradient descent."""
    from tqdm import tqdm

    epoch = EpochMeans()
    mark_time, mark_samples = time.perf_counter(), trainer.samples_seen
    if exact_loss:
        print(_exact_line(trainer))
    with tqdm(total=total, unit="step", disable=None, leave=False, dynamic_ncols=True) as bar:
        for _ in range(total):
            report = trainer.step()
            log.add(report)
            bar.update()
            if report.status != "ok":
                bar.write(report.message)
                return
            epoch.add(report)
            if (report.step % log_every == 0) if log_every else report.epoch_end:
                now = time.perf_counter()
                line = _exact_line(trainer) if exact_loss else _metrics_line(report, epoch)
                bar.write(f"{line}  {_speed(now - mark_time, trainer.samples_seen - mark_samples)}")
                mark_time, mark_samples = now, trainer.samples_seen
            if report.epoch_end:
                epoch = EpochMeans()


class EpochMeans:
    """Training loss and accuracy averaged over the examples of the epoch so far."""

    def __init__(self):
        self.examples, self.loss, self.correct = 0, 0.0, 0.0

    def add(self, report) -> None:
        self.examples += report.batch_size
        self.loss += report.loss * report.batch_size
        self.correct += (report.accuracy or 0.0) * report.batch_size


def _metrics_line(report, epoch: EpochMeans) -> str:
    parts = [f"epoch {report.epoch:3d}", f"step {report.step:7d}",
             f"loss {epoch.loss / epoch.examples:.6g}"]
    if report.accuracy is not None:
        parts.append(f"acc {epoch.correct / epoch.examples:7.2%}")
    if report.val_loss is not None:
        parts.append(f"val_loss {report.val_loss:.4f}")
    if report.val_accuracy is not None:
        parts.append(f"val_acc {report.val_accuracy:7.2%}")
    return "  ".join(parts)


def _exact_line(trainer) -> str:
    """The training loss (and accuracy) of the current weights, after step_count updates."""
    loss, accuracy = trainer.evaluate("train")
    line = f"step {trainer.step_count:7d}  loss {loss:<16.10g}"
    return line + (f"  acc {accuracy:7.2%}" if accuracy is not None else "")


def _speed(seconds: float, samples: int) -> str:
    return f"{seconds:6.2f} s  {samples / max(seconds, 1e-9):10,.0f} samples/s"


def _summarise(trainer, seconds: float, history, start: tuple[int, int]) -> dict:
    """The run's figures; `start` is (step, samples seen) where this process began, for a run
    resumed from a weight file."""
    test_loss, test_acc = trainer.evaluate("test")
    rate = (trainer.samples_seen - start[1]) / max(seconds, 1e-9)
    summary = {"steps": trainer.step_count, "epochs": trainer.epochs_done,
               "samples_seen": trainer.samples_seen, "seconds": round(seconds, 3),
               "samples_per_second": round(rate), "diverged": trainer.diverged}
    final_loss = history.last("loss")
    if final_loss is not None:
        summary["final_train_loss"] = final_loss
    epochs = f"{trainer.epochs_done} epoch{'s' * (trainer.epochs_done != 1)}"
    resumed = f", now at step {trainer.step_count:,}" if start[0] else ""
    print(f"trained {trainer.step_count - start[0]} steps in {seconds:.1f} s ({epochs}{resumed}), "
          f"{round(rate):,} samples/s")
    if not math.isnan(test_loss):
        summary.update(test_loss=test_loss, test_accuracy=test_acc)
        print(f"test loss {test_loss:.4f}" + (f"  test accuracy {test_acc:.2%}" if test_acc else ""))
    if trainer.dataset.name == "linear-system":
        summary["solution"] = _print_linear_system(trainer)
    return summary


def _print_linear_system(trainer) -> list[float]:
    """Print x and the residual Ax − Y of the linear system; return x."""
    system = trainer.dataset.train
    x = trainer.network.layers[0].W[:, 0]
    print(f"solution x = {np.array2string(x, precision=6)}")
    print(f"residual Ax - Y = {np.array2string(system.x @ x - system.y[:, 0], precision=6)}")
    return x.tolist()


# --- evaluate ------------------------------------------------------------------------------
def run_evaluate(args) -> int:
    from gdplayground.engine import Trainer

    saved = load_weight_file(args.weights)
    trainer = Trainer(saved.config)
    _resume(trainer, saved, args.weights)
    print(f"{args.weights}: {trainer.dataset.name}, network "
          f"{'-'.join(map(str, trainer.network.sizes))}, trained {trainer.step_count} steps")
    held_out = [split for split in ("validation", "test") if len(getattr(trainer.dataset, split))]
    for split in held_out or ["train"]:  # a set with nothing held out (the linear system)
        loss, accuracy = trainer.evaluate(split)
        print(f"{split:<10} loss {loss:.6g}" + (f"  accuracy {accuracy:.2%}" if accuracy is not None else ""))
    if trainer.dataset.name == "linear-system":
        _print_linear_system(trainer)
    return 0


# --- window and screenshot -------------------------------------------------------------------
def run_window(args) -> int:
    config = config_from_args(args) if getattr(args, "command", None) else preset("mnist")
    _preflight(window=True)
    from gdplayground.gui.app import run_window as open_window

    return open_window(config)


def run_screenshot(args) -> int:
    from gdplayground.engine import Trainer
    from gdplayground.files import check_writable

    config = config_from_args(args)
    steps = _total_steps(args, Trainer(config), default_epochs=0)  # the data, the memory: now
    if args.out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file (got {shown(str(args.out))})")
    try:
        check_writable(args.out)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
    _preflight(window=False)
    from gdplayground.gui.app import save_screenshot

    try:
        trained = save_screenshot(config, steps, args.out, size=args.size, pace=args.pace)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out} after {trained} steps")
    return 0


def _preflight(window: bool) -> None:
    """Before Qt is imported: without its system libraries it fails with a traceback or aborts."""
    from gdplayground.gui import preflight

    problem = preflight.problem(window)
    if problem:
        raise UsageError(problem)


# --- bench ---------------------------------------------------------------------------------
def run_bench(args) -> int:
    from gdplayground import bench
    from gdplayground.files import check_writable

    sections = [s.strip() for s in args.only.split(",")] if args.only is not None else list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise UsageError(f"--only: {shown(unknown[0])} is not a section; allowed: {', '.join(SECTIONS)}")
    for flag, value, low, high in (("--repeats", args.repeats, 1, 1000),
                                   ("--seconds", args.seconds, 0.01, 3600),
                                   ("--long-seconds", args.long_seconds, 1, 86400)):
        if not low <= value <= high:
            raise UsageError(f"{flag} must be from {low:g} to {high:g} (got {value:g})")
    if args.json:
        try:
            check_writable(args.json)  # before measuring, not after
        except OSError as exc:
            raise UsageError(f"--json: cannot write {args.json}: {exc.strerror or exc}") from None
    bench.run(sections, args.repeats, args.seconds, args.json, long_seconds=args.long_seconds)
    return 0


# --- gradcheck -----------------------------------------------------------------------------
def run_gradcheck(args) -> int:
    from gdplayground.engine.gradcheck import TOLERANCE, VARIANTS, check_all

    results = check_all()
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for r in results:
        rows.setdefault((r.activation, f"{r.output}+{r.loss}"), {})[r.variant] = r.worst
    print(f"Worst relative error per parameter, float64 (tolerance {TOLERANCE:g})")
    print(f"{'hidden':<11}{'output+loss':<24}" + "".join(f"{v:>11}" for v in VARIANTS))
    for (activation, pair), errors in rows.items():
        print(f"{activation:<11}{pair:<24}" + "".join(f"{errors[v]:>11.1e}" for v in VARIANTS))
    failed = [r for r in results if r.worst > TOLERANCE]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    for r in failed:
        print(f"FAILED {r.activation} {r.output}+{r.loss} {r.variant}: {r.errors}")
    return 1 if failed else 0


# --- helpers -------------------------------------------------------------------------------
def _dataset_name(value: str | None) -> tuple[str | None, str]:
    if value is None or value in DATASETS and value != "idx":
        return value, ""
    if not value.strip():
        raise UsageError("--dataset: the name is empty")
    try:
        is_folder = Path(value).is_dir()
    except (OSError, ValueError):  # a name too long for the system, or with a NUL in it
        is_folder = False
    if is_folder:
        return "idx", str(Path(value).resolve())
    raise UsageError(f"--dataset {shown(value)} is neither a folder nor one of: "
                     f"{', '.join(d for d in DATASETS if d != 'idx')}")


def flags_given(args) -> dict[str, str]:
    """Configuration path -> the flag that set it, for the flags on this command line."""
    destinations = {"--no-bias": "bias"}
    return {path: flag for flag, path in FLAG_FIELDS.items()
            if getattr(args, destinations.get(flag, flag[2:].replace("-", "_")), None) is not None}


def _flag_for(field: str, given: dict[str, str]) -> str | None:
    """The flag on the command line that set `field` (or the section holding it), if any."""
    return next((flag for path, flag in given.items()
                 if field == path or field.startswith((path + ".", path + "["))), None)


def _flag_message(exc: Exception, given: dict[str, str]) -> str:
    """The message, led by the flag that set the setting it is about, if a flag did."""
    flag = _flag_for(getattr(exc, "field", ""), given)
    return f"{flag}: {exc}" if flag else str(exc)
