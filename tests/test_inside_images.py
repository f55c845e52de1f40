"""The image half of the Inside tab, fed a report from a briefly trained MNIST network."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest

from gdplayground.config import preset
from gdplayground.engine.inside import confusion_matrix, saliency
from gdplayground.engine.trainer import Trainer
from gdplayground.gui.inside_images import CELL_DIGITS, MISCLASSIFIED_SHOWN, ImageInside
from gdplayground.gui.plots import use_plot_style

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
    np.testing.assert_array_equal(inside.confusion.image.image, expected)
    assert [t.toPlainText() for t in inside.confusion.texts] == [str(c) for c in expected.ravel()]
    for cell in [(3, 3), (4, 9)]:
        inside.confusion.show_cell(*cell)
        assert inside.confusion.cell_digits.count() == min(CELL_DIGITS, expected[cell])


def test_misclassified_list(inside, report):
    wrong = int((report.probabilities.argmax(axis=1) != report.labels).sum())
    assert wrong > 0
    assert inside.misclassified.digits.count() == min(MISCLASSIFIED_SHOWN, wrong)


def test_saliency_of_a_chosen_digit(inside, report):
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
    inside.saliency.smooth.setChecked(True)
    assert inside.saliency.map.shape == (28, 28)


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
