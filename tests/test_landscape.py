"""The landscape lab (labs/landscape.py): every loss it computes against the engine's own
objective on a network built independently, the directions' per-unit norms, the path's plane."""

from dataclasses import replace

import numpy as np
import pytest

from gdplayground.config import Layer, preset
from gdplayground.engine import Trainer
from gdplayground.engine.gradcheck import objective
from gdplayground.engine.losses import accuracy, make_loss
from gdplayground.engine.network import Network
from gdplayground.engine.path import KeptPath
from gdplayground.labs import landscape
from gdplayground.labs.landscape import (
    Cancelled, Terrain, line, losses, normalised_direction, path_plane, plane,
    principal_directions, project)


def _spiral_softmax():
    """relu layers, softmax + cross-entropy, both penalties: every part of the objective."""
    config = preset("spiral")
    config.architecture.hidden = [Layer(8, "relu"), Layer(6, "tanh")]
    config.architecture.output, config.architecture.loss = "softmax", "cross_entropy"
    config.optimizer.l1, config.optimizer.l2 = 0.001, 0.01
    return config


CONFIGS = {"spiral": lambda: preset("spiral"), "spiral-softmax": _spiral_softmax,
           "linear-system": lambda: preset("linear-system")}


def _trained(name: str, steps: int = 60) -> Terrain:
    trainer = Trainer(CONFIGS[name]())
    for _ in range(steps):
        trainer.step()
    return Terrain.of(trainer)


def _objective(probe, flat) -> tuple[float, float | None]:
    """The loss training minimises and the accuracy at weights `flat`, on all the probe's
    examples, by a float64 Network of the probe's shape: no landscape code involved."""
    network = Network(list(probe.sizes), list(probe.activations), bias=probe.bias,
                      dtype=np.float64)
    network.flat[...] = flat
    loss = make_loss(probe.loss, probe.output)
    value = objective(network, loss, probe.x, probe.targets, probe.l1, probe.l2)
    outputs = loss.forward(network.forward(probe.x).copy(), probe.targets)[1]
    labels = probe.targets if probe.targets.ndim == 1 else probe.targets[:, 0].astype(int)
    return value, accuracy(outputs, labels) if probe.loss != "mse" else None


@pytest.mark.parametrize("name", CONFIGS)
def test_the_line_at_0_and_1_is_the_loss_at_start_and_end(name):
    terrain = _trained(name)
    probe, start = terrain.probe, terrain.path.weights[0].astype(np.float64)
    assert len(probe.x) < 2000  # all examples: the same samples as _objective's
    result = line(probe, start, probe.flat())
    for alpha, weights in ((0.0, start), (1.0, probe.flat())):
        i = int(np.argmin(np.abs(result.alphas - alpha)))
        assert result.alphas[i] == pytest.approx(alpha, abs=1e-12)
        value, acc = _objective(probe, weights)
        assert result.loss[i] == pytest.approx(value, rel=1e-6)
        if acc is None:
            assert result.accuracy is None
        else:
            assert result.accuracy[i] == acc
    assert result.samples == len(probe.x) and len(result.loss) == 201
    assert result.loss[0] != result.loss[-1]  # it does move along the line


@pytest.mark.parametrize("name", CONFIGS)
def test_the_plane_centre_is_the_current_loss(name):
    probe = _trained(name).probe
    result = plane(probe, grid=5, extent=0.5)
    assert result.a[2] == result.b[2] == 0
    assert result.loss[2, 2] == pytest.approx(_objective(probe, probe.flat())[0], rel=1e-9)
    assert result.loss.shape == (5, 5) and np.ptp(result.loss) > 0


def test_a_point_off_the_centre_is_its_loss_too():
    probe = _trained("spiral-softmax").probe
    result = plane(probe, grid=3, extent=0.7, seed=4)
    rng = np.random.default_rng((4, landscape.DIRECTIONS))
    d1, d2 = normalised_direction(probe, rng), normalised_direction(probe, rng)
    # loss[j, i] at (a[i], b[j]): row 0 is b = −0.7, column 2 is a = +0.7
    corner = probe.flat() + 0.7 * d1 - 0.7 * d2
    assert result.loss[0, 2] == pytest.approx(_objective(probe, corner)[0], rel=1e-9)


def test_the_linear_systems_plane_is_an_exact_quadratic_bowl():
    probe = _trained("linear-system").probe
    result = plane(probe, grid=7, extent=2.0)
    assert "an exact quadratic bowl: its contours are ellipses" in result.note
    a, b = np.meshgrid(result.a, result.b)
    terms = np.column_stack([np.ones(a.size), a.ravel(), b.ravel(), a.ravel() ** 2,
                             a.ravel() * b.ravel(), b.ravel() ** 2])
    fit, residual = np.linalg.lstsq(terms, result.loss.ravel(), rcond=None)[:2]
    assert np.sqrt(residual[0] / a.size) < 1e-9 * result.loss.max()
    hessian = np.array([[2 * fit[3], fit[4]], [fit[4], 2 * fit[5]]])
    assert np.all(np.linalg.eigvalsh(hessian) > 0)  # a bowl: ellipses
    assert result.accuracy is None  # regression
    assert plane(_trained("spiral").probe, grid=3).note == ""


