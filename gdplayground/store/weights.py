"""Weight files: a run's trained weights as a self-describing .npz that numpy.load reads with
allow_pickle=False, and that gdplayground reopens to evaluate or to go on training.

Inside: one array per parameter (layer1.weight, layer1.bias, …, over the layers with weights
as the Network numbers them: a convolution's weight (filters, channels, k, k), a dense layer's
(inputs, outputs); a pool has none), the optimizer's memory over
all of them as one flat array (optimizer/all/m, …) and the data order (data/order), so
training resumes exactly; the path the run kept (engine/path.py), when it has one: path/steps
(k,) int64, path/weights (k, n_parameters) in the run's dtype, rows laid out as Network.flat, and
path/rates (k,) float64, all three or none;
and four text arrays: config (the experiment, TOML), summary (steps, epochs, final metrics,
the coach's diagnoses, JSON), state (counters and random-generator states, JSON) and integrity (a SHA-256 of all
the rest, so an edited file is refused rather than half-trusted); a network trained on a table
has a fifth, preparation (data/table.py's Preparation, JSON: its columns, categories, classes,
means and spreads), so that whatever reads raw rows later prepares them as training did.

The checksum is no signature: anyone can recompute it. So loading trusts nothing in the file:
every array's header is checked against the file's own configuration before its data is read
(npz.py reads the archive), then every value and every field of the state and summary.

A file keeps at most STORED_PATH_BYTES (16 MB) of the path, thinned evenly (KeptPath.stored:
every m-th point from the first, so a run reopened from it goes on at that spacing), and none
of a network larger than that (reopened, its run keeps its initial weights, from its seed). In memory a path may take 96 MB (engine/path.py): the default MNIST
run (784-256-128-10 in float32, 0.94 MB a point) keeps 106 points after its first epoch (422
steps), and its weight file would take 103.0 MB with them all, 3.3 MB without. The run list
writes such a file for every run it keeps, and compressing float noise saves little; so a
file holds 14 to 17 points of that run (its initial weights and, after one epoch, every 28th
step: 16 points, an 18.3 MB file), and every point of the toy sets' networks (128 points of a
2-64-64-1 network take 2.3 MB in float32).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from gdplayground.config import ConfigError, ExperimentConfig, shown
from gdplayground.data.table import Preparation
from gdplayground.engine import TrainingState
from gdplayground.engine.network import parameter_shapes
from gdplayground.engine.path import PATH_POINTS, KeptPath
from gdplayground.engine.trainer import OPTIMIZER_STATE
from gdplayground.files import atomic_writer, open_regular
from gdplayground.store.npz import NotAnArchive, NpzArchive, NpzError

FORMAT = "gdplayground-weights/1"
WEIGHTS_FILE = "weights.npz"  # a run folder's (and a PyTorch export's) weight file
TEXT_ARRAYS = ("config", "summary", "state", "integrity")
PREPARATION = "preparation"  # a table's, and only a table's
ORDER = "data/order"
PATH_ARRAYS = STEPS, WEIGHTS, RATES = "path/steps", "path/weights", "path/rates"
# the arrays each rule of engine/optimizers.py keeps, from its first step on
OPTIMIZER_SLOTS = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",),
                   "adagrad": ("sum_sq",), "rmsprop": ("mean_sq",), "adam": ("m", "v")}
SQUARES = ("v", "sum_sq", "mean_sq")  # slots that add up squares, so never negative
STATE_FIELDS = ("format", "step", "epochs", "samples_seen", "position", "shuffle_rng",
                "dropout_rng", "optimizer_counters")
RNG_FIELDS = ("bit_generator", "state", "has_uint32", "uinteger")  # bit_generator.state's
MAX_COUNT = 2**63 - 1  # steps and samples seen: what an int64 holds
PCG64_MAX = 2**128 - 1  # PCG64's state and increment are 128-bit
UINT32_MAX = 2**32 - 1
DIGEST = re.compile("[0-9a-f]{64}")


class WeightFileError(ValueError):
    """A weight file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class WeightFile:
    config: ExperimentConfig
    state: TrainingState
    summary: dict
    preparation: Preparation | None = None  # how a table's raw rows became the network's inputs


