"""The surfaces optimizers race on: a function, its gradient, where to look and what it teaches.

Every function is vectorised over trailing axes: a point p has shape (dims, ...) with p[0] = x
and p[1] = y; f(p) has shape (...) and grad(p) shape (dims, ...). One call thus evaluates a
point (shape (2,), a 0-d value), a path of points (shape (2, steps)) or a contour grid
(np.stack([xx, yy])). The formulas use Python floats as constants, which NumPy lets the array
decide the dtype of, so float32 in gives float32 out.

Minima without a closed form (Himmelblau's three irrational ones, the double well's two) are
refined once, at import, by Newton's method on the analytic gradient.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from gdplayground.config import shown
from gdplayground.labs.expression import compile_expression

SURFACES = ("parabola", "double-well", "quadratic", "rosenbrock", "beale", "saddle", "himmelblau",
            "plateau", "expression")
KAPPA_RANGE = (1.0, 1000.0)  # the quadratic bowl's condition number


class SurfaceError(ValueError):
    """A surface asked for with a name or setting it cannot have."""


@dataclass(frozen=True)
class Surface:
    name: str
    title: str  # the formula, for people
    dims: int  # 1 or 2
    f: Callable[[np.ndarray], np.ndarray]  # (dims, ...) -> (...)
    grad: Callable[[np.ndarray], np.ndarray]  # (dims, ...) -> (dims, ...)
    extent: tuple[tuple[float, float], ...]  # the range to plot, per coordinate
    minima: tuple[tuple[float, ...], ...]  # every local minimum; none for the saddle
    start: tuple[float, ...]  # a start that shows what the surface teaches
    analytic: bool  # grad is exact; False for a typed formula (central differences)
    notes: str  # what a learner should watch for


def make_surface(name: str, *, kappa: float = 10.0, angle: float = 30.0,
                 expression: str | None = None) -> Surface:
    """The surface called `name`; `kappa` and `angle` shape the quadratic bowl, `expression` is
    the formula in x and y of "expression" (an ExpressionError, also a ValueError, if unsafe)."""
    _check(name, kappa, angle, expression)
    if name == "quadratic":
        return _quadratic(float(kappa), float(angle))
    if name == "expression":
        return _expression(expression)
    return _FIXED[name]


def _check(name, kappa, angle, expression) -> None:
    if name not in SURFACES:
        raise SurfaceError(f"surface {shown(name)} is not one of: {', '.join(SURFACES)}")
    lo, hi = KAPPA_RANGE
    if not _is_number(kappa) or not lo <= kappa <= hi:
        raise SurfaceError(f"kappa, the bowl's condition number, must be from {lo:g} to {hi:g} "
                           f"(got {shown(kappa)})")
    if not _is_number(angle) or not math.isfinite(angle):
        raise SurfaceError(f"angle must be a finite number of degrees (got {shown(angle)})")
    if name == "expression" and (expression is None or not str(expression).strip()):
        raise SurfaceError("the expression surface needs a formula in x and y, "
                           "such as x^2 + 10*y^2")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def quadratic_hessian(kappa: float, angle: float) -> np.ndarray:
    """Rᵀ·diag(1, κ)·R with R the rotation by `angle` degrees: the bowl's (constant) Hessian."""
    rotation = _rotation(angle)
    return rotation.T @ np.diag([1.0, kappa]) @ rotation


def _rotation(angle: float) -> np.ndarray:
    """(x, y) -> (u, v): the bowl's axes, turned by `angle` degrees."""
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return np.array([[c, s], [-s, c]])


# ---- the formulas -------------------------------------------------------------------------

def _parabola_f(p):
    return p[0] * p[0]


def _parabola_grad(p):
    return np.stack([2.0 * p[0]])


def _double_well_f(p):
    x = p[0]
    return x**4 - 2.0 * x * x + 0.5 * x


def _double_well_grad(p):
    x = p[0]
    return np.stack([4.0 * x**3 - 4.0 * x + 0.5])