def test_directions_have_each_units_norm_and_no_bias_unless_asked():
    probe = _trained("spiral-softmax").probe
    for bias in (False, True):
        direction = probe.at(normalised_direction(probe, np.random.default_rng(1), bias))
        for name, weights in probe.parameters.items():
            moved = direction.parameters[name]
            if name.endswith("weight"):  # a column per unit: its incoming weights
                np.testing.assert_allclose(np.linalg.norm(moved, axis=0),
                                           np.linalg.norm(weights, axis=0), rtol=1e-12)
            elif bias:
                assert np.linalg.norm(moved) == pytest.approx(np.linalg.norm(weights), rel=1e-12)
                assert np.linalg.norm(weights) > 0
            else:
                assert not moved.any()


def test_the_same_seed_gives_the_same_directions_and_samples():
    probe = _trained("spiral").probe

    def direction(seed):
        return normalised_direction(probe, np.random.default_rng(seed))
    np.testing.assert_array_equal(direction(3), direction(3))
    assert not np.array_equal(direction(3), direction(4))
    first, again = plane(probe, grid=3, samples=50, seed=7), plane(probe, grid=3, samples=50, seed=7)
    np.testing.assert_array_equal(first.loss, again.loss)
    assert first.samples == 50
    assert not np.array_equal(first.loss, plane(probe, grid=3, samples=50, seed=8).loss)
    assert plane(probe, grid=3, samples=10**6).samples == len(probe.x)


def test_chunks_do_not_change_the_losses(monkeypatch):
    probe = _trained("spiral-softmax").probe
    directions = np.random.default_rng(0).normal(size=(2, len(probe.flat())))
    coefficients = np.random.default_rng(1).normal(size=(40, 2))
    whole = losses(probe, probe.flat(), directions, coefficients)
    monkeypatch.setattr(landscape, "CHUNK_BYTES", 1)  # one point at a time
    one_by_one = losses(probe, probe.flat(), directions, coefficients)
    np.testing.assert_allclose(one_by_one[0], whole[0], rtol=1e-12)
    np.testing.assert_array_equal(one_by_one[1], whole[1])


def test_a_synthetic_path_in_a_plane_is_reconstructed_exactly():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=500)
    d1, d2 = rng.normal(size=500), rng.normal(size=500)  # neither unit nor orthogonal
    coords = np.column_stack([np.linspace(-3, 0, 20) ** 2, np.sin(np.linspace(0, 3, 20))])
    points = centre + coords @ np.stack([d1, d2])
    p1, p2, explained = principal_directions(points, centre)
    assert explained[0] + explained[1] == pytest.approx(1, abs=1e-12)  # all of it in the plane
    found, distance = project(points, centre, p1, p2)
    assert np.abs(distance).max() < 1e-10 * np.linalg.norm(points - centre, axis=1).max()
    np.testing.assert_allclose(centre + found @ np.stack([p1, p2]), points, atol=1e-10)
    # on the directions the path was made of, the coordinates are the very ones it was made of
    np.testing.assert_allclose(project(points, centre, d1, d2)[0], coords, atol=1e-10)


def test_a_point_off_the_plane_is_at_its_distance():
    centre, d1, d2 = np.zeros(3), np.array([1.0, 0, 0]), np.array([1.0, 1.0, 0])
    coords, distance = project(np.array([[2.0, 3.0, 4.0]]), centre, d1, d2)
    np.testing.assert_allclose(coords, [[-1.0, 3.0]])
    assert distance[0] == pytest.approx(4.0)


def test_the_path_of_a_run_on_its_principal_plane():
    terrain = _trained("spiral", steps=200)
    probe = terrain.probe
    result = path_plane(probe, terrain.path, grid=9, step=terrain.step)
    first, second = result.explained
    assert 1 >= first >= second >= 0 and first + second <= 1 + 1e-12
    assert result.steps[-1] == terrain.step and result.steps[0] == 0
    assert len(result.steps) == len(result.coords) == len(result.true_loss) == len(result.distance)
    np.testing.assert_allclose(result.coords[-1], 0, atol=1e-12)  # the current weights: centre
    current = _objective(probe, probe.flat())[0]
    assert result.true_loss[-1] == pytest.approx(current, rel=1e-9)
    assert result.plane_loss[-1] == pytest.approx(current, rel=1e-9)
    start = _objective(probe, terrain.path.weights[0].astype(np.float64))[0]
    assert result.true_loss[0] == pytest.approx(start, rel=1e-9)
    assert result.distance[-1] < 1e-12 and result.distance.max() > 0
    surface = result.surface
    for axis, values in zip((surface.a, surface.b), result.coords.T):  # the path, and a margin
        assert axis[0] < values.min() <= values.max() < axis[-1]
    assert surface.loss.shape == (9, 9) and np.isfinite(surface.loss).all()


