"""The coach: each diagnosis on a short run made to show it, the healthy presets raising none,
and the activation statistics it reads against a direct count."""

import csv
import json
import re

import numpy as np
import pytest

from gdplayground.cli import main
from gdplayground.config import Layer, LearningRateConfig, preset
from gdplayground.data import load_dataset
from gdplayground.data.datasets import Dataset, Split
from gdplayground.engine import Trainer
from gdplayground.engine.network import Network
from gdplayground.engine.trainer import UNIT_STATS_EVERY
from gdplayground.labs.diagnostics import Coach, Diagnosis, Window


def coach_run(config, steps, dataset=None, chunk=100, test_every=None):
    """Train `steps` steps (stopping at a divergence), handing the reports to a coach in chunks
    as the command line does, with the small test set measured every `test_every` steps if
    given; the coach after them."""
    trainer = Trainer(config, dataset)
    coach, pending = Coach(trainer), []
    for _ in range(steps):
        report = trainer.step()
        if test_every and report.step % test_every == 0:
            report = trainer.with_test_figures(report)
        pending.append(report)
        if len(pending) == chunk:
            coach.add(pending)
            pending = []
        if report.status != "ok":  # diverged: the trainer refuses to go on at this rate
            break
    coach.add(pending)
    return coach


def mnist(optimizer="adam", lr=1e-3, hidden=None, activation="relu", init="he", sigma=0.01):
    config = preset("mnist")
    config.optimizer.name, config.learning_rate = optimizer, LearningRateConfig(lr)  # constant
    if hidden is not None:
        config.architecture.hidden = [Layer(units, activation) for units in hidden]
    config.architecture.init, config.architecture.init_sigma = init, sigma
    return config


def spiral(**learning_rate):
    config = preset("spiral")
    for name, value in learning_rate.items():
        setattr(config.learning_rate, name, value)
    return config


def raised(coach) -> dict[str, Diagnosis]:
    return {diagnosis.name: diagnosis for diagnosis in coach.diagnoses}


# --- no false alarms -----------------------------------------------------------------------
@pytest.mark.parametrize("name, steps", [("mnist", 600), ("spiral", 2000), ("linear-system", 2000)])
def test_the_healthy_presets_raise_nothing(name, steps):
    assert coach_run(preset(name), steps).diagnoses == []


# --- each diagnosis on a run made to show it ------------------------------------------------
def test_a_deep_sigmoid_network_has_vanishing_gradients():
    coach = coach_run(mnist("sgd", 0.1, [64] * 6, "sigmoid"), 300)
    diagnosis = raised(coach)["vanishing-gradients"]
    assert diagnosis.step <= 200 and diagnosis.evidence.startswith("layer 1's gradient per weight")
    assert "ReLU with He initialisation" in diagnosis.suggestion


def test_the_coach_names_the_divergence_the_trainer_rolled_back_with_its_numbers():
    """SGD at rate 10 on MNIST 784-64-10 goes 2.36, 19, 1,334, 122 and back near its start:
    the coach named only dead units, never the explosion (it looked for a loss above 10× its
    start on a tenth of 200 steps). Now it names the trainer's divergence, with its figures."""
    coach = coach_run(mnist("sgd", 10, [64]), 10)
    diagnosis = raised(coach)["divergence"]
    assert diagnosis.step == 3 and diagnosis.evidence == (
        "at step 3 the loss rose from 2.356 at step 1 to 1,334; the losses of the last 3 steps "
        "add up to 1,356, over 160 times the first (10 times it on average over 16 steps); the "
        "run went back to step 0; λ_max = 6.064 at step 0 (on 128 training examples), above "
        "2/lr = 0.2: along the sharpest direction each step multiplies the error by |1 − lr·λ| "
        "= 59.6")
    assert diagnosis.suggestion == "lower the learning rate (now 10) tenfold, or clip the gradient norm"


