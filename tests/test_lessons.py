"""Lessons: every shipped lesson opens, and what its text promises happens when its set-up runs
on the engine and the labs, without Qt. The numbers asserted are the numbers the texts state;
a lesson's text and its test change together. A broken lesson file says where it is broken."""

from __future__ import annotations

import copy
import dataclasses
import re

import numpy as np
import pytest

from gdplayground.config import Layer, preset
from gdplayground.data.datasets import LINEAR_SYSTEM_A, LINEAR_SYSTEM_Y
from gdplayground.engine.trainer import Trainer
from gdplayground.labs.gradient_lab import check_layers
from gdplayground.labs.lessons import (
    TABS, Lesson, LessonError, lessons_folder, load_lesson, shipped_lessons)
from gdplayground.labs.sharpness import sharpness
from gdplayground.labs.sweeps.plan import run_sweep

TESTED = {"learning-rate", "x-squared-step", "vanishing-gradients", "adam-ravine",
          "mini-batch-noise", "saddle-point", "gradient-check", "overfitting", "stroke-detectors",
          "linear-system", "your-own-table", "edge-of-stability"}


def lesson(name: str) -> Lesson:
    return load_lesson(lessons_folder() / f"{name}.toml")


def train(config, steps: int) -> tuple[Trainer, list]:
    trainer = Trainer(config)
    return trainer, [trainer.step() for _ in range(steps)]


def states(text: str, *numbers: str) -> None:
    """The text says each of these numbers, as written (a line break is a space, as Markdown
    reads it)."""
    words = " ".join(text.split())
    for number in numbers:
        assert number in words, f"the text no longer says {number}"


# --- the shipped lessons -----------------------------------------------------------------------
def test_every_shipped_lesson_opens_in_order_and_has_its_test():
    lessons = shipped_lessons()
    assert {one.name for one in lessons} == TESTED  # a new lesson needs a test of its promise
    assert [one.order for one in lessons] == sorted(one.order for one in lessons)
    assert len({one.order for one in lessons}) == len(lessons)
    for one in lessons:
        assert one.tab in TABS
        assert one.text.startswith(f"# {one.title}\n"), one.name
        assert "**Do.**" in one.text and "**Look.**" in one.text and "**Why.**" in one.text
        assert (lessons_folder() / f"{one.name}.md").is_file()


def test_learning_rate_too_low_barely_moves_right_falls_too_high_diverges():
    one = lesson("learning-rate")
    assert (one.tab, one.sweep.setting, one.sweep.values) == ("runs", "lr", "0.001,1,30")
    runs = {run.point[0]: run for run in run_sweep(one.experiment, one.sweep.plan())}
    starts = {round(float(run.curve[1][0]), 3) for run in runs.values()}
    assert starts == {0.702}
    assert round(runs[0.001].final_loss, 3) == 0.696
    assert round(runs[1.0].final_loss, 4) == 0.0034 and runs[1.0].test_accuracy == 0.995
    assert runs[30.0].diverged and runs[30.0].diverged_at_step <= 20
    states(one.text, "0.702", "0.696", "0.0034", "99.5%", "within 20 steps", "300 steps")


def test_x_squared_one_step_goes_from_2_to_1_6():
    one = lesson("x-squared-step")
    race = one.race.race()
    assert race.start.tolist() == [2.0]
    first = race.step()[0]
    assert first.grad.tolist() == [4.0]
    assert first.point.tolist() == pytest.approx([1.6], abs=1e-15)
    assert race.step()[0].point.tolist() == pytest.approx([1.28], abs=1e-15)
    states(one.text, "2.0 − 0.1 × 4.0 = 1.6", "1.28", "0.8")


def median_gradient_norms(config, steps: int = 10) -> np.ndarray:
    _, reports = train(config, steps)
    return np.median([[layer.weight_grad_norm for layer in r.layers] for r in reports], axis=0)


