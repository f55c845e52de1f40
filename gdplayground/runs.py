"""The run list: every run kept, as a run folder in Export run's format plus `run.json` (its
name, pin and figures), under one folder (the window gives the user's data folder). The list is
bounded: the oldest unpinned runs go first. A damaged folder is skipped with a message, never a
crash, and nothing read is trusted: every field is checked. No Qt here; no pickle anywhere.

A kept run carries its curves thinned to a few thousand points (enough to overlay, a few
hundred kilobytes at most); its weights stay on disk until a restore asks for them.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdplayground.config import ConfigError, ExperimentConfig
from gdplayground.engine import TrainingState
from gdplayground.engine.history import History
from gdplayground.export import RunFolder, write_run
from gdplayground.files import atomic_path, open_regular, write_atomic

RUN_FILE = "run.json"
MAX_RUNS = 50
CURVE_POINTS = 2000  # per curve kept for overlays
MAX_RUN_FILE_BYTES = 1 << 20
MAX_METRICS_BYTES = 256 << 20
FIGURES = ("steps", "final_loss", "least_loss", "final_test_accuracy", "best_test_accuracy",
           "seconds")


@dataclass
class KeptRun:
    """One run of the list: what the table shows and the overlays draw."""

    name: str
    config: ExperimentConfig
    figures: dict  # FIGURES -> float or None
    curves: dict[str, np.ndarray]  # "step", "loss", "accuracy", "layerN_grad_norm" (smoothed)
    diverged: bool = False
    pinned: bool = False
    ended: str = ""  # ISO time the run ended
    folder: Path | None = None  # None: kept in memory only
    state: TrainingState | None = field(default=None, repr=False)  # in memory only


class RunStore:
    """The kept runs, newest last. `root` None keeps them in memory only (tests, screenshots)."""

    def __init__(self, root: Path | None, limit: int = MAX_RUNS):
        self.root, self.limit = (Path(root) if root is not None else None), limit
        self.runs: list[KeptRun] = []

    def load(self) -> list[str]:
        """Read every run folder under the root; returns one line for each skipped folder."""
        if self.root is None or not self.root.is_dir():
            return []
        problems = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if folder.name.endswith(".partial"):
                continue  # an interrupted write: never a run
            try:
                self.runs.append(read_run(folder))
            except (OSError, ValueError, ConfigError) as exc:
                problems.append(f"{folder.name}: {exc}")
        self.runs.sort(key=lambda run: run.ended)
        return problems

    def keep(self, run: KeptRun, history: History, snapshot) -> list[KeptRun]:
        """Add a run (written to its folder, with its metrics and weights); returns the runs the
        bound pushed out. OSError if the folder cannot be written: the run is then not kept."""
        if self.root is not None:
            run.folder = self._new_folder(run)
            write_run_folder(run, history, snapshot)
        else:
            run.state = snapshot.state
        self.runs.append(run)
        return self._trim()

    def rename(self, run: KeptRun, name: str) -> None:
        run.name = name.strip() or run.name
        self._save_record(run)

    def pin(self, run: KeptRun, pinned: bool) -> None:
        run.pinned = pinned
        self._save_record(run)

    def delete(self, run: KeptRun) -> None:
        self.runs.remove(run)
        if run.folder is not None:
            shutil.rmtree(run.folder, ignore_errors=True)

    def _trim(self) -> list[KeptRun]:
        removed = []
        while len(self.runs) > self.limit:
            oldest = next((run for run in self.runs if not run.pinned), None)
            if oldest is None:
                break  # everything pinned: the user asked to keep them all
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


# --- a run's figures and curves ----------------------------------------------------------------
def figures_of(history: History, steps: int, seconds: float,
               test: tuple[float, float | None] | None) -> dict:
    """The table's figures for a run: final and least (smoothed) loss, test accuracy at the end
    (measured once) and at best (the test points measured along the way, if any)."""
    loss = history.column("smoothed_loss") if len(history) else np.empty(0)
    finite = loss[np.isfinite(loss)]
    measured = history.column("test_accuracy") if len(history) else np.empty(0)
    measured = measured[np.isfinite(measured)]
    final_test = float(test[1]) if test and test[1] is not None else None
    best = max([*measured.tolist(), *([final_test] if final_test is not None else [])], default=None)
    return {"steps": steps, "final_loss": float(finite[-1]) if len(finite) else None,
            "least_loss": float(finite.min()) if len(finite) else None,
            "final_test_accuracy": final_test, "best_test_accuracy": best, "seconds": seconds}


def curves_of(history: History) -> dict[str, np.ndarray]:
    """The smoothed curves an overlay draws, thinned to CURVE_POINTS."""
    if not len(history):
        return {"step": np.empty(0)}
    names = ["step", *(f"smoothed_{name}" for name in history.smoothed)]
    steps = history.column("step")
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), CURVE_POINTS)).astype(int))
    return {name.removeprefix("smoothed_"): history.column(name)[keep] for name in names}


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
    layers = "-".join(str(layer.units) for layer in config.architecture.hidden) or "linear"
    return f"{rule}, lr {rate}, {layers}"


# --- the folder --------------------------------------------------------------------------------
def write_run_folder(run: KeptRun, history: History, snapshot) -> None:
    """Export run's folder, with run.json beside it."""
    with RunFolder(run.folder) as staged:
        with atomic_path(staged.file("metrics.csv")) as tmp, open(tmp, "w", newline="") as f:
            history.write_csv(f, until_step=snapshot.state.step)
        write_atomic(staged.file(RUN_FILE), json.dumps(record_of(run), indent=1).encode())
        summary = {"name": run.name, "diverged": run.diverged,
                   **{k: v for k, v in run.figures.items() if v is not None}}
        write_run(staged, snapshot.config, snapshot.state, summary, snapshot.input_scale,
                  started_with=snapshot.started_with, changes=snapshot.changes, onnx=False)


