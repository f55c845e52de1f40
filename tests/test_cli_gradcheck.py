"""`gdplayground gradcheck WEIGHTS.npz`, the Gradient check tab's twin, run through main()."""

import os
import re
import subprocess
import sys

import pytest

from gdplayground.cli import main
from gdplayground.engine.network import Network

PARAMETERS = ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight",
              "layer3.bias"]
ROW = re.compile(r"^(layer\d\.\w+)\s+(float\d\d)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S.*)$", re.M)


@pytest.fixture(scope="module")
def spiral_weights(tmp_path_factory):
    """The spiral preset (2-8-8-1 tanh, sigmoid + BCE) after 200 steps, as a weight file."""
    out = tmp_path_factory.mktemp("spiral") / "run"
    assert main(["train", "--dataset", "spiral", "--steps", "200", "--out", str(out)]) == 0
    return out / "weights.npz"


def test_a_weight_file_gets_a_row_per_parameter_and_dtype(spiral_weights, capsys):
    assert main(["gradcheck", str(spiral_weights)]) == 0
    out = capsys.readouterr().out
    assert f"{spiral_weights}: spiral, trained 200 steps" in out
    assert "2-8-8-1 tanh, sigmoid + bce, 32 examples" in out
    rows = ROW.findall(out)
    assert [r[:2] for r in rows] == [(p, d) for p in PARAMETERS for d in ("float64", "float32")]
    for parameter, dtype, entries, h, error, round_off, verdict in rows:
        assert float(h) == pytest.approx(6.1e-6 if dtype == "float64" else 4.9e-3, rel=0.01)
        if dtype == "float64":
            assert float(error) < 1e-4 and verdict in ("ok", "excellent")
    assert "backprop agrees with the finite differences" in out


def test_a_broken_backward_makes_its_row_wrong_and_the_exit_code_1(spiral_weights, capsys,
                                                                    monkeypatch):
    backward = Network.backward

    def broken(self, dz):  # backprop as usual, then a wrong factor on layer 2's weight gradient
        backward(self, dz)
        self.layers[1].dW *= 1.5
    monkeypatch.setattr(Network, "backward", broken)
    assert main(["gradcheck", str(spiral_weights)]) == 1
    out = capsys.readouterr().out
    verdicts = {(p, d): v for p, d, *_, v in ROW.findall(out)}
    assert verdicts[("layer2.weight", "float64")] == "wrong"
    assert "backprop disagrees with the finite differences in layer2.weight" in out


@pytest.mark.parametrize("content, message", [
    (b"not a zip file", "not a .npz weight file (it is not a zip archive)"),
    (None, "cannot read"),
])
def test_a_bad_weight_file_is_one_line_and_exit_code_2(tmp_path, capsys, content, message):
    path = tmp_path / "weights.npz"
    if content is not None:
        path.write_bytes(content)
    assert main(["gradcheck", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err


def test_the_h_sweep_takes_no_weight_file(spiral_weights, tmp_path, capsys):
    assert main(["gradcheck", str(spiral_weights), "--h-sweep", "--out", str(tmp_path)]) == 2
    assert "--h-sweep measures a preset's network" in capsys.readouterr().err


# --- gradcheck --h-sweep --out: a failing write leaves nothing half done ----------------------
def test_the_h_sweep_refuses_a_file_name_taken_by_a_folder_before_the_work(tmp_path, capsys):
    out = tmp_path / "sweep"
    (out / "h_sweep.png").mkdir(parents=True)
    assert main(["gradcheck", "--h-sweep", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds files that are not an h sweep's output" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["h_sweep.png"]


def test_a_write_qt_refuses_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    from PySide6.QtGui import QImage

    monkeypatch.setattr(QImage, "save", lambda self, *args: False)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "h_sweep.csv").write_text("an earlier sweep\n")
    made = tmp_path / "new"
    for out in (kept, made):
        assert main(["gradcheck", "--h-sweep", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Qt could not encode the picture as PNG" in err, err
    assert [p.name for p in kept.iterdir()] == ["h_sweep.csv"]  # the earlier one, untouched
    assert (kept / "h_sweep.csv").read_text() == "an earlier sweep\n"
    assert not made.exists()  # made for the sweep, and removed with it


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    # RLIMIT_FSIZE: the CSV (7 kB) fits, the PNG (over 30 kB) does not: EFBIG, "File too large"
    out = tmp_path / "sweep"
    script = ("import resource, sys; from gdplayground.cli import main; "
              "resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000)); "
              f"sys.exit(main(['gradcheck', '--h-sweep', '--out', {str(out)!r}]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "File too large" in done.stderr, done.stderr
    assert not out.exists()