def test_vanishing_gradients_sigmoid_first_layer_orders_below_relu_he_within_one():
    one = lesson("vanishing-gradients")
    assert [layer.activation for layer in one.experiment.architecture.hidden] == ["sigmoid"] * 6
    sigmoid = median_gradient_norms(one.experiment)
    assert sigmoid[-1] / sigmoid[0] > 1000
    assert 3e-5 < sigmoid[0] < 1e-4 and 0.15 < sigmoid[-1] < 0.25  # "about 6e-5", "about 0.2"
    assert np.all((2.9 < sigmoid[1:] / sigmoid[:-1]) & (sigmoid[1:] / sigmoid[:-1] < 5.1))
    relu = copy.deepcopy(one.experiment)
    relu.architecture.hidden = [Layer(layer.units, "relu") for layer in relu.architecture.hidden]
    relu.architecture.init = "he"
    norms = median_gradient_norms(relu)
    assert norms.max() / norms.min() < 10
    assert round(norms[0], 2) == 0.16 and round(norms[-1], 2) == 0.55
    states(one.text, "6e-5", "0.2", "1,000 times", "3 to 5", "**10**", "0.16", "0.55")


def test_adam_reaches_the_ravines_minimum_first():
    one = lesson("adam-ravine")
    race = one.race.race()
    assert [r.optimizer.name for r in race.racers] == ["sgd", "adam"]
    assert race.racers[0].lr < 2 / one.race.kappa  # just under the stability limit
    while not race.finished and race.step_count < 2000:
        race.step()
    assert race.status == ["converged", "converged"]
    assert race.finished_at == [768, 247]
    states(one.text, "κ = 100", "2/κ = 0.02", "**247**", "**768**", "0.981")


def step_noise(config, steps: int = 300) -> float:
    _, reports = train(config, steps)
    return float(np.std(np.diff([r.loss for r in reports])))


def test_mini_batch_loss_is_noisier_than_full_batch():
    one = lesson("mini-batch-noise")
    assert (one.experiment.batch.mode, one.experiment.batch.size) == ("mini", 8)
    mini = step_noise(one.experiment)
    full_batch = copy.deepcopy(one.experiment)
    full_batch.batch.mode = "full"
    full = step_noise(full_batch)
    assert round(mini, 3) == 0.063 and round(full, 4) == 0.0027
    assert mini > 20 * full
    states(one.text, "**0.063**", "**0.0027**", "**20 times**")


def test_saddle_stalls_on_the_ridge_and_escapes_off_it_momentum_first():
    one = lesson("saddle-point")
    race = one.race.race()
    assert race.start.tolist() == [1.5, 0.0]
    stalled = [None, None]
    while None in stalled and race.step_count < 1000:
        race.step()
        for i in range(2):
            if stalled[i] is None and race.stalled(i) == "saddle":
                stalled[i] = race.step_count
    assert stalled == [142, 239]
    assert np.abs(race.points).max() < 1e-6  # both at (0, 0)
    off_axis = dataclasses.replace(one.race, start=(1.5, 0.01)).race()
    escaped = [None, None]
    while None in escaped:
        off_axis.step()
        for i, point in enumerate(off_axis.points):
            if escaped[i] is None and abs(point[1]) > 1:
                escaped[i] = off_axis.step_count
    assert escaped == [49, 19]
    assert 0.01 * 1.1 ** 49 == pytest.approx(1.07, abs=0.005)
    states(one.text, "(1.5, 0)", "**142**", "**239**", "**0.01**", "**49**", "**19**",
           "1.1⁴⁹ ≈ 1.07")


def test_numerical_and_analytic_gradients_agree_to_the_stated_relative_error():
    one = lesson("gradient-check")
    checks = check_layers(Trainer(one.experiment).gradient_probe())  # the tab's entries, seed 0
    float64 = [c.error for c in checks if c.dtype == "float64"]
    float32 = [c.error for c in checks if c.dtype == "float32"]
    assert max(float64) < 1e-7 and f"{max(float64):.0e}" == "1e-08"
    assert {c.verdict for c in checks if c.dtype == "float64"} == {"excellent"}
    assert f"{min(float32):.0e}" == "6e-05" and f"{max(float32):.0e}" == "6e-02"
    best = {dtype: np.finfo(dtype).eps ** (2 / 3) for dtype in (np.float64, np.float32)}
    assert f"{best[np.float64]:.0e}" == "4e-11" and f"{best[np.float32]:.0e}" == "2e-05"
    states(one.text, "2-8-8-1, tanh", "**1e-7**", "about 1e-8", "**6e-5**", "**6e-2**",
           "**4e-11**", "**2e-5**")