def save_weights(path: Path, config: ExperimentConfig, state: TrainingState, summary: dict,
                 preparation: Preparation | None = None) -> None:
    """Write a weight file; `preparation` is a table's (the file of a table's network holds it)."""
    arrays = dict(state.parameters)
    counters = {}
    for name, memory in state.optimizer.items():
        counters[name] = {key: value for key, value in memory.items() if not isinstance(value, np.ndarray)}
        arrays.update({f"optimizer/{name}/{key}": value for key, value in memory.items()
                       if isinstance(value, np.ndarray)})
    arrays[ORDER] = state.order
    arrays.update(_path_arrays(state.path))
    meta = {"format": FORMAT, "step": state.step, "epochs": state.epochs,
            "samples_seen": state.samples_seen, "position": state.position,
            "shuffle_rng": state.shuffle_rng, "dropout_rng": state.dropout_rng,
            "optimizer_counters": counters}
    arrays["config"] = np.array(config.to_toml())
    arrays["summary"] = np.array(json.dumps(summary, indent=1))
    arrays["state"] = np.array(json.dumps(meta))
    if preparation is not None:
        arrays[PREPARATION] = np.array(preparation.to_json())
    arrays["integrity"] = np.array(_digest(arrays))
    with atomic_writer(Path(path)) as f:
        np.savez(f, **arrays)


def load_weights(path: Path) -> WeightFile:
    """Read and check a weight file; WeightFileError names the file and what is wrong with it."""
    path = Path(path)
    config, arrays = _read(path)
    _check_integrity(path, arrays)
    _check_values(path, arrays, config)
    meta = _checked_state(path, arrays, config)
    kept = _checked_path(path, arrays, meta["step"])
    summary = _checked_summary(path, arrays["summary"])
    preparation = _checked_preparation(path, arrays, config)
    memory = dict(meta["optimizer_counters"].get(OPTIMIZER_STATE, {}))
    memory.update({slot: arrays[name] for name, slot in _slots(config).items() if name in arrays})
    state = TrainingState(
        step=meta["step"], epochs=meta["epochs"], samples_seen=meta["samples_seen"],
        parameters={name: arrays[name] for name in _parameter_names(config)},
        optimizer={OPTIMIZER_STATE: memory},
        order=arrays[ORDER].astype(np.int64), position=meta["position"],
        shuffle_rng=meta["shuffle_rng"], dropout_rng=meta["dropout_rng"], path=kept)
    return WeightFile(config, state, summary, preparation)


def _path_arrays(kept: KeptPath | None) -> dict[str, np.ndarray]:
    """The kept path's arrays, thinned to STORED_PATH_BYTES; none if there is no path, or if
    not even the initial weights fit."""
    if kept is None:
        return {}
    kept = kept.stored()
    if not len(kept):
        return {}
    return {STEPS: kept.steps.astype(np.int64), WEIGHTS: kept.weights,
            RATES: kept.rates.astype(np.float64)}


def expected_shapes(config: ExperimentConfig, n_inputs: int, n_outputs: int,
                    channels: int = 1) -> dict[str, tuple]:
    """Parameter name -> shape, for a configuration's network whose dense layers take
    `n_inputs` (the flattened last feature map, after convolutions) and give `n_outputs`, on
    images of `channels` (Network's rules: engine.network.parameter_shapes)."""
    arch = config.architecture
    sizes = [n_inputs, *(layer.units for layer in arch.dense), n_outputs]
    shapes = {}
    for i, (weight, bias) in enumerate(parameter_shapes(sizes, arch.bias, arch.features, channels),
                                       start=1):
        shapes[f"layer{i}.weight"] = weight
        if bias:
            shapes[f"layer{i}.bias"] = bias
    return shapes


