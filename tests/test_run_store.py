"""The run list without a window: a kept run's curves and figures, its folder, the rule for its
name, the bound, and a store of damaged folders that must never stop the window from starting."""

from __future__ import annotations

import json
import os
import random
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from gdplayground.config import preset
from gdplayground.engine import Trainer
from gdplayground.engine.history import History
from gdplayground.store.runs import (
    CURVE_BINS, MAX_METRICS_ROWS, MAX_NAME, KeptRun, RunStore, curves_of, default_name,
    figures_of, now,
    read_run, run_name)


def trained(name="spiral", steps=25):
    """A trainer after `steps` steps and the history of them."""
    trainer = Trainer(preset(name))
    history = History(len(trainer.network.layers))
    history.add([trainer.step() for _ in range(steps)])
    return trainer, history


def snapshot_of(trainer):
    return SimpleNamespace(state=trainer.snapshot(), config=trainer.config, input_scale=1.0,
                           started_with=trainer.config, changes=(), preparation=None)


def keep(store, trainer, history, name="a run"):
    run = KeptRun(name, trainer.config, figures_of(history, trainer.config, trainer.step_count,
                                                   1.5, trainer.evaluate("test")),
                  curves_of(history, trainer.config), ended=now())
    store.keep(run, history, snapshot_of(trainer))
    return run


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A run folder as the window keeps one, to copy and damage."""
    store = RunStore(tmp_path_factory.mktemp("good"))
    keep(store, *trained())
    return store.runs[0].folder


# --- curves and figures ----------------------------------------------------------------------
def long_history(steps: int, **bounds) -> History:
    rng = np.random.default_rng(3)
    reports = np.full((steps, len(History(1).measured)), np.nan)
    reports[:, 0] = np.arange(1, steps + 1)
    reports[:, 2] = 2 * np.exp(-reports[:, 0] / 5000) + 0.1 * rng.random(steps)  # loss
    reports[123, 2] = 40.0  # a spike early on must survive the thinning
    reports[:, 9] = 1.0  # layer 1's gradient norm
    history = History(1, **bounds)
    for start in range(0, steps, 5000):
        history.add((), reports[start:start + 5000])
    return history


def test_a_long_runs_curves_cover_the_whole_run_with_its_extremes():
    """A 40,000-step run was overlaid from step ~31,800 on: the curves read the recent rows."""
    config = preset("spiral")  # mini-batch: the smoothed loss is drawn
    history = long_history(40_000)
    whole = long_history(40_000, recent=100_000)  # nothing folded: every step's smoothed loss
    curves = curves_of(history, config)
    assert curves["step"][0] == 1 and curves["step"][-1] == 40_000
    assert len(curves["step"]) <= 2 * CURVE_BINS + 1 and len(curves["loss"]) == len(curves["step"])
    smoothed = whole.column("smoothed_loss")
    assert np.nanmax(curves["loss"]) == pytest.approx(smoothed.max(), rel=1e-12)  # the spike
    assert np.nanmin(curves["loss"]) == pytest.approx(smoothed.min(), rel=1e-12)
    assert (np.diff(curves["step"]) >= 0).all()


def test_a_full_batch_runs_figures_are_its_exact_losses():
    """The linear system trains on its whole data each step: the loss is exact, and the table
    said 0.5955 (the moving average) where metrics.csv ended at 0.57888."""
    trainer = Trainer(preset("linear-system"))
    history, exact = History(1), []
    for _ in range(200):
        exact.append(trainer.evaluate("train")[0])  # the loss at the weights the step starts from
        history.add([trainer.step()])
    figures = figures_of(history, trainer.config, 200, 1.0, None)
    assert figures["final_loss"] == pytest.approx(exact[-1], rel=1e-12)
    assert figures["least_loss"] == pytest.approx(min(exact), rel=1e-12)
    assert figures["final_loss"] != pytest.approx(history.column("smoothed_loss")[-1], rel=1e-3)
    curves = curves_of(history, trainer.config)
    np.testing.assert_allclose(curves["loss"], exact, rtol=1e-12)  # drawn as the live plot does


def test_a_mini_batch_runs_figures_are_its_smoothed_losses_over_the_whole_run():
    config = preset("spiral")
    history = long_history(40_000)
    whole = long_history(40_000, recent=100_000)
    figures = figures_of(history, config, 40_000, 1.0, None)
    smoothed = whole.column("smoothed_loss")
    assert figures["final_loss"] == pytest.approx(smoothed[-1], rel=1e-12)
    assert figures["least_loss"] == pytest.approx(smoothed.min(), rel=1e-12)


# --- the folder ------------------------------------------------------------------------------
def test_a_kept_runs_folder_says_what_its_metrics_and_figures_are(tmp_path):
    """Its README said "one row per step" over a metrics.csv of blocks; a rename reached
    neither summary.json nor the README, which named the run."""
    trainer = Trainer(preset("spiral"))
    history = History(len(trainer.network.layers), recent=64)  # early steps fold into blocks
    history.add([trainer.step() for _ in range(400)])
    store = RunStore(tmp_path)
    run = keep(store, trainer, history, name="first name")
    readme = (run.folder / "README.md").read_text()
    assert f"steps 1 to {history.summarised_until:,} are summarised" in readme
    assert "one row per step" not in readme
    assert "moving average of the batch losses" in readme
    summary = json.loads((run.folder / "summary.json").read_text())
    assert summary["final_smoothed_loss"] == run.figures["final_loss"]
    assert summary["test_accuracy_at_end"] == run.figures["final_test_accuracy"]
    store.rename(run, "second name")
    for file in run.folder.iterdir():  # the name is in run.json alone, where a rename reaches
        if file.suffix in (".json", ".md", ".csv", ".toml"):
            assert "first name" not in file.read_text(), file.name
    assert json.loads((run.folder / "run.json").read_text())["name"] == "second name"
    assert read_run(run.folder).name == "second name"


# --- names and the bound ---------------------------------------------------------------------
@pytest.mark.parametrize("text, name", [
    ("\x1b[31mred", "[31mred"), ("two\nlines", "two lines"),
    ("  tabs\t\tand  spaces ", "tabs and spaces"),
    ("<b>bold</b>", "<b>bold</b>"), ("lr 0.01→0.2", "lr 0.01→0.2"), ("x" * 500, "x" * MAX_NAME),
    ("a\u2028b\ufeffc\udc80d", "a b c d")])
def test_one_rule_for_a_name(text, name):
    assert run_name(text) == name


def test_a_name_is_cleaned_alike_when_kept_renamed_and_read_back(tmp_path, good):
    store = RunStore(tmp_path)
    trainer, history = trained(steps=3)
    run = keep(store, trainer, history, name="\x1b[31mred\n" + "y" * 300)
    assert run.name == run_name("\x1b[31mred\n" + "y" * 300) and len(run.name) == MAX_NAME
    store.rename(run, "z" * 300 + "\x00")
    assert run.name == "z" * MAX_NAME
    store.rename(run, "\n\x1b ")  # nothing printable: the old name stays
    assert run.name == "z" * MAX_NAME
    record = json.loads((run.folder / "run.json").read_text())
    (run.folder / "run.json").write_text(json.dumps(record | {"name": "bell\x07" + "w" * 300}))
    assert read_run(run.folder).name == run_name("bell\x07" + "w" * 300)


def test_with_every_run_pinned_a_new_run_is_kept_beyond_the_bound(tmp_path):
    """The new run was the only one unpinned, and the bound deleted it at once."""
    store = RunStore(None, limit=2)
    trainer, history = trained(steps=2)
    for name in ("one", "two"):
        store.pin(keep(store, trainer, history, name), True)
    keep(store, trainer, history, "three")
    assert [run.name for run in store.runs] == ["one", "two", "three"] and store.over_limit
    keep(store, trainer, history, "four")  # the oldest unpinned goes, never the newest
    assert [run.name for run in store.runs] == ["one", "two", "four"]


# --- damaged folders ---------------------------------------------------------------------------
def edit_json(change):
    def damage(folder):
        record = json.loads((folder / "run.json").read_text())
        (folder / "run.json").write_text(change(record) if callable(change) else change)
    return damage


def with_figure(name, value):
    return edit_json(lambda r: json.dumps(r | {"figures": r["figures"] | {name: value}}))


def edit_metrics(change):
    def damage(folder):
        lines = (folder / "metrics.csv").read_text().splitlines()
        (folder / "metrics.csv").write_text("\n".join(change(lines)) + "\n")
    return damage


def set_cell(row, column, value):
    def change(lines):
        cells = lines[row].split(",")
        cells[column] = value
        return [*lines[:row], ",".join(cells), *lines[row + 1:]]
    return edit_metrics(change)


def huge_metrics(folder):
    with open(folder / "metrics.csv", "wb") as f:  # 14 GB, sparse: it costs no disk
        f.truncate(14 << 30)


DAMAGES = {
    "steps of 10^400": (edit_json(lambda r: json.dumps(r).replace(
        '"steps": 25', '"steps": 1' + "0" * 400)), "steps"),
    "a loss of 10^400": (with_figure("final_loss", 10**400), "final_loss"),
    "a loss of 5,000 digits": (edit_json(lambda r: json.dumps(r).replace(
        '"steps": 25', '"steps": 1' + "0" * 5000)), "run.json"),
    "nested 100,000 deep": (edit_json("[" * 100_000 + "]" * 100_000), "nested"),
    "NaN seconds": (with_figure("seconds", float("nan")), "seconds"),
    "infinite seconds": (with_figure("seconds", float("inf")), "seconds"),
    "steps as text": (with_figure("steps", "25"), "steps"),
    "steps true": (with_figure("steps", True), "steps"),
    "negative steps": (with_figure("steps", -1), "steps"),
    "fractional steps": (with_figure("steps", 2.5), "steps"),
    "an accuracy of 2": (with_figure("best_test_accuracy", 2), "best_test_accuracy"),
    "no figures": (edit_json(lambda r: json.dumps(r | {"figures": [1, 2]})), "figures"),
    "a list": (edit_json("[1, 2, 3]"), "run.json"),
    "an end that is no time": (edit_json(lambda r: json.dumps(r | {"ended": "yesterday"})),
                               "ended"),
    "an empty name": (edit_json(lambda r: json.dumps(r | {"name": "\n\t"})), "name"),
    "not UTF-8": (lambda f: (f / "run.json").write_bytes(b"\xff\xfe{}"), "run.json"),
    "a 200,000-character field": (set_cell(1, 2, "1" * 200_000), "metrics.csv"),
    "too many rows": (edit_metrics(lambda lines: [lines[0], *(
        f"{i},0,1,,,,,,,,,,,,,,," for i in range(1, MAX_METRICS_ROWS + 2))]), "rows"),
    "14 GB of metrics": (huge_metrics, "bytes"),
    "steps going back": (set_cell(2, 0, "1"), "steps"),
    "a step that is NaN": (set_cell(2, 0, ""), "steps"),
    "an accuracy of 1.5": (set_cell(3, 3, "1.5"), "accuracy"),
    "a negative norm": (set_cell(3, 9, "-1"), "layer1_grad_norm"),
    "a word for a number": (set_cell(3, 2, "low"), "not a number"),
    "a short row": (edit_metrics(lambda lines: [*lines[:3], "1,2"]), "wrong length"),
    "a NUL byte": (edit_metrics(lambda lines: [*lines[:3], "4\x00,1"]), "metrics.csv"),
    "metrics a folder": (lambda f: ((f / "metrics.csv").unlink(), (f / "metrics.csv").mkdir()),
                         "metrics.csv"),
    "metrics a FIFO": (lambda f: ((f / "metrics.csv").unlink(), os.mkfifo(f / "metrics.csv")),
                       "not a regular file"),
    "no config": (lambda f: (f / "config.toml").unlink(), "config.toml"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_run_is_skipped_with_one_line_saying_why(tmp_path, good, damage):
    """Each raised out of RunStore.load, which the window calls at start-up."""
    hurt, words = DAMAGES[damage]
    shutil.copytree(good, tmp_path / "good")
    folder = tmp_path / "bad\nname<b>"
    shutil.copytree(good, folder)
    hurt(folder)
    store = RunStore(tmp_path)
    skipped = store.load()
    assert [run.folder.name for run in store.runs] == ["good"]
    assert len(skipped) == 1 and "\n" not in skipped[0], skipped
    assert skipped[0].startswith("bad\\nname<b>: ") and words in skipped[0], skipped


def test_whatever_goes_wrong_reading_a_run_it_is_skipped(tmp_path, good, monkeypatch):
    import gdplayground.store.runs as runs

    shutil.copytree(good, tmp_path / "good")

    def exhausted(*args):
        raise MemoryError
    monkeypatch.setattr(runs, "read_metrics", exhausted)
    store = RunStore(tmp_path)
    assert store.load() == ["good: it could not be read (MemoryError)"] and store.runs == []


def test_randomly_damaged_runs_never_stop_the_store_from_loading(tmp_path, good):
    """Bytes changed, cut or repeated at random in run.json and metrics.csv, 200 times."""
    rng = random.Random(17)
    for case in range(200):
        folder = tmp_path / f"case-{case}"
        shutil.copytree(good, folder)
        for name in rng.sample(["run.json", "metrics.csv"], rng.randint(1, 2)):
            data = bytearray((folder / name).read_bytes())
            at = rng.randrange(len(data))
            kind = rng.choice(["flip", "cut", "repeat", "digits"])
            if kind == "flip":
                data[at] = rng.randrange(256)
            elif kind == "cut":
                del data[at:]
            elif kind == "repeat":
                data[at:at] = data[at:at + 50] * rng.randint(2, 2000)
            else:
                data[at:at] = b"9" * rng.choice([20, 400, 5000])
            (folder / name).write_bytes(bytes(data))
        store = RunStore(tmp_path)
        skipped = store.load()
        assert len(store.runs) + len(skipped) == 1 and all("\n" not in line for line in skipped)
        shutil.rmtree(folder)


def test_a_convolutional_run_is_named_by_its_layers_and_read_back_as_kept(tmp_path):
    from tiny_images import conv_config, image_folder
    trainer = Trainer(conv_config(image_folder(tmp_path / "images"), "conv3x3,pool,conv4x3s2,8"))
    history = History(len(trainer.network.layers))  # two convolutions, two dense layers
    history.add([trainer.step() for _ in range(10)])
    store = RunStore(tmp_path / "runs")
    run = keep(store, trainer, history, name=default_name(trainer.config))
    assert run.name == "adam, lr 0.01, conv3x3-pool-conv4x3s2-8"
    assert ("Network conv3x3,pool,conv4x3s2,16-8-3: hidden layers conv3x3 relu, pool, conv4x3s2 relu, 8 relu;"
            in (run.folder / "README.md").read_text())
    again = RunStore(tmp_path / "runs")  # as the window starts: every folder read back
    assert again.load() == [] and [kept.name for kept in again.runs] == [run.name]
    for name, curve in run.curves.items():
        np.testing.assert_allclose(again.runs[0].curves[name], curve, rtol=1e-6)