def train_test(config, l2: float = 0.0, dropout: float = 0.0, steps: int = 1000):
    config = copy.deepcopy(config)
    config.optimizer.l2, config.architecture.dropout = l2, dropout
    trainer, _ = train(config, steps)
    return trainer.evaluate("train"), trainer.evaluate("test")


def test_overfitting_and_l2_and_dropout_shrink_the_train_test_gap():
    one = lesson("overfitting")
    (train_loss, train_acc), (test_loss, test_acc) = train_test(one.experiment)
    assert round(train_loss, 4) == 0.0009 and train_acc == 1.0
    assert round(test_loss, 1) == 9.1 and test_acc == 0.44
    gaps = {"none": test_loss - train_loss}
    for name, l2, dropout, losses, gap in (("L2", 0.01, 0.0, (0.25, 1.11), 0.86),
                                           ("dropout", 0.0, 0.5, (0.34, 1.18), 0.84)):
        (a, _), (b, _) = train_test(one.experiment, l2, dropout)
        assert (round(a, 2), round(b, 2)) == losses and round(b - a, 2) == gap, name
        gaps[name] = b - a
    assert gaps["L2"] < gaps["none"] / 10 and gaps["dropout"] < gaps["none"] / 10
    states(one.text, "**0.0009**", "**9.1**", "44%", "**0.01**", "0.25", "1.11", "**0.86**",
           "**0.5**", "0.34", "1.18", "**0.84**", "100 points", "step 1,000")


def neighbour_correlation(weights: np.ndarray, shape: tuple[int, int]) -> float:
    """The correlation of horizontally neighbouring pixels' weights over every unit's tile."""
    tiles = weights.T.reshape(-1, *shape)
    return float(np.corrcoef(tiles[:, :, :-1].ravel(), tiles[:, :, 1:].ravel())[0, 1])


def test_first_layer_weights_turn_smooth_as_strokes():
    one = lesson("stroke-detectors")
    trainer = Trainer(one.experiment)
    shape = trainer.dataset.image_shape
    assert abs(neighbour_correlation(trainer.network.layers[0].W, shape)) < 0.005  # "0.00"
    for _ in range(100):
        trainer.step()
    assert 0.15 < neighbour_correlation(trainer.network.layers[0].W, shape) < 0.25  # "about 0.2"
    states(one.text, "32 ReLU", "(correlation 0.00)", "about 100", "about **0.2**")


def test_the_linear_system_is_solved_by_its_one_unit_network():
    one = lesson("linear-system")
    exact = np.linalg.solve(LINEAR_SYSTEM_A, LINEAR_SYSTEM_Y)
    assert exact.tolist() == pytest.approx([5 / 7, 31 / 7, 7])
    trainer = Trainer(one.experiment)
    for step in range(1, 10_001):
        trainer.step()
        if step == 1000:  # the first unknown settles fast, the last crawls
            early = trainer.network.layers[0].W.ravel() / exact
            assert early[0] > 0.85 and early[2] < 0.6
    assert np.round(trainer.network.layers[0].W.ravel(), 4).tolist() == [0.7142, 4.4254, 6.9956]
    curvatures = np.linalg.eigvalsh(2 / 3 * LINEAR_SYSTEM_A.T @ LINEAR_SYSTEM_A)
    assert [f"{c:.3g}" for c in curvatures] == ["0.0733", "8.84", "22.4"]
    assert f"{1 - 0.01 * curvatures[0]:.5f}" == "0.99927" and f"{2 / curvatures[2]:.4f}" == "0.0892"
    too_fast = copy.deepcopy(one.experiment)
    too_fast.learning_rate.value = 0.09
    trainer = Trainer(too_fast)
    assert any(trainer.step().status == "diverged" for _ in range(200))
    states(one.text, "(0.7142, 4.4254, 6.9956)", "(0.7143, 4.4286, 7)", "0.0733", "8.84", "22.4",
           "0.99927", "0.0892", "**0.09**", "within 200 steps", "10,000 steps")


