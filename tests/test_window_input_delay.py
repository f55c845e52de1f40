"""The bench's input-delay row measures what it says: real key presses and clicks posted to the
window's event queue from another thread, each timed to its effect (how fast is the bench's
to say, not a test's)."""

from gdplayground.bench import SECTIONS
from gdplayground.bench.input_delay import LOST_S, _delay_figures, _input_delays
from gdplayground.bench.window import fastest_config


def test_every_press_and_click_is_timed_to_its_effect(qapp):
    delays = _input_delays(fastest_config(), presses=3)
    assert set(delays) == {"key", "click"}
    for measured in delays.values():
        assert len(measured) == 3 and all(d is not None and 0 < d < LOST_S for d in measured)
    assert "input-delay" in SECTIONS


def test_delay_figures_count_lost_inputs_apart():
    figures = _delay_figures([0.010, None, 0.030, 0.020])
    assert figures["inputs"] == 4 and figures["lost"] == 1
    assert figures["p50_ms"] == 20.0 and figures["max_ms"] == 30.0
