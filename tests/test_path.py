"""The path a run keeps (engine/path.py): evenly spaced, within its capacity however long the run,
and going on at its spacing after a rollback, a restore or a capacity of none or one."""

import dataclasses

import numpy as np
import pytest

from gdplayground.config import preset
from gdplayground.engine import Trainer
from gdplayground.engine import path as path_module
from gdplayground.engine.path import PATH_BYTES, PATH_POINTS, KeptPath, WeightPath


def row(step: int) -> np.ndarray:
    """The weights a test path is offered after `step`: the step itself, so a row names its step."""
    return np.full(3, step, np.float32)


def offered(capacity: int, last: int, first: int = 0) -> WeightPath:
    path = WeightPath(first, row(first), 0.1, capacity=capacity)
    for step in range(first + 1, last + 1):
        path.offer(step, row(step), 0.1)
    return path


def expected_steps(capacity: int, last: int) -> np.ndarray:
    """Independently: the multiples of the least power of two that puts at most `capacity` of
    them in 0 … last."""
    stride = 1
    while last // stride + 1 > capacity:
        stride *= 2
    return np.arange(0, last + 1, stride)


def assert_rows_match_steps(kept: KeptPath) -> None:
    assert np.array_equal(kept.weights[:, 0], kept.steps)


@pytest.mark.parametrize("capacity", [2, 3, 5, 8, 128])
@pytest.mark.parametrize("last", [1, 7, 100, 1000, 4099])
def test_a_path_keeps_evenly_spaced_points_within_its_capacity(capacity, last):
    kept = offered(capacity, last).kept()
    assert np.array_equal(kept.steps, expected_steps(capacity, last))
    assert len(kept) <= capacity and (len(kept) >= (capacity + 1) // 2 or len(kept) == last + 1)
    assert_rows_match_steps(kept)


def test_the_kept_path_stays_within_its_cap_on_a_long_spiral_run():
    trainer = Trainer(preset("spiral"))
    for _ in range(20_000):
        trainer.step()
    kept = trainer.path.kept()
    assert np.array_equal(kept.steps, expected_steps(PATH_POINTS, 20_000))  # 0, 256, … 19,968
    assert PATH_POINTS // 2 <= len(kept) <= PATH_POINTS and kept.weights.nbytes <= PATH_BYTES
    assert trainer.path._weights.shape[0] == PATH_POINTS  # its buffer never grew
    assert np.array_equal(kept.weights[0], Trainer(preset("spiral")).network.flat)


def test_a_capacity_of_none_keeps_nothing_and_copes_with_everything():
    path = offered(0, 50)
    kept = path.kept()
    assert len(kept) == 0 and kept.weights.shape == (0, 3) and kept.weights.dtype == np.float32
    path.truncate(10)
    assert len(path.kept()) == 0
    for source in (kept, offered(8, 50).kept()):  # resumed from nothing, or into no room
        resumed = WeightPath.resumed(source, capacity=0)
        resumed.offer(51, row(51), 0.1)
        assert len(resumed.kept()) == 0
    assert len(WeightPath.resumed(kept).kept()) == 0  # an empty path knows no capacity but none


def test_a_capacity_of_one_keeps_the_initial_weights_only():
    assert offered(1, 500).kept().steps.tolist() == [0]
    resumed = WeightPath.resumed(offered(8, 50).kept(), capacity=1)
    resumed.offer(64, row(64), 0.1)
    assert resumed.kept().steps.tolist() == [0]


def test_thinning_a_kept_path_keeps_every_mth_point_for_the_least_m_that_fits():
    kept = offered(128, 99).kept()  # 0 … 99
    assert kept.thinned(100) is kept
    assert kept.thinned(16).steps.tolist() == list(range(0, 100, 7))  # 15 points
    assert kept.thinned(50).steps.tolist() == list(range(0, 100, 2))
    assert kept.thinned(49).steps.tolist() == list(range(0, 100, 3))
    assert kept.thinned(1).steps.tolist() == [0]
    assert len(kept.thinned(0)) == 0 and kept.thinned(0).weights.shape == (0, 3)
    assert_rows_match_steps(kept.thinned(16))


def test_a_path_truncated_after_thinning_goes_on_at_its_stride():
    path = offered(8, 40)  # 0, 8, … 40
    path.truncate(30)  # a rollback to step 30
    assert path.kept().steps.tolist() == [0, 8, 16, 24]
    for step in range(31, 61):
        path.offer(step, row(step), 0.1)
    assert np.array_equal(path.kept().steps, expected_steps(8, 60))
    assert_rows_match_steps(path.kept())


def test_a_resumed_path_keeps_its_points_and_goes_on_at_its_spacing():
    source = offered(128, 99).kept()
    resumed = WeightPath.resumed(source, capacity=16)  # thinned to 0, 7, … 98: 15 points
    assert resumed.kept().steps.tolist() == list(range(0, 100, 7)) and resumed.stride == 7
    for step in range(100, 121):  # 105 fills it; at 112 it thins to 0, 14, … 98, then keeps 112
        resumed.offer(step, row(step), 0.1)
    assert resumed.kept().steps.tolist() == list(range(0, 113, 14)) and resumed.stride == 14
    assert_rows_match_steps(resumed.kept())


def test_a_resumed_path_whose_first_gap_is_wider_goes_on_at_its_stride():
    """A run restored without its path keeps its own initial weights, then every step: the gap
    from the first point is no stride (it was taken as one, and every later point dropped)."""
    source = offered(128, 303, first=300).kept()
    first = KeptPath(np.r_[0, source.steps[1:]], np.vstack([row(0), source.weights[1:]]),
                     source.rates)
    resumed = WeightPath.resumed(first, capacity=128)
    for step in range(304, 311):
        resumed.offer(step, row(step), 0.1)
    assert resumed.kept().steps.tolist() == [0, *range(301, 311)]


def test_a_rollback_in_the_middle_of_a_path_forgets_the_points_after_its_checkpoint():
    trainer = Trainer(preset("spiral"))
    for _ in range(200):
        trainer.step()
    at_checkpoint = trainer.path.kept()  # step 200: a checkpoint (CHECKPOINT_EVERY)
    for _ in range(50):
        trainer.step()
    trainer.network.layers[0].W[0, 0] = np.nan  # the next step diverges
    assert trainer.step().status == "diverged" and trainer.step_count == 200
    kept = trainer.path.kept()
    assert np.array_equal(kept.steps, at_checkpoint.steps)
    assert np.array_equal(kept.weights, at_checkpoint.weights)
    lower = preset("spiral")
    lower.learning_rate.value /= 10
    trainer.apply(lower)
    for _ in range(100):
        trainer.step()
    assert np.array_equal(trainer.path.kept().steps, expected_steps(PATH_POINTS, 300))
    assert np.isclose(trainer.path.kept().rates[-1], lower.learning_rate.value)


def test_a_network_too_large_for_a_path_trains_saves_and_reopens_without_one(monkeypatch, tmp_path):
    from gdplayground.store.weights import load_weights, save_weights
    monkeypatch.setattr(path_module, "PATH_BYTES", 100)  # less than the spiral network's weights
    trainer = Trainer(preset("spiral"))
    for _ in range(300):
        trainer.step()
    state = trainer.snapshot(path=True)
    assert len(state.path) == 0 and state.path.weights.shape == (0, trainer.network.n_parameters)
    save_weights(tmp_path / "w.npz", trainer.config, state, {})
    with np.load(tmp_path / "w.npz", allow_pickle=False) as npz:
        assert not [name for name in npz.files if name.startswith("path/")]
    saved = load_weights(tmp_path / "w.npz")
    assert saved.state.path is None
    resumed = Trainer(saved.config)
    resumed.restore(saved.state)
    resumed.step()
    assert len(resumed.path.kept()) == 0 and resumed.step_count == 301


@pytest.mark.parametrize("spoil, problem", [
    (lambda kept: KeptPath(kept.steps + 5, kept.weights, kept.rates),
     "steps must rise from 0 to at most the run's step 40"),
    (lambda kept: KeptPath(kept.steps[::-1].copy(), kept.weights, kept.rates), "must rise from 0"),
    (lambda kept: KeptPath(kept.steps, kept.weights.astype(np.float64), kept.rates),
     "the kept path's weights are float64, this network's float32"),
    (lambda kept: KeptPath(kept.steps, kept.weights[:, 1:], kept.rates), "have shape"),
    (lambda kept: KeptPath(kept.steps, kept.weights, -kept.rates), "finite and not negative"),
])
def test_a_restore_refuses_a_path_its_run_could_not_have_kept(spoil, problem):
    trainer = Trainer(preset("spiral"))
    for _ in range(40):
        trainer.step()
    state = trainer.snapshot(path=True)
    fresh = Trainer(preset("spiral"))
    with pytest.raises(ValueError, match=problem):
        fresh.restore(dataclasses.replace(state, path=spoil(state.path)))
    assert fresh.step_count == 0 and len(fresh.path.kept()) == 1  # left as it was