def test_divergence_advice_fits_the_optimizer_and_the_clipping():
    """Clipping the gradient does not shorten Adam's steps, which divide its scale out; a run
    that already clips is told to clip harder."""
    adam = raised(coach_run(mnist("adam", 10), 10))["divergence"]
    assert adam.step == 2 and adam.suggestion == "lower the learning rate (now 10) tenfold"
    config = preset("linear-system")
    config.learning_rate.value, config.optimizer.clip_norm = 100.0, 1.0
    clipped = raised(coach_run(config, 10))["divergence"]
    assert clipped.suggestion == ("lower the learning rate (now 100) tenfold, or clip the "
                                  "gradient norm harder (now 1)")


def test_a_divergence_with_lambda_max_above_2_over_lr_says_so_in_numbers():
    """The linear system's loss is a quadratic whose Hessian is (2/3)·AᵀA everywhere: at the
    rate 0.0895 the sharpest direction's error grows by |1 − 0.0895·λ_max| each step."""
    config = preset("linear-system")
    config.learning_rate.value, config.learning_rate.warmup_steps = 0.0895, 300
    evidence = raised(coach_run(config, 6000))["divergence"].evidence
    a = load_dataset(config.data, config.seed).train.x
    largest = np.linalg.eigvalsh(2 / 3 * a.T @ a)[-1]
    assert evidence.endswith(
        f"the run went back to step 5400; λ_max = {largest:.4g} at step 5400 (on 3 training "
        f"examples), above 2/lr = {2 / 0.0895:.4g}: along the sharpest direction each step "
        f"multiplies the error by |1 − lr·λ| = {abs(1 - 0.0895 * largest):.3g}")
    assert "22.42" in evidence and "22.35" in evidence and "1.01" in evidence


def test_a_rate_too_high_for_the_spiral_oscillates():
    diagnosis = raised(coach_run(spiral(value=3.0), 400))["oscillation"]
    assert diagnosis.step < 200 and "lower the learning rate (now 3)" in diagnosis.suggestion


@pytest.mark.parametrize("optimizer, suggestion", [
    ("adam", "raise the learning rate (now 1e-07)"),  # it said "or try Adam" to Adam runs
    ("sgd", "raise the learning rate (now 1e-07), or try Adam")])
def test_a_rate_of_1e_7_plateaus(optimizer, suggestion):
    coach = coach_run(mnist(optimizer, 1e-7, [32]), 1100)
    diagnosis = raised(coach)["plateau"]
    assert diagnosis.step == 1 and diagnosis.suggestion == suggestion


def test_a_rate_beyond_the_linear_systems_stable_limit_explodes_before_it_diverges():
    """The warm-up lets the run converge before the rate passes 2/λmax = 0.0892 of the loss's
    Hessian: the gradient then grows from 1.3e-7, and the coach names it some 300 steps before
    the loss is far enough above its start for the trainer to roll the run back. A loss rising
    smoothly by a factor of 500 was called a plateau on the way."""
    config = preset("linear-system")
    config.learning_rate.value, config.learning_rate.warmup_steps = 0.0895, 300
    coach = coach_run(config, 6000)
    found = raised(coach)
    assert 5000 <= found["exploding-gradients"].step < found["divergence"].step == 5498
    assert "plateau" not in found


def test_tanh_units_started_from_large_weights_saturate():
    coach = coach_run(mnist("sgd", 0.01, [64, 64], "tanh", "normal", 1.0), 300)
    assert raised(coach)["saturation"].step == UNIT_STATS_EVERY
    evidence = raised(coach)["saturation"].evidence
    assert re.search(r"last \d+ steps, (all|\d\d?% or more) of layer", evidence), evidence  # never "100% or more"
    assert "dead-units" not in raised(coach)
    assert "Xavier" in raised(coach)["saturation"].suggestion


def test_saturation_in_a_xavier_network_is_not_told_to_start_from_xavier():
    diagnosis = raised(coach_run(spiral(value=1.0), 200))["saturation"]  # tanh, Xavier
    assert diagnosis.suggestion == ("lower the learning rate (now 1) if large steps drove them "
                                    "there, or try ReLU with He initialisation")


