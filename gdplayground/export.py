"""A run's results as a folder of files other tools read: the folder `gdplayground train`
writes and the window's Export run… fills. Everything is written atomically."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Callable

from gdplayground.config import ExperimentConfig
from gdplayground.engine import TrainingState
from gdplayground.engine.history import History
from gdplayground.files import write_atomic
from gdplayground.onnx_export import onnx_available, save_onnx
from gdplayground.weights import save_weights


def write_run(folder: Path, config: ExperimentConfig, state: TrainingState, history: History,
              summary: dict, input_scale: float, *, onnx: bool | None = None,
              extra: Callable[[Path], list[str]] | None = None) -> list[str]:
    """Write weights, metrics, configuration, summary, ONNX (if wanted, or available when
    `onnx` is None) and whatever `extra` writes (the window's plots) into `folder`, then a
    README that lists them. Returns the names written. OSError if the folder is unwritable."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(folder / "weights.npz", config, state, summary)
    write_atomic(folder / "metrics.csv", history.to_csv(until_step=state.step).encode())
    config.save(folder / "config.toml")
    write_atomic(folder / "summary.json", json.dumps(summary, indent=1).encode())
    written = ["weights.npz", "metrics.csv", "config.toml", "summary.json"]
    if onnx or (onnx is None and onnx_available()):
        save_onnx(folder / "model.onnx", config, state.parameters, input_scale)
        written.append("model.onnx")
    if extra:
        written += extra(folder)
    write_atomic(folder / "README.md", run_readme(config, summary, written).encode())
    return written + ["README.md"]


def run_readme(config: ExperimentConfig, summary: dict, files: list[str]) -> str:
    arch, opt, lr = config.architecture, config.optimizer, config.learning_rate
    layers = ", ".join(f"{layer.units} {layer.activation}" for layer in arch.hidden) or "none"
    batch = f"mini-batch of {config.batch.size}" if config.batch.mode == "mini" else f"{config.batch.mode} batch"
    metrics = "\n".join(f"| {name.replace('_', ' ')} | {_number(value)} |"
                        for name, value in summary.items() if name not in ("solution",))
    described = {
        "weights.npz": "weights, optimizer state, configuration and summary; "
                       "`numpy.load(path, allow_pickle=False)` reads it",
        "metrics.csv": "one row per step: loss, accuracy, learning rate, per-layer gradient norms",
        "config.toml": "the experiment, for `gdplayground train --config` or File ▸ Open",
        "summary.json": "the figures below, as JSON",
        "model.onnx": "the network for ONNX Runtime: raw inputs in, output activations out",
    }
    listing = "\n".join(f"- `{name}`: {described.get(name, 'plot')}" for name in files)
    return f"""# gdplayground run: {config.data.name}

Written {datetime.datetime.now():%Y-%m-%d %H:%M}.

Network: hidden layers {layers}; output {arch.output} with {arch.loss} loss;
{arch.init} initialisation{', no bias' if not arch.bias else ''}{f', dropout {arch.dropout}' if arch.dropout else ''}.
Training: {opt.name}, learning rate {lr.value:g} ({lr.schedule}), {batch}, {config.dtype},
seed {config.seed}.

| figure | value |
|---|---|
{metrics}

## Files

{listing}

Go on training: `gdplayground train --weights weights.npz --epochs 1`.
Evaluate: `gdplayground evaluate weights.npz`. Open in the window: File ▸ Open weights….
"""


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
