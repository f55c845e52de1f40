"""Tables in the window: chosen in the Data panel (a shipped one, or a file), their columns
listed, trained with the output and loss their label calls for, a classifier's confusion
matrix by its classes' names; a regression's error in the
target's units; a bad table refused with its message, the run as it was; two-feature tables
with their decision boundary or fitted surface; and switching among every kind of data."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from gdplayground.gui.training.paces import default_pace
from gdplayground.labs.diagram import BOUNDARY_GRID, plane_grid
from test_window import TIMEOUT, open_window, spiral, wait_idle  # noqa: F401  (a fixture)


@pytest.fixture
def table_window(open_window):  # noqa: F811  (the fixture imported above)
    """A window on a toy set whose every new run goes ahead unasked (the confirmations are
    counted) and whose file chooser answers `window.chosen`."""
    def make(config=None):
        window = open_window(config or spiral())
        window.asked = []
        window.confirm = lambda *question: window.asked.append(question) or True
        return window
    return make


@pytest.fixture
def choose_file(monkeypatch):
    def choose(window, path) -> None:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(path), ""))
        combo = window.data_panel.dataset.widget
        if combo.currentData() == "table":
            window.data_panel.file_button.click()
        else:
            combo.setCurrentIndex(combo.findData("table"))
    return choose


def choose(qtbot, window, name: str) -> None:
    combo = window.data_panel.dataset.widget
    combo.setCurrentIndex(combo.findData(name))
    qtbot.waitUntil(lambda: window.info.config.data.name == name, timeout=TIMEOUT)


def train(qtbot, window, steps: int) -> None:
    window.step(steps)
    qtbot.waitUntil(lambda: window.last_step >= steps, timeout=TIMEOUT)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: not (window.training._dirty or window.training._stale),
                    timeout=TIMEOUT)  # every plot drawn with the last frame


def listed(panel) -> str:
    """The Data panel's column list as plain words."""
    return " ".join(re.sub("<[^>]+>", " ", panel.columns.text()).replace("&nbsp;", " ").split())


def last_point(curve) -> float:
    _, y = curve.getData()
    return float(y[np.isfinite(y)][-1])