@pytest.mark.parametrize("activation, suggestion", [
    ("relu", "lower the learning rate (now 0.05), or try Leaky ReLU"),
    ("leaky_relu", "lower the learning rate (now 0.05)")])  # not Leaky ReLU to Leaky ReLU units
def test_relu_units_die_at_a_high_rate(activation, suggestion):
    diagnosis = raised(coach_run(mnist("adam", 0.05, [256, 128], activation), 200))["dead-units"]
    assert diagnosis.step == UNIT_STATS_EVERY and "layer 1's units" in diagnosis.evidence
    assert diagnosis.suggestion == suggestion


def test_at_a_rate_the_schedule_brought_to_zero_the_coach_does_not_say_lower_it():
    """Cosine to 0 by step 90: the first check, at step 100, finds the units dead."""
    config = mnist("adam", 0.05, [64])
    config.learning_rate.schedule, config.learning_rate.decay_steps = "cosine", 90
    found = raised(coach_run(config, 200))
    assert found["dead-units"].suggestion == "try Leaky ReLU"
    assert found["rate-zero"].suggestion == ("raise the schedule's floor (now 0) or its decay "
                                             "steps, or stop here")


def test_a_wide_network_on_50_digits_overfits():
    full = load_dataset(preset("mnist").data, 0)
    few = Dataset("mnist", Split(full.train.x[:50], full.train.y[:50]),
                  Split(full.validation.x[:500], full.validation.y[:500]), full.test,
                  full.n_classes, full.input_scale, full.image_shape)
    config = mnist("adam", 1e-3, [1024])
    config.batch.mode, config.eval_every = "full", 10
    diagnosis = raised(coach_run(config, 100, few))["overfitting"]
    assert diagnosis.step == 10 and diagnosis.evidence.startswith("the validation loss rose from")
    assert diagnosis.suggestion == ("add dropout or L2, train on more data, or keep the weights "
                                    "of step 10")
    config.architecture.dropout = 0.2
    diagnosis = raised(coach_run(config, 100, few))["overfitting"]
    assert diagnosis.suggestion.startswith("use more dropout (now 0.2) or L2, train on more data")


@pytest.mark.parametrize("test_every", [1, 1000])  # as at the window's slowest and fastest pace
def test_with_no_validation_split_the_spiral_overfits_on_its_test_points(test_every):
    """The spiral preset holds out no validation split: its test loss falls to 0.154 at step
    6,710, then rises (2.1 at 100,000 steps) while the training loss falls to 1e-10, and the
    coach said nothing. It reads the test points the plot shows, however often they come."""
    coach = coach_run(preset("spiral"), 13_000, chunk=1000, test_every=test_every)
    diagnosis = raised(coach)["overfitting"]
    assert 6_700 <= diagnosis.step <= 7_100
    best, risen = map(float, re.findall(r"test loss rose from ([\d.]+) at step \d+ to ([\d.]+)",
                                         diagnosis.evidence)[0])
    assert best < 0.16 and risen > 1.1 * best
    assert [d.name for d in coach.diagnoses] == ["overfitting"]


def test_a_schedule_that_reaches_zero_is_named():
    coach = coach_run(spiral(schedule="cosine", decay_steps=100), 150)
    assert raised(coach)["rate-zero"].step == 101
    coach = coach_run(spiral(schedule="exponential", decay_steps=1, gamma=1e-300), 5)
    assert raised(coach)["rate-zero"].suggestion == "raise γ (now 1e-300) or the decay steps, or stop here"


