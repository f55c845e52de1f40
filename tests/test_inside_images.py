"""The image half of the Inside tab, fed a report from a briefly trained MNIST network."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetricsF

from gdplayground.config import preset
from gdplayground.labs.inside import confusion_matrix, saliency, smoothgrad
from gdplayground.engine.trainer import Trainer
from gdplayground.gui.inside.images import (
    CELL_DIGITS, COUNT_COLOURS, MISCLASSIFIED_SHOWN, ImageInside, share_in_words)
from gdplayground.gui.widgets.plots import use_plot_style

N = 2000  # test digits in the report


@pytest.fixture(scope="module")
def report():
    trainer = Trainer(preset("mnist"))
    for _ in range(50):
        trainer.step()
    data = trainer.dataset
    x = data.test.x[:N]
    return SimpleNamespace(network=copy.deepcopy(trainer.network), input_scale=1.0,
                           images01=(x.reshape(-1, *data.image_shape) * data.input_scale)
                           .astype(np.float32),
                           labels=data.test.y[:N], probabilities=trainer.predict(x), step=50)


@pytest.fixture
def inside(qtbot, report):
    use_plot_style()
    widget = ImageInside()
    qtbot.addWidget(widget)
    widget.resize(1024, 640)
    widget.show_report(report)
    return widget


def test_confusion_counts_and_cells(inside, report):
    predicted = report.probabilities.argmax(axis=1)
    expected = confusion_matrix(report.labels, predicted, 10)
    np.testing.assert_array_equal(inside.confusion.counts, expected)
    rows = [[count / sum(row) for count in row] for row in expected.tolist()]  # by hand
    np.testing.assert_allclose(inside.confusion.image.image, rows, rtol=1e-6)
    assert [t.toPlainText() for t in inside.confusion.texts] == [str(c) for c in expected.ravel()]
    for cell in [(3, 3), (4, 9)]:
        inside.confusion.show_cell(*cell)
        assert inside.confusion.cell_digits.count() == min(CELL_DIGITS, expected[cell])


def test_misclassified_list(inside, report):
    wrong = int((report.probabilities.argmax(axis=1) != report.labels).sum())
    assert wrong > 0
    assert inside.misclassified.digits.count() == min(MISCLASSIFIED_SHOWN, wrong)


def test_saliency_of_a_chosen_digit(qtbot, inside, report):
    inside.choose_digit(5)
    assert inside.tabs.currentWidget() is inside.saliency
    predicted = int(report.probabilities[5].argmax())
    expected = saliency(report.network, report.images01[5].reshape(1, -1), np.array([predicted]),
                        report.input_scale).reshape(28, 28)
    np.testing.assert_allclose(inside.saliency.map, expected, rtol=1e-6)
    inside.saliency.classes.setCurrentIndex(2 + 3)  # class 3
    expected = saliency(report.network, report.images01[5].reshape(1, -1), np.array([3]),
                        report.input_scale).reshape(28, 28)
    np.testing.assert_allclose(inside.saliency.map, expected, rtol=1e-6)
    inside.saliency.smooth.setChecked(True)  # computed on a thread of its own, then shown
    smoothed = smoothgrad(report.network, report.images01[5].reshape(1, -1), np.array([3]),
                          report.input_scale).reshape(28, 28)
    qtbot.waitUntil(lambda: np.allclose(inside.saliency.map, smoothed, rtol=1e-6), timeout=10_000)
    assert inside.saliency.map_box.title.text.startswith("SmoothGrad of d(logit of 3)")


def test_drawing_a_digit_and_clearing(inside):
    drawing = inside.drawing
    assert drawing.stages is None and drawing.probabilities is None and drawing.hint.isVisible()
    drawing.canvas.stroke_to(60, 80, start=True)
    drawing.canvas.stroke_to(60, 200)
    drawing.canvas.stroke_to(230, 120)
    drawing.refresh()
    assert drawing.stages.centred.shape == (28, 28) and drawing.stages.boxed.shape == (28, 28)
    assert max(drawing.stages.scaled.shape) == 20
    assert drawing.probabilities.shape == (10,)
    assert drawing.probabilities.sum() == pytest.approx(1.0)
    assert drawing.map.shape == (28, 28) and not drawing.hint.isVisible()
    drawing.clear_button.click()
    assert drawing.stages is None and drawing.probabilities is None and drawing.hint.isVisible()
    assert not drawing.canvas.ink.any()


def test_fixed_digits(inside, report):
    assert inside.fixed.digits.count() == 8


def counted(report, true, predicted, n_classes):
    """The report with its labels and predictions replaced: `predicted` as one-hot
    probabilities."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    probabilities = np.eye(n_classes)[predicted]
    return SimpleNamespace(network=report.network, input_scale=1.0,
                           images01=report.images01[:len(true)], labels=true,
                           probabilities=probabilities, step=7)


def test_one_error_among_a_thousand_is_pale_and_the_title_does_not_round_it_away(inside, report):
    """Scaled per cell from 0 to 1, one error was as dark as 1,135 right answers; and 2,114 of
    2,115 right read 100.0%."""
    true = np.array([0] * 980 + [1] * 1135)
    predicted = true.copy()
    predicted[0] = 1
    inside.show_report(counted(report, true, predicted, 2))
    view = inside.confusion
    assert view.counts.tolist() == [[979, 1], [0, 1135]]
    error = COUNT_COLOURS.map(view.image.image[0, 1], mode="byte")
    right = COUNT_COLOURS.map(view.image.image[1, 1], mode="byte")
    assert min(error[:3]) >= 250 and max(right[:3]) <= 110  # white beside dark blue
    assert "2,114 of 2,115 right (99.95%)" in view.matrix_plot.titleLabel.text


@pytest.mark.parametrize("part, whole, words", [
    (2114, 2115, "99.95%"), (5, 5, "100.0%"), (1, 10_000, "0.01%"), (0, 7, "0.0%"),
    (1, 3, "33.3%")])
def test_shares_in_words_never_round_to_all_or_nothing(part, whole, words):
    assert share_in_words(part, whole) == words


def test_four_digit_counts_fit_their_cells_at_1024_by_640(qtbot, inside, report):
    """ "1123" showed ".123": the counts overflowed their cells."""
    true = np.repeat(np.arange(10), 1123)
    inside.show_report(counted(report, true, true, 10))
    inside.resize(1010, 505)  # its room in a 1024×640 window
    inside.show()
    qtbot.wait(100)
    view = inside.confusion
    box = view.matrix_plot.getViewBox()
    cell = box.mapViewToScene(QPointF(1, 0)).x() - box.mapViewToScene(QPointF(0, 0)).x()
    assert cell > 0
    for text in view.texts:
        shown = text.isVisible()
        assert not shown or QFontMetricsF(text.textItem.font()).horizontalAdvance("1123") < cell
    assert view.texts[0].isVisible()  # at 1024×640 they fit in small type


def test_a_cell_chosen_on_another_matrix_is_forgotten(inside, report):
    """Chosen on MNIST's 10 classes, cell (8, 5) stayed after a switch to 0 vs 1: the caption
    still said "true 8, predicted 5" and a click opened a digit of the old list."""
    view = inside.confusion
    view.show_cell(8, 5)
    assert "True 8, predicted 5" in view.cell_caption.text()
    true = np.array([0, 1, 1, 0])
    inside.show_report(counted(report, true, true, 2))
    assert view.cell is None and view.cell_digits.count() == 0
    assert "Click a cell" in view.cell_caption.text()
