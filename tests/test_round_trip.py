"""Weight files from ordinary runs reopen: for every data set, a run saved mid-epoch, at the end of
an epoch whose batches divide it evenly, and at the end of one whose last batch was short, is
evaluated and goes on (`train --weights`) exactly as the uninterrupted run does."""

import json

import numpy as np
import pytest

from gdplayground.cli import build_parser, main
from gdplayground.cli.flags import config_from_args
from gdplayground.engine import Trainer
from gdplayground.store.weights import load_weights

# "idx-conv": the IDX folder's 10x10 images through a convolution and a pool
DATASETS = ["mnist", "mnist-binary", "linear-system", "spiral", "xor", "circles", "gaussians", "idx",
            "idx-conv"]


@pytest.fixture(scope="module")
def idx_folder(tmp_path_factory):
    """A small MNIST-format folder (Fashion-MNIST's layout): 300 training, 50 test images."""
    folder = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 300), ("t10k", 50)):
        for kind, array in (("images", rng.integers(0, 255, (n, 10, 10), dtype=np.uint8)),
                            ("labels", rng.integers(0, 10, n, dtype=np.uint8))):
            header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
            (folder / f"{prefix}-{kind}-idx{array.ndim}-ubyte").write_bytes(header + array.tobytes())
    return folder


def flags_for(dataset, idx_folder):
    name = str(idx_folder) if dataset.startswith("idx") else dataset
    flags = ["--dataset", name, "--validation-split", "0", "--seed", "3"]
    layers = {"linear-system": [], "idx-conv": ["--layers", "conv2x3,pool,8"]}
    return flags + layers.get(dataset, ["--layers", "8"])


def batch_and_steps(flags, ending):
    """A batch size and a number of steps that end the run as `ending` says."""
    n = len(Trainer(config_from_args(build_parser().parse_args(["train", *flags]))).dataset.train)
    if n == 3:  # the linear system: one full batch per epoch
        return [], {"mid-epoch": 7, "even end": 8, "short end": 9}[ending]
    divides = next(b for b in range(16, 600) if n % b == 0)
    short = next(b for b in range(16, 600) if n % b)
    batch = short if ending in ("mid-epoch", "short end") else divides
    epoch = -(-n // batch)
    steps = {"mid-epoch": epoch + epoch // 2, "even end": epoch, "short end": 2 * epoch}[ending]
    return ["--batch-size", str(batch)], steps


@pytest.mark.parametrize("ending", ["mid-epoch", "even end", "short end"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_a_saved_run_evaluates_and_goes_on_as_if_never_stopped(tmp_path, capsys, idx_folder,
                                                              dataset, ending):
    flags = flags_for(dataset, idx_folder)
    batch, steps = batch_and_steps(flags, ending)
    flags += batch
    assert main(["train", *flags, "--steps", str(steps), "--out", str(tmp_path / "first")]) == 0
    weights = tmp_path / "first" / "weights.npz"
    with np.load(weights) as archive:  # as written, before the loader's allowance for 0.1.0 files
        assert json.loads(str(archive["state"]))["position"] <= len(archive["data/order"])
    assert main(["evaluate", str(weights)]) == 0
    out = capsys.readouterr().out
    assert f"trained {steps} steps" in out and " loss " in out.split("evaluate")[-1]
    more = 5
    assert main(["train", "--weights", str(weights), "--steps", str(more),
                 "--out", str(tmp_path / "resumed")]) == 0
    resumed = load_weights(tmp_path / "resumed" / "weights.npz")
    straight = Trainer(config_from_args(build_parser().parse_args(["train", *flags])))
    for _ in range(steps + more):
        straight.step()
    assert resumed.state.step == straight.step_count
    for name, param, _ in straight.network.parameters():
        assert resumed.state.parameters[name].tobytes() == param.tobytes(), name
    summary = json.loads((tmp_path / "resumed" / "summary.json").read_text())
    assert summary["steps"] == steps + more
