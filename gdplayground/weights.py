"""Weight files: a run's trained weights as a self-describing .npz that numpy.load reads with
allow_pickle=False, and that gdplayground reopens to evaluate or to go on training.

Inside: one array per parameter (layer1.weight, layer1.bias, …), the optimizer's memory over
all of them as one flat array (optimizer/all/m, …) and the data order (data/order), so
training resumes exactly;
and four text arrays: config (the experiment, TOML), summary (steps, epochs, final metrics,
JSON), state (counters and random-generator states, JSON) and integrity (a SHA-256 of all
the rest, so an edited file is refused rather than half-trusted).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdplayground.config import ConfigError, ExperimentConfig
from gdplayground.engine import TrainingState
from gdplayground.files import atomic_writer

FORMAT = "gdplayground-weights/1"
TEXT_ARRAYS = ("config", "summary", "state", "integrity")


class WeightFileError(ValueError):
    """A weight file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class WeightFile:
    config: ExperimentConfig
    state: TrainingState
    summary: dict


def save_weights(path: Path, config: ExperimentConfig, state: TrainingState, summary: dict) -> None:
    arrays = dict(state.parameters)
    counters = {}
    for name, memory in state.optimizer.items():
        counters[name] = {key: value for key, value in memory.items() if not isinstance(value, np.ndarray)}
        arrays.update({f"optimizer/{name}/{key}": value for key, value in memory.items()
                       if isinstance(value, np.ndarray)})
    arrays["data/order"] = state.order
    meta = {"format": FORMAT, "step": state.step, "epochs": state.epochs,
            "samples_seen": state.samples_seen, "position": state.position,
            "shuffle_rng": state.shuffle_rng, "dropout_rng": state.dropout_rng,
            "optimizer_counters": counters}
    arrays["config"] = np.array(config.to_toml())
    arrays["summary"] = np.array(json.dumps(summary, indent=1))
    arrays["state"] = np.array(json.dumps(meta))
    arrays["integrity"] = np.array(_digest(arrays))
    with atomic_writer(Path(path)) as f:
        np.savez(f, **arrays)


def load_weights(path: Path) -> WeightFile:
    """Read and check a weight file; WeightFileError names what is wrong with it."""
    path = Path(path)
    arrays = _read_arrays(path)
    for name in TEXT_ARRAYS:
        if name not in arrays:
            raise WeightFileError(f"{path}: missing array '{name}': not a gdplayground weight file")
        if arrays[name].dtype.kind != "U" or arrays[name].ndim != 0:
            raise WeightFileError(f"{path}: '{name}' should be text, not {arrays[name].dtype}")
    try:
        config = ExperimentConfig.from_toml(str(arrays["config"]), "its configuration")
        meta, summary = json.loads(str(arrays["state"])), json.loads(str(arrays["summary"]))
    except (ConfigError, json.JSONDecodeError) as exc:
        raise WeightFileError(f"{path}: {exc}") from None
    if meta.get("format") != FORMAT:
        raise WeightFileError(f"{path}: format '{meta.get('format')}' is not {FORMAT}")
    parameters = _checked_parameters(path, arrays, config)
    if _digest({k: v for k, v in arrays.items() if k != "integrity"}) != str(arrays["integrity"]):
        raise WeightFileError(f"{path}: the file was altered after it was written "
                              "(its contents do not match its integrity checksum)")
    state = TrainingState(
        step=meta["step"], epochs=meta["epochs"], samples_seen=meta["samples_seen"],
        parameters=parameters, optimizer=_optimizer_memory(arrays, meta["optimizer_counters"]),
        order=arrays.get("data/order", np.arange(0)).astype(np.int64), position=meta["position"],
        shuffle_rng=meta["shuffle_rng"], dropout_rng=meta["dropout_rng"])
    return WeightFile(config, state, summary)


def expected_shapes(config: ExperimentConfig, n_inputs: int, n_outputs: int) -> dict[str, tuple]:
    """Parameter name -> shape, for a configuration's network on data of this size."""
    sizes = [n_inputs, *(layer.units for layer in config.architecture.hidden), n_outputs]
    shapes = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"layer{i}.weight"] = (n_in, n_out)
        if config.architecture.bias:
            shapes[f"layer{i}.bias"] = (n_out,)
    return shapes


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as handle:  # ours to close, whatever numpy makes of the contents
            return _arrays_in(handle, path)
    except OSError as exc:
        raise WeightFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _arrays_in(handle, path: Path) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(handle, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise WeightFileError(f"{path}: not a .npz weight file ({exc})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise WeightFileError(f"{path}: a single .npy array, not a .npz weight file")
    try:
        with loaded:
            return {name: _array(loaded, name, path) for name in loaded.files}
    except (zipfile.BadZipFile, EOFError) as exc:
        raise WeightFileError(f"{path}: damaged .npz archive ({exc})") from None


def _array(npz, name: str, path: Path) -> np.ndarray:
    try:
        return npz[name]
    except ValueError:  # numpy refuses object arrays without pickle
        raise WeightFileError(f"{path}: array '{name}' holds Python objects, which would need "
                              "pickle to read; gdplayground never unpickles a file") from None


def _checked_parameters(path: Path, arrays: dict, config: ExperimentConfig) -> dict[str, np.ndarray]:
    first = arrays.get("layer1.weight")
    last = arrays.get(f"layer{len(config.architecture.hidden) + 1}.weight")
    if first is None or last is None or first.ndim != 2 or last.ndim != 2:
        missing = "layer1.weight" if first is None or first.ndim != 2 else \
            f"layer{len(config.architecture.hidden) + 1}.weight"
        raise WeightFileError(f"{path}: missing or malformed array {missing}")
    shapes = expected_shapes(config, first.shape[0], last.shape[1])
    parameters = {}
    for name, shape in shapes.items():
        array = arrays.get(name)
        if array is None:
            raise WeightFileError(f"{path}: missing array {name}")
        if array.dtype != np.dtype(config.dtype):
            raise WeightFileError(f"{path}: {name} has dtype {array.dtype}; the configuration "
                                  f"says {config.dtype}")
        if array.shape != shape:
            raise WeightFileError(f"{path}: {name} has shape {array.shape}, but its configuration "
                                  f"makes it {shape}")
        if not np.isfinite(array).all():
            raise WeightFileError(f"{path}: {name} holds NaN or infinite values")
        parameters[name] = array
    extra = sorted(n for n in arrays if n.startswith("layer") and n not in shapes)
    if extra:
        raise WeightFileError(f"{path}: array {extra[0]} is not part of its configuration's network")
    return parameters


def _optimizer_memory(arrays: dict, counters: dict) -> dict[str, dict]:
    memory = {name: dict(values) for name, values in counters.items()}
    for key, value in arrays.items():
        if key.startswith("optimizer/"):
            _, name, slot = key.split("/")
            memory.setdefault(name, {})[slot] = value
    return memory


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