def record_of(run: KeptRun) -> dict:
    return {"name": run.name, "pinned": run.pinned, "ended": run.ended, "diverged": run.diverged,
            "figures": run.figures}


def read_run(folder: Path) -> KeptRun:
    """A kept run from its folder; ValueError (or OSError, ConfigError) saying what is wrong."""
    record = _read_record(folder / RUN_FILE)
    config = ExperimentConfig.load(folder / "config.toml")
    history = read_metrics(folder / "metrics.csv", len(config.architecture.hidden) + 1)
    return KeptRun(name=record["name"], config=config, figures=record["figures"],
                   curves=curves_of(history), diverged=record["diverged"],
                   pinned=record["pinned"], ended=record["ended"], folder=folder)


def _read_record(path: Path) -> dict:
    with open_regular(path, MAX_RUN_FILE_BYTES) as file:
        try:
            record = json.loads(file.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{RUN_FILE} is not JSON ({exc})") from None
    kinds = {"name": str, "pinned": bool, "ended": str, "diverged": bool, "figures": dict}
    if not isinstance(record, dict) or any(not isinstance(record.get(k), t) for k, t in kinds.items()):
        raise ValueError(f"{RUN_FILE} lacks one of {', '.join(kinds)}, or one has the wrong type")
    figures = record["figures"]
    for name in FIGURES:
        value = figures.get(name)
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(f"{RUN_FILE}: figure {name} is not a finite number")
    datetime.datetime.fromisoformat(record["ended"])  # ValueError if it is no time
    record["figures"] = {name: figures.get(name) for name in FIGURES}
    record["name"] = record["name"][:200]
    return record


def read_metrics(path: Path, n_layers: int) -> History:
    """metrics.csv back into a History (smoothed anew); ValueError on a header or value that
    does not fit."""
    history = History(n_layers)
    with open_regular(path, MAX_METRICS_BYTES) as file:
        text = file.read().decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    if next(reader, None) != history.measured:
        raise ValueError("metrics.csv has other columns than this run's network gives")
    try:
        rows = np.array([[float(v) if v else np.nan for v in row] for row in reader], dtype=float)
    except ValueError:
        raise ValueError("metrics.csv holds a value that is not a number") from None
    if rows.size and (rows.ndim != 2 or rows.shape[1] != len(history.measured)):
        raise ValueError("metrics.csv has rows of the wrong length")
    if rows.size:
        history.add((), rows)
    return history


def now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")
