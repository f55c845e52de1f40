"""Typed formulas: values for a table of them, refusal (with the offending piece named) of all
that is not arithmetic, hostile constants that end at once, grids filled whatever the formula."""

import math
import time
import warnings

import numpy as np
import pytest

from gdplayground.labs.expression import MAX_LENGTH, ExpressionError, compile_expression
from gdplayground.labs.surfaces import make_surface

X = np.array([-1.5, -0.5, 0.25, 1.0, 2.0])
Y = np.array([0.5, 1.0, 2.0, -1.0, 3.0])


@pytest.mark.parametrize("text, expected", [
    ("x + y", X + Y),
    ("x - y*2", X - 2 * Y),
    ("x / y", X / Y),
    ("x**2 + y**2", X**2 + Y**2),
    ("x^2 + y^2", X**2 + Y**2),
    ("2*x^2", 2 * X**2),  # ^ binds like **, not like Python's exclusive or
    ("2^3^2 + 0*x", np.full(5, 512.0)),  # right to left, as in mathematics
    ("-x^2", -(X**2)),
    ("-(-x) + +y", X + Y),
    ("x^-1", 1 / X),
    ("pi*x + e", math.pi * X + math.e),
    ("sin(cos(x)) + exp(log(abs(y)))", np.sin(np.cos(X)) + np.abs(Y)),
    ("sqrt(abs(x)) * tanh(y) - arctan(x)", np.sqrt(np.abs(X)) * np.tanh(Y) - np.arctan(X)),
    ("minimum(x, y) + maximum(x, -y)", np.minimum(X, Y) + np.maximum(X, -Y)),
    ("log10(100) + sinh(0) + cosh(0) + tan(0)", np.full(5, 3.0)),
    ("arcsin(x/2) + arccos(x/2)", np.full(5, math.pi / 2)),
    ("(1 - x)^2 + 100*(y - x^2)^2", (1 - X) ** 2 + 100 * (Y - X**2) ** 2),
    ("1e-3 * x + 7 / 2", 1e-3 * X + 3.5),  # true division of integers
])
def test_values(text, expected):
    np.testing.assert_allclose(compile_expression(text)(X, Y), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("text, expected", [
    ("x² − y²", X**2 - Y**2),  # the signs of the app's own titles
    ("2x × 3y ÷ 4 · x", 2 * X * 3 * Y / 4 * X),
    ("x⁻¹ + y¹⁰", 1 / X + Y**10),
    ("½x²", 0.5 * X**2),
    ("2x + xy + 100(y − x)", 2 * X + X * Y + 100 * (Y - X)),  # products without their sign
    ("(1 − x)(1 + x)", (1 - X) * (1 + X)),
    ("2sin(x) + x y + pix + 2e", 2 * np.sin(X) + X * Y + math.pi * X + 2 * math.e),
    ("1e3x + 2.5e-1y", 1e3 * X + 0.25 * Y),  # an exponent stays a number's
    ("x²y", X**2 * Y),  # the power binds first, as it reads
])
def test_the_way_titles_write_formulas(text, expected):
    np.testing.assert_allclose(compile_expression(text)(X, Y), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("text, piece", [
    ("x.__class__", "x.__class__"),
    ("__import__('os').system('ls')", "__import__('os').system"),
    ("open('f')", "open('f')"),
    ("eval('1')", "eval('1')"),
    ("np.sin(x)", "np.sin"),
    ("(lambda: 1)()", "lambda: 1"),
    ("[i for i in x]", "[i for i in x]"),
    ("x[0]", "x[0]"),
    ("'a'", "'a'"),
    ("sin(x=1)", "x=1"),
    ("x < y", "x < y"),
    ("z + 1", "'z'"),
    ("sin(x, y)", "sin(x, y)"),
    ("x % 2", "%"),
    ("x if y else 1", "x if y else 1"),
    ("True + x", "True"),
    ("sin + 1", "'sin'"),
    ("sinx(2)", "sinx(2)"),  # not sin(x): a name of its own, called
    ("xy + z", "'z'"),
    ("2x + open(1)", "open(1)"),
    ("'xy'", "'xy'"),  # quoted as typed, not as the x*y it was read as
])
def test_refusals_name_the_piece(text, piece):
    with pytest.raises(ExpressionError) as error:
        compile_expression(text)
    message = str(error.value)
    assert piece in message
    assert "\n" not in message


@pytest.mark.parametrize("text, words", [
    ("x.__class__", ["attribute", "not allowed", "sin", "maximum"]),
    ("np.sin(x)", ["bare name"]),
    ("open('f')", ["not a function"]),
    ("sin(x=1)", ["keyword argument 'x=1'"]),
    ("sin(x, y=1)", ["keyword argument 'y=1'"]),
    ("sin(x, y)", ["takes 1 argument, not 2"]),
    ("maximum(x)", ["takes 2 arguments, not 1"]),
    ("", ["empty"]),
    ("   ", ["empty"]),
    ("x + " * 125 + "x", ["501", f"at most {MAX_LENGTH}"]),
    ("x + * y", ["character 5"]),
    ("x^2 ^^ y", ["character 6"]),  # counted in what was typed, not in the x**2 it parsed as
    ("x² + 2y +* 1", ["character 10"]),  # … nor in the x**2 + 2*y
    ("sin(x", ["never closed"]),
    ("x^2 +", ["the end"]),
    ("-" * 250 + "x", ["nests more than 200"]),
])
def test_messages_say_what_and_where(text, words):
    with pytest.raises(ExpressionError) as error:
        compile_expression(text)
    for word in words:
        assert word in str(error.value)


def test_the_longest_formula_allowed_still_compiles():
    text = "x + " * 124 + "x+10"  # 125 terms, nested 125 deep
    assert len(text) == MAX_LENGTH
    assert compile_expression(text)(X, Y) == pytest.approx(125 * X + 10)
    assert compile_expression("-" * 199 + "x")(X, Y) == pytest.approx(-X)


def test_hostile_powers_are_inf_at_once():
    start = time.perf_counter()
    grid = np.zeros((50, 50))
    assert np.all(compile_expression("9**9**9**9")(grid, grid) == np.inf)
    assert np.all(compile_expression("-9^9^9^9 + x")(X, Y) == -np.inf)
    assert np.all(compile_expression("x * " + "9" * 400)(np.ones(3), np.ones(3)) == np.inf)
    assert np.all(compile_expression("(x + 9)**9**9**9")(np.ones(3), np.ones(3)) == np.inf)
    assert time.perf_counter() - start < 1.0


def test_undefined_values_are_nan_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = compile_expression("log(x) + sqrt(x) + 1/(x - x)")(X, Y)
    assert np.isnan(values[0]) and values[3] == np.inf


def test_constant_formula_fills_the_grid():
    xx, yy = np.meshgrid(np.linspace(-3, 3, 7), np.linspace(-3, 3, 4))
    values = compile_expression("2")(xx, yy)
    assert values.shape == (4, 7) and np.all(values == 2.0)
    values[0, 0] = 5.0  # a real array, not a read-only broadcast view
    only_x = compile_expression("x^2")(xx, yy)
    assert only_x.shape == (4, 7) and only_x == pytest.approx(xx**2)
    outer = compile_expression("x*y")(np.arange(3.0)[:, None], np.arange(5.0)[None, :])
    assert outer.shape == (3, 5) and outer[2, 4] == 8.0


def test_dtype_follows_the_inputs():
    x32, y32 = X.astype(np.float32), Y.astype(np.float32)
    assert compile_expression("x^2 + 3*sin(y) + pi")(x32, y32).dtype == np.float32
    assert compile_expression("1e300")(x32, y32).dtype == np.float32
    assert compile_expression("x + y")(np.arange(3), np.arange(3)).dtype == np.float64
    assert compile_expression("x + y")(1.0, 2.0).shape == ()


def test_other_variables_and_argument_count():
    f = compile_expression("a*b - c", ("a", "b", "c"))
    assert f(2.0, 3.0, 1.0) == 5.0
    with pytest.raises(ExpressionError, match="'x'"):
        compile_expression("x", ("t",))
    with pytest.raises(TypeError, match="takes 2 arguments"):
        compile_expression("x + y")(X)


@pytest.mark.parametrize("name", ["parabola", "double-well", "rosenbrock", "beale", "saddle",
                                  "himmelblau", "plateau"])
def test_every_surfaces_title_typed_as_a_formula_is_the_surface(name):
    """A learner copies a title's formula into the field: the "−" it writes was refused."""
    surface = make_surface(name)
    formula = compile_expression(surface.title.split(": ", 1)[1])
    points = np.stack([X, Y])[:surface.dims]
    np.testing.assert_allclose(formula(*points, *([Y] if surface.dims == 1 else [])),
                               surface.f(points), rtol=1e-13)