def test_a_path_of_two_points_is_refused_with_a_reason():
    trainer = Trainer(preset("spiral"))
    trainer.step()
    terrain = Terrain.of(trainer)  # the initial weights and step 1's: the current ones
    with pytest.raises(ValueError, match="the run has kept only 2 points along its path: train "
                                         "a few steps more"):
        path_plane(terrain.probe, terrain.path)
    empty = KeptPath(np.zeros(0, np.int64), np.zeros((0, len(terrain.probe.flat()))), np.zeros(0))
    with pytest.raises(ValueError, match="the run kept no weights along its path"):
        path_plane(terrain.probe, empty)
    one = KeptPath(np.zeros(1, np.int64), terrain.probe.flat()[None], np.zeros(1))
    with pytest.raises(ValueError, match="kept only 1 point along"):
        path_plane(terrain.probe, one)


def test_progress_reaches_the_total_and_cancel_stops():
    terrain = _trained("spiral")
    seen = []
    plane(terrain.probe, grid=4, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (16, 16)
    with pytest.raises(Cancelled):
        path_plane(terrain.probe, terrain.path, cancelled=lambda: True)


def test_samples_must_be_at_least_one():
    probe = _trained("spiral", steps=1).probe
    with pytest.raises(ValueError, match="samples must be at least 1"):
        plane(replace(probe), grid=3, samples=0)


# --- convolutional networks -----------------------------------------------------------------
@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    """A trained conv3x3,pool,conv4x3s2,8 network on 8x8 images, float64, with an L2 penalty,
    and its objective (loss + penalty) at steps 0 and 5, as the trainer measures them."""
    from tiny_images import conv_config, image_folder
    config = conv_config(image_folder(tmp_path_factory.mktemp("images")), "conv3x3,pool,conv4x3s2,8")
    config.dtype, config.optimizer.l2 = "float64", 0.01
    trainer = Trainer(config)
    measured = [trainer.evaluate("train")[0] + trainer.network.penalty(0, 0.01)]
    for _ in range(5):
        trainer.step()
    measured.append(trainer.evaluate("train")[0] + trainer.network.penalty(0, 0.01))
    return trainer, Terrain.of(trainer), measured


def test_a_convolutional_landscape_is_the_trainers_objective_at_each_point(conv_run):
    trainer, terrain, (start, now) = conv_run
    probe = terrain.probe
    everyone = len(probe.x)
    surface = plane(probe, grid=3, extent=0.5, samples=everyone)
    assert surface.loss[1, 1] == pytest.approx(now, rel=1e-12)
    rng = np.random.default_rng((0, landscape.DIRECTIONS))
    d1, d2 = (normalised_direction(probe, rng) for _ in range(2))
    corner = Trainer(trainer.config)  # an independent network at the corner a = b = 0.5
    corner.network.flat[...] = probe.flat() + 0.5 * d1 + 0.5 * d2
    expected = corner.evaluate("train")[0] + corner.network.penalty(0, 0.01)
    assert surface.loss[2, 2] == pytest.approx(expected, rel=1e-12)
    assert abs(surface.loss[2, 2] - now) > 1e-3  # the corner is elsewhere
    along = line(probe, terrain.path.weights[0], probe.flat(), np.array([0.0, 1.0]), everyone)
    np.testing.assert_allclose(along.loss, [start, now], rtol=1e-12)


def test_a_convolutions_direction_is_normalised_per_filter(conv_run):
    probe = conv_run[1].probe
    direction = normalised_direction(probe, np.random.default_rng(1))
    weights = probe.parameters["layer1.weight"]  # (3, 1, 3, 3)
    part = direction[:weights.size].reshape(len(weights), -1)
    np.testing.assert_allclose(np.linalg.norm(part, axis=1),
                               np.linalg.norm(weights.reshape(len(weights), -1), axis=1), rtol=1e-12)
    assert np.linalg.norm(part[0]) != pytest.approx(np.linalg.norm(part[1]))  # each its own


def test_a_convolutional_plane_counts_each_point_and_can_be_cancelled(conv_run):
    probe = conv_run[1].probe
    counted = []
    plane(probe, grid=3, samples=20, progress=lambda done, total: counted.append((done, total)))
    assert counted == [(i, 9) for i in range(1, 10)]
    with pytest.raises(Cancelled):
        plane(probe, grid=3, samples=20, cancelled=lambda: True)
