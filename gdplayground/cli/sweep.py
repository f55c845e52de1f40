"""`gdplayground sweep`: one setting or two varied over a list or a range each, a run per point
of their grid and per repeat, trained headless side by side in worker processes (or on a Dask
cluster). Prints a row per run as it ends and writes sweep.csv (in the plan's order), sweep.png
and each run's folder (as `gdplayground train` writes it) under runs/."""

from __future__ import annotations

import argparse
import contextlib
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
# After a column per swept setting, named by it: the run's figures, or why it failed.
CSV_FIGURES = ("repeat", "final_loss", "least_loss", "test_accuracy", "diverged_at_step",
               "failed")
TABLE_FIGURES = ("repeat", "final loss", "least loss", "test accuracy", "diverged at step")
FIGURE_WIDTHS = (6, 11, 11, 13, 16)
VALUE_WIDTH = 12  # a setting's column, wider if its name is
MAX_WORKERS = 256  # processes on one machine: beyond it, surely a typo


def register(commands) -> None:
    from gdplayground.labs.sweeps.params import PARAMS

    sweep = commands.add_parser(
        "sweep", help="train a run per value of one setting, or per pair of values of two, and "
                      "compare them",
        description="Vary one setting, or two, each over its --values or a --range: a run per "
                    "value (for two settings, per pair of values: every value of the first with "
                    "every value of the second) and per repeat, from the configuration the train "
                    "flags give. The runs train side by side in --workers processes, each run's "
                    "BLAS on one thread, so that its figures never depend on how many workers "
                    "trained the sweep; or on a Dask cluster (--cluster). The loss compared is "
                    "the training loss as the window plots it (the moving average of the batch "
                    "losses; exact losses for full batches), at the end and at its least; test "
                    "accuracy is measured once at the end.")
    sweep.add_argument("--param", dest="settings", action=_NewSetting, required=True,
                       type=text_given, metavar="NAME",
                       help=f"a setting to vary: {', '.join(PARAMS)}, or a dotted path such as "
                            "optimizer.beta1; its --values or --range (with --count, and --log) "
                            "follow it. A second --param, with its own values, makes a grid: "
                            "--param lr --range 1e-4:1 --count 9 --log --param batch-size "
                            "--values 16,64,256")
    sweep.add_argument("--values", action=_SettingPart, type=text_given, metavar="V1,V2,…",
                       help="the values of the --param before it, e.g. 0.01,0.1 or sgd,adam")
    sweep.add_argument("--range", dest="bounds", action=_SettingPart, type=text_given,
                       metavar="LO:HI", help="values of the --param before it from LO to HI, "
                                             "both included (with --count, and --log)")
    sweep.add_argument("--count", action=_SettingPart, type=whole_number, metavar="N",
                       help="how many values its --range takes")
    sweep.add_argument("--log", action=_SettingPart, nargs=0,
                       help="space its --range's values evenly on a log scale (and draw them so)")
    sweep.add_argument("--repeats", type=whole_number, default=1, metavar="R",
                       help="runs per value (or pair of values), repeat r from seed + r "
                            "(default 1)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=worker_count, metavar="N",
                       help="worker processes training runs side by side (default: one per "
                            "core; with 1, one after another in one worker process); each run's "
                            "BLAS works on one thread, so a run's figures are the same whatever "
                            "the number of workers")
    where.add_argument("--cluster", type=text_given, metavar="tcp://HOST:PORT",
                       help="train the runs on the Dask cluster whose scheduler listens there "
                            "(needs pip install \"gdplayground[cluster]\"); reached before "
                            "anything is written")
    add_train_flags(sweep)  # the starting configuration, and --steps or --epochs a run
    sweep.add_argument("--out", type=path_given, required=True, metavar="DIR",
                       help="a new or empty folder for sweep.csv, sweep.png and runs/, or an "
                            "earlier sweep's, replaced whole when the sweep ends")
    sweep.set_defaults(run=run_sweep_command)


class _NewSetting(argparse.Action):
    """--param NAME opens a setting, which the --values, --range, --count and --log after it
    fill in: args.settings is a list of {"param": NAME, "values": …, …}."""

    def __call__(self, parser, namespace, name, option=None):
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), {"param": name}])


class _SettingPart(argparse.Action):
    """--values, --range, --count or --log: a part of the setting the last --param opened."""

    def __call__(self, parser, namespace, value, option=None):
        settings = getattr(namespace, "settings", None)
        if not settings:
            raise UsageError(f"{option} belongs to a setting: give --param NAME before it")
        setting = settings[-1]
        if self.dest in setting:
            raise UsageError(f"{option} is given twice for --param {setting['param']}; a second "
                             "setting starts with its own --param")
        setting[self.dest] = value if self.nargs != 0 else True


def worker_count(text: str) -> int:
    """--workers: a whole number from 1 to MAX_WORKERS."""
    number = whole_number(text)
    if not 1 <= number <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_WORKERS} (got {number})")
    return number


