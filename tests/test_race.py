"""The optimizer race: the engine's rules on surfaces, against theory and hand computation."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.config import ConfigError, OptimizerConfig
from gdplayground.engine import optimizers
from gdplayground.labs.race import BowlTheory, Race, Racer, stable_limit
from gdplayground.labs.surfaces import make_surface


def racer(name: str, lr: float, **hyper) -> Racer:
    return Racer(OptimizerConfig(name=name, **hyper), lr)


def run(race: Race, steps: int) -> Race:
    for _ in range(steps):
        if race.finished:
            break
        race.step()
    return race


def test_one_step_on_the_parabola_is_x_minus_lr_times_the_slope():
    race = Race(make_surface("parabola"), [2.0], [racer("sgd", 0.1)])
    first = race.step()[0]
    assert first.point[0] == pytest.approx(1.6, abs=1e-15)
    assert first.grad[0] == pytest.approx(4.0) and first.update[0] == pytest.approx(-0.4)
    assert race.step()[0].point[0] == pytest.approx(1.28, abs=1e-15)


def test_the_same_race_twice_gives_identical_trajectories():
    rules = [racer(n, lr) for n, lr in (("sgd", 1e-3), ("momentum", 3e-4), ("nesterov", 3e-4),
                                        ("adagrad", 0.25), ("rmsprop", 0.02), ("adam", 0.05))]
    first = run(Race(make_surface("rosenbrock"), [-1.5, 1.5], rules), 500)
    second = run(Race(make_surface("rosenbrock"), [-1.5, 1.5], rules), 500)
    for i in range(len(rules)):
        assert np.array_equal(first.trajectory(i), second.trajectory(i))
    assert list(first.rows()) == list(second.rows())


@pytest.mark.parametrize("kappa, angle", [(10, 30), (50, 0), (200, -60)])
def test_gradient_descent_converges_just_below_two_over_lambda_max_and_diverges_just_above(kappa, angle):
    bowl, limit = make_surface("quadratic", kappa=kappa, angle=angle), 2 / kappa
    race = run(Race(bowl, [1.0, 1.0], [racer("sgd", 0.99 * limit), racer("sgd", 1.01 * limit)]),
               20_000)
    assert race.status == ["converged", "diverged"]
    assert stable_limit(race.racers[0], kappa) == pytest.approx(limit)


def test_the_bowl_theory_matches_the_measured_convergence_factors():
    kappa = 50
    theory = BowlTheory(kappa)
    bowl = make_surface("quadratic", kappa=kappa, angle=20)
    race = Race(bowl, [1.0, 1.0], [racer("sgd", theory.best_lr),
                                   racer("momentum", theory.momentum_lr, momentum=theory.momentum_mu)])
    run(race, 200)
    # Momentum at its best is critically damped: its distance falls as (a + bt)·rᵗ, so its
    # factor is measured more loosely, early (it is within 1e-6 of the minimum by step 70).
    for i, expected, (first, last), rel in [(0, theory.best_factor, (50, 150), 0.005),
                                            (1, theory.momentum_factor, (10, 50), 0.05)]:
        distances = np.linalg.norm(race.trajectory(i), axis=1)
        measured = (distances[last] / distances[first]) ** (1 / (last - first))
        assert measured == pytest.approx(expected, rel=rel)
    assert race.status == ["running", "converged"]


def test_the_race_uses_the_engines_own_update_rules(monkeypatch):
    start, rules = [1.0, 1.0], [racer("sgd", 0.01)]
    plain = Race(make_surface("quadratic"), start, rules).step()[0].point
    doubled = optimizers.RULES["sgd"]
    monkeypatch.setitem(optimizers.RULES, "sgd",
                        lambda p, g, state, lr, hyper, scratch: doubled(p, g, state, 2 * lr, hyper, scratch))
    changed = Race(make_surface("quadratic"), start, rules).step()[0].point
    assert np.allclose(start - changed, 2 * (np.array(start) - plain))


def test_himmelblau_starts_in_different_quadrants_reach_different_minima():
    surface = make_surface("himmelblau")
    reached = set()
    for start in ([1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]):
        race = run(Race(surface, start, [racer("sgd", 0.01)]), 5000)
        assert race.status == ["converged"]
        reached.add(tuple(np.round(race.points[0], 3)))
    assert len(reached) == 4


def test_gradient_descent_started_on_the_saddles_stable_axis_stalls_at_the_saddle_point():
    race = run(Race(make_surface("saddle"), [1.5, 0.0], [racer("sgd", 0.1)]), 500)
    assert np.allclose(race.points[0], [0.0, 0.0], atol=1e-12)
    assert race.stalled(0) == "saddle" and race.status == ["running"]
    nudged = run(Race(make_surface("saddle"), [1.5, 1e-6], [racer("sgd", 0.1)]), 500)
    assert nudged.status == ["diverged"]  # off the axis, it falls off the saddle for ever


def test_adam_reports_its_bias_corrected_first_moment_and_momentum_its_velocity():
    race = Race(make_surface("parabola"), [2.0], [racer("adam", 0.1), racer("momentum", 0.1)])
    adam, heavy = race.step()
    assert adam.velocity[0] == pytest.approx(4.0)  # m̂ after one step is the first gradient
    assert adam.update[0] == pytest.approx(-0.1, rel=1e-6)  # Adam's first step is lr·sign(g)
    assert heavy.velocity[0] == pytest.approx(4.0)


@pytest.mark.parametrize("kappa", [10, 1000])
def test_nesterov_converges_just_below_its_stable_rate_and_diverges_just_above(kappa):
    bowl = make_surface("quadratic", kappa=kappa, angle=10)
    limit = stable_limit(racer("nesterov", 1.0), kappa)
    assert limit == pytest.approx(2 * 1.9 / (2.8 * kappa))
    race = run(Race(bowl, [1.0, 1.0], [racer("nesterov", 0.99 * limit),
                                       racer("nesterov", 1.01 * limit)]), 50_000)
    assert race.status == ["converged", "diverged"]


def test_a_start_where_f_is_not_a_number_is_refused_in_words():
    with pytest.raises(ConfigError, match="not a number at the start"):
        Race(make_surface("expression", expression="log(x)"), [-1.0, 0.0], [racer("sgd", 0.1)])
    with pytest.raises(ConfigError, match="no racer"):  # finished before it began, silently
        Race(make_surface("parabola"), [1.0], [])


def test_race_command_writes_trajectories_and_a_picture(tmp_path, capsys):
    out = tmp_path / "race"
    assert main(["race", "--surface", "rosenbrock", "--start=-1.5,1.5", "--optimizer", "sgd:0.001",
                 "--optimizer", "adam:0.05:beta1=0.8", "--optimizer", "sgd:0.01", "--steps", "300",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sgd 0.001" in printed and "adam 0.05" in printed and "diverged at step" in printed
    rows = list(csv.reader((out / "trajectories.csv").read_text().splitlines()))
    assert rows[0] == ["optimizer", "step", "x", "y", "f", "grad_x", "grad_y"]
    first = rows[1]
    assert first[:4] == ["sgd 0.001", "0", "-1.5", "1.5"]
    assert float(first[4]) == pytest.approx(2.5 ** 2 + 100 * (1.5 - 2.25) ** 2)
    assert len([r for r in rows if r[0] == "sgd 0.001"]) == 301
    assert (out / "race.png").stat().st_size > 10_000


def test_race_command_on_a_one_dimensional_surface_leaves_y_empty(tmp_path):
    out = tmp_path / "race"
    assert main(["race", "--surface", "parabola", "--start", "2", "--optimizer", "sgd:0.1",
                 "--steps", "2", "--out", str(out)]) == 0
    rows = list(csv.reader((out / "trajectories.csv").read_text().splitlines()))
    assert [float(r[2]) for r in rows[1:]] == pytest.approx([2.0, 1.6, 1.28], abs=1e-15)
    assert {(r[3], r[6]) for r in rows[1:]} == {("", "")}


def test_race_command_says_a_racer_is_stuck_in_the_double_wells_local_minimum(tmp_path, capsys):
    """It printed "within 1e-6 of a minimum" for the shallow valley as for the deep one."""
    for start in ("1", "-1"):
        assert main(["race", "--surface", "double-well", "--start", start, "--optimizer",
                     "sgd:0.05", "--steps", "500", "--out", str(tmp_path / start)]) == 0
    shallow, deep = (line for line in capsys.readouterr().out.splitlines() if "sgd 0.05" in line)
    assert "stuck in a local minimum, f = -0.5167; the global minimum is f = -1.515" in shallow
    assert "within 1e-6 of a minimum" in deep and "stuck" not in deep


@pytest.mark.parametrize("flags, words", [
    (["--optimizer", "adamw:0.1"], "is not one of"),
    (["--optimizer", "sgd"], "is not a number"),
    (["--optimizer", "sgd:0"], "must be above 0"),
    (["--optimizer", "adam:0.1:gamma=2"], "key=value"),
    (["--optimizer", "momentum:0.1:momentum=1.5"], "optimizer.momentum"),
    (["--optimizer", "sgd:0.1", "--start", "1"], "X,Y"),
    (["--optimizer", "adam:0.1:momentum=0.9"], "adam does not use momentum"),
    (["--optimizer", "sgd:0.1", "--steps", "0"], "from 1 to 1,000,000"),
    (["--optimizer", "sgd:0.1", "--steps", "2000000"], "from 1 to 1,000,000"),
    (["--optimizer", "sgd:0.1", "--steps", "9" * 5000], "argument --steps: must be a whole number "
                                                        "from 1 to 1,000,000"),
    (["--optimizer", ""], "argument --optimizer: the value is empty"),
    (["--optimizer", "sgd:0.1", "--expression", " "], "argument --expression: the value is empty"),
    (["--optimizer", "sgd:0.1", "--expression", "x"], "--expression goes with --surface expression"),
    (["--optimizer", "sgd:0.1", "--kappa", "5"], "--kappa goes with --surface quadratic"),
    (["--optimizer", "adam:0.1:beta1=0.9:beta1=0.8"], "beta1 is given twice"),
])
def test_race_command_refuses_bad_input_in_one_line(tmp_path, capsys, flags, words):
    argv = ["race", "--surface", "rosenbrock", "--steps", "5", "--out", str(tmp_path / "r"),
            "--start=1,1"] + flags
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and err.startswith("gdplayground: error: ")


def test_a_typed_formula_converges_where_the_hessian_says_minimum_and_stalls_at_its_saddle():
    bowl = make_surface("expression", expression="x^2 + 10*sin(y)^2")
    assert run(Race(bowl, [1.0, 1.0], [racer("adam", 0.1)]), 2000).status == ["converged"]
    saddle = make_surface("expression", expression="x^2 - y^2")
    race = run(Race(saddle, [1.5, 0.0], [racer("sgd", 0.1)]), 500)
    assert race.status == ["running"] and race.stalled(0) == "saddle"


def test_a_racer_in_the_double_wells_shallower_valley_is_stuck_in_a_local_minimum():
    """It was called "converged" like one in the deeper valley."""
    surface = make_surface("double-well")
    critical = np.roots([4.0, 0.0, -4.0, 0.5]).real  # f′(x) = 4x³ − 4x + 1/2: three real zeros
    depths = critical**4 - 2 * critical**2 + critical / 2
    lowest = int(np.argmin(depths))
    shallow = Race(surface, [1.5], [racer("sgd", 0.05)])
    run(shallow, 5000)
    assert shallow.status == ["converged"]
    words = shallow.local_minimum_words(0)
    assert words.startswith(f"stuck in a local minimum, f = {float(surface.f(shallow.points[0])):.4g}")
    assert words.endswith(f"the global minimum is f = {depths[lowest]:.4g} at ({critical[lowest]:.4g})")
    deep = run(Race(surface, [-1.5], [racer("sgd", 0.05)]), 5000)
    assert deep.status == ["converged"] and deep.local_minimum_words(0) is None
    equal = run(Race(make_surface("himmelblau"), [0.0, 0.0], [racer("adam", 0.1)]), 20000)
    assert equal.status == ["converged"] and equal.local_minimum_words(0) is None


def test_a_racer_thrown_far_out_overflows_quietly_and_is_called_diverged():
    """The storm (seed 23): Beale's gradient where a diverged racer stopped (y ~ -1e53, y³
    overflows) was computed outside the race's errstate: a RuntimeWarning at every frame of
    the Optimizers tab."""
    race = Race(make_surface("beale"), [1.0, 1.5], [racer("nesterov", 0.1)])  # out in 3 steps
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            race.step()
    assert race.status == ["diverged"]