# --- reading: the text arrays, then every other array once its header fits the configuration --
def _read(path: Path) -> tuple[ExperimentConfig, dict[str, np.ndarray]]:
    try:
        # At most what memory can hold; and never a FIFO or device, which could block or not end.
        with open_regular(path, psutil.virtual_memory().available) as handle:
            archive = NpzArchive(handle)
            texts = {name: _read_text(path, archive, name) for name in TEXT_ARRAYS}
            if PREPARATION in archive.names:
                texts[PREPARATION] = _read_text(path, archive, PREPARATION)
            config = _parsed_config(path, texts["config"])
            _check_names(path, archive.names, config)
            _check_headers(path, archive, config)
            others = {name: archive.read(name) for name in archive.names if name not in texts}
            return config, {**texts, **others}
    except NotAnArchive as exc:
        raise WeightFileError(f"{path}: not a .npz weight file ({exc})") from None
    except NpzError as exc:
        raise WeightFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise WeightFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_text(path: Path, archive: NpzArchive, name: str) -> np.ndarray:
    if name not in archive.names:
        raise WeightFileError(f"{path}: missing array '{name}': not a gdplayground weight file")
    shape, dtype = archive.header(name)
    if dtype.kind != "U" or shape != ():
        raise WeightFileError(f"{path}: '{name}' should be text (one string), not {dtype} of "
                              f"shape {shape}")
    return archive.read(name)


def _parsed_config(path: Path, text: np.ndarray) -> ExperimentConfig:
    try:
        return ExperimentConfig.from_toml(str(text), "its configuration")
    except ConfigError as exc:
        raise WeightFileError(f"{path}: {exc}") from None


def _check_names(path: Path, names: list[str], config: ExperimentConfig) -> None:
    """Exactly the arrays the configuration makes. The optimizer's come all or none: a run that
    has not stepped since its optimizer was chosen has none; and so does the kept path: a file
    written before runs kept one, or of a network too large to keep one, has none."""
    names, groups = set(names), (set(_slots(config)), set(PATH_ARRAYS))
    required = {*_parameter_names(config), ORDER, *TEXT_ARRAYS}
    if config.data.is_table:
        required.add(PREPARATION)
    unknown = sorted(names - required - set().union(*groups))
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        layers = len(config.architecture.weighted) + 1
        counted = (f", whose network has {layers} layers with weights"
                   f"{' (a pool has none)' if config.architecture.features else ''}"
                   if unknown[0].startswith("layer") else "")
        raise WeightFileError(f"{path}: unexpected array {shown(unknown[0])}{more}: not part of "
                              f"a weight file for its configuration{counted}")
    missing = sorted(required - names)
    for group in groups:
        if group & names:
            missing += sorted(group - names)
    if missing:
        why = ": a table's network holds how its rows were prepared" if missing[0] == PREPARATION else ""
        raise WeightFileError(f"{path}: missing array {missing[0]}{why}")


def _check_headers(path: Path, archive: NpzArchive, config: ExperimentConfig) -> None:
    """Each array's dtype and shape against the configuration, from its header alone."""
    dtype = np.dtype(config.dtype)
    shapes = _parameter_shapes(path, archive, config)
    flat = (sum(math.prod(shape) for shape in shapes.values()),)
    shapes.update({name: flat for name in _slots(config) if name in archive.names})
    if STEPS in archive.names:
        shapes[WEIGHTS] = (_path_length(path, archive), *flat)
    for name, shape in shapes.items():
        header = archive.header(name)
        if header.dtype != dtype:
            raise WeightFileError(f"{path}: {name} has dtype {header.dtype}; the configuration "
                                  f"says {config.dtype}")
        if header.shape != shape:
            raise WeightFileError(f"{path}: {name} has shape {header.shape}, but its "
                                  f"configuration makes it {shape}")
    order = archive.header(ORDER)
    if order.dtype.kind not in "iu" or len(order.shape) != 1:
        raise WeightFileError(f"{path}: {ORDER} must be a 1-D array of integers, not "
                              f"{order.dtype} of shape {order.shape}")


