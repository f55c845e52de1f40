"""`gdplayground sweep`: the flags of one setting or two, the table printed as runs end, the CSV
in the plan's order whatever order they ended in, the run folders and the picture, worker
processes and a cluster."""

import contextlib
import csv
import json

import pytest

from gdplayground.cli import main
from gdplayground.config import ExperimentConfig
from gdplayground.layer_grammar import layer_words
from gdplayground.labs.sweeps.runs import FailedRun, InProcess
from gdplayground.store.weights import load_weights

FIGURES = "repeat,final_loss,least_loss,test_accuracy,diverged_at_step,failed"
GRID = ["sweep", "--dataset", "spiral", "--param", "lr", "--range", "0.01:1", "--count", "3",
        "--log", "--param", "batch-size", "--values", "16,64", "--repeats", "2", "--steps", "15"]


def moving_average(losses, keep=0.95) -> list[float]:
    """The training loss as plotted (and as a sweep compares runs by): each batch's loss in a
    moving average, corrected for its start at 0."""
    average = weight = 0.0
    smoothed = []
    for loss in losses:
        average, weight = keep * average + (1 - keep) * loss, keep * weight + (1 - keep)
        smoothed.append(average / weight)
    return smoothed


def rows(out) -> list[dict]:
    return list(csv.DictReader((out / "sweep.csv").read_text().splitlines()))


class Shuffled(InProcess):
    """Trains in this process, but hands the runs over last first (as parallel workers may end
    them), and the run `failing` as a FailedRun (as a worker that died twice leaves it)."""

    def __init__(self, failing=None):
        self.failing = failing

    def run(self, tasks, sources, cancelled=None, progress=None):
        runs = list(super().run(tasks, sources, cancelled, progress))
        for run in reversed(runs):
            yield FailedRun.of(tasks[run.index], "its worker died twice (killed by signal 9)") \
                if run.index == self.failing else run


@pytest.fixture
def executor(monkeypatch):
    """Sweeps through the executor this sets (a Shuffled one by default): in this process, so
    as not to start worker processes where they are not the point (each takes a second or two
    to import the engine). The tests of --workers and --cluster use the real ones."""
    chosen = {"executor": Shuffled()}
    monkeypatch.setattr("gdplayground.cli.sweep._executor",
                        lambda args: contextlib.nullcontext(chosen["executor"]))
    return chosen