def _quadratic(kappa: float, angle: float) -> Surface:
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def f(p):
        u, v = c * p[0] + s * p[1], -s * p[0] + c * p[1]
        return 0.5 * (u * u + kappa * v * v)

    def grad(p):  # ∇f = Rᵀ·(u, κv)
        u, v = c * p[0] + s * p[1], -s * p[0] + c * p[1]
        return np.stack([c * u - s * kappa * v, s * u + c * kappa * v])

    start = _rotation(angle).T @ np.array([-2.5, 1.0])  # off both axes, whatever the angle
    return Surface(
        "quadratic", f"Quadratic bowl: ½(u² + κv²), κ = {kappa:g}, axes turned {angle:g}°", 2,
        f, grad, ((-3.0, 3.0), (-3.0, 3.0)), ((0.0, 0.0),), tuple(float(v) for v in start), True,
        f"The bowl curves κ = {kappa:g} times more sharply across than along. Above a learning "
        f"rate of 2/κ = {2 / kappa:.3g} gradient descent overshoots across and diverges; below "
        f"it, it zig-zags across and creeps along, and momentum makes up the difference.")


def _rosenbrock_f(p):
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_grad(p):
    x, y = p[0], p[1]
    across = y - x * x
    return np.stack([-2.0 * (1.0 - x) - 400.0 * x * across, 200.0 * across])


def _beale_terms(p):
    x, y = p[0], p[1]
    return x, y, 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y**3


def _beale_f(p):
    _, _, a, b, c = _beale_terms(p)
    return a * a + b * b + c * c


def _beale_grad(p):
    x, y, a, b, c = _beale_terms(p)
    return np.stack([2.0 * (a * (y - 1.0) + b * (y * y - 1.0) + c * (y**3 - 1.0)),
                     2.0 * x * (a + 2.0 * b * y + 3.0 * c * y * y)])


def _saddle_f(p):
    return p[0] * p[0] - p[1] * p[1]


def _saddle_grad(p):
    return np.stack([2.0 * p[0], -2.0 * p[1]])


def _himmelblau_f(p):
    x, y = p[0], p[1]
    return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2


def _himmelblau_grad(p):
    x, y = p[0], p[1]
    a, b = x * x + y - 11.0, x + y * y - 7.0
    return np.stack([4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b])


def _plateau_f(p):
    return 1.0 - np.exp(-0.5 * (p[0] * p[0] + 5.0 * p[1] * p[1]))


def _plateau_grad(p):
    g = np.exp(-0.5 * (p[0] * p[0] + 5.0 * p[1] * p[1]))
    return np.stack([g * p[0], 5.0 * g * p[1]])


def _expression(text: str) -> Surface:
    formula = compile_expression(text, ("x", "y"))

    def f(p):
        return formula(p[0], p[1])

    return Surface(
        "expression", f"f(x, y) = {text.strip()}", 2, f, lambda p: central_gradient(f, p),
        ((-3.0, 3.0), (-3.0, 3.0)), (), (1.0, 1.0), False,
        "Your formula. Its gradient comes from central differences, the slope across a small "
        "step each way: about ten significant digits in float64, four in float32.")


def central_gradient(f: Callable[[np.ndarray], np.ndarray], p: np.ndarray) -> np.ndarray:
    """∂f/∂pᵢ ≈ (f(p + hᵢ) − f(p − hᵢ)) / 2hᵢ, with hᵢ = ε^⅓·max(1, |pᵢ|): the step that balances
    the formula's curvature error (∝ h²) against rounding in f (∝ ε/h) in p's own dtype."""
    p = np.asarray(p)
    p = p if np.issubdtype(p.dtype, np.floating) else p.astype(np.float64)
    step = float(np.cbrt(np.finfo(p.dtype).eps)) * np.maximum(1.0, np.abs(p))
    grad = np.empty_like(p)
    with np.errstate(all="ignore"):
        for i in range(p.shape[0]):
            ahead, behind = p.copy(), p.copy()
            ahead[i] += step[i]
            behind[i] -= step[i]
            grad[i] = (f(ahead) - f(behind)) / (ahead[i] - behind[i])  # the step p really took
    return grad


# ---- minima without a closed form ----------------------------------------------------------