def _path_length(path: Path, archive: NpzArchive) -> int:
    """The number of points of the file's path, from the headers of its steps and rates."""
    for name, kinds, what in ((STEPS, "iu", "integers"), (RATES, "f", "numbers")):
        header = archive.header(name)
        if header.dtype.kind not in kinds or len(header.shape) != 1 or \
                header.shape[0] > PATH_POINTS:
            raise WeightFileError(f"{path}: {name} must be a 1-D array of at most {PATH_POINTS} "
                                  f"{what}, not {header.dtype} of shape {header.shape}")
    k, rates = archive.header(STEPS).shape[0], archive.header(RATES).shape[0]
    if rates != k:
        raise WeightFileError(f"{path}: {RATES} has {rates} rates for {k} steps")
    return k


def _parameter_shapes(path: Path, archive: NpzArchive, config: ExperimentConfig) -> dict:
    """expected_shapes for the sizes the file's own weights give: the image channels of its
    first convolution's, the inputs of its first dense layer's, the outputs of its last."""
    first_dense, last = _dense_ends(config)
    convolutional = first_dense != "layer1.weight"  # (pools alone have no weights)
    ends = {first_dense: 2, last: 2, **({"layer1.weight": 4} if convolutional else {})}
    for name, dimensions in ends.items():
        shape = archive.header(name).shape
        if len(shape) != dimensions:
            kind = ("a convolution's weight is 4-D (filters, channels, height, width)"
                    if dimensions == 4 else "a dense layer's weight is 2-D (inputs, outputs)")
            raise WeightFileError(f"{path}: {name} has shape {shape}, but {kind}")
    channels = archive.header("layer1.weight").shape[1] if convolutional else 1
    return expected_shapes(config, archive.header(first_dense).shape[0],
                           archive.header(last).shape[1], channels)


def _dense_ends(config: ExperimentConfig) -> tuple[str, str]:
    """The names of the first dense layer's weight (the output layer's without hidden dense
    layers) and the output layer's: the convolutions come first."""
    arch = config.architecture
    n_conv = len(arch.weighted) - len(arch.dense)
    return f"layer{n_conv + 1}.weight", f"layer{len(arch.weighted) + 1}.weight"


def _parameter_names(config: ExperimentConfig) -> list[str]:
    return list(expected_shapes(config, 0, 0))


def _slots(config: ExperimentConfig) -> dict[str, str]:
    """Array name -> slot, for the memory the configured optimizer keeps."""
    slots = OPTIMIZER_SLOTS[config.optimizer.name]
    return {f"optimizer/{OPTIMIZER_STATE}/{slot}": slot for slot in slots}


# --- what the arrays hold ----------------------------------------------------------------------
def _check_integrity(path: Path, arrays: dict[str, np.ndarray]) -> None:
    sealed = str(arrays["integrity"])
    if not DIGEST.fullmatch(sealed):
        raise WeightFileError(f"{path}: 'integrity' must be 64 hexadecimal digits "
                              f"(got {shown(sealed)})")
    if _digest({k: v for k, v in arrays.items() if k != "integrity"}) != sealed:
        raise WeightFileError(f"{path}: the file was altered after it was written "
                              "(its contents do not match its integrity checksum)")


def _check_values(path: Path, arrays: dict[str, np.ndarray], config: ExperimentConfig) -> None:
    slots = {name: slot for name, slot in _slots(config).items() if name in arrays}
    path_weights = [WEIGHTS] if WEIGHTS in arrays else []
    for name in [*_parameter_names(config), *slots, *path_weights]:
        if not np.isfinite(arrays[name]).all():
            raise WeightFileError(f"{path}: {name} holds NaN or infinite values")
    for name, slot in slots.items():
        if slot in SQUARES and (arrays[name] < 0).any():
            raise WeightFileError(f"{path}: {name} holds negative values, but it adds up squares")
    order = arrays[ORDER]
    if not np.array_equal(np.sort(order), np.arange(len(order))):
        raise WeightFileError(f"{path}: {ORDER} must hold each of 0 to {len(order) - 1} "
                              "exactly once")


