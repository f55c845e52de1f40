"""The run list: every run kept, as a run folder in Export run's format plus `run.json` (its
name, pin and figures), under one folder (the window gives the user's data folder). The list is
bounded: the oldest unpinned runs go first. A damaged folder is skipped with one line saying
why, whatever is wrong with it, never a crash: nothing read is trusted, every field's type and
range is checked, and no file is read beyond what the window writes. No Qt here; no pickle.

A kept run carries its whole curves thinned to a few thousand points (enough to overlay, a few
hundred kilobytes at most); its weights stay on disk until a restore asks for them.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdplayground.config import ExperimentConfig
from gdplayground.layer_grammar import layer_words
from gdplayground.engine import TrainingState
from gdplayground.engine.history import (
    BASE_COLUMNS, MAX_BLOCKS, RECENT_ROWS, SHARPNESS, History)
from gdplayground.files import atomic_path, open_regular, write_atomic
from gdplayground.store.export import RunFolder, summarised_metrics_note, write_run

RUN_FILE = "run.json"
MAX_RUNS = 50
CURVE_BINS = 1000  # of the steps, each kept as its least and greatest value, for overlays
MAX_NAME = 200  # characters of a run's name
MAX_RUN_FILE_BYTES = 1 << 20
MAX_METRICS_ROWS = 2 * (RECENT_ROWS + MAX_BLOCKS)  # the most a window's history writes
MAX_CELL_BYTES = 25  # the longest number History.write_csv writes (-2.2250738585072014e-308),
# and its comma
MAX_LINE = 300  # characters of a skipped run's line
FINITE = (-sys.float_info.max, sys.float_info.max)
# Each figure and the range it lies in (or it is None); steps are whole numbers.
FIGURES = {"steps": (0, 2**63 - 1), "final_loss": FINITE, "least_loss": FINITE,
           "final_test_accuracy": (0, 1), "best_test_accuracy": (0, 1),
           "seconds": (0, FINITE[1])}
ACCURACIES = ("accuracy", "val_accuracy", "test_accuracy")  # metrics.csv columns from 0 to 1


@dataclass(eq=False)  # a run is itself, not its values: its curves are arrays, which == cannot judge
class KeptRun:
    """One run of the list: what the table shows and the overlays draw."""

    name: str
    config: ExperimentConfig
    figures: dict  # FIGURES -> float or None
    curves: dict[str, np.ndarray]  # "step", "loss", "accuracy", "layerN_grad_norm" (curves_of)
    diverged: bool = False
    pinned: bool = False
    ended: str = ""  # ISO time the run ended
    folder: Path | None = None  # None: kept in memory only
    state: TrainingState | None = field(default=None, repr=False)  # in memory only
    colour: int = 0  # its colour's number, for as long as the window is open


class RunStore:
    """The kept runs, newest last. `root` None keeps them in memory only (tests, screenshots)."""

    def __init__(self, root: Path | None, limit: int = MAX_RUNS):
        self.root, self.limit = (Path(root) if root is not None else None), limit
        self.runs: list[KeptRun] = []
        self._colours = itertools.count()  # each run keeps its colour while others come and go

    def load(self) -> list[str]:
        """Read every run folder under the root; returns one line for each skipped folder."""
        if self.root is None or not self.root.is_dir():
            return []
        problems = []
        try:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        except OSError as exc:
            return [one_line(f"{self.root}: {reason(exc)}")]
        for folder in folders:
            if folder.name.endswith(".partial"):
                continue  # an interrupted write: never a run
            try:
                self.runs.append(read_run(folder))
            except Exception as exc:  # noqa: BLE001 - a damaged folder, whatever is wrong with
                problems.append(one_line(f"{folder.name}: {reason(exc)}"))  # it, is skipped
        self.runs.sort(key=lambda run: run.ended)
        for run in self.runs:
            run.colour = next(self._colours)
        return problems

    @property
    def over_limit(self) -> bool:
        """More runs than the bound: every run but the newest is pinned."""
        return len(self.runs) > self.limit

    def keep(self, run: KeptRun, history: History, snapshot) -> list[KeptRun]:
        """Add a run (written to its folder, with its metrics and weights); returns the runs the
        bound pushed out (never this one). OSError if the folder cannot be written: the run is
        then not kept."""
        run.name, run.colour = run_name(run.name), next(self._colours)
        if self.root is not None:
            run.folder = self._new_folder(run)
            write_run_folder(run, history, snapshot)
        else:
            run.state = snapshot.state
        self.runs.append(run)
        return self._trim(run)

    def rename(self, run: KeptRun, name: str) -> None:
        """A name with nothing printable in it leaves the old one."""
        try:
            run.name = run_name(name)
        except ValueError:
            return
        self._save_record(run)

    def pin(self, run: KeptRun, pinned: bool) -> None:
        run.pinned = pinned
        self._save_record(run)

    def delete(self, run: KeptRun) -> None:
        self.runs.remove(run)
        if run.folder is not None:
            shutil.rmtree(run.folder, ignore_errors=True)

    def _trim(self, kept: KeptRun) -> list[KeptRun]:
        removed = []
        while self.over_limit:
            oldest = next((run for run in self.runs if not run.pinned and run is not kept), None)
            if oldest is None:
                break  # the others are pinned: the user asked to keep them all
            self.delete(oldest)
            removed.append(oldest)
        return removed

    def _new_folder(self, run: KeptRun) -> Path:
        stamp = run.ended.replace(":", "").replace("-", "")[:15]
        for n in range(1000):
            folder = self.root / f"{stamp}-{n:03d}"
            if not folder.exists():
                return folder
        raise OSError(f"no free run folder name under {self.root}")

    def _save_record(self, run: KeptRun) -> None:
        if run.folder is not None:
            write_atomic(run.folder / RUN_FILE, json.dumps(record_of(run), indent=1).encode())


def run_name(text: str) -> str:
    """A run's name as the list keeps it, renamed, kept or read back: what is not printable (a
    control character, which XML cannot hold: SVG plots and Export run broke on it) becomes a
    space, white space one space, at most MAX_NAME characters. ValueError if nothing is left."""
    name = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if not name:
        raise ValueError("the name is empty")
    return name[:MAX_NAME].rstrip()


def one_line(text: str) -> str:
    """`text` on one line of at most MAX_LINE characters: what is not printable (a newline in a
    folder's name) written as its escape."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return shown if len(shown) <= MAX_LINE else shown[:MAX_LINE - 1] + "…"


def reason(exc: Exception) -> str:
    """Why a file or folder could not be read, in words."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, (ValueError, OSError)):  # ConfigError too
        return str(exc)
    return f"it could not be read ({type(exc).__name__}{f': {exc}' if str(exc) else ''})"


# --- a run's figures and curves ----------------------------------------------------------------
def exact_loss(config: ExperimentConfig) -> bool:
    """Full-batch training measures the training loss exactly at every step, and the Training
    tab draws it as it is; a mini-batch loss is noisy, and its moving average stands for it."""
    return config.batch.mode == "full"


def figures_of(history: History, config: ExperimentConfig, steps: int, seconds: float,
               test: tuple[float, float | None] | None) -> dict:
    """The table's figures for a run: final and least training loss over the whole run (exact
    in full-batch training, else the moving average: exact_loss), test accuracy at the end
    (measured once) and at best (the test points measured along the way, if any)."""
    loss = "loss" if exact_loss(config) else "smoothed_loss"
    losses = history.series(loss)[1]
    losses = losses[np.isfinite(losses)]
    measured = history.series("test_accuracy")[1]
    measured = measured[np.isfinite(measured)]
    final_test = float(test[1]) if test and test[1] is not None else None
    best = max([*measured.tolist(), *([final_test] if final_test is not None else [])], default=None)
    return {"steps": steps, "final_loss": history.last(loss),
            "least_loss": float(losses.min()) if len(losses) else None,
            "final_test_accuracy": final_test, "best_test_accuracy": best, "seconds": seconds}


def curves_of(history: History, config: ExperimentConfig) -> dict[str, np.ndarray]:
    """The curves an overlay draws, over the whole run, as the Training tab draws a live run's
    (the loss and gradients as measured where that is exact, else their moving averages;
    accuracy always averaged): in at most CURVE_BINS spans of steps, each span's least and
    greatest value at its first step, then the last step as it is."""
    exact = exact_loss(config)
    columns = {name: name if exact and name != "accuracy" else f"smoothed_{name}"
               for name in history.smoothed}
    steps = history.series("step")[0]
    if len(steps) <= CURVE_BINS:
        return {"step": steps, **{name: history.series(c)[1] for name, c in columns.items()}}
    bins = (steps - steps[0]) * CURVE_BINS // (steps[-1] - steps[0] + 1)
    starts = np.flatnonzero(np.r_[True, np.diff(bins) > 0])
    curves = {"step": np.r_[np.repeat(steps[starts], 2), steps[-1]]}
    for name, column in columns.items():
        values = history.series(column)[1]
        curves[name] = np.r_[np.column_stack([np.fmin.reduceat(values, starts),
                                              np.fmax.reduceat(values, starts)]).ravel(),
                             values[-1]]
    return curves


def default_name(config: ExperimentConfig, changes=()) -> str:
    """What usually sets a run apart: the rule, the rate, the network; a rule or rate changed
    during the run from what it started with ("lr 0.01→50")."""
    started = {}  # the value each setting changed during the run had at its first step
    for change in changes:  # SettingChange(step, path, old, new), in order
        if change.step > 0:  # a change before the first step is the run's own setting
            started.setdefault(change.path, change.old)
    rule, rate = config.optimizer.name, f"{config.learning_rate.value:.3g}"
    if started.get("optimizer.name", rule) != rule:
        rule = f"{started['optimizer.name']}→{rule}"
    if "learning_rate.value" in started and f"{started['learning_rate.value']:.3g}" != rate:
        rate = f"{started['learning_rate.value']:.3g}→{rate}"
    layers = "-".join(map(layer_words, config.architecture.hidden)) or "linear"
    return f"{rule}, lr {rate}, {layers}"


# --- the folder --------------------------------------------------------------------------------
def write_run_folder(run: KeptRun, history: History, snapshot) -> None:
    """Export run's folder, with run.json beside it."""
    with RunFolder(run.folder) as staged:
        with atomic_path(staged.file("metrics.csv")) as tmp, open(tmp, "w", newline="") as f:
            history.write_csv(f, until_step=snapshot.state.step)
        write_atomic(staged.file(RUN_FILE), json.dumps(record_of(run), indent=1).encode())
        write_run(staged, snapshot.config, snapshot.state, summary_of(run),
                  snapshot.input_scale, started_with=snapshot.started_with,
                  changes=snapshot.changes, onnx=False, preparation=snapshot.preparation,
                  notes=[*summarised_metrics_note(history.summarised_until),
                         *figure_notes(run.config)])