def write_table(path, columns: dict[str, np.ndarray], decimals: int = 3) -> None:
    rows = zip(*(np.round(v, decimals) if v.dtype.kind == "f" else v for v in columns.values()))
    path.write_text(",".join(columns) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")


def two_features(n: int = 160):
    """Two columns in their own units (far from standardised): length 5 to 15, width 100 to 300,
    uniform: standardised, they reach about 2, and their pictures ±2.5, not the toy sets' ±4."""
    rng = np.random.default_rng(3)
    x = rng.uniform((5.0, 100.0), (15.0, 300.0), (n, 2))
    return x, (x[:, 0] - 10) / 3 + (x[:, 1] - 200) / 50


def test_penguins_chosen_in_the_panel_lists_its_columns_and_learns_its_species(qtbot, table_window):
    window = table_window()
    window.set_pace(None)  # flat out: the table's own pace comes with it
    choose(qtbot, window, "penguins")
    panel, arch = window.data_panel, window.config.architecture
    words = listed(panel)
    assert "island : text, 3 categories: Biscoe, Dream, Torgersen" in words
    assert "sex : text, 2 categories: female, male" in words
    assert "bill_length_mm : number" in words
    assert "species (label): 3 classes: Adelie, Chinstrap, Gentoo" in words
    assert "333 rows, 11 with a missing value left out" in words  # of the package's 344
    assert panel.label_column.currentText() == "species" and panel.label_column.isVisibleTo(panel)
    assert panel.editors["data.test_fraction"].widget.isVisibleTo(panel)
    assert (arch.output, arch.loss, window.info.sizes[-1]) == ("softmax", "cross_entropy", 3)
    assert window.training_pace == default_pace("penguins") == 100  # as said
    train(qtbot, window, 120)  # 15 epochs of 8 batches
    assert last_point(window.training.accuracy_view.test) > 0.9
    assert not window.banner.isVisible() or "Could not" not in window.banner.text()

    inside = window.inside  # its errors, by the species' names
    window.tabs.setCurrentWidget(inside)
    inside.pages.setCurrentIndex(0)
    qtbot.waitUntil(lambda: inside.classes.counts.sum() > 0, timeout=TIMEOUT)
    test = window.session.worker.trainer.dataset.test
    predicted = window.session.worker.trainer.predict(test.x).argmax(axis=1)
    counts = np.zeros((3, 3), int)
    np.add.at(counts, (test.y, predicted), 1)
    assert np.array_equal(inside.classes.counts, counts)
    names = [name for _, name in inside.classes.matrix_plot.getAxis("bottom")._tickLevels[0]]
    assert names == ["Adelie", "Chinstrap", "Gentoo"] and inside.pages.tabText(0) == "Errors"
    window.tabs.setCurrentIndex(0)

    panel.label_column.setCurrentText("sex")  # two classes: one sigmoid unit
    panel.label_column.activated.emit(panel.label_column.currentIndex())
    qtbot.waitUntil(lambda: window.info.config.data.target == "sex", timeout=TIMEOUT)
    arch = window.config.architecture
    assert (arch.output, arch.loss, window.info.sizes[-1]) == ("sigmoid", "bce", 1)
    assert "sex (label): 2 classes: female, male" in listed(panel)
    assert len(window.asked) == 1  # the new label ended a run under way: asked first


def test_a_tables_weights_and_run_saved_from_the_window_reopen_with_its_preparation(
        qtbot, table_window, tmp_path, capsys):
    """The window's weight file and run folder keep the table's preparation (a table's weight
    file without one is refused), so evaluate prepares the rows as training did."""
    from gdplayground.cli import main

    window = table_window()
    choose(qtbot, window, "auto-mpg")
    train(qtbot, window, 30)
    for export, target in ((window.files.export_weights, tmp_path / "w.npz"),
                           (window.files.export_run, tmp_path / "run")):
        with qtbot.waitSignal(window.files.written, timeout=TIMEOUT) as signal:
            export(target)
        assert signal.args[0], signal.args[1]
        capsys.readouterr()
        assert main(["evaluate", str(target)]) == 0
        trainer = window.session.worker.trainer  # idle: read between two steps
        rmse = trainer.dataset.error_in_units(trainer.evaluate("test")[0])
        assert f"RMSE {rmse:.3g}" in capsys.readouterr().out
    with qtbot.waitSignal(window.files.written, timeout=TIMEOUT) as signal:
        window.evaluate()  # Ctrl+T: the error in miles per gallon, beside the loss
    assert f"test: loss {trainer.evaluate('test')[0]:.4f}, RMSE {rmse:.4g} (mpg)" in signal.args[1]


def test_a_regression_table_plots_its_error_in_the_targets_units(qtbot, table_window):
    window = table_window()
    choose(qtbot, window, "auto-mpg")
    training, arch = window.training, window.config.architecture
    assert (arch.output, arch.loss) == ("identity", "mse")
    view = training.error_view
    assert view.isVisibleTo(training) and not training.accuracy_view.isVisibleTo(training)
    assert view.plot.getAxis("left").labelText == "RMSE (mpg)" and view.title == "Error in mpg"
    train(qtbot, window, 60)
    trainer = window.session.worker.trainer  # idle: read between two steps
    prep, test = trainer.dataset.preparation, trainer.dataset.test
    predicted = trainer.predict(test.x)[:, 0] * prep.target_spread + prep.target_mean
    miles = test.y[:, 0] * prep.target_spread + prep.target_mean
    rmse = np.sqrt(np.mean((predicted - miles) ** 2))
    assert 1 < rmse < 8  # trained a little: within a few mpg of cars that do 10 to 46
    assert last_point(view.test) == pytest.approx(rmse, rel=1e-5)
    assert "error" in training.plots() and "accuracy" not in training.plots()


def test_a_bad_table_file_is_refused_with_its_message_and_the_run_goes_on(
        qtbot, table_window, choose_file, tmp_path):
    window = table_window()
    train(qtbot, window, 5)
    run, config = window.info.run_id, window.config
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b,label\n1,2,x\n3,4\n5,6,y\n")
    choose_file(window, bad)
    message = "ragged.csv, line 3: 2 fields where the header has 3"
    qtbot.waitUntil(lambda: message in window.banner.text(), timeout=TIMEOUT)
    assert window.banner.text().count("ragged.csv") == 1
    assert window.data_panel.dataset.value == "spiral"  # the panel as it was
    assert window.asked == []  # nothing was offered: nothing to ask about
    window.step(1)
    qtbot.waitUntil(lambda: window.last_step == 6, timeout=TIMEOUT)
    assert window.info.run_id == run and window.config == config


def test_two_feature_tables_show_their_boundary_and_their_surface(
        qtbot, table_window, choose_file, tmp_path):
    x, score = two_features()
    window = table_window()
    write_table(tmp_path / "sorted.csv", {"length": x[:, 0], "width": x[:, 1],
                                          "kind": np.where(score > 0, "big", "small")})
    choose_file(window, tmp_path / "sorted.csv")
    qtbot.waitUntil(lambda: window.info.config.data.path.endswith("sorted.csv"), timeout=TIMEOUT)
    training, view = window.training, window.training.boundary
    assert training.data_view.currentWidget() is view
    assert view.plot.getAxis("bottom").labelText == "length (standardised)"
    assert view.plot.getAxis("left").labelText == "width (standardised)"
    info, trainer = window.info, window.session.worker.trainer
    data = trainer.dataset
    farthest = max(np.abs(split.x).max() for split in (data.train, data.validation, data.test))
    assert farthest * 1.1 <= info.extent < farthest * 1.1 + 0.5 and info.extent == 2.5
    train(qtbot, window, 40)
    grid = plane_grid(info.extent, BOUNDARY_GRID)
    big = trainer.predict(grid)[:, 0].reshape(BOUNDARY_GRID, BOUNDARY_GRID)  # "big" is class 0
    assert np.allclose(view.image.image, big, atol=1e-6)
    assert view.image.mapRectToParent(view.image.boundingRect()).right() == pytest.approx(info.extent)

    write_table(tmp_path / "valued.csv", {"length": x[:, 0], "width": x[:, 1],
                                          "price": 100 + 20 * score + 0.5})
    choose_file(window, tmp_path / "valued.csv")
    qtbot.waitUntil(lambda: window.info.config.data.path.endswith("valued.csv"), timeout=TIMEOUT)
    assert window.config.architecture.loss == "mse"
    assert view.plot.getPlotItem().titleLabel.text.startswith("Fitted surface")
    prep = window.info.preparation
    prices = window.info.labels[:, 0] * prep.target_spread + prep.target_mean
    assert view.bar.levels() == pytest.approx((prices.min(), prices.max()))
    train(qtbot, window, 40)
    trainer = window.session.worker.trainer
    predicted = trainer.predict(plane_grid(window.info.extent, BOUNDARY_GRID))[:, 0]
    in_units = predicted * prep.target_spread + prep.target_mean
    assert np.allclose(view.image.image, in_units.reshape(BOUNDARY_GRID, BOUNDARY_GRID), atol=1e-3)


def test_switching_among_images_toys_and_tables_draws_every_tab(qtbot, table_window):
    """Every tab of a table's run drawn (the other kinds' tabs have tests of their own), after
    runs of images and toys: no view is left on the last run's layout."""
    window = table_window()  # a toy set
    for name in ("penguins", "mnist-binary", "auto-mpg", "xor"):
        choose(qtbot, window, name)
        train(qtbot, window, 3)
        for tab in range(window.tabs.count() if window.info.preparation else 0):
            window.tabs.setCurrentIndex(tab)
            qtbot.wait(20)
        window.tabs.setCurrentIndex(0)
        assert "Could not" not in window.banner.text(), (name, window.banner.text())
