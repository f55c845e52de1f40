"""The race's surfaces: gradients against finite differences, minima that are minima, the bowl's
eigenvalues, grids against points, dtypes kept, and messages for bad requests."""

import numpy as np
import pytest

from gdplayground.labs.expression import ExpressionError
from gdplayground.labs.surfaces import (SURFACES, SurfaceError, central_gradient, make_surface,
                                          quadratic_hessian)

ANALYTIC = [name for name in SURFACES if name != "expression"]
BOWLS = [(1.0, 0.0), (10.0, 30.0), (100.0, -45.0), (1000.0, 123.0)]  # (kappa, angle)


def every_surface():
    yield from (make_surface(name) for name in ANALYTIC)
    yield from (make_surface("quadratic", kappa=k, angle=a) for k, a in BOWLS)
    yield make_surface("expression", expression="x^2 + 3*sin(y)")


def numeric_grad(f, p, h=1e-6):
    """Central differences of f at one float64 point, independent of the module's own."""
    grad = np.empty_like(p)
    for i in range(p.size):
        offset = np.zeros_like(p)
        offset[i] = h
        grad[i] = (f(p + offset) - f(p - offset)) / (2 * h)
    return grad


def numeric_hessian(grad, p, h=1e-5):
    columns = []
    for i in range(p.size):
        offset = np.zeros_like(p)
        offset[i] = h
        columns.append((grad(p + offset) - grad(p - offset)) / (2 * h))
    hessian = np.stack(columns, axis=1)
    return (hessian + hessian.T) / 2


def points_in(surface, n=5, seed=0):
    rng = np.random.default_rng(seed)
    lo, hi = np.array(surface.extent).T
    return lo + (hi - lo) * rng.random((n, surface.dims))


@pytest.mark.parametrize("surface", [s for s in every_surface() if s.analytic],
                         ids=lambda s: s.title)
