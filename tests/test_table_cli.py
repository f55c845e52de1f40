"""Tables from the command line: train picks the output and loss from the label and says how it
prepared the rows; the weight file keeps the preparation, which evaluate, inspect, a resumed run
and the ONNX model apply; tables train to a stated accuracy or error."""

import json

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.cli.train import trained_from
from gdplayground.config import ExperimentConfig, preset
from gdplayground.data.table import read_table
from gdplayground.engine import Trainer
from gdplayground.resources import resource_path
from gdplayground.store.weights import load_weights


def table(tmp_path, name, header, rows):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(",".join(map(str, row)) for row in rows) + "\n",
                    encoding="utf-8")
    return path


def circles(tmp_path, n=300, seed=0):
    """Two features, two text classes: inside or outside a circle, and a constant column."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    labels = np.where((x**2).sum(axis=1) < 0.5, "inside", "outside")
    rows = [(f"{a:.4f}", f"{b:.4f}", "lab", label) for (a, b), label in zip(x, labels)]
    rows[5] = (rows[5][0], "NA", "lab", rows[5][3])
    return table(tmp_path, "circle.csv", "x1,x2,where,label", rows)


def plane(tmp_path, noise=0.1, n=400, seed=0):
    """y = 3·x1 − 2·x2 + 5 + noise: a regression a linear model fits to the noise level."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 5 + rng.normal(0, noise, n)
    return table(tmp_path, "plane.csv", "x1,x2,y",
                 [(f"{a:.5f}", f"{b:.5f}", f"{c:.5f}") for (a, b), c in zip(x, y)])


