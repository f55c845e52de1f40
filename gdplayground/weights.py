"""Trained weights as a self-describing .npz: one array per parameter (layer1.weight, …) plus
the experiment configuration (TOML) and a training summary (JSON) as text arrays, so the file
loads with numpy.load(path, allow_pickle=False) and says how it was made."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gdplayground.engine import Trainer
from gdplayground.files import atomic_writer


def save_weights(path: Path, trainer: Trainer, summary: dict) -> None:
    arrays = {name: param for name, param, _ in trainer.network.parameters()}
    arrays["config"] = np.array(trainer.config.to_toml())
    arrays["summary"] = np.array(json.dumps(summary, indent=1))
    with atomic_writer(Path(path)) as f:
        np.savez(f, **arrays)