def summary_of(run: KeptRun) -> dict:
    """summary.json: the run's figures, each named for what it is. Not its name, which lives in
    run.json alone, where a rename reaches it."""
    loss = "loss" if exact_loss(run.config) else "smoothed_loss"
    names = {"steps": "steps", "final_loss": f"final_{loss}", "least_loss": f"least_{loss}",
             "final_test_accuracy": "test_accuracy_at_end",
             "best_test_accuracy": "best_test_accuracy_measured", "seconds": "seconds"}
    figures = {names[key]: value for key, value in run.figures.items() if value is not None}
    return {"diverged": run.diverged, **figures}


def figure_notes(config: ExperimentConfig) -> list[str]:
    """The README's words on what the figures are."""
    loss = ("the training loss as measured at each step: exact in full-batch training"
            if exact_loss(config) else "the moving average of the batch losses (the Training "
            "tab's smoothed curve): a mini-batch's own loss is noisy")
    return [f"Figures: the final and least loss are {loss}. The test accuracy at the end is "
            f"measured once, on the whole test set, with the final weights; the best measured "
            f"is the highest of it and the checks along the way (a small test set is measured "
            f"a few times a second while training), so a run can pass its best before it ends. "
            f"The run's name in the window's run list is in `{RUN_FILE}`."]


