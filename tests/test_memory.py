"""Memory: runs that would not fit are refused before anything is allocated, and long runs keep
their memory bounded however long they go on."""

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from gdplayground.cli import main
from gdplayground.config import ConfigError, Layer, preset
from gdplayground.data import load_dataset
from gdplayground.engine import Trainer
from gdplayground.engine.memory import check_fits, training_bytes


def test_settings_that_together_exceed_the_memory_are_refused_with_the_estimate(capsys):
    config = preset("mnist")
    config.architecture.hidden = [Layer(8192, "relu") for _ in range(32)]  # each within range
    with pytest.raises(ConfigError, match=r"A 784-8192×32-10 network needs about 9\d\.\d GB of "
                                          r"memory \(parameters .* is available") as refused:
        Trainer(config)
    assert refused.value.field == "architecture.hidden"
    assert main(["train", "--layers", ",".join(["8192"] * 32), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs about" in err and "is available" in err


def test_a_bigger_batch_that_would_not_fit_is_refused_and_the_run_goes_on(monkeypatch):
    import gdplayground.engine.trainer as trainer_module

    config = preset("spiral")
    trainer = Trainer(config)
    trainer.step()
    monkeypatch.setattr(trainer_module, "check_fits", lambda needed, what, field: check_fits(
        needed, what, field, available=sum(needed.values()) - 1 if needed["full batch"] else 10**12))
    bigger = preset("spiral")
    bigger.batch.mode = "full"
    with pytest.raises(ConfigError, match="needs about"):
        trainer.apply(bigger)
    assert trainer.config.batch.mode == "mini" and trainer.step().status == "ok"


def test_the_estimate_covers_what_training_really_allocates():
    config = preset("mnist")
    config.architecture.hidden = [Layer(512, "relu"), Layer(256, "relu")]
    config.architecture.dropout = 0.2
    dataset = load_dataset(config.data, 0)
    tracemalloc.start()
    try:
        trainer = Trainer(config, dataset)
        for _ in range((trainer.path.capacity - 1) * trainer.path.stride):  # its path full:
            trainer.step()  # 46 points, 98.6 MB, every 8th step (engine.path.first_stride)
        trainer.evaluate("test")
        state = trainer.snapshot(path=True)  # as an export takes it
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = sum(training_bytes(trainer.network.sizes, 4, 128, len(dataset.train), 0.2).values())
    assert peak <= estimate <= 1.5 * peak
    assert len(state.path) == trainer.path.capacity

MEASURE = """
import sys
from gdplayground.bench.window import memory_kb
from gdplayground.cli import main
main(["train", "--dataset", "spiral", "--steps", sys.argv[1], "--out", sys.argv[2]])
print(memory_kb("VmHWM"))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_long_cli_run_peaks_no_higher_than_a_short_one(tmp_path):
    def peak_mb(steps: int) -> float:
        out = subprocess.run([sys.executable, "-c", MEASURE, str(steps), str(tmp_path / str(steps))],
                             capture_output=True, text=True, check=True).stdout
        return int(out.split()[-1]) / 1024
    # the short run is past the steps the history keeps in full (2 * RECENT_ROWS), where its
    # memory stops growing
    short, long = peak_mb(20_000), peak_mb(60_000)
    assert long - short < 10, (short, long)  # was 0.55 KB a step: 22 MB more for the long run
    rows = (tmp_path / "60000" / "metrics.csv").read_text().count("\n")
    assert rows == 1 + 60_000  # every step is written, as training goes


def test_a_long_run_holds_one_checkpoint_however_many_it_has_taken():
    """The trainer snapshots its run every CHECKPOINT_EVERY steps for a divergence to roll back
    to; each replaces the last (kept, the twenty taken here would hold 16 MB more)."""
    from gdplayground.engine.trainer import CHECKPOINT_EVERY
    config = preset("spiral")
    config.architecture.hidden = [Layer(256, "relu"), Layer(256, "relu")]
    trainer = Trainer(config)
    checkpoint_bytes = sum(param.nbytes for _, param, _ in trainer.network.parameters()) * 3
    tracemalloc.start()
    try:
        for _ in range(3 * CHECKPOINT_EVERY):
            trainer.step()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20 * CHECKPOINT_EVERY):
            trainer.step()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < checkpoint_bytes  # (parameters and Adam's two moments)