def train(capsys, out, *flags):
    assert main(["train", *map(str, flags), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    return printed, json.loads((out / "summary.json").read_text()), (out / "README.md").read_text()


def test_a_two_class_table_gets_sigmoid_and_bce_and_a_summary_of_its_preparation(tmp_path, capsys):
    printed, summary, readme = train(capsys, tmp_path / "run", "--dataset", circles(tmp_path),
                                     "--epochs", 40, "--lr", 0.03)
    config = ExperimentConfig.load(tmp_path / "run" / "config.toml")
    assert (config.architecture.output, config.architecture.loss) == ("sigmoid", "bce")
    for line in ["label 'label': 2 classes, numbered in sorted order: 0 inside, 1 outside",
                 "numeric features (standardised): x1, x2",
                 "dropped column 'where': one value, 'lab', in every row"]:
        assert line in printed and f"- {line}" in readme
    assert "dropped 1 row with a missing value (--missing error refuses them)" in printed
    assert "`model.onnx` takes the raw inputs, in this order: `x1`, `x2`" in readme
    assert summary["test_accuracy"] > 0.9  # 0.983 measured: a circle from 240 points, 40 epochs


def test_the_penguins_reach_95_percent(tmp_path, capsys):
    printed, summary, _ = train(capsys, tmp_path / "run", "--dataset", "penguins", "--epochs", 20)
    assert "text feature 'island', one-hot: Biscoe, Dream, Torgersen" in printed
    assert summary["test_accuracy"] > 0.95  # 100% measured (67 test penguins, seed 0)


def test_auto_mpg_beats_a_linear_fit_and_reports_its_error_in_mpg(tmp_path, capsys):
    out = tmp_path / "run"
    printed, summary, readme = train(capsys, out, "--dataset", "auto-mpg", "--epochs", 40)
    trainer = trained_from(out)
    data, preparation = trainer.dataset, trainer.dataset.preparation
    # in mpg, from the predictions: independent of the engine's loss
    mpg = lambda y: y[:, 0] * preparation.target_spread + preparation.target_mean  # noqa: E731
    errors = mpg(trainer.predict(data.test.x)) - mpg(data.test.y)
    assert summary["test_loss"] == pytest.approx(np.mean(errors**2), rel=1e-5)
    assert summary["test_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)), rel=1e-5)
    # least squares on the same split: 3.80 mpg; the network 2.93 mpg (seed 0, 40 epochs)
    ones = lambda x: np.c_[x, np.ones(len(x))]  # noqa: E731
    w = np.linalg.lstsq(ones(data.train.x), data.train.y, rcond=None)[0]
    linear = np.sqrt(np.mean((mpg(ones(data.test.x) @ w) - mpg(data.test.y)) ** 2))
    assert summary["test_rmse"] < min(3.2, linear)
    assert f"RMSE {summary['test_rmse']:.4g} (in the units of 'mpg')" in printed
    assert "the test loss below is in the label's own units squared" in readme
    assert main(["evaluate", str(out)]) == 0
    assert f"test       loss {summary['test_loss']:.6g} (mean squared error of 'mpg', in its " \
           f"units squared)  RMSE {summary['test_rmse']:.4g}" in capsys.readouterr().out


def test_a_linear_fit_of_a_noisy_plane_comes_down_to_the_noise(tmp_path, capsys):
    _, summary, _ = train(capsys, tmp_path / "run", "--dataset", plane(tmp_path, noise=0.1),
                          "--layers", "none", "--epochs", 60, "--lr", 0.05)
    assert 0.08 < summary["test_rmse"] < 0.12  # 0.1 of noise, 80 test rows: 0.093 measured


def test_evaluate_applies_the_stored_preparation_to_reordered_rows(tmp_path, capsys):
    path = circles(tmp_path)
    train(capsys, tmp_path / "run", "--dataset", path, "--steps", 3)
    stored = load_weights(tmp_path / "run" / "weights.npz").preparation
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    refitted = Trainer(ExperimentConfig.load(tmp_path / "run" / "config.toml")).dataset.preparation
    assert refitted.mean != stored.mean  # another split: a refit scales otherwise
    assert trained_from(tmp_path / "run").dataset.preparation == stored
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert main(["train", "--weights", str(tmp_path / "run"), "--steps", "1",
                 "--out", str(tmp_path / "resumed")]) == 0
    assert load_weights(tmp_path / "resumed" / "weights.npz").preparation == stored
    path.write_text("\n".join([*lines, *lines[1:11]]) + "\n", encoding="utf-8")  # rows added
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 2
    assert "when it was saved: has the file changed?" in capsys.readouterr().err


@pytest.mark.parametrize("dataset", ["penguins", "auto-mpg"])
def test_the_onnx_model_takes_raw_rows_and_agrees_with_the_engine(tmp_path, dataset):
    ort = pytest.importorskip("onnxruntime")
    from gdplayground.store.onnx_export import to_onnx
    trainer = Trainer(preset(dataset))
    for _ in range(30):
        trainer.step()
    preparation = trainer.dataset.preparation
    model = to_onnx(trainer.config, trainer.snapshot().parameters, 1.0, preparation)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rows = read_table(resource_path("tables", f"{dataset}.csv"), preparation.target)
    raw = preparation.raw_inputs(rows)
    assert raw[:3, :len(preparation.numeric)].tolist() == \
        [[rows.columns[name].values[i] for name in preparation.numeric] for i in range(3)]
    got = session.run(None, {"input": raw.astype(np.float32)})[0]
    expected = trainer.predict(preparation.features(rows))
    if preparation.classes is None:  # the label in its own units
        expected = expected * preparation.target_spread + preparation.target_mean
        assert np.std(got) > 3  # mpg, not standardised
    # within 1e-5 of the network's own outputs: for mpg, 1e-5 of a spread of 7.8 mpg
    np.testing.assert_allclose(got, expected, atol=1e-5 * max(1, preparation.target_spread), rtol=0)


def test_inspect_names_a_tables_classes(tmp_path, capsys):
    train(capsys, tmp_path / "run", "--dataset", "penguins", "--epochs", 5)
    assert main(["inspect", str(tmp_path / "run"), "--out", str(tmp_path / "inside")]) == 0
    printed = capsys.readouterr().out
    assert "class 1 Chinstrap:" in printed
    assert "misclassified.png and saliency maps are for images: a table has none" in printed
    confusion = (tmp_path / "inside" / "confusion.csv").read_text().splitlines()
    assert confusion[0] == "true\\predicted,Adelie,Chinstrap,Gentoo"
    assert sorted(p.name for p in (tmp_path / "inside").iterdir()) == ["confusion.csv"]


def test_a_sweep_over_a_table_keeps_its_preparation_and_units(tmp_path, capsys):
    assert main(["sweep", "--dataset", "auto-mpg", "--steps", "3", "--param", "lr",
                 "--values", "0.01,0.1", "--out", str(tmp_path / "sweep")]) == 0
    run = tmp_path / "sweep" / "runs" / "0.1-0"
    assert load_weights(run / "weights.npz").preparation.target == "mpg"
    trainer = trained_from(run)  # the test loss in mpg², as train's
    loss, _ = trainer.evaluate("test")
    assert json.loads((run / "summary.json").read_text())["test_loss"] == \
        pytest.approx(loss * trainer.dataset.preparation.target_spread**2, rel=1e-6)


def test_train_help_says_how_to_train_on_a_table(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for words in ["a table (CSV or TSV file", "integer or text labels make classes",
                  "--missing {drop,error}", "standardised with the training rows' mean",
                  "missing value (empty, NA, NaN, ?)", "a table's rows are prepared as the file says"]:
        assert words in help_text
