import math

import numpy as np
import pytest

from gdplayground.engine.history import GrowingArray, History
from gdplayground.engine.trainer import LayerStats, StepReport


def report(step, loss, accuracy=0.5, val=None):
    return StepReport(step, 1, False, 8, loss, accuracy, 0.1, (LayerStats(1.0, 0.5, 2.0),),
                      val_loss=val, val_accuracy=None)


def test_growing_array_keeps_every_row_across_growth():
    rows = GrowingArray(2, capacity=4)
    for i in range(10):
        rows.extend([i, -i])
    rows.extend(np.arange(6).reshape(3, 2))
    assert len(rows) == 13
    assert rows.data[:10, 0].tolist() == list(range(10)) and rows.data[-1].tolist() == [4, 5]


def test_history_columns_and_smoothing():
    history = History(n_layers=1)
    for step, loss in enumerate([1.0, 3.0, math.nan, 2.0], start=1):
        history.append(report(step, loss, val=0.7 if step == 2 else None))
    assert history.column("step").tolist() == [1, 2, 3, 4]
    # Bias-corrected EMA: the first value is itself; NaN is passed over.
    smoothed = history.column("smoothed_loss")
    assert smoothed[0] == 1.0
    assert smoothed[1] == pytest.approx((0.95 * 0.05 * 1 + 0.05 * 3) / (1 - 0.95**2))
    assert smoothed[2] == smoothed[1]
    assert np.isnan(history.column("val_loss")[[0, 2, 3]]).all()
    assert history.column("layer1_grad_norm").tolist() == [1.0] * 4
    assert history.column("smoothed_layer1_grad_norm").tolist() == [1.0] * 4


def test_csv_leaves_unmeasured_cells_empty():
    history = History(n_layers=1)
    history.append(report(1, 0.25, accuracy=None, val=0.5))
    header, row = history.to_csv().splitlines()
    values = dict(zip(header.split(","), row.split(",")))
    assert values["step"] == "1" and values["loss"] == "0.25" and values["accuracy"] == ""
    assert values["val_loss"] == "0.5" and values["val_accuracy"] == ""


def test_vectorised_smoothing_matches_the_running_average_across_blocks_and_gaps():
    from gdplayground.engine.history import SMOOTHING, Smoother

    rng = np.random.default_rng(0)
    values = rng.random(5000) * 3
    values[rng.random(5000) < 0.05] = np.nan  # missing values are passed over
    values[:3] = np.nan
    average = weight = 0.0
    expected = []
    for v in values:
        if math.isfinite(v):
            average, weight = SMOOTHING * average + (1 - SMOOTHING) * v, SMOOTHING * weight + (1 - SMOOTHING)
        expected.append(average / weight if weight else math.nan)
    smoother = Smoother()  # fed in uneven pieces, one longer than a block
    got = np.concatenate([smoother.smooth(values[:1]), smoother.smooth(values[1:2600]),
                          smoother.smooth(values[2600:])])
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
