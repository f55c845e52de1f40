import pytest

from gdplayground.config import LearningRateConfig
from gdplayground.engine.schedules import learning_rate_at


def lrs(steps, **cfg):
    config = LearningRateConfig(value=0.1, **cfg)
    return [learning_rate_at(s, config) for s in steps]


def test_constant():
    assert lrs([0, 10, 10**6]) == [0.1, 0.1, 0.1]


def test_step_decay_halves_every_decay_steps():
    assert lrs([0, 99, 100, 250], schedule="step", decay_steps=100, gamma=0.5) == pytest.approx(
        [0.1, 0.1, 0.05, 0.025])


def test_exponential_decay_is_smooth():
    assert lrs([0, 50, 100], schedule="exponential", decay_steps=100, gamma=0.5) == pytest.approx(
        [0.1, 0.1 * 0.5**0.5, 0.05])


def test_cosine_falls_from_value_to_floor_and_stays():
    got = lrs([0, 50, 100, 500], schedule="cosine", decay_steps=100, min_value=0.01)
    assert got == pytest.approx([0.1, 0.055, 0.01, 0.01])


def test_linear_warmup_ramps_up_then_hands_over():
    assert lrs([0, 1, 3, 4, 10], warmup_steps=4) == pytest.approx([0.025, 0.05, 0.1, 0.1, 0.1])
