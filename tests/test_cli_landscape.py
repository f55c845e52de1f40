"""`gdplayground landscape WEIGHTS --mode line|plane|path --out DIR`, run through main()."""

import csv
import re

import numpy as np
import pytest
from PIL import Image

from gdplayground.cli import main
from gdplayground.cli import train as cli_train
from gdplayground.config import preset
from gdplayground.engine import Trainer

LEAST = re.compile(r"least loss (\S+) at (?:α = ([^,\s]+)|\(a, b\) = \((\S+), (\S+)\))")


@pytest.fixture(scope="module")
def spiral_weights(tmp_path_factory):
    """The spiral preset after 300 steps, as a weight file."""
    out = tmp_path_factory.mktemp("spiral") / "run"
    assert main(["train", "--dataset", "spiral", "--steps", "300", "--out", str(out)]) == 0
    return out / "weights.npz"


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _least(printed: str) -> tuple[float, float, float | None]:
    loss, alpha, a, b = LEAST.search(printed).groups()
    return (float(loss), float(alpha), None) if alpha else (float(loss), float(a), float(b))


def test_the_line_writes_its_csv_and_prints_its_least_loss(spiral_weights, tmp_path, capsys):
    out = tmp_path / "line"
    assert main(["landscape", str(spiral_weights), "--mode", "line", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header, rows = _read(out / "landscape.csv")
    assert header == ["a", "b", "loss", "accuracy"]
    assert len(rows) == 201 and all(row[1] == "" for row in rows)
    alphas = [float(row[0]) for row in rows]
    assert alphas[0] == -0.5 and alphas[-1] == 1.5
    losses = np.array([float(row[2]) for row in rows])
    assert all(0 <= float(row[3]) <= 1 for row in rows)  # a classifier: accuracy given
    loss, alpha, b = _least(printed)
    best = int(np.argmin(losses))
    assert loss == pytest.approx(losses[best], rel=1e-5) and alpha == pytest.approx(alphas[best])
    assert b is None
    assert "along the line from the weights at step 0 (α = 0) to those at step 300" in printed
    with Image.open(out / "landscape.png") as picture:
        assert picture.size == (800, 610)


def test_the_plane_writes_its_grid_and_the_least_loss_is_the_csvs(spiral_weights, tmp_path,
                                                                  capsys):
    out = tmp_path / "plane"
    assert main(["landscape", str(spiral_weights), "--mode", "plane", "--grid", "5", "--range",
                 "0.5", "--samples", "100", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header, rows = _read(out / "landscape.csv")
    assert header == ["a", "b", "loss", "accuracy"] and len(rows) == 25
    values = np.array([[float(v) for v in row] for row in rows])
    assert sorted(set(values[:, 0])) == sorted(set(values[:, 1])) == [-0.5, -0.25, 0, 0.25, 0.5]
    loss, a, b = _least(printed)
    best = values[np.argmin(values[:, 2])]
    assert loss == pytest.approx(best[2], rel=1e-5) and (a, b) == pytest.approx(tuple(best[:2]))
    assert "on 100 examples" in printed
    with Image.open(out / "landscape.png") as png:
        picture = np.asarray(png.convert("RGB"))
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 20  # a heatmap, not a blank page


def test_the_linear_system_has_no_accuracy_and_says_it_is_a_bowl(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "linear-system", "--steps", "50", "--out", str(run)]) == 0
    out = tmp_path / "plane"
    assert main(["landscape", str(run / "weights.npz"), "--mode", "plane", "--grid", "3",
                 "--out", str(out)]) == 0
    assert "an exact quadratic bowl: its contours are ellipses" in capsys.readouterr().out
    _, rows = _read(out / "landscape.csv")
    assert len(rows) == 9 and all(row[3] == "" for row in rows)


def test_the_path_writes_each_kept_point(tmp_path, capsys, monkeypatch):
    trainer = Trainer(preset("spiral"))
    for _ in range(300):
        trainer.step()
    monkeypatch.setattr(cli_train, "trained_from", lambda path: trainer)  # a kept path
    out = tmp_path / "path"
    assert main(["landscape", "run", "--mode", "path", "--grid", "6", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"which explain \d+\.\d% and \d+\.\d% of its variance; the kept points lie "
                     r"up to \S+ from this plane", printed)
    _, grid = _read(out / "landscape.csv")
    header, points = _read(out / "path.csv")
    assert len(grid) == 36
    assert header == ["step", "a", "b", "loss", "plane_loss", "distance"]
    assert [int(p[0]) for p in points] == list(trainer.path.kept().steps)  # the last: step 300
    now = [float(v) for v in points[-1][1:]]
    assert now[0] == now[1] == now[4] == 0 and now[2] == pytest.approx(now[3], rel=1e-12)


@pytest.mark.parametrize("flags, message", [
    (["--grid", "0"], "--grid: must be from 2 to 501 (got 0)"),
    (["--grid", "10000"], "--grid: must be from 2 to 501 (got 10,000)"),
    (["--range", "-1"], "--range: must be more than 0 and at most 1e+06 (got -1)"),
    (["--range", "nan"], "--range: must be more than 0"),
    (["--samples", "0"], "--samples: must be from 1 to"),
    (["--seed", "-2"], "--seed: must be from 0 to"),
    (["--mode", "hill"], "--mode: invalid choice: 'hill'"),
])
def test_bad_flags_are_one_line_and_exit_code_2(spiral_weights, tmp_path, capsys, flags,
                                                message):
    args = ["landscape", str(spiral_weights), "--mode", "plane", "--out", str(tmp_path / "o"),
            *flags]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_missing_or_damaged_file_is_one_line_and_exit_code_2(tmp_path, capsys):
    damaged = tmp_path / "weights.npz"
    damaged.write_bytes(b"not a zip file")
    for path, message in ((tmp_path / "none.npz", "none.npz"),
                          (damaged, "not a .npz weight file")):
        assert main(["landscape", str(path), "--mode", "line", "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_path_of_too_few_points_and_a_range_for_it_are_refused(spiral_weights, tmp_path,
                                                                 capsys, monkeypatch):
    assert main(["landscape", str(spiral_weights), "--mode", "path", "--range", "2", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--range goes with --mode line or plane" in capsys.readouterr().err
    trainer = Trainer(preset("spiral"))
    trainer.step()
    monkeypatch.setattr(cli_train, "trained_from", lambda path: trainer)
    assert main(["landscape", "run", "--mode", "path", "--out", str(tmp_path / "o")]) == 2
    assert ("--mode path: the run has kept only 2 points along its path: train a few steps more"
            in capsys.readouterr().err)


def test_an_out_it_cannot_write_is_refused_before_the_work(spiral_weights, capsys, monkeypatch):
    from gdplayground.labs import landscape

    def never(*args, **kwargs):
        raise AssertionError("computed a plane for a folder it cannot write")
    monkeypatch.setattr(landscape, "plane", never)
    assert main(["landscape", str(spiral_weights), "--mode", "plane", "--out",
                 "/proc/landscape"]) == 2
    assert "--out: cannot write to /proc/landscape" in capsys.readouterr().err