# --- one setting -----------------------------------------------------------------------------
def test_the_command_prints_a_table_and_writes_the_csv_folders_and_picture(tmp_path, capsys,
                                                                           executor):
    out = tmp_path / "sweep"
    assert main(["sweep", "--dataset", "spiral", "--param", "lr", "--range", "0.01:1", "--count",
                 "3", "--log", "--repeats", "2", "--steps", "25", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lr  repeat   final loss   least loss  test accuracy  diverged at step" in printed
    assert len([line for line in printed.splitlines() if line.strip().startswith("0.1 ")]) == 2
    lines = (out / "sweep.csv").read_text().splitlines()
    assert lines[0] == f"lr,{FIGURES}" and len(lines) == 1 + 6
    assert [(float(r["lr"]), int(r["repeat"])) for r in rows(out)] == [
        (0.01, 0), (0.1, 0), (1.0, 0), (0.01, 1), (0.1, 1), (1.0, 1)]
    assert all(r["diverged_at_step"] == r["failed"] == "" and 0 <= float(r["test_accuracy"]) <= 1
               for r in rows(out))
    folders = sorted(p.name for p in (out / "runs").iterdir())
    assert folders == ["0.01-0", "0.01-1", "0.1-0", "0.1-1", "1-0", "1-1"]
    run = out / "runs" / "0.1-1"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["sweep_lr"] == 0.1 and summary["sweep_repeat"] == 1
    assert summary["steps"] == 25
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 25
    assert {"weights.npz", "config.toml", "README.md"} <= {p.name for p in run.iterdir()}
    assert "seed = 1" in (run / "config.toml").read_text()
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_diverged_run_has_empty_cells_and_its_step_in_the_csv(tmp_path, capsys, executor):
    out = tmp_path / "sweep"
    assert main(["sweep", "--dataset", "linear-system", "--param", "lr", "--values", "0.01,100",
                 "--steps", "200", "--out", str(out)]) == 0
    wild = (out / "sweep.csv").read_text().splitlines()[2].split(",")
    assert wild[0] == "100.0" and wild[2] == "" and wild[4] == "" and int(wild[5]) > 1
    assert wild[6] == ""  # it trained: nothing failed


# --- two settings ----------------------------------------------------------------------------
def test_two_settings_make_a_grid_of_runs_each_set_as_its_row_says(tmp_path, capsys, executor):
    out = tmp_path / "grid"
    assert main([*GRID, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sweep of lr (learning rate) over 0.01, 0.1, 1 by batch-size (batch size) over 16, 64 " \
           "(a grid of 3 × 2 points); 2 repeats of each from seed 0: 12 runs of 15 steps" in printed
    assert "          lr    batch-size  repeat   final loss" in printed
    assert (out / "sweep.csv").read_text().splitlines()[0] == f"lr,batch-size,{FIGURES}"
    table = list(rows(out))
    grid = [(lr, size) for lr in (0.01, 0.1, 1.0) for size in (16, 64)]  # the last fastest
    assert [(float(r["lr"]), int(r["batch-size"]), int(r["repeat"])) for r in table] == \
        [(*point, repeat) for repeat in (0, 1) for point in grid]  # the plan's order …
    printed_points = [line.split()[:3] for line in printed.splitlines()
                      if line.split()[:1] in (["0.01"], ["0.1"], ["1"])]
    assert printed_points[0] == ["1", "64", "1"]  # … though the last run ended first
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        f"{lr:g}-{size}-{repeat}" for lr, size in grid for repeat in (0, 1))
    for row in table:  # each row's figures are those of the run its folder holds
        run = out / "runs" / f"{float(row['lr']):g}-{row['batch-size']}-{row['repeat']}"
        config = ExperimentConfig.load(run / "config.toml")
        assert (config.learning_rate.value, config.batch.size, config.seed) == \
            (float(row["lr"]), int(row["batch-size"]), int(row["repeat"]))
        summary = json.loads((run / "summary.json").read_text())
        assert (summary["sweep_lr"], summary["sweep_batch-size"]) == \
            (float(row["lr"]), int(row["batch-size"]))
        assert load_weights(run / "weights.npz").summary == summary  # a weight file to go on from
        assert (summary["sweep_final_loss"], summary["test_accuracy"], summary["steps"]) == \
            (float(row["final_loss"]), float(row["test_accuracy"]), 15)
        metrics = csv.DictReader((run / "metrics.csv").read_text().splitlines())
        smoothed = moving_average([float(m["loss"]) for m in metrics])
        assert (smoothed[-1], min(smoothed)) == pytest.approx(
            (float(row["final_loss"]), float(row["least_loss"])), rel=1e-9)
    batches = {int(r["batch-size"]): float(r["final_loss"]) for r in table[:2]}
    assert batches[16] != batches[64]  # the second setting was set, not only named


def test_a_failed_run_says_why_in_the_table_and_the_csv_and_has_no_folder(
        tmp_path, capsys, executor):
    out = tmp_path / "grid"
    executor["executor"] = Shuffled(failing=3)  # lr 0.1, batch size 64, repeat 0
    assert main([*GRID, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    failed = [line for line in printed.splitlines() if "failed: " in line]
    assert [line.split() for line in failed] == [
        ["0.1", "64", "0", "failed:", "its", "worker", "died", "twice", "(killed", "by", "signal",
         "9)"]]
    assert "12 rows" in printed and "11 run folders" in printed and "; 1 failed" in printed
    row = rows(out)[3]
    assert (row["lr"], row["batch-size"], row["repeat"]) == ("0.1", "64", "0")
    assert row["failed"] == "its worker died twice (killed by signal 9)"
    assert [row[name] for name in FIGURES.split(",")[1:-1]] == ["", "", "", ""]
    assert all(r["failed"] == "" and r["final_loss"] for i, r in enumerate(rows(out)) if i != 3)
    assert not (out / "runs" / "0.1-64-0").exists() and (out / "runs" / "0.1-64-1").is_dir()


# --- where the runs train --------------------------------------------------------------------
def test_one_worker_and_two_write_the_same_figures(tmp_path, capsys):
    """Runs train side by side, each on one BLAS thread: the figures of a run depend on its
    settings and seed only, not on the number of workers."""
    csvs = []
    for workers, where in (("1", "one after another in a worker process"),
                           ("2", "2 at a time in worker processes")):
        out = tmp_path / workers
        assert main([*GRID[:-1], "8", "--workers", workers, "--out", str(out)]) == 0
        assert f"runs of 8 steps, {where}" in capsys.readouterr().out
        csvs.append((out / "sweep.csv").read_text())
    assert csvs[0] == csvs[1] and len(csvs[0].splitlines()) == 1 + 12


def free_port() -> int:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def test_an_unreachable_cluster_is_one_line_and_changes_nothing(tmp_path, capsys):
    out = tmp_path / "sweep"
    (out / "runs").mkdir(parents=True)
    (out / "sweep.csv").write_text("lr,repeat\n0.1,0\n")  # an earlier sweep's, kept as it is
    address = f"tcp://127.0.0.1:{free_port()}"
    assert main([*GRID, "--cluster", address, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"gdplayground: error: --cluster: no Dask scheduler answers at " \
                           f"{address}: start one with `dask scheduler`, or check the address " \
                           "and the firewall\n"
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["runs", "sweep", "sweep.csv"]
    assert (out / "sweep.csv").read_text() == "lr,repeat\n0.1,0\n"


def test_a_cluster_is_reached_before_out_is_made_and_let_go_at_the_end(tmp_path, capsys,
                                                                       monkeypatch):
    out, seen = tmp_path / "sweep", []

    class Cluster(Shuffled):
        def __init__(self, address):
            super().__init__()
            seen.append(("made", address))

        def connect(self):
            seen.append(("connected", out.exists()))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            seen.append(("closed", (out / "sweep.csv").exists()))
    monkeypatch.setattr("gdplayground.labs.sweeps.plan.ClusterPool", Cluster)
    assert main([*GRID, "--cluster", "tcp://scheduler:8786", "--out", str(out)]) == 0
    assert "12 runs of 15 steps, on the Dask cluster at tcp://scheduler:8786" in \
        capsys.readouterr().out
    assert seen == [("made", "tcp://scheduler:8786"), ("connected", False), ("closed", True)]
    assert len(rows(out)) == 12


def test_workers_that_cannot_start_are_one_line_and_change_nothing(tmp_path, capsys, executor):
    from gdplayground.labs.sweeps.params import SweepError

    class Stillborn(InProcess):
        def run(self, tasks, sources, cancelled=None, progress=None):
            raise SweepError("the sweep's worker processes end as they start (exit code 1)")
            yield
    executor["executor"] = Stillborn()
    out = tmp_path / "sweep"
    assert main([*GRID, "--out", str(out)]) == 2
    assert capsys.readouterr().err == "gdplayground: error: the sweep's worker processes end " \
                                      "as they start (exit code 1)\n"
    assert list(tmp_path.iterdir()) == []


def test_ending_a_sweep_ends_its_workers_and_keeps_the_runs_that_ended(tmp_path):
    """SIGTERM (as `kill` sends it, to the sweep alone) while a run trains on: the worker
    processes end with the sweep, and the run that ended is written."""
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "sweep"
    process = subprocess.Popen(
        [sys.executable, "-m", "gdplayground", "sweep", "--dataset", "linear-system", "--param",
         "lr", "--values", "100,0.001", "--steps", "100000000", "--workers", "2", "--out",
         str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        for line in process.stdout:  # until lr 100 has diverged, while lr 0.001 trains on
            if line.split()[:1] == ["100"]:
                break
        workers = children(process.pid)
        assert workers  # the one training lr 0.001 at least
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()  # a sweep that failed the test trains on no longer
    assert process.returncode == 130 and "writing the runs that finished" in err
    assert [row["lr"] for row in rows(out)] == ["100.0"]
    assert [p.name for p in (out / "runs").iterdir()] == ["100-0"]
    assert not [pid for pid in workers if alive(pid)]


def children(pid: int) -> list[int]:
    """The worker processes a process started (not multiprocessing's resource tracker, which
    ends by itself once the process has ended)."""
    from pathlib import Path

    pids = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]
    return [child for child in pids
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- flags -----------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, message", [
    (["--param", "warp", "--values", "1"], "--param: 'warp' is not a setting a sweep can vary"),
    (["--param", "lr", "--values", "0.1,200"], "--values: lr takes values above 0 and at most 100"),
    (["--param", "seed", "--values", "1e10"],
     "--values: seed takes values from 0 to 4,294,967,295 (got 1e+10)"),
    (["--param", "lr", "--range", "0.1:1"], "--range needs --count N: how many values of --param "
                                            "lr to take from it"),
    (["--param", "lr", "--values", "0.1", "--range", "0.1:1", "--count", "2"],
     "--param lr takes --values V1,V2,… or --range LO:HI --count N, not both"),
    (["--param", "lr"], "--param lr takes --values V1,V2,… or --range LO:HI --count N"),
    (["--param", "l2", "--range", "0:1", "--count", "3", "--log"], "--range: a log range needs "
                                                                   "bounds above 0"),
    (["--param", "lr", "--values", "0.1", "--count", "3"],
     "--count goes with --range LO:HI (--values lists the values of --param lr)"),
    (["--param", "optimizer", "--range", "1:2", "--count", "3"], "--range: optimizer is chosen"),
    (["--param", "lr", "--values", "0.1", "--repeats", "0"], "--repeats: repeats must be from 1"),
    (["--param", "width", "--values", "8", "--dataset", "linear-system"], "width 8: the network"),
    (["--param", " ", "--values", "8"], "argument --param: the value is empty"),
    (["--param", "lr", "--values", ""], "argument --values: the value is empty"),
    (["--param", "lr", "--range", "", "--count", "3"], "argument --range: the value is empty"),
    (["--param", "lr", "--values", "0.1", "--repeats", "9" * 5000],
     "argument --repeats: must be a whole number of at most 4,300 digits"),
    # the settings' grammar: each part after the --param it belongs to, once
    (["--values", "0.1", "--param", "lr"], "--values belongs to a setting: give --param NAME "
                                           "before it"),
    (["--log", "--param", "lr", "--range", "0.1:1", "--count", "3"], "--log belongs to a setting"),
    (["--param", "lr", "--values", "0.1", "--values", "0.2"],
     "--values is given twice for --param lr; a second setting starts with its own --param"),
    (["--param", "lr", "--range", "0.1:1", "--count", "3", "--count", "4"],
     "--count is given twice for --param lr"),
    (["--param", "lr", "--values", "0.1", "--param", "batch-size", "--values", "8", "--log"],
     "--log goes with --range LO:HI (--values lists the values of --param batch-size)"),
    (["--param", "lr", "--param", "batch-size", "--values", "8"],
     "--param lr takes --values V1,V2,… or --range LO:HI --count N"),
    (["--param", "lr", "--values", "0.1", "--param", "learning_rate.value", "--values", "1"],
     "--param: lr is swept twice; vary two different settings"),
    (["--param", "lr", "--values", "0.1", "--param", "batch-size", "--values", "8", "--param",
      "seed", "--values", "1"], "--param: a sweep varies one setting or two (got 3)"),
    (["--param", "lr", "--range", "0.01:1", "--count", "40", "--param", "batch-size", "--range",
      "1:64", "--count", "40"], "--param: 40 lr values × 40 batch-size values × 1 repeats are "
                                "1,600 runs, more than 1,000"),
    (["--param", "lr", "--values", "0.1", "--param", "width", "--values", "8", "--dataset",
      "linear-system"], "error: width 8: the network has no hidden layer"),
    # where the runs train
    (["--param", "lr", "--values", "0.1", "--workers", "0"],
     "argument --workers: must be from 1 to 256 (got 0)"),
    (["--param", "lr", "--values", "0.1", "--workers", "100000"],
     "argument --workers: must be from 1 to 256 (got 100000)"),
    (["--param", "lr", "--values", "0.1", "--workers", "two"],
     "argument --workers: must be a whole number (got 'two')"),
    (["--param", "lr", "--values", "0.1", "--workers", "2", "--cluster", "tcp://localhost:8786"],
     "argument --cluster: not allowed with argument --workers"),
    (["--param", "lr", "--values", "0.1", "--cluster", ""], "argument --cluster: the value is "
                                                            "empty"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, flags, message):
    assert main(["sweep", *flags, "--steps", "5", "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and captured.out == ""
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_an_out_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert main(["sweep", "--param", "lr", "--values", "0.1", "--dataset", "xor", "--out",
                 str(tmp_path / "taken")]) == 2
    assert "--out: " in capsys.readouterr().err


def test_help_says_what_two_settings_workers_and_a_cluster_do(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for words in ["every value of the first with every value of the second",
                  "A second --param, with its own values, makes a grid",
                  "each run's BLAS works on one thread, so a run's figures are the same whatever "
                  "the number of workers", "(default: one per core; with 1, one after "
                  "another in one worker process)",
                  "the Dask cluster whose scheduler listens there"]:
        assert words in help_text


# --- convolutional networks ------------------------------------------------------------------
def test_a_sweep_of_filters_trains_a_convolutional_network_per_value(tmp_path, capsys, executor):
    from tiny_images import image_folder
    out = tmp_path / "sweep"
    assert main(["sweep", "--dataset", str(image_folder(tmp_path / "images")), "--layers",
                 "conv2x3,pool,8", "--validation-split", "0", "--param", "filters", "--values",
                 "2,4,8", "--steps", "3", "--out", str(out)]) == 0
    assert "sweep of filters (filters per convolution) over 2, 4, 8" in capsys.readouterr().out
    assert [row["filters"] for row in rows(out)] == ["2", "4", "8"]
    for filters in (2, 4, 8):
        run = out / "runs" / f"{filters}-0"
        hidden = ExperimentConfig.load(run / "config.toml").architecture.hidden
        assert ",".join(map(layer_words, hidden)) == f"conv{filters}x3,pool,8"
        assert json.loads((run / "summary.json").read_text())["steps"] == 3