def test_the_penguins_table_trains_above_95_percent():
    one = lesson("your-own-table")
    trainer = Trainer(one.experiment)
    split = trainer.dataset
    assert (len(split.train), len(split.test), len(split.validation)) == (239, 67, 27)
    assert trainer.steps_per_epoch == 8
    for _ in range(20 * trainer.steps_per_epoch):
        trainer.step()
    _, accuracy = trainer.evaluate("test")
    assert accuracy > 0.95 and round(accuracy * 67) == 67
    states(one.text, "344 penguins", "333", "239", "67", "27", "20 epochs (160 steps of 32)",
           "**95%**", "all **67**")


def test_sharpness_rises_to_2_over_lr_and_hovers_there():
    one = lesson("edge-of-stability")
    assert (one.tab, one.landscape_view, one.experiment.learning_rate.value) == (
        "landscape", "sharpness", 0.5)
    trainer = Trainer(one.experiment)
    probe = trainer.gradient_probe(5000)  # the landscape's examples: all 200 training points
    assert len(probe.x) == len(trainer.dataset.train)
    measured, losses = {}, {}
    for step in range(1, 1501):
        losses[step] = trainer.step().loss
        if step == 1 or step % 100 == 0:
            measured[step] = sharpness(probe.at(trainer.network.flat)).largest
    assert round(measured[1], 2) == 0.84
    assert min(step for step, value in measured.items() if value >= 4) == 400
    hovering = [measured[step] for step in range(400, 1501, 100)]
    assert 3.6 <= min(hovering) and max(hovering) <= 5.2
    assert losses[1500] < losses[400] / 5
    states(one.text, "**0.84**", "**2/lr = 4**", "around step 400", "**3.6**", "**5.2**")


# --- broken lessons ----------------------------------------------------------------------------
GOOD = 'title = "T"\norder = 1\ntab = "training"\n'
TEXT = "# T\n\n**Do.** x\n"