def _checked_path(path: Path, arrays: dict[str, np.ndarray], step: int) -> KeptPath | None:
    """The kept path, from the initial weights at step 0 to at most the file's `step`."""
    if STEPS not in arrays or not len(arrays[STEPS]):
        return None
    steps, rates = arrays[STEPS].astype(np.int64), arrays[RATES].astype(np.float64)
    if steps[0] != 0 or (np.diff(steps) <= 0).any() or steps[-1] > step:
        raise WeightFileError(f"{path}: {STEPS} must rise from 0 to at most step {step}")
    if not (np.isfinite(rates) & (rates >= 0)).all():
        raise WeightFileError(f"{path}: {RATES} must hold finite learning rates, none negative")
    return KeptPath(steps, arrays[WEIGHTS], rates)


# --- the JSON texts: every field -----------------------------------------------------------------
def _checked_state(path: Path, arrays: dict[str, np.ndarray], config: ExperimentConfig) -> dict:
    meta = _parsed_json(path, "state", arrays["state"])
    if isinstance(meta, dict) and meta.get("format") != FORMAT:  # a foreign file: say that first
        raise WeightFileError(f"{path}: state.format {shown(meta.get('format'))} is not {FORMAT}")
    _check_fields(path, "state", meta, STATE_FIELDS)
    step = _whole(path, "state.step", meta["step"], 0, MAX_COUNT)
    _whole(path, "state.epochs", meta["epochs"], 0, step)
    _whole(path, "state.samples_seen", meta["samples_seen"], 0, MAX_COUNT)
    # Before 0.1.1 an epoch that ended on a short batch left the position past the order's end
    # by less than a batch: such a file is at the epoch's end.
    n = len(arrays[ORDER])
    position = _whole(path, "state.position", meta["position"], 0, n + max(config.batch.size - 1, 0) * (n > 0))
    meta["position"] = min(position, n)
    for name in ("shuffle_rng", "dropout_rng"):
        _check_pcg64(path, f"state.{name}", meta[name])
    has_slots = any(name in arrays for name in _slots(config))
    _check_counters(path, meta["optimizer_counters"], config, step, has_slots)
    return meta


def _check_pcg64(path: Path, field: str, value) -> None:
    """A NumPy PCG64 bit-generator state, as bit_generator.state gives it."""
    _check_fields(path, field, value, RNG_FIELDS)
    if value["bit_generator"] != "PCG64":
        raise WeightFileError(f"{path}: {field}.bit_generator must be 'PCG64' "
                              f"(got {shown(value['bit_generator'])})")
    _check_fields(path, f"{field}.state", value["state"], ("state", "inc"))
    for name in ("state", "inc"):
        _whole(path, f"{field}.state.{name}", value["state"][name], 0, PCG64_MAX)
    _whole(path, f"{field}.has_uint32", value["has_uint32"], 0, 1)
    _whole(path, f"{field}.uinteger", value["uinteger"], 0, UINT32_MAX)


def _check_counters(path: Path, counters, config: ExperimentConfig, step: int,
                    has_slots: bool) -> None:
    """Adam's step count t: the only optimizer memory that is not an array."""
    _check_fields(path, "state.optimizer_counters", counters, (), optional=(OPTIMIZER_STATE,))
    field, own = f"state.optimizer_counters.{OPTIMIZER_STATE}", counters.get(OPTIMIZER_STATE, {})
    adam = config.optimizer.name == "adam"
    _check_fields(path, field, own, (), optional=("t",) if adam else ())
    t = _whole(path, f"{field}.t", own.get("t", 0), 0, step)
    if adam and (t > 0) != has_slots:  # adam makes m and v, and counts t, from its first step
        raise WeightFileError(f"{path}: {field}.t must be {'at least 1' if has_slots else '0'} "
                              f"when the file {'holds' if has_slots else 'has no'} adam's m and v "
                              f"(got {t})")


def _checked_summary(path: Path, text: np.ndarray) -> dict:
    summary = _parsed_json(path, "summary", text)
    _check_object(path, "summary", summary)
    for key, value in summary.items():
        if key == "diagnoses":
            _check_diagnoses(path, value)
        elif key == "sweep_settings":
            _check_sweep_settings(path, value)
        elif not (value is None or isinstance(value, (bool, str)) or _is_number(value)
                  or isinstance(value, list) and all(map(_is_number, value))):
            raise WeightFileError(f"{path}: {_key('summary', key)} must be a number, boolean, "
                                  f"string, null or list of numbers (got {shown(value)})")
    return summary