def run_sweep_command(args) -> int:
    from gdplayground.labs.sweeps.plan import check_runs

    plan = sweep_plan(args)
    base = config_from_args(args)
    _flagged("", plan.tasks, base)  # every run's settings, before any training …
    _flagged("", check_runs, base, plan,  # … its data, its memory and its length
             lambda trainer: total_steps(args, trainer, default_epochs=1))
    preflight(window=False)  # before the work: the picture is part of what --out promises
    with _executor(args) as executor, \
            staged_output(args.out, _earlier_sweep, "a sweep's output") as out:
        print(_describe(plan, base, args))
        results, interrupted = _train_runs(base, plan, executor, out)
        heading = (f"Sweep of {_labels(plan)}: {_setup_words(base, plan)}; "
                   f"{_run_length(plan)} a run")
        _write_results(out, results, plan, heading)
    trained = sum(not _failed(run) for run in results)
    failed = f"; {len(results) - trained} failed" if trained < len(results) else ""
    print(f"wrote {args.out / CSV_NAME} ({_count(len(results), 'row')}), {args.out / PNG_NAME} "
          f"and {_count(trained, 'run folder')} in {args.out / RUNS_FOLDER}/{failed}")
    return 130 if interrupted else 0


def _executor(args):
    """Where the runs train, as a context: worker processes on this machine, or a Dask cluster,
    reached here (before --out is staged: an unreachable one changes nothing) and its client
    closed when the sweep ends."""
    from gdplayground.labs.sweeps.plan import executor_for

    executor = _flagged("--cluster", executor_for, args.workers, args.cluster or "")
    if args.cluster is None:
        return contextlib.nullcontext(executor)
    _flagged("--cluster", executor.connect)
    return executor


def _train_runs(base, plan, executor, out) -> tuple[list, bool]:
    """Every run, its row printed and its folder written as it ends (in whatever order the
    workers end them): the runs that ended, and whether Ctrl+C ended the sweep first (every
    worker then ended with it: the executor's generator is closed)."""
    from gdplayground.labs.sweeps.params import SweepError
    from gdplayground.labs.sweeps.plan import run_sweep

    widths = _widths(plan)
    print(_table_row([*(param.name for param in plan.params), *TABLE_FIGURES], widths))
    results = []
    try:
        with stops_as_interrupts(), _ProgressBar(plan.runs) as bar, \
                contextlib.closing(run_sweep(base, plan, executor, progress=bar.progress)) as runs:
            for run in runs:
                if not _failed(run):  # first: a run in the table and the CSV has its folder
                    _write_run_folder(out.file(RUNS_FOLDER) / run_name(run), run)
                results.append(run)
                bar.finished(run.index)
                bar.write(_row(run, widths))
    except KeyboardInterrupt:
        print("\ninterrupted: writing the runs that finished", file=sys.stderr)
        return results, True
    except SweepError as exc:  # no run could train (the workers end as they start): one line
        raise UsageError(str(exc)) from None
    return results, False


def _earlier_sweep(folder: Path) -> bool:
    """A sweep's folder: sweep.csv, sweep.png and runs/ of run folders, nothing else."""
    from gdplayground.store.export import is_run_folder

    def runs(folder: Path) -> bool:
        return all(run.is_dir() and is_run_folder(run) for run in folder.iterdir())
    return holds_only(folder, (CSV_NAME, PNG_NAME), {RUNS_FOLDER: runs})


def sweep_plan(args):
    """The plan the flags describe; UsageError names the flag at fault."""
    from gdplayground.labs.sweeps.plan import SweepPlan

    axes = tuple(map(_axis, args.settings))
    _flagged("--param", SweepPlan, axes)  # one setting or two, not the same twice
    return _flagged("--repeats", SweepPlan, axes, args.repeats, args.steps, args.epochs)


def _axis(setting: dict):
    """A --param's setting and the values its --values or --range (--count, --log) give."""
    from gdplayground.labs.sweeps.params import parse_bounds, sweep_param
    from gdplayground.labs.sweeps.plan import SweepAxis

    name, values, bounds = setting["param"], setting.get("values"), setting.get("bounds")
    if (values is None) == (bounds is None):
        raise UsageError(f"--param {name} takes --values V1,V2,… or --range LO:HI --count N"
                         f"{', not both' if values else ''}")
    if values is not None:
        for flag in ("--count", "--log"):
            if flag[2:] in setting:
                raise UsageError(f"{flag} goes with --range LO:HI (--values lists the values of "
                                 f"--param {name})")
    elif "count" not in setting:
        raise UsageError(f"--range needs --count N: how many values of --param {name} to take "
                         "from it")
    param = _flagged("--param", sweep_param, name)
    if values is not None:
        return SweepAxis(param, _flagged("--values", param.parse_list, values))
    log = setting.get("log", False)
    return SweepAxis(param, _flagged("--range", lambda: param.range_values(
        *parse_bounds(bounds), setting["count"], log)), log)


