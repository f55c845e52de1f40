"""`gdplayground train` and `gdplayground evaluate`: the engine headless, writing a run folder."""

from __future__ import annotations

import datetime
import math
import sys
import time
from pathlib import Path

import numpy as np

from gdplayground.cli.flags import (
    MAX_EPOCH_LINES, MAX_STEPS, UsageError, config_from_args, staged_output)
from gdplayground.config import shown
from gdplayground.console import stops_as_interrupts
from gdplayground.store.onnx_export import OnnxUnavailable

HISTORY_BATCH = 1000  # steps whose reports are added to the history at once
# Steps between measurements of a small test set: its points in metrics.csv, and the held-out
# loss the coach reads for overfitting when there is no validation split, as in the window.
TEST_EVERY = 100
# --- train ---------------------------------------------------------------------------------
def run_train(args) -> int:
    from gdplayground.engine import Trainer
    from gdplayground.labs.diagnostics import Coach
    from gdplayground.engine.history import History
    from gdplayground.labs.sharpness import RunSharpness
    from gdplayground.store.export import WEIGHTS_FILE, write_run
    from gdplayground.store.torch_export import write_torch

    saved = load_weight_file(args.weights) if args.weights else None
    config = config_from_args(args, base=saved.config if saved else None)
    if args.onnx:
        require_onnx()
    trainer = Trainer(config, _dataset(config, saved))
    if saved:
        _resume(trainer, saved, args.weights)
        print(f"resuming from {args.weights} at step {trainer.step_count}")
    total = total_steps(args, trainer, default_epochs=1)
    one_step_epochs = trainer.steps_per_epoch == 1
    many_epochs = one_step_epochs or total > MAX_EPOCH_LINES * trainer.steps_per_epoch
    log_every = args.log_every or (max(1, total // 10) if many_epochs else None)
    out = args.out or Path("gdplayground-runs") / (
        f"{trainer.dataset.name}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    with run_folder(out) as run:  # checked before training: a bad --out fails at once
        _describe(trainer)
        sharpness = (RunSharpness(trainer, args.sharpness_every, args.sharpness_samples)
                     if args.sharpness_every else None)
        history = History(len(trainer.network.layers), sharpness=sharpness is not None)
        coach = Coach(trainer)
        started, interrupted = time.perf_counter(), False
        start = (trainer.step_count, trainer.samples_seen)
        with open(run.file("metrics.csv"), "w", encoding="utf-8", newline="") as metrics:
            log = MetricsLog(trainer, history, coach, metrics, args.metrics_every)
            try:
                with stops_as_interrupts():
                    _train_loop(trainer, log, total, log_every, one_step_epochs, sharpness)
            except KeyboardInterrupt:
                interrupted = True
                print("\ninterrupted: saving what has been trained so far", file=sys.stderr)
            log.finish()
        summary = _summarise(trainer, time.perf_counter() - started, history, start)
        summary["diagnoses"] = _diagnoses(coach.diagnoses)
        notes = [f"`metrics.csv` holds a row every {args.metrics_every} steps, and the last."] \
            if args.metrics_every > 1 else []
        if args.torch:
            write_torch(run.staging, run.file(WEIGHTS_FILE), trainer.config,
                        trainer.network.sizes, trainer.dataset)
        written = write_run(run, trainer.config, trainer.snapshot(path=True), summary,
                            trainer.dataset.input_scale, started_with=trainer.started_with,
                            changes=tuple(trainer.changes), onnx=args.onnx or None, notes=notes,
                            preparation=trainer.dataset.preparation)
    print(f"wrote {out}/: {', '.join(written)}")
    return 130 if interrupted else 0


def total_steps(args, trainer, default_epochs: int) -> int:
    steps = args.steps if args.steps is not None else \
        (args.epochs or default_epochs) * trainer.steps_per_epoch
    if steps > MAX_STEPS:
        raise UsageError(f"--epochs: {args.epochs:,} epochs are {steps:,} steps, more than "
                         f"{MAX_STEPS:,}")
    return steps


def load_weight_file(path: Path):
    """A weight file, or the weights.npz of a run folder (what `train --out` writes)."""
    from gdplayground.store.export import WEIGHTS_FILE
    from gdplayground.store.weights import WeightFileError, load_weights

    path = Path(path)
    if path.is_dir():
        if not (path / WEIGHTS_FILE).is_file():
            raise WeightFileError(f"{path} is a folder without a {WEIGHTS_FILE}: give a weight "
                                  "file or a run folder")
        path = path / WEIGHTS_FILE
    return load_weights(path)


def trained_from(path: Path):
    """A trainer of a weight file's (or run folder's) network at its weights, and its kept
    path (evaluate, gradcheck, landscape, sharpness)."""
    from gdplayground.engine import Trainer

    saved = load_weight_file(path)
    trainer = Trainer(saved.config, _dataset(saved.config, saved))
    _resume(trainer, saved, path)
    return trainer


def _dataset(config, saved):
    """The data a weight file's network goes on with: a table prepared as the file says (not
    fitted afresh on rows that may have changed); None for the configuration's own."""
    from gdplayground.data import load_dataset

    if saved is None or saved.preparation is None or not config.data.is_table:
        return None
    if config.data.target not in ("", saved.preparation.target):
        raise UsageError(f"--target {shown(config.data.target)}: the network was trained to "
                         f"predict {shown(saved.preparation.target)}")
    return load_dataset(config.data, config.seed, preparation=saved.preparation)


def _resume(trainer, saved, path: Path) -> None:
    try:
        trainer.restore(saved.state)
    except ValueError as exc:
        raise UsageError(f"{path} does not fit this network: {exc}") from None


def require_onnx() -> None:
    from gdplayground.store.onnx_export import INSTALL_HINT, onnx_available

    if not onnx_available():
        raise OnnxUnavailable(f"--onnx: {INSTALL_HINT}")


def run_folder(out: Path):
    """The run folder, staged (flags.staged_output): an earlier run folder is replaced whole."""
    from gdplayground.store.export import RUN_KIND, is_run_folder

    return staged_output(out, is_run_folder, RUN_KIND)


class MetricsLog:
    """Reports reach the history and the coach a thousand at a time (far cheaper than one by
    one), and metrics.csv as training goes, up to the step no divergence can take back: so the
    file agrees with the saved weights whatever happens, and is never held whole in memory."""

    def __init__(self, trainer, history, coach, out, every: int):
        self.trainer, self.history, self.coach, self.out, self.every = trainer, history, coach, out, every
        self.pending, self.written = [], None  # reports not yet in the history; last step in the file

    def add(self, report) -> None:
        self.pending.append(report)
        if len(self.pending) == HISTORY_BATCH:
            self._flush(self.trainer.settled_step)

    def finish(self) -> None:
        self._flush(self.trainer.step_count)

    def _flush(self, until_step: int) -> None:
        self.history.add(self.pending)
        self.coach.add(self.pending)
        self.pending.clear()
        after = -math.inf if self.written is None else self.written
        self.history.write_csv(self.out, after_step=after, until_step=until_step,
                               header=self.written is None, every=self.every)
        self.written = until_step


def _describe(trainer) -> None:
    cfg, data = trainer.config, trainer.dataset
    print(f"{data.name}: {len(data.train)} training, {len(data.validation)} validation, "
          f"{len(data.test)} test examples")
    if data.preparation:
        print("\n".join(data.preparation.describe(" (--missing error refuses them)")))
    print(f"network {trainer.network.describe()} ({trainer.network.n_parameters:,} parameters), "
          f"{cfg.optimizer.name} lr {cfg.learning_rate.value:g} ({cfg.learning_rate.schedule}), "
          f"batch {cfg.batch.mode} {trainer._batch_size()}, {cfg.dtype}, seed {cfg.seed}")


def _train_loop(trainer, log: MetricsLog, total: int, log_every: int | None, exact_loss: bool,
                sharpness=None) -> None:
    """Train `total` steps, printing a line per epoch or every `log_every` steps. With
    `exact_loss` (an epoch is one step: the whole training set), a line gives the training loss
    of the weights after that many updates, from the start: the trace of gradient descent.
    With `sharpness` (a RunSharpness), λ_max where due, and the last beside 2/lr on each line."""
    from tqdm import tqdm

    epoch = EpochMeans()
    mark_time, mark_samples = time.perf_counter(), trainer.samples_seen
    if exact_loss:
        print(_exact_line(trainer))
    with tqdm(total=total, unit="step", disable=None, leave=False, dynamic_ncols=True) as bar:
        for _ in range(total):
            report = trainer.step()
            if report.step % TEST_EVERY == 0:
                report = trainer.with_test_figures(report)
            if sharpness:
                report = sharpness.measured(report)
            log.add(report)
            bar.update()
            if report.status != "ok":
                bar.write(report.message)
                return
            epoch.add(report)
            if (report.step % log_every == 0) if log_every else report.epoch_end:
                now = time.perf_counter()
                line = _exact_line(trainer) if exact_loss else _metrics_line(report, epoch)
                speed = _speed(now - mark_time, trainer.samples_seen - mark_samples)
                bar.write("  ".join(filter(None, [line, speed, sharpness and sharpness.line()])))
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
    summary.update(trainer.dataset.test_summary(test_loss, test_acc))
    if not math.isnan(test_loss):
        test_loss, in_units = label_units(trainer.dataset, test_loss)
        print(f"test loss {test_loss:.4f}{in_units}" +
              (f"  test accuracy {test_acc:.2%}" if test_acc is not None else ""))
    if trainer.dataset.name == "linear-system":
        summary["solution"] = _print_linear_system(trainer)
    return summary


def label_units(dataset, loss: float) -> tuple[float, str]:
    """A regression table's loss in its label's units, the network's (the mean squared error
    of the standardised label) times the label's spread squared, and words that say so with
    its root; any other loss as it is, and no words."""
    if not dataset.is_table_regression:
        return loss, ""
    target, rmse = dataset.preparation.target, dataset.error_in_units(loss)
    return dataset.loss_in_units(loss), (f" (mean squared error of {target!r}, in its units "
                                         f"squared)  RMSE {rmse:.4g} (in the units of {target!r})")


def _diagnoses(diagnoses) -> list[dict]:
    """Print the coach's diagnoses, a line each beginning with its name; return them for the
    summary."""
    for diagnosis in diagnoses:
        print(diagnosis.line())
    return [diagnosis._asdict() for diagnosis in diagnoses]


def _print_linear_system(trainer) -> list[float]:
    """Print x and the residual Ax − Y of the linear system; return x."""
    system = trainer.dataset.train
    x = trainer.network.layers[0].W[:, 0]
    print(f"solution x = {np.array2string(x, precision=6)}")
    print(f"residual Ax - Y = {np.array2string(system.x @ x - system.y[:, 0], precision=6)}")
    return x.tolist()


# --- evaluate ------------------------------------------------------------------------------
def run_evaluate(args) -> int:
    trainer = trained_from(args.weights)
    print(f"{args.weights}: {trainer.dataset.name}, network "
          f"{trainer.network.describe()}, trained {trainer.step_count} steps")
    held_out = [split for split in ("validation", "test") if len(getattr(trainer.dataset, split))]
    for split in held_out or ["train"]:  # a set with nothing held out (the linear system)
        loss, accuracy = trainer.evaluate(split)
        loss, in_units = label_units(trainer.dataset, loss)
        print(f"{split:<10} loss {loss:.6g}{in_units}" +
              (f"  accuracy {accuracy:.2%}" if accuracy is not None else ""))
    if trainer.dataset.name == "linear-system":
        _print_linear_system(trainer)
    return 0


