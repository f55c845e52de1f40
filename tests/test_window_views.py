"""The Training tab's views say what they cannot draw, and draw what they can crisply: exact
zeros on a log axis, empty plots, small windows, the weight mosaic at any size, and a run start
that completes whatever part of it fails."""

import numpy as np
import pytest

from gdplayground.engine.history import History
from gdplayground.engine.trainer import LayerStats, StepReport
from gdplayground.gui.plots import GradientView, LossView


def gradient_report(step, norms):
    return StepReport(step, 1, False, 8, 1.0, 0.5, 0.1,
                      tuple(LayerStats(norm, 0.0, 1.0) for norm in norms))


def title_of(view) -> str:
    return view.plot.getPlotItem().titleLabel.text


def test_exactly_zero_gradients_are_said_not_drawn_as_a_fall_to_1e_300(qtbot):
    """Layer 2's gradient is exactly 0 from step 40 (a dead layer): its moving average fell
    towards 0 geometrically, a line down to 1e-300 on the log axis that squashed the real
    curves into its top few pixels."""
    view = GradientView()
    qtbot.addWidget(view)
    view.set_layers((2, 8, 8, 1))
    history = History(3)
    rng = np.random.default_rng(0)
    history.add([gradient_report(step, (rng.uniform(0.1, 0.3), 0.0 if step >= 40 else 0.05,
                                        rng.uniform(0.01, 0.02)))
                 for step in range(1, 3001)])
    view.draw(history)
    drawn = np.concatenate([curve.getData()[1] for curve in view.curves])  # log10 of the norms
    smoothed = np.concatenate([history.column(f"smoothed_layer{i}_grad_norm") for i in (1, 3)])
    assert drawn.min() >= np.log10(smoothed.min()) - 1e-9  # nothing below the real values
    low, high = view.plot.getPlotItem().vb.viewRange()[1]
    assert high - low < 2  # decades: the real data fill the plot
    assert "layer 2 from step 40" in title_of(view) and "layer 1 from" not in title_of(view)
    history.add([gradient_report(3001, (0.2, 0.04, 0.015))])  # the layer comes back to life
    view.draw(history)
    assert "exactly 0" not in title_of(view)


def test_where_a_zero_began_among_summarised_steps_is_given_as_a_bound():
    from gdplayground.gui.plots import zero_since

    history = History(1, recent=100, max_blocks=1000)
    history.add([gradient_report(step, (0.0 if step >= 155 else 1.0,)) for step in range(1, 501)])
    # rows up to step 300 or so are summarised in blocks of 8: the zeros began inside one
    since = zero_since(history, "layer1_grad_norm")
    assert since.endswith(" at the latest") and 155 <= int(since.split()[0]) <= 155 + 8
    recent = History(1)
    recent.add([gradient_report(step, (0.0 if step >= 155 else 1.0,)) for step in range(1, 501)])
    assert zero_since(recent, "layer1_grad_norm") == "155"