def record_of(run: KeptRun) -> dict:
    return {"name": run.name, "pinned": run.pinned, "ended": run.ended, "diverged": run.diverged,
            "figures": run.figures}


def read_run(folder: Path) -> KeptRun:
    """A kept run from its folder; ValueError (or OSError, ConfigError) saying what is wrong."""
    record = _read_record(folder / RUN_FILE)
    config = ExperimentConfig.load(folder / "config.toml")
    history = read_metrics(folder / "metrics.csv", len(config.architecture.weighted) + 1)
    return KeptRun(name=record["name"], config=config, figures=record["figures"],
                   curves=curves_of(history, config), diverged=record["diverged"],
                   pinned=record["pinned"], ended=record["ended"], folder=folder)


def _read_text(path: Path, limit: int) -> str:
    """A file's text; ValueError naming the file if it cannot be read (missing, not a regular
    file, larger than `limit` bytes, not UTF-8)."""
    try:
        with open_regular(path, limit) as file:
            return file.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: {reason(exc)}") from None


def _read_record(path: Path) -> dict:
    text = _read_text(path, MAX_RUN_FILE_BYTES)
    try:
        record = json.loads(text)
    except RecursionError:
        raise ValueError(f"{RUN_FILE} is nested too deeply to be a run's record") from None
    except ValueError as exc:  # not JSON, or a number of too many digits
        raise ValueError(f"{RUN_FILE} is not JSON ({exc})") from None
    kinds = {"name": str, "pinned": bool, "ended": str, "diverged": bool, "figures": dict}
    if not isinstance(record, dict) or any(not isinstance(record.get(k), t) for k, t in kinds.items()):
        raise ValueError(f"{RUN_FILE} lacks one of {', '.join(kinds)}, or one has the wrong type")
    try:
        datetime.datetime.fromisoformat(record["ended"])
    except ValueError:
        raise ValueError(f"{RUN_FILE}: ended is not a time") from None
    record["figures"] = {name: _figure(name, record["figures"].get(name)) for name in FIGURES}
    record["name"] = run_name(record["name"])
    return record