def _flagged(flag: str, work, *arguments):
    """work(*arguments), a SweepError in it a UsageError led by `flag` (if any)."""
    from gdplayground.labs.sweeps.params import SweepError

    try:
        return work(*arguments)
    except SweepError as exc:
        raise UsageError(f"{flag}: {exc}" if flag else str(exc)) from None


def _describe(plan, base, args) -> str:
    axes = " by ".join(f"{axis.param.name} ({axis.param.label}) over "
                       f"{', '.join(map(axis.param.text, axis.values))}" for axis in plan.axes)
    grid = f" (a grid of {' × '.join(map(str, plan.shape))} points)" if len(plan.axes) > 1 else ""
    return (f"sweep of {axes}{grid}; {plan.repeats} repeat{'s' * (plan.repeats != 1)} of each "
            f"from seed {base.seed}: {plan.runs} runs of {_run_length(plan)}, "
            f"{_where(args, plan.runs)}\nfrom {_setup_words(base, plan)}")


def _where(args, runs: int) -> str:
    """Where the runs train, in words."""
    if args.cluster is not None:
        return f"on the Dask cluster at {args.cluster}"
    from gdplayground.labs.sweeps.workers import default_workers

    workers = min(args.workers or default_workers(), runs)
    if workers == 1:
        return "one after another in a worker process (BLAS on one thread)"
    return f"{workers} at a time in worker processes (BLAS on one thread each)"


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'s' * (number != 1)}"


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
    """A bar over the sweep's runs, those training side by side counted by their steps, with
    the runs ended and the time left (on a terminal); the rows written above it."""

    def __init__(self, runs: int):
        from tqdm import tqdm

        from gdplayground.labs.sweeps.progress import SweepTally

        self.tally = SweepTally(runs)
        self.bar = tqdm(total=runs, disable=None, leave=False, dynamic_ncols=True,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def __enter__(self) -> "_ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def progress(self, index: int, step: int, steps: int) -> None:
        self.tally.stepped(index, step, steps)
        self._show()

    def finished(self, index: int) -> None:
        self.tally.finished(index)
        self._show()

    def _show(self) -> None:
        tally = self.tally
        self.bar.set_description_str(f"{tally.ended} of {tally.runs} runs", refresh=False)
        self.bar.update(tally.fraction * tally.runs - self.bar.n)

    def write(self, line: str) -> None:
        self.bar.write(line)


def _widths(plan) -> tuple[int, ...]:
    return (*(max(VALUE_WIDTH, len(param.name)) for param in plan.params), *FIGURE_WIDTHS)


def _table_row(cells, widths) -> str:
    return "  ".join(f"{cell:>{width}}" for cell, width in zip(cells, widths))


def _row(run, widths) -> str:
    """A run's row of the table: its values, repeat and figures, or why it failed."""
    cells = [*(param.text(value) for param, value in zip(run.params, run.point)), str(run.repeat)]
    if _failed(run):
        return f"{_table_row(cells, widths)}  failed: {run.reason}"

    def loss(value):
        return "-" if value is None else f"{value:.4g}"
    accuracy = "-" if run.test_accuracy is None else f"{run.test_accuracy:.2%}"
    diverged = "-" if run.diverged_at_step is None else str(run.diverged_at_step)
    return _table_row([*cells, loss(run.final_loss), loss(run.least_loss), accuracy, diverged],
                      widths)


def _failed(run) -> bool:
    from gdplayground.labs.sweeps.runs import FailedRun

    return isinstance(run, FailedRun)


def _point_text(run) -> str:
    return "-".join(param.text(value) for param, value in zip(run.params, run.point))


def run_name(run) -> str:
    """A run's folder under runs/: its values and repeat, 0.001-0 (0.01-64-0 for two settings)."""
    return f"{_point_text(run)}-{run.repeat}"


def sweep_csv(results, params) -> str:
    """A column per swept setting (named by it), then repeat, final_loss, least_loss,
    test_accuracy, diverged_at_step and failed: a row per run, in the order given; empty where
    a run has no such figure (a diverged run's final loss and accuracy), and `failed` holding
    why a run could not be trained (its figures empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(param.name for param in params), *CSV_FIGURES])
    for run in results:
        values = [value if param.categorical else repr(value)
                  for param, value in zip(run.params, run.point)]
        if _failed(run):
            writer.writerow([*values, run.repeat, "", "", "", "", run.reason])
            continue
        figures = (run.final_loss, run.least_loss, run.test_accuracy, run.diverged_at_step)
        writer.writerow([*values, run.repeat,
                         *("" if figure is None else repr(figure) for figure in figures), ""])
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

    results = sorted(results, key=lambda run: run.index)  # the plan's order, not the ends'
    write_atomic(out.file(CSV_NAME), sweep_csv(results, plan.params).encode())
    save_sweep_grid_png(results, plan, out.file(PNG_NAME), heading)