def test_an_oscillation_dates_from_the_rate_change_that_caused_it():
    """Raised from 0.1 to 3 after step 350: the coach's 200-step window reached back to a jump
    of step 325, at the old rate, and dated the oscillation from there."""
    trainer = Trainer(spiral(value=0.1))
    coach = Coach(trainer)
    coach.add([trainer.step() for _ in range(350)])  # as the window hands them over: before the change
    trainer.apply(spiral(value=3.0))
    after = [trainer.step() for _ in range(400)]
    coach.add(after)
    jumps = {b.step for a, b in zip(after, after[1:]) if b.loss >= 2 * a.loss}
    began = raised(coach)["oscillation"].step
    assert began > 351 and began in jumps  # a jump at the new rate (it was 325, at the old)


@pytest.mark.parametrize("mode, suggestion", [
    ("mini", "lower the learning rate (now 3), or use larger batches"),
    ("full", "lower the learning rate (now 3)")])  # every step sees the whole set already
def test_oscillation_advice_fits_the_batch(mode, suggestion):
    """Losses made to jump as an oscillating run's do (a full batch hardly oscillates without
    diverging), with the settings of the run they are handed over from."""
    config = spiral(value=3.0)
    config.batch.mode = mode
    trainer = Trainer(config)
    coach = Coach(trainer)
    coach.add([trainer.step()._replace(loss=1.0 + 1.5 * (i % 2)) for i in range(400)])
    assert raised(coach)["oscillation"].suggestion == suggestion