def test_analytic_gradient_matches_central_differences(surface):
    for p in points_in(surface):
        analytic = surface.grad(p)
        assert analytic.shape == (surface.dims,)
        scale = max(1.0, float(np.max(np.abs(analytic))))
        np.testing.assert_allclose(analytic, numeric_grad(surface.f, p),
                                   rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("name", ANALYTIC)
def test_every_minimum_is_a_minimum_inside_the_picture(name):
    surface = make_surface(name)
    for minimum in surface.minima:
        p = np.array(minimum)
        assert np.all(np.abs(surface.grad(p)) < 1e-10), (minimum, surface.grad(p))
        assert np.all(np.linalg.eigvalsh(numeric_hessian(surface.grad, p)) > 0.1)
        assert all(lo < v < hi for v, (lo, hi) in zip(minimum, surface.extent))
    assert all(lo <= v <= hi for v, (lo, hi) in zip(surface.start, surface.extent))


def test_minima_counts():
    counts = {name: len(make_surface(name).minima) for name in ANALYTIC}
    assert counts == {"parabola": 1, "double-well": 2, "quadratic": 1, "rosenbrock": 1,
                      "beale": 1, "saddle": 0, "himmelblau": 4, "plateau": 1}


def test_himmelblau_four_distinct_minima_all_of_depth_zero():
    surface = make_surface("himmelblau")
    minima = np.array(surface.minima)
    assert (3.0, 2.0) in surface.minima
    assert np.min([np.linalg.norm(a - b) for i, a in enumerate(minima) for b in minima[:i]]) > 1
    for minimum in minima:
        assert surface.f(minimum) == pytest.approx(0.0, abs=1e-20)
    # the irrational three, to the digits published (e.g. Wikipedia, "Himmelblau's function")
    for known in [(-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]:
        assert np.min(np.linalg.norm(minima - known, axis=1)) < 1e-6


def test_double_well_has_a_deep_and_a_shallow_minimum_and_the_start_decides():
    surface = make_surface("double-well")
    (left,), (right,) = surface.minima
    assert left == pytest.approx(-1.0575, abs=1e-3) and right == pytest.approx(0.9304, abs=1e-3)
    assert surface.f(np.array([left])) < surface.f(np.array([right])) - 0.5
    for start, ends_at in [(surface.start[0], right), (-0.5, left), (0.2, right)]:
        x = np.array([start])
        for _ in range(500):
            x -= 0.05 * surface.grad(x)
        assert x[0] == pytest.approx(ends_at, abs=1e-9), start


def test_parabola_steps_as_worked_by_hand():
    surface = make_surface("parabola")
    x = np.array(surface.start)
    trace = []
    for _ in range(2):
        x = x - 0.1 * surface.grad(x)
        trace.append(float(x[0]))
    assert surface.start == (2.0,)
    assert trace == pytest.approx([1.6, 1.28])


def test_saddle_stalls_gradient_descent_on_its_stable_axis():
    surface = make_surface("saddle")
    assert surface.minima == ()
    p = np.array(surface.start)
    assert p[1] == 0.0
    for _ in range(200):
        p -= 0.1 * surface.grad(p)
    assert np.linalg.norm(p) < 1e-12 and np.linalg.norm(surface.grad(p)) < 1e-12
    eigenvalues = np.linalg.eigvalsh(numeric_hessian(surface.grad, np.zeros(2)))
    assert eigenvalues == pytest.approx([-2.0, 2.0])


def test_plateau_start_is_flat_but_not_the_bottom():
    surface = make_surface("plateau")
    start = np.array(surface.start)
    assert surface.f(start) > 0.99
    assert 0 < np.linalg.norm(surface.grad(start)) < 0.01


@pytest.mark.parametrize("kappa, angle", BOWLS)
def test_quadratic_bowl_eigenvalues_are_one_and_kappa(kappa, angle):
    hessian = quadratic_hessian(kappa, angle)
    assert np.linalg.eigvalsh(hessian) == pytest.approx([1.0, kappa])
    surface = make_surface("quadratic", kappa=kappa, angle=angle)
    np.testing.assert_allclose(numeric_hessian(surface.grad, np.array(surface.start)), hessian,
                               rtol=1e-6, atol=1e-6 * kappa)
    for p in points_in(surface):
        assert surface.f(p) == pytest.approx(0.5 * p @ hessian @ p, rel=1e-12)
    assert surface.f(np.array(surface.start)) > 0 and surface.minima == ((0.0, 0.0),)


def test_quadratic_bowl_turns_with_the_angle():
    # At 0° the steep axis is y; at 90° it is x.
    assert quadratic_hessian(10, 0) == pytest.approx(np.diag([1.0, 10.0]))
    assert quadratic_hessian(10, 90) == pytest.approx(np.diag([10.0, 1.0]))


@pytest.mark.parametrize("surface", list(every_surface()), ids=lambda s: s.title)
def test_grid_equals_point_by_point(surface):
    axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip(surface.extent, (7, 5))]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"))  # (dims, 7[, 5])
    values, grads = surface.f(grid), surface.grad(grid)
    assert values.shape == grid.shape[1:] and grads.shape == grid.shape
    for index in np.ndindex(*grid.shape[1:]):
        point = grid[(slice(None), *index)]
        assert np.shape(surface.f(point)) == ()
        assert values[index] == pytest.approx(surface.f(point), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(grads[(slice(None), *index)], surface.grad(point),
                                   rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("surface", list(every_surface()), ids=lambda s: s.title)
def test_float32_in_float32_out(surface):
    point = np.array(surface.start, dtype=np.float32)
    grid = np.stack([np.full((3, 4), v, dtype=np.float32) for v in surface.start])
    for p in (point, grid):
        assert surface.f(p).dtype == np.float32
        assert surface.grad(p).dtype == np.float32
    np.testing.assert_allclose(surface.grad(point), surface.grad(point.astype(np.float64)),
                               rtol=2e-2, atol=2e-2)


def test_typed_rosenbrock_matches_the_analytic_gradient():
    typed = make_surface("expression", expression="(1 - x)**2 + 100*(y - x**2)**2")
    exact = make_surface("rosenbrock")
    assert not typed.analytic and exact.analytic
    assert typed.title == "f(x, y) = (1 - x)**2 + 100*(y - x**2)**2" and typed.minima == ()
    for p in points_in(exact, n=8, seed=1):
        assert typed.f(p) == pytest.approx(exact.f(p), rel=1e-14)
        np.testing.assert_allclose(typed.grad(p), exact.grad(p), rtol=1e-6, atol=1e-6)


def test_central_gradient_scales_its_step_with_the_point():
    # At x = 1e6 a fixed step of 6e-6 would lose five digits to rounding in f ≈ 1e12; the step
    # scaled to 6 keeps them (and central differences are exact on a parabola).
    def square(p):
        return p[0] ** 2

    assert central_gradient(square, np.array([1e6])) == pytest.approx([2e6], rel=1e-9)
    assert central_gradient(square, np.array([-3.0])) == pytest.approx([-6.0], rel=1e-9)


def test_every_name_builds_its_surface():
    for name in SURFACES:
        surface = make_surface(name, expression="x*y")
        assert surface.name == name and surface.dims == len(surface.start) == len(surface.extent)
        assert surface.notes and surface.title
    assert [make_surface(n).dims for n in ("parabola", "double-well", "beale")] == [1, 1, 2]


@pytest.mark.parametrize("kwargs, words", [
    ({"name": "banana"}, ["'banana'", "parabola", "himmelblau", "expression"]),
    ({"name": "quadratic", "kappa": 0.5}, ["kappa", "1 to 1000", "0.5"]),
    ({"name": "quadratic", "kappa": 1001}, ["kappa", "1001"]),
    ({"name": "quadratic", "kappa": float("nan")}, ["kappa", "nan"]),
    ({"name": "quadratic", "angle": float("inf")}, ["angle", "inf"]),
    ({"name": "expression"}, ["formula"]),
    ({"name": "expression", "expression": "  "}, ["formula"]),
])
def test_bad_requests_say_what_is_wrong(kwargs, words):
    name = kwargs.pop("name")
    with pytest.raises(SurfaceError) as error:
        make_surface(name, **kwargs)
    assert isinstance(error.value, ValueError)
    for word in words:
        assert word in str(error.value)


def test_an_unsafe_formula_is_refused_as_an_expression_error():
    with pytest.raises(ExpressionError, match="__class__"):
        make_surface("expression", expression="x.__class__")
