"""`gdplayground sweep`: one setting varied over a list or a range, a run per value and repeat,
trained one after another headless. Prints a row per run as it ends and writes sweep.csv,
sweep.png and each run's folder (as `gdplayground train` writes it) under runs/."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from gdplayground.cli.flags import (
    UsageError, add_train_flags, config_from_args, path_given, staged_output, text_given,
    whole_number)
from gdplayground.cli.train import total_steps
from gdplayground.layer_grammar import layer_words
from gdplayground.cli.window import preflight
from gdplayground.console import stops_as_interrupts
from gdplayground.files import holds_only, write_atomic

CSV_NAME, PNG_NAME, RUNS_FOLDER = "sweep.csv", "sweep.png", "runs"
CSV_HEADER = ("value", "repeat", "final_loss", "least_loss", "test_accuracy", "diverged_at_step")
TABLE_HEADER = ("value", "repeat", "final loss", "least loss", "test accuracy", "diverged at step")
WIDTHS = (12, 6, 11, 11, 13, 16)


def register(commands) -> None:
    from gdplayground.labs.sweeps.params import PARAMS

    sweep = commands.add_parser(
        "sweep", help="train a run per value of one setting (and per repeat) and compare them",
        description="Vary one setting over --values or a --range, training a run per value and "
                    "repeat one after another, from the configuration the train flags give. "
                    "The loss compared is the training loss as the window plots it (the moving "
                    "average of the batch losses; exact losses for full batches), at the end and "
                    "at its least; test accuracy is measured once at the end.")
    sweep.add_argument("--param", required=True, type=text_given, metavar="NAME",
                       help=f"the setting to vary: {', '.join(PARAMS)}, or a dotted path such as "
                            "optimizer.beta1")
    values = sweep.add_mutually_exclusive_group(required=True)
    values.add_argument("--values", type=text_given, metavar="V1,V2,…",
                        help="the values, e.g. 0.01,0.1 or sgd,adam")
    values.add_argument("--range", dest="bounds", type=text_given, metavar="LO:HI",
                        help="values from LO to HI, both included (with --count, and --log)")
    sweep.add_argument("--count", type=whole_number, metavar="N",
                       help="how many values --range takes")
    sweep.add_argument("--log", action="store_true",
                       help="space --range's values evenly on a log scale (and draw them so)")
    sweep.add_argument("--repeats", type=whole_number, default=1, metavar="R",
                       help="runs per value, repeat r from seed + r (default 1)")
    add_train_flags(sweep)  # the starting configuration, and --steps or --epochs a run
    sweep.add_argument("--out", type=path_given, required=True, metavar="DIR",
                       help="a new or empty folder for sweep.csv, sweep.png and runs/, or an "
                            "earlier sweep's, replaced whole when the sweep ends")
    sweep.set_defaults(run=run_sweep_command)


def run_sweep_command(args) -> int:
    from gdplayground.labs.sweeps.plan import check_runs, run_sweep

    plan = sweep_plan(args)
    base = config_from_args(args)
    _flagged("", plan.tasks, base)  # every run's settings, before any training …
    _flagged("", check_runs, base, plan,  # … its data, its memory and its length
             lambda trainer: total_steps(args, trainer, default_epochs=1))
    preflight(window=False)  # before the work: the picture is part of what --out promises
    with staged_output(args.out, _earlier_sweep, "a sweep's output") as out:
        print(_describe(plan, base))
        results, interrupted = [], False
        print(_table_row(TABLE_HEADER))
        try:
            with stops_as_interrupts(), _ProgressBar(plan.runs) as bar:
                for run in run_sweep(base, plan, progress=bar.progress):
                    results.append(run)
                    bar.write(_table_row(_row_words(run)))
                    _write_run_folder(out.file(RUNS_FOLDER) / run_name(run), run)
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted: writing the runs that finished", file=sys.stderr)
        heading = (f"Sweep of {_labels(plan)}: {_setup_words(base, plan)}; "
                   f"{_run_length(plan)} a run")
        _write_results(out, results, plan, heading)
    print(f"wrote {args.out / CSV_NAME} ({len(results)} rows), {args.out / PNG_NAME} and "
          f"{len(results)} run folders in {args.out / RUNS_FOLDER}/")
    return 130 if interrupted else 0


def _earlier_sweep(folder: Path) -> bool:
    """A sweep's folder: sweep.csv, sweep.png and runs/ of run folders, nothing else."""
    from gdplayground.store.export import is_run_folder

    def runs(folder: Path) -> bool:
        return all(run.is_dir() and is_run_folder(run) for run in folder.iterdir())
    return holds_only(folder, (CSV_NAME, PNG_NAME), {RUNS_FOLDER: runs})


def sweep_plan(args):
    """The plan the flags describe; UsageError names the flag at fault."""
    from gdplayground.labs.sweeps.params import parse_bounds, sweep_param
    from gdplayground.labs.sweeps.plan import SweepAxis, SweepPlan

    if args.bounds is None:
        for flag, given in (("--count", args.count is not None), ("--log", args.log)):
            if given:
                raise UsageError(f"{flag} goes with --range LO:HI (--values lists the values)")
    elif args.count is None:
        raise UsageError("--range needs --count N: how many values to take from it")
    param = _flagged("--param", sweep_param, args.param)
    if args.values is not None:
        values = _flagged("--values", param.parse_list, args.values)
    else:
        values = _flagged("--range", lambda: param.range_values(*parse_bounds(args.bounds),
                                                                args.count, args.log))
    axis = SweepAxis(param, values, args.log)
    return _flagged("--repeats", SweepPlan, (axis,), args.repeats, args.steps, args.epochs)