def _refined(grad, guess: tuple[float, ...]) -> tuple[float, ...]:
    """The zero of `grad` nearest `guess`, by Newton's method. The Hessian comes from central
    differences of the exact gradient: it sets how fast Newton converges, not where."""
    p = np.array(guess, dtype=np.float64)
    for _ in range(50):
        step = np.linalg.solve(_jacobian(grad, p), grad(p))
        p -= step
        if np.max(np.abs(step)) <= 1e-15 * max(1.0, float(np.max(np.abs(p)))):
            break
    return tuple(float(v) for v in p)


def _jacobian(grad, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    columns = []
    for i in range(p.size):
        offset = np.zeros_like(p)
        offset[i] = h
        columns.append((grad(p + offset) - grad(p - offset)) / (2 * h))
    return np.stack(columns, axis=1)


_DOUBLE_WELL_MINIMA = tuple(_refined(_double_well_grad, (x,)) for x in (-1.0, 1.0))
_HIMMELBLAU_MINIMA = tuple(_refined(_himmelblau_grad, guess) for guess in
                           ((3.0, 2.0), (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8)))

_FIXED = {surface.name: surface for surface in (
    Surface("parabola", "Parabola: x²", 1, _parabola_f, _parabola_grad, ((-2.5, 2.5),),
            ((0.0,),), (2.0,), True,
            "The simplest descent: each step x ← x − lr·2x multiplies x by 1 − 2·lr, so x "
            "shrinks steadily for lr below 0.5, flips sign as it shrinks from 0.5 to 1, and "
            "grows without bound above 1."),
    Surface("double-well", "Double well: x⁴ − 2x² + x/2", 1, _double_well_f, _double_well_grad,
            ((-2.0, 2.0),), _DOUBLE_WELL_MINIMA, (1.5,), True,
            f"Two valleys: the deeper at x ≈ {_DOUBLE_WELL_MINIMA[0][0]:.3f}, the shallower at "
            f"x ≈ {_DOUBLE_WELL_MINIMA[1][0]:.3f}. Gradient descent settles in whichever its "
            f"start slopes into; momentum or a large step can carry it over the hump."),
    Surface("rosenbrock", "Rosenbrock: (1 − x)² + 100(y − x²)²", 2, _rosenbrock_f,
            _rosenbrock_grad, ((-2.0, 2.0), (-1.0, 3.0)), ((1.0, 1.0),), (-1.2, 1.0), True,
            "The curved valley is easy to find and hard to follow: near (1, 1) its walls curve "
            "some 2,500 times more sharply than its floor, so plain gradient descent bounces "
            "between them and crawls along it."),
    Surface("beale", "Beale: (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", 2,
            _beale_f, _beale_grad, ((-4.5, 4.5), (-4.5, 4.5)), ((3.0, 0.5),), (1.0, 1.5), True,
            "Flat valleys and steep walls: the gradient spans orders of magnitude, so one "
            "learning rate is too small on the floor and too large on the walls; adaptive "
            "methods scale each step."),
    Surface("saddle", "Saddle: x² − y²", 2, _saddle_f, _saddle_grad, ((-2.0, 2.0), (-2.0, 2.0)),
            (), (1.5, 0.0), True,
            "Started on the x axis, gradient descent slides into (0, 0) and stops: the gradient "
            "is zero there, yet it is no minimum. The slightest y (start at y = 0.01) lets it "
            "escape downhill, slowly at first."),
    Surface("himmelblau", "Himmelblau: (x² + y − 11)² + (x + y² − 7)²", 2, _himmelblau_f,
            _himmelblau_grad, ((-5.0, 5.0), (-5.0, 5.0)), _HIMMELBLAU_MINIMA, (0.0, 0.0), True,
            "Four minima, all of depth 0: which one an optimizer reaches depends on where it "
            "starts and how it moves, not on which is best."),
    Surface("plateau", "Plateau: 1 − exp(−(x² + 5y²)/2)", 2, _plateau_f, _plateau_grad,
            ((-4.0, 4.0), (-2.0, 2.0)), ((0.0, 0.0),), (3.5, 0.5), True,
            "Far from the hole the surface is nearly flat and the gradient tiny, so plain "
            "gradient descent crawls; RMSprop and Adam divide by the gradient's size and cross "
            "the plateau at full speed."),
)}