def _figure(name: str, value) -> float | int | None:
    """A figure of run.json, checked: ValueError unless a number of its range (or None)."""
    if value is None:
        return None
    whole = name == "steps"
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        raise ValueError(f"{RUN_FILE}: figure {name} is not a {'whole ' * whole}number")
    low, high = FIGURES[name]
    if not low <= value <= high:  # NaN neither; nor 10**400, which no float holds
        raise ValueError(f"{RUN_FILE}: figure {name} is out of its range")
    return value if whole else float(value)


def read_metrics(path: Path, n_layers: int) -> History:
    """metrics.csv back into a History (smoothed anew); ValueError on a header, row or value
    that does not fit, or more rows than the window writes."""
    widest = len(BASE_COLUMNS) + 3 * n_layers + 1  # a run that measured λ_max: its column last
    text = _read_text(path, (MAX_METRICS_ROWS + 1) * widest * MAX_CELL_BYTES)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        history = History(n_layers, sharpness=bool(header) and header[-1] == SHARPNESS)
        width = len(history.measured)
        if header != history.measured:
            raise ValueError("metrics.csv has other columns than this run's network gives")
        rows = list(itertools.islice(reader, MAX_METRICS_ROWS + 1))
    except csv.Error as exc:
        raise ValueError(f"metrics.csv is not CSV ({exc})") from None
    if len(rows) > MAX_METRICS_ROWS:
        raise ValueError(f"metrics.csv has more than the {MAX_METRICS_ROWS:,} rows the window "
                         f"writes")
    if any(len(row) != width for row in rows):
        raise ValueError("metrics.csv has rows of the wrong length")
    try:
        values = np.array([[float(v) if v else np.nan for v in row] for row in rows],
                          dtype=float).reshape(-1, width)
    except ValueError:
        raise ValueError("metrics.csv holds a value that is not a number") from None
    _check_metrics(values, history.measured)
    if len(values):
        history.add((), values)
    return history


def _check_metrics(values: np.ndarray, columns: list[str]) -> None:
    """ValueError unless the steps rise, whole and finite, accuracies lie from 0 to 1 and what
    cannot be negative (epochs, the rate, norms) is not: where a value was measured."""
    steps = values[:, 0]
    if not (np.isfinite(steps).all() and (steps >= 0).all() and (steps == np.round(steps)).all()
            and (np.diff(steps) > 0).all()):
        raise ValueError("metrics.csv: its steps are not whole numbers that rise")
    for i, name in enumerate(columns):
        column = values[:, i]
        measured = column[~np.isnan(column)]
        if name in ACCURACIES and not ((measured >= 0) & (measured <= 1)).all():
            raise ValueError(f"metrics.csv: {name} is not from 0 to 1")
        if (name == "epoch" or name == "learning_rate" or name.endswith("norm")) and \
                (measured < 0).any():
            raise ValueError(f"metrics.csv: {name} is negative")


def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")