def _flagged(flag: str, work, *arguments):
    """work(*arguments), a SweepError in it a UsageError led by `flag` (if any)."""
    from gdplayground.labs.sweeps.params import SweepError

    try:
        return work(*arguments)
    except SweepError as exc:
        raise UsageError(f"{flag}: {exc}" if flag else str(exc)) from None




def _describe(plan, base) -> str:
    axes = " by ".join(f"{axis.param.name} ({axis.param.label}) over "
                       f"{', '.join(map(axis.param.text, axis.values))}" for axis in plan.axes)
    return (f"sweep of {axes}; {plan.repeats} repeat{'s' * (plan.repeats != 1)} of each from "
            f"seed {base.seed}: {plan.runs} runs of {_run_length(plan)}\n"
            f"from {_setup_words(base, plan)}")


def _labels(plan) -> str:
    return " and ".join(param.label for param in plan.params)


def _run_length(plan) -> str:
    epochs = plan.epochs or 1
    return f"{plan.steps:,} steps" if plan.steps else f"{epochs} epoch{'s' * (epochs != 1)}"


def _setup_words(base, plan) -> str:
    """The starting configuration in brief, but for the settings swept."""
    hidden = "-".join(map(layer_words, base.architecture.hidden)) or "none"
    parts = {"data.name": base.data.name, "architecture.hidden": f"hidden {hidden}",
             "optimizer.name": base.optimizer.name,
             "learning_rate.value": f"lr {base.learning_rate.value:g}",
             "batch.size": f"batch {base.batch.mode} {base.batch.size}", "dtype": base.dtype}
    swept = {param.path for param in plan.params}
    return ", ".join(words for path, words in parts.items() if path not in swept)


class _ProgressBar:
    """A bar over the sweep's runs with the time left (on a terminal), the rows written above it."""

    def __init__(self, runs: int):
        from tqdm import tqdm

        self.bar = tqdm(total=runs, disable=None, leave=False, dynamic_ncols=True,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
        self.runs = runs

    def __enter__(self) -> "_ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def progress(self, run: int, step: int, steps: int) -> None:
        self.bar.set_description_str(f"run {run + 1}/{self.runs}", refresh=False)
        self.bar.update(run + step / steps - self.bar.n)

    def write(self, line: str) -> None:
        self.bar.write(line)


def _table_row(cells) -> str:
    return "  ".join(f"{cell:>{width}}" for cell, width in zip(cells, WIDTHS))


def _row_words(run) -> tuple[str, ...]:
    def loss(value):
        return "-" if value is None else f"{value:.4g}"
    accuracy = "-" if run.test_accuracy is None else f"{run.test_accuracy:.2%}"
    diverged = "-" if run.diverged_at_step is None else str(run.diverged_at_step)
    return (_point_text(run), str(run.repeat), loss(run.final_loss), loss(run.least_loss),
            accuracy, diverged)


def _point_text(run) -> str:
    return "-".join(param.text(value) for param, value in zip(run.params, run.point))


def run_name(run) -> str:
    """A run's folder under runs/: its value and repeat, 0.001-0."""
    return f"{_point_text(run)}-{run.repeat}"


def sweep_csv(results) -> str:
    """value,repeat,final_loss,least_loss,test_accuracy,diverged_at_step: a row per run, empty
    where a run has no such figure (a diverged run's final loss and accuracy)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for run in results:
        figures = (run.final_loss, run.least_loss, run.test_accuracy, run.diverged_at_step)
        values = [value if param.categorical else repr(value)
                  for param, value in zip(run.params, run.point)]
        writer.writerow([*values, run.repeat,
                         *("" if figure is None else repr(figure) for figure in figures)])
    return out.getvalue()


def _write_run_folder(folder: Path, run) -> None:
    from gdplayground.labs.sweeps.plan import point_words
    from gdplayground.store.export import RunFolder, write_run

    with RunFolder(folder) as staged:
        with open(staged.file("metrics.csv"), "w", encoding="utf-8", newline="") as metrics:
            run.history.write_csv(metrics)
        note = (f"A run of a sweep of {' and '.join(param.label for param in run.params)}: "
                f"{point_words(run.params, run.point)}, repeat {run.repeat}. `../../{CSV_NAME}` "
                f"compares every run of the sweep.")
        write_run(staged, run.config, run.state, run.summary, run.input_scale, onnx=False,
                  notes=[note], preparation=run.preparation)


def _write_results(out, results, plan, heading: str) -> None:
    from gdplayground.gui.runs.sweep_grid_view import save_sweep_grid_png

    write_atomic(out.file(CSV_NAME), sweep_csv(results).encode())
    save_sweep_grid_png(results, plan, out.file(PNG_NAME), heading)
