"""A run's results as a folder of files other tools read: the folder `gdplayground train`
writes and the window's Export run… fills. A run folder is written all or nothing: its files go
into a staging folder beside it, which takes its place only once every file is written."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

from gdplayground.config import ExperimentConfig, setting_words, value_words
from gdplayground.data.table import Preparation
from gdplayground.engine import SettingChange, TrainingState
from gdplayground.engine.network import describe_network
from gdplayground.files import StagedFolder, holds_only, write_atomic
from gdplayground.store.onnx_export import onnx_available, save_onnx
from gdplayground.store.torch_export import SCRIPT_FILE, TEST_SET_FILE, hidden_words
from gdplayground.store.weights import WEIGHTS_FILE, save_weights

README_TITLE = "# gdplayground run"
DESCRIBED = {
    WEIGHTS_FILE: "weights, optimizer state, the path the run kept, configuration and summary; "
                  "`numpy.load(path, allow_pickle=False)` reads it",
    "metrics.csv": "loss, accuracy, learning rate, per-layer gradient norms, by step",
    "config.toml": "the experiment, for `gdplayground train --config` or File ▸ Open",
    "summary.json": "the figures below, as JSON",
    "model.onnx": "the network for ONNX Runtime: raw inputs in (a convolutional network's as "
                  "images, (batch, channels, height, width)), output activations out",
    SCRIPT_FILE: "the network as a standalone PyTorch script (it needs only NumPy and "
                 f"PyTorch): `python {SCRIPT_FILE}` evaluates it on `{TEST_SET_FILE}`",
    TEST_SET_FILE: f"the test set `{SCRIPT_FILE}` evaluates: raw inputs x, targets y",
    "changes.csv": "every setting changed during the run: the step after which it took effect, "
                   "the setting, its old and its new value",
    "run.json": "the window's run list: the run's name, pin and figures",
}
# The plots a run folder may hold (the window's plots() names), each as PNG and SVG.
PLOTS = {f"{name}.{suffix}" for suffix in ("png", "svg") for name in (
    "loss", "accuracy", "gradients", "weights", "decision_boundary", "path_of_x", "residual")}


RUN_KIND = "a gdplayground run"


class RunFolder(StagedFolder):
    """Where a run folder is staged: a new folder, an empty one, or an earlier run folder, which
    is replaced whole; made before training, so that a bad --out fails at once."""

    def __init__(self, target: Path):
        super().__init__(target, is_run_folder, RUN_KIND)


def is_run_folder(folder: Path) -> bool:
    """A folder written by gdplayground, holding nothing but what a run folder holds."""
    readme = folder / "README.md"
    try:
        if not readme.read_text(encoding="utf-8").startswith(README_TITLE):
            return False
    except (OSError, UnicodeDecodeError):
        return False
    return holds_only(folder, {*DESCRIBED, "README.md", *PLOTS})


def write_run(run: StagedFolder, config: ExperimentConfig, state: TrainingState, summary: dict,
              input_scale: float, *, started_with: ExperimentConfig | None = None,
              changes: tuple[SettingChange, ...] = (), onnx: bool | None = None,
              notes: list[str] = (), preparation: Preparation | None = None) -> list[str]:
    """Write weights, the settings now (config.toml) and every change of a setting since the
    run's start (changes.csv), summary and ONNX (if wanted, or available when `onnx` is None)
    beside what the caller staged (metrics, plots), then a README that lists every file and adds
    `notes`. `preparation` is a table's (Dataset.preparation): the weight file keeps it, the
    ONNX model applies it, the README shows it. Returns the names of the files. OSError if a
    write fails."""
    summary = {"network": network_words(config, state.parameters), **summary}
    save_weights(run.file(WEIGHTS_FILE), config, state, summary, preparation)
    config.save(run.file("config.toml"))
    write_atomic(run.file("changes.csv"), changes_csv(changes).encode())
    write_atomic(run.file("summary.json"), json.dumps(summary, indent=1).encode())
    if onnx or (onnx is None and onnx_available()):
        save_onnx(run.file("model.onnx"), config, state.parameters, input_scale, preparation)
    files = sorted(p.name for p in run.staging.iterdir()) + ["README.md"]
    readme = run_readme(started_with or config, summary, files, notes, changes, preparation)
    write_atomic(run.file("README.md"), readme.encode())
    return files


def network_words(config: ExperimentConfig, parameters: dict) -> str:
    """The network as Network.describe names it (conv8x5,pool,784-128-10), its dense sizes
    read from its weights: the first dense layer's inputs, then each one's outputs."""
    arch = config.architecture
    n_conv = len(arch.weighted) - len(arch.dense)
    dense = [parameters[f"layer{i}.weight"] for i in range(n_conv + 1, len(arch.weighted) + 2)]
    return describe_network(arch.features, [dense[0].shape[0], *(w.shape[1] for w in dense)])


def changes_csv(changes) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "setting", "old", "new"])
    writer.writerows([change.step, change.path, change.old, change.new] for change in changes)
    return out.getvalue()


def summarised_metrics_note(until_step: int) -> list[str]:
    """The README's note on a metrics.csv whose early steps are block summaries (the window's
    history keeps its memory bounded), if any are."""
    if not until_step:
        return []
    return [f"`metrics.csv`: steps 1 to {until_step:,} are summarised, one row per block of "
            f"steps with the block's mean, at the block's last step; later steps have a row "
            f"each. (The window keeps its memory bounded however long a run goes on; "
            f"`gdplayground train` writes every step.)"]


def run_readme(config: ExperimentConfig, summary: dict, files: list[str], notes=(),
               changes=(), preparation: Preparation | None = None) -> str:
    """The run folder's README; `config` is what the run started with, `summary` holds the
    network's description (write_run's), `changes` what changed, `preparation` a table's."""
    arch, opt, lr = config.architecture, config.optimizer, config.learning_rate
    batch = f"mini-batch of {config.batch.size}" if config.batch.mode == "mini" else f"{config.batch.mode} batch"
    metrics = "\n".join(f"| {name.replace('_', ' ')} | {_number(value)} |"
                        for name, value in summary.items()
                        if name not in ("network", "solution", "diagnoses"))
    diagnoses = "".join(f"\n- **{d['name']}** from step {d['step']:,}: {d['evidence']}"
                        for d in summary.get("diagnoses", ()))
    seen = f"\nWhat the coach saw:\n{diagnoses}\n" if diagnoses else ""
    listing = "\n".join(f"- `{name}`: {DESCRIBED.get(name, 'plot')}" for name in files
                        if name != "README.md")
    notes = "".join(f"\n{note}\n" for note in notes)
    changed = "".join(f"\n- after step {change.step:,}: {setting_words(change.path)}, "
                      f"{value_words(change.path, change.old)} → {value_words(change.path, change.new)}"
                      for change in changes)
    during = (f"\nChanged during the run (also in `changes.csv`; `config.toml` holds the settings "
              f"at the end):\n{changed}\n" if changes else "\nNo setting changed during the run.\n")
    return f"""{README_TITLE}: {config.data.name}

Written {datetime.datetime.now():%Y-%m-%d %H:%M}.

Network {summary['network']}: hidden layers {hidden_words(arch)}; output {arch.output} with {arch.loss} loss;
{arch.init} initialisation{', no bias' if not arch.bias else ''}{f', dropout {arch.dropout}' if arch.dropout else ''}.
{table_words(preparation, "model.onnx" in files)}Training: {opt.name}, learning rate {lr.value:g} ({lr.schedule}), {batch}, {config.dtype},
seed {config.seed}.
{during}
| figure | value |
|---|---|
{metrics}
{seen}
## Files

{listing}
{notes}
Go on training: `gdplayground train --weights weights.npz --epochs 1`.
Evaluate: `gdplayground evaluate weights.npz`. Open in the window: File ▸ Open weights….
"""


def table_words(preparation: Preparation | None, onnx: bool) -> str:
    """The README's paragraph on a table: its label, features and what was left out; for a
    regression, the units of the figures; the ONNX model's inputs, in order."""
    if preparation is None:
        return ""
    lines = "".join(f"- {line}\n" for line in preparation.describe())
    units = (f"\nThe network learns the label standardised, (value − {preparation.target_mean:.6g}) "
             f"/ {preparation.target_spread:.6g}: the losses in `metrics.csv` and the final train "
             "loss are mean squared errors of that; the test loss below is in the label's own "
             "units squared (its root, the RMSE, in its own units).\n"
             if preparation.classes is None else "")
    inputs = (f"\n`model.onnx` takes the raw inputs, in this order: "
              f"{', '.join(f'`{name}`' for name in preparation.input_names)} (a one-hot column "
              "is 1 for the row's value, else 0); it standardises them itself"
              f"{' and gives the label in its own units' if preparation.classes is None else ''}.\n"
              if onnx else "")
    return f"\nData, prepared on the training rows:\n\n{lines}{units}{inputs}\n"


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