def write(folder, toml: str, text: str | None = TEXT) -> str:
    """A lesson's set-up and, unless `text` is None, its text."""
    path = folder / "mine.toml"
    path.write_text(toml, encoding="utf-8")
    if text is not None:
        path.with_suffix(".md").write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("toml, text, says", [
    ('title = "T"\norder = 1\ntab = "training\n', TEXT, r"is not valid TOML: .*line 3"),
    (GOOD + 'colour = "red"\n', TEXT, r"unknown key colour; allowed: title, .* \(line 4\)"),
    ('title = "T"\norder = 1\ntab = "weights"\n', TEXT,
     r"tab 'weights' is not one of: training, optimizers, gradient-check, .* \(line 3\)"),
    ('title = "T"\ntab = "training"\n', TEXT, r"order is missing"),
    ('title = "T"\norder = -1\ntab = "training"\n', TEXT,
     r"order must be a whole number from 0 to 10,000 \(got -1\) \(line 2\)"),
    (GOOD, "", r"its text \(the \.md file beside it\) is empty"),
    (GOOD, None, r"mine\.md is missing: a lesson is NAME\.toml .* and NAME\.md"),
    (GOOD + '[experiment]\ndata.name = "spiral"\narchitecture.dropout = 2.0\n', TEXT,
     r"\[experiment\]: architecture\.dropout must be from 0 to 0\.9 \(got 2\.0\) \(line 6\)"),
    (GOOD + '[experiment.optimizer]\nname = "sgd"\nmomentum = "high"\n', TEXT,
     r"optimizer\.momentum must be a number \(got 'high'\) \(line 6\)"),
    (GOOD + '[experiment]\narchitecture.colour = 1\n', TEXT,
     r"unknown setting architecture\.colour; allowed: hidden, .* \(line 5\)"),
    (GOOD + '[experiment]\ndata.name = "cifar"\n', TEXT,
     r"experiment\.data\.name 'cifar' is not one of: mnist, .* \(line 5\)"),
    (GOOD + '[race]\nsurface = "parabola"\nstart = [1.0, 2.0]\n'
     'racers = [{rule = "sgd", lr = 0.1}]\n',
     TEXT, r"race\.start must be a list of 1 number from -1,000 to 1,000, as \[x\] .* \(line 6\)"),
    (GOOD + '[race]\nsurface = "parabola"\nracers = [{rule = "sgd", lr = 0}]\n', TEXT,
     r"race\.racers\[0\]\.lr: the learning rate of sgd must be above 0 and at most 100 "
     r"\(got 0\.0\) \(line 6\)"),
    (GOOD + '[race]\nsurface = "parabola"\nracers = [{rule = "lion", lr = 0.1}]\n', TEXT,
     r"race\.racers\[0\]\.rule 'lion' is not one of: sgd, .*\(line 6\)"),
    (GOOD + '[race]\nsurface = "quadratic"\nkappa = 5000\nracers = [{rule = "sgd", lr = 0.1}]\n',
     TEXT, r"race: kappa, the bowl's condition number, must be from 1 to 1000 .* \(line 6\)"),
    (GOOD + '[race]\nsurface = "expression"\nexpression = "x +* y"\n'
     'racers = [{rule = "sgd", lr = 0.1}]\n', TEXT, r"race: .* \(line 6\)"),
    (GOOD + '[race]\nsurface = "saddle"\nracers = []\n', TEXT,
     r"race\.racers must be a list of 1 to 8 racers"),
    (GOOD + '[sweep]\nsetting = "lr"\nvalues = "0.1,-3"\n', TEXT,
     r"sweep: lr takes values above 0 and at most 100 \(got -3\) \(line 6\)"),
    (GOOD + '[sweep]\nsetting = "colour"\nvalues = "1"\n', TEXT,
     r"sweep: 'colour' is not a setting a sweep can vary"),
    (GOOD + '[sweep]\nsetting = "lr"\nvalues = "0.1"\nsteps = 0\n', TEXT,
     r"sweep\.steps must be a whole number from 1 to 1,000,000 \(got 0\) \(line 7\)"),
    (GOOD + '[experiment]\ndata.name = "spiral"\n[sweep]\nsetting = "width"\nvalues = "4"\n'
     '[experiment.architecture]\nhidden = []\n', TEXT,
     r"sweep: width 4: the network has no hidden layer"),
    (GOOD + '[inside]\npage = "insides"\n', TEXT,
     r"inside\.page 'insides' is not one of: pictures, distributions \(line 5\)"),
    (GOOD + '[landscape]\nview = "globe"\n', TEXT,
     r"landscape\.view 'globe' is not one of: line, plane, path, sharpness \(line 5\)"),
    (GOOD + 'landscape = 3\n', TEXT, r"landscape must be a table, as \[landscape\] \(line 4\)"),
])
def test_a_broken_lesson_says_where(tmp_path, toml, text, says):
    path = write(tmp_path, toml, text)
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    message = str(caught.value)
    assert "\n" not in message.strip()
    assert str(tmp_path) in message  # the file
    assert re.search(says, message), message


def test_a_teachers_lesson_sets_every_tab(tmp_path):
    path = write(tmp_path, GOOD.replace("training", "inside") + """
[experiment]
data.name = "xor"
optimizer.name = "momentum"
[race]
surface = "rosenbrock"
start = [-1.5, 2.0]
racers = [{rule = "adam", lr = 0.05, beta1 = 0.8}, {rule = "rmsprop", lr = 0.01, rho = 0.95}]
[sweep]
setting = "batch-size"
values = "8:64"
count = 4
log = true
repeats = 2
steps = 50
[inside]
page = "distributions"
[landscape]
view = "path"
""")
    one = load_lesson(path)
    expected = preset("xor")
    expected.optimizer.name = "momentum"
    assert one.experiment == expected  # the keys left out are the data set's preset
    assert one.race.start == (-1.5, 2.0)
    assert [(r.optimizer.name, r.lr) for r in one.race.racers] == [
        ("adam", 0.05), ("rmsprop", 0.01)]
    assert (one.race.racers[0].optimizer.beta1, one.race.racers[1].optimizer.rho) == (0.8, 0.95)
    plan = one.sweep.plan()
    assert plan.axes[0].values == (8, 16, 32, 64) and plan.axes[0].log
    assert plan.repeats == 2 and plan.steps == 50
    assert (one.tab, one.inside_page, one.landscape_view) == ("inside", "distributions", "path")