def _checked_preparation(path: Path, arrays: dict[str, np.ndarray],
                         config: ExperimentConfig) -> Preparation | None:
    """A table's preparation, every field checked, and fitting the network: an input per raw
    input, an output per class (one for two classes and binary cross-entropy, or a regression)."""
    if PREPARATION not in arrays:
        return None
    try:
        preparation = Preparation.from_json(str(arrays[PREPARATION]))
    except ValueError as exc:
        raise WeightFileError(f"{path}: {PREPARATION}: {exc}") from None
    first_dense, last = _dense_ends(config)
    n_in, n_out = arrays[first_dense].shape[0], arrays[last].shape[1]
    classes = preparation.classes
    outputs = (1,) if classes is None else (len(classes), 1) if len(classes) == 2 else (len(classes),)
    if len(preparation.input_names) != n_in or n_out not in outputs:
        made = (f"{len(classes)} classes" if classes else "a regression target")
        raise WeightFileError(f"{path}: {PREPARATION} makes {len(preparation.input_names)} inputs "
                              f"and {made}, but the network takes {n_in} and gives {n_out}")
    if config.data.target and config.data.target != preparation.target:
        raise WeightFileError(f"{path}: {PREPARATION}.target {shown(preparation.target)} is not "
                              f"the configuration's data.target {shown(config.data.target)}")
    return preparation


def _check_diagnoses(path: Path, diagnoses) -> None:
    """The coach's diagnoses (labs/diagnostics.py): a list of {name, step, evidence, suggestion}."""
    if not isinstance(diagnoses, list):
        raise WeightFileError(f"{path}: summary.diagnoses must be a list (got {shown(diagnoses)})")
    for i, diagnosis in enumerate(diagnoses):
        field = f"summary.diagnoses[{i}]"
        _check_fields(path, field, diagnosis, ("name", "step", "evidence", "suggestion"))
        _whole(path, f"{field}.step", diagnosis["step"], 0, 2**63 - 1)
        for key in ("name", "evidence", "suggestion"):
            if not isinstance(diagnosis[key], str):
                raise WeightFileError(f"{path}: {field}.{key} must be a string "
                                      f"(got {shown(diagnosis[key])})")


def _parsed_json(path: Path, name: str, text: np.ndarray):
    try:
        return json.loads(str(text))
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON or a too-long number
        raise WeightFileError(f"{path}: '{name}' is not valid JSON ({exc})") from None


def _check_sweep_settings(path: Path, settings) -> None:
    """A sweep's run: the value of each setting swept (labs/sweeps/runs.py), a number or a name."""
    _check_object(path, "summary.sweep_settings", settings)
    for name, value in settings.items():
        if not (isinstance(value, str) or _is_number(value)):
            raise WeightFileError(f"{path}: {_key('summary.sweep_settings', name)} must be a "
                                  f"number or a string (got {shown(value)})")


def _check_object(path: Path, field: str, value) -> None:
    if not isinstance(value, dict):
        raise WeightFileError(f"{path}: {field} must be a JSON object (got {shown(value)})")


def _check_fields(path: Path, field: str, value, names: tuple, optional: tuple = ()) -> None:
    """An object with all of `names`, perhaps some of `optional`, and nothing else."""
    _check_object(path, field, value)
    for name in names:
        if name not in value:
            raise WeightFileError(f"{path}: {field}.{name} is missing")
    unknown = sorted(set(value) - {*names, *optional})
    if unknown:
        raise WeightFileError(f"{path}: unexpected field {_key(field, unknown[0])}")


def _whole(path: Path, field: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise WeightFileError(f"{path}: {field} must be a whole number from {lo} to {hi} "
                              f"(got {shown(value)})")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _key(parent: str, key: str) -> str:
    """parent.key, or parent['key'] for a key that is no plain name (so messages stay one line)."""
    return f"{parent}.{key}" if key.isidentifier() else f"{parent}[{shown(key)}]"


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
