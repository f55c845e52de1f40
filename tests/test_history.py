import io
import math

import numpy as np
import pytest

from gdplayground.engine.history import GrowingArray, History, Timeline
from gdplayground.engine.trainer import LayerStats, StepReport


def report(step, loss, accuracy=0.5, val=None, grad=1.0, status="ok"):
    return StepReport(step, 1, False, 8, loss, accuracy, 0.1, (LayerStats(grad, 0.5, 2.0),),
                      val_loss=val, val_accuracy=None, status=status)


def csv_of(history, **options):
    out = io.StringIO()
    history.write_csv(out, **options)
    return out.getvalue()


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
        history.add([report(step, loss, val=0.7 if step == 2 else None)])
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
    history.add([report(1, 0.25, accuracy=None, val=0.5)])
    header, row = csv_of(history).splitlines()
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
    got = np.concatenate([smoother.smooth(values[:1])[0], smoother.smooth(values[1:2600])[0],
                          smoother.smooth(values[2600:])[0]])
    assert np.isnan(got[:3]).all()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_timeline_of_two_million_steps_stays_small_and_keeps_what_a_plot_shows():
    rng = np.random.default_rng(1)
    n = 2_000_000
    values = rng.normal(size=n)
    values[rng.random(n) < 0.01] = np.nan  # unmeasured steps
    values[1_234_567] = 50.0  # a spike deep in the past must survive
    timeline = Timeline(["step", "value"])
    for start in range(0, n, 10_000):
        steps = np.arange(start + 1, start + 10_001)
        timeline.extend(np.column_stack([steps, values[start:start + 10_000]]))
    held = timeline._recent._data.nbytes + timeline._blocks.nbytes
    assert len(timeline) == n and held < 2_000_000  # bytes, whatever the length of the run
    steps, shown = timeline.series("value")
    assert np.nanmax(shown) == 50.0 and np.nanmin(shown) == np.nanmin(values)
    assert steps[0] == 1 and steps[-1] == n
    assert timeline.last("value") == values[np.isfinite(values)][-1]
    # Older steps come back as block means, each the mean of exactly the steps it covers.
    rows = timeline.rows()
    block_ends = rows[:, 0].astype(int)
    starts = np.concatenate([[0], block_ends[:-1]])
    blocks = list(zip(starts, block_ends, rows[:, 1]))[: int(np.sum(block_ends <= timeline.summarised_until))]
    assert len(blocks) > 1000
    for start, end, mean in blocks[:: len(blocks) // 50]:
        assert mean == pytest.approx(np.nanmean(values[start:end]), rel=1e-9)
    assert block_ends[-1] == n and (np.diff(block_ends) > 0).all()


def test_a_rollback_takes_the_undone_steps_and_their_smoothing_back_out():
    rng = np.random.default_rng(2)
    losses = rng.random(400)
    rolled_back, straight = History(1, recent=64), History(1, recent=64)  # folds on the way
    rolled_back.add([report(s, losses[s - 1]) for s in range(1, 251)])
    exploded = [report(s, 1e18, grad=1e20) for s in range(251, 300)]
    rolled_back.add([*exploded, report(200, math.nan, status="diverged"),
                     report(200, math.nan, status="refused")])
    assert len(rolled_back) == 200 and rolled_back.column("step")[-1] == 200
    straight.add([report(s, losses[s - 1]) for s in range(1, 201)])
    more = [report(s, losses[s - 1]) for s in range(201, 401)]
    rolled_back.add(more)
    straight.add(more)
    for name in ("step", "loss", "smoothed_loss", "smoothed_layer1_grad_norm"):
        np.testing.assert_array_equal(rolled_back.column(name), straight.column(name))
    assert np.nanmax(rolled_back.series("loss")[1]) < 1  # no exploded value is left to draw
    assert rolled_back.generation == 1  # readers following the rows know to start again


def test_csv_streams_settled_rows_every_n_steps_and_the_last():
    history = History(1)
    history.add([report(s, 1.0 / s) for s in range(1, 26)])
    out = io.StringIO()
    history.write_csv(out, until_step=10, every=4)
    history.write_csv(out, after_step=10, until_step=25, header=False, every=4)
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == \
        ["step", "4", "8", "12", "16", "20", "24", "25"]


def test_huge_values_neither_overflow_the_smoothing_nor_stop_it():
    history = History(1)
    history.add([report(1, 1.0), report(2, 1e300), report(3, math.inf), report(4, 1.0)])
    smoothed = history.column("smoothed_loss")  # (warnings are errors in the tests)
    assert smoothed[0] == 1.0 and smoothed[1] > 1e199 and smoothed[2] == smoothed[1]
    assert np.isfinite(smoothed).all()