# --- the command line -------------------------------------------------------------------------
def test_gdplayground_lessons_lists_them_in_order_and_checks_a_teachers_file(tmp_path, capsys):
    from gdplayground.cli import main

    assert main(["lessons"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shipped = shipped_lessons()
    assert [line.split()[1] for line in lines[:-1]] == [one.name for one in shipped]
    assert lines[2].split(None, 4)[2:] == ["opens", "training",
                                           "Vanishing gradients: deep sigmoid against ReLU with He"]
    assert str(lessons_folder()) in lines[-1]
    good = write(tmp_path, GOOD)
    assert main(["lessons", str(good)]) == 0
    assert capsys.readouterr().out.split() == ["1", "mine", "opens", "training", "T"]
    bad = write(tmp_path, GOOD + '[race]\nsurface = "saddle"\nstart = [1, "y"]\n'
                                 'racers = [{rule = "sgd", lr = 0.1}]\n')
    assert main(["lessons", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"gdplayground: error: {bad}: race.start must be a list")
    assert err.rstrip().endswith("(line 6)") and err.count("\n") == 1


def test_a_teachers_table_is_found_beside_the_lesson(tmp_path):
    from gdplayground.resources import resource_path

    (tmp_path / "birds.csv").write_bytes(resource_path("tables", "penguins.csv").read_bytes())
    one = load_lesson(write(tmp_path, GOOD + '[experiment]\ndata.name = "table"\n'
                                             'data.path = "birds.csv"\ndata.target = "species"\n'))
    assert one.experiment.data.path == str(tmp_path / "birds.csv")
    assert Trainer(one.experiment).dataset.n_classes == 3
    with pytest.raises(LessonError, match=r"experiment\.data\.path 'fish\.csv' is not there "
                                          r"\(.*fish\.csv\) \(line 6\)"):
        load_lesson(write(tmp_path, GOOD + '[experiment]\ndata.name = "table"\n'
                                           'data.path = "fish.csv"\n'))
    with pytest.raises(LessonError, match=r"data\.path must name a CSV or TSV file"):
        load_lesson(write(tmp_path, GOOD + '[experiment]\ndata.name = "table"\n'))


def test_a_lessons_table_is_read_with_it_and_its_label_brings_output_and_loss(tmp_path):
    """A teacher's table is read when the lesson is (a bad one refused naming the key, before
    the window changes anything), and a two-class label gets one sigmoid unit with binary
    cross-entropy, as the Data panel gives it, unless the lesson says otherwise."""
    rows = "\n".join(f"{i},{i % 7},{'yes' if i % 2 else 'no'}" for i in range(40))
    (tmp_path / "two.csv").write_text("a,b,kind\n" + rows + "\n")
    (tmp_path / "ragged.csv").write_text("a,b,kind\n1,2,x\n3,4\n")
    table = GOOD + '[experiment]\ndata.name = "table"\ndata.path = "two.csv"\n'
    arch = load_lesson(write(tmp_path, table)).experiment.architecture
    assert (arch.output, arch.loss) == ("sigmoid", "bce")
    arch = load_lesson(write(tmp_path, table + 'architecture.output = "softmax"\n'
                                              'architecture.loss = "cross_entropy"\n')
                       ).experiment.architecture
    assert (arch.output, arch.loss) == ("softmax", "cross_entropy")  # as the lesson says
    with pytest.raises(LessonError, match=r"mine\.toml: two\.csv: no column named 'nosuch'.* "
                                          r"\(line 7\)"):
        load_lesson(write(tmp_path, table + 'data.target = "nosuch"\n'))
    with pytest.raises(LessonError, match=r"mine\.toml: ragged\.csv, line 3: 2 fields where the "
                                          r"header has 3 \(line 6\)"):
        load_lesson(write(tmp_path, table.replace("two.csv", "ragged.csv")))