# --- the command line ----------------------------------------------------------------------
def test_train_prints_the_diagnoses_and_lists_them_in_the_summary(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "spiral", "--lr", "3", "--steps", "400", "--out", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    summary = json.loads((run / "summary.json").read_text())
    names = [d["name"] for d in summary["diagnoses"]]
    assert "oscillation" in names
    for diagnosis in summary["diagnoses"]:
        assert set(diagnosis) == {"name", "step", "evidence", "suggestion"}
        assert Diagnosis(**diagnosis).line() in lines
    assert [line.split(" ")[0] for line in lines if " (from step " in line] == names
    # The weight file keeps the summary, diagnoses and all, and training goes on from it.
    assert main(["train", "--weights", str(run / "weights.npz"), "--steps", "10",
                 "--out", str(tmp_path / "more")]) == 0


def test_train_stops_a_run_far_above_its_start_as_it_stops_one_at_nan(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", "spiral", "--lr", "100", "--steps", "50", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert ("Training diverged at step 2: the loss rose from 0.6683 at step 1 to 162.7; the losses "
            "of the last 2 steps add up to 163.4") in out
    assert "rolled back to step 0. Lower the learning rate (now 100)" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["diverged"] is True and summary["steps"] == 0
    assert [(d["name"], d["step"]) for d in summary["diagnoses"]] == [("divergence", 2)]


def test_train_measures_the_small_test_set_for_the_coach_as_the_window_does(tmp_path, capsys):
    """With no validation split, the command line's coach saw no held-out loss at all: the
    spiral's test loss rose 50% while its training loss fell tenfold, and it said nothing."""
    run = tmp_path / "run"
    assert main(["train", "--dataset", "spiral", "--steps", "12000", "--out", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert [d["name"] for d in summary["diagnoses"]] == ["overfitting"]
    assert summary["diagnoses"][0]["evidence"].startswith("the test loss rose from 0.157 at step 7100")
    rows = list(csv.DictReader((run / "metrics.csv").read_text().splitlines()))
    measured = [int(row["step"]) for row in rows if row["test_loss"]]
    assert measured == list(range(100, 12_001, 100))  # every TEST_EVERY steps


def test_a_healthy_run_lists_no_diagnoses(tmp_path, capsys):
    assert main(["train", "--dataset", "linear-system", "--steps", "300",
                 "--out", str(tmp_path / "run")]) == 0
    assert " (from step " not in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["diagnoses"] == []


# --- how the coach takes reports ------------------------------------------------------------
@pytest.mark.parametrize("schedule", ["constant", "exponential"])  # suggestions name the rate
def test_the_diagnoses_do_not_depend_on_how_the_reports_are_handed_over(schedule):
    trainer = Trainer(spiral(value=3.0, schedule=schedule, decay_steps=100))
    reports = [trainer.step() for _ in range(600)]
    found = []
    for chunk in (1, 37, 600):
        coach = Coach(trainer)
        new = [d for start in range(0, len(reports), chunk) for d in coach.add(reports[start:start + chunk])]
        assert new == coach.diagnoses
        found.append(coach.diagnoses)
    assert found[0] == found[1] == found[2] and found[0]


def test_a_name_is_raised_once_while_its_condition_holds():
    coach = coach_run(mnist("sgd", 0.01, [64, 64], "tanh", "normal", 1.0), 600)
    assert [d.name for d in coach.diagnoses].count("saturation") == 1


def test_the_line_begins_with_the_name():
    line = Diagnosis("plateau", 12, "the loss went nowhere", "raise the learning rate").line()
    assert line == "plateau (from step 12): the loss went nowhere — raise the learning rate"


def test_a_window_keeps_the_last_rows_in_order():
    window = Window(4, 1)
    window.extend(np.arange(3.0)[:, None])
    window.extend(np.arange(3.0, 9.0)[:, None])
    window.extend(np.array([[9.0]]))
    assert len(window) == 4 and window.total == 10
    assert window.last().ravel().tolist() == [6, 7, 8, 9]
    assert window.last(2).ravel().tolist() == [8, 9]


# --- activation statistics ------------------------------------------------------------------
def test_unit_stats_count_dead_relu_and_saturated_sigmoid_units():
    network = Network([3, 4, 5, 2], ["relu", "sigmoid"], dtype=np.float64)
    relu, sigmoid = network.layers[0], network.layers[1]
    x = np.abs(np.random.default_rng(0).standard_normal((8, 3))) + 0.1  # positive inputs
    relu.W[...] = [[1, -1, 1, -1]] * 3  # units 2 and 4 get a negative input for every example
    relu.b[...] = 0
    sigmoid.W[...] = 0
    sigmoid.b[...] = [-10, 10, 0, -3.5, 3.5]  # below 0.02, above 0.98, 0.5, 0.029, 0.971
    network.forward(x, train=True)
    stats = network.unit_stats()
    hidden = network.hidden_activations
    assert stats[0] == (np.mean(hidden[0].max(axis=0) <= 0), None) == (0.5, None)
    near = (hidden[1] <= 0.02) | (hidden[1] >= 0.98)
    assert stats[1] == (None, near.mean()) == (None, 0.4)
    assert stats[2] == (None, None)  # the output layer's activation belongs to the loss


def test_unit_stats_of_a_leaky_relu_and_a_tanh_layer():
    network = Network([2, 3, 4, 1], ["leaky_relu", "tanh"], dtype=np.float64)
    network.layers[0].W[...] = [[1, -1, 0], [1, -1, 0]]
    network.layers[0].b[...] = [0, 0, -1]  # units 2 and 3 only ever below zero
    network.layers[1].W[...] = 0
    network.layers[1].b[...] = [5, -5, 0, 1]  # tanh ±0.9999 near its limits; 0 and 0.76 not
    network.forward(np.ones((4, 2)), train=True)
    assert network.unit_stats()[:2] == [(pytest.approx(2 / 3), None), (None, 0.5)]


def test_reports_carry_unit_stats_every_few_steps():
    trainer = Trainer(preset("spiral"))  # two tanh layers
    reports = [trainer.step() for _ in range(2 * UNIT_STATS_EVERY)]
    measured = [r.step for r in reports if r.layers[0].saturated is not None]
    assert measured == [UNIT_STATS_EVERY, 2 * UNIT_STATS_EVERY]
    assert all(s.dead is None for r in reports for s in r.layers)
    assert all(r.layers[-1].saturated is None for r in reports)
    last = trainer.network.hidden_activations[0]
    assert reports[-1].layers[0].saturated == np.mean(np.abs(last) >= 0.96)
