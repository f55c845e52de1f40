import math

import numpy as np
import pytest

from gdplayground.config import ConfigError, Layer, LearningRateConfig, preset
from gdplayground.data import load_dataset
from gdplayground.data.datasets import Dataset, Split
from gdplayground.engine import Trainer


def toy_config(**batch):
    config = preset("spiral")
    config.data.samples, config.data.test_fraction, config.data.validation_split = 200, 0.2, 0.2
    config.architecture.dropout = 0.2
    for key, value in batch.items():
        setattr(config.batch, key, value)
    return config


def params(trainer):
    return [p.copy() for _, p, _ in trainer.network.parameters()]


def run(trainer, steps):
    return [trainer.step() for _ in range(steps)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_and_configuration_give_bit_identical_runs(dtype):
    config = toy_config()
    config.dtype = dtype
    a, b = Trainer(config), Trainer(config)
    reports_a, reports_b = run(a, 40), run(b, 40)
    assert reports_a == reports_b
    for pa, pb in zip(params(a), params(b)):
        assert pa.dtype == np.dtype(dtype)
        assert pa.tobytes() == pb.tobytes()


def test_two_processes_train_mnist_to_the_same_bits():
    """Across interpreters too: nothing in a step may depend on uninitialised buffers,
    hash order or addresses. (The BLAS thread count must match: it splits the products.)"""
    import subprocess
    import sys

    script = ("import hashlib\n"
              "from gdplayground.bench.engine import SETUPS\n"
              "from gdplayground.engine import Trainer\n"
              "trainer = Trainer(SETUPS['a'].config())\n"
              "for _ in range(100): trainer.step()\n"
              "print(hashlib.sha256(trainer.network.flat.tobytes()).hexdigest())\n")
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True).stdout for _ in range(2)}
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


def test_reset_replays_the_same_run():
    trainer = Trainer(toy_config())
    first = run(trainer, 25)
    trainer.reset()
    assert run(trainer, 25) == first


def test_a_different_seed_gives_a_different_run():
    config = toy_config()
    a = Trainer(config)
    config.seed = 1
    b = Trainer(config)
    assert not np.array_equal(params(a)[0], params(b)[0])


@pytest.mark.parametrize("mode, size, expected", [("full", 0, 1), ("mini", 32, 4), ("stochastic", 0, 128)])
def test_batch_modes_set_the_steps_per_epoch(mode, size, expected):
    config = toy_config(mode=mode, size=size or 1)  # 128 training examples
    trainer = Trainer(config)
    assert len(trainer.dataset.train) == 128
    assert trainer.steps_per_epoch == expected
    reports = run(trainer, expected)
    assert [r.epoch_end for r in reports] == [False] * (expected - 1) + [True]
    assert sum(r.batch_size for r in reports) == 128
    assert trainer.epochs_done == 1


def test_every_example_is_seen_once_per_epoch_in_a_new_order():
    trainer = Trainer(toy_config(mode="mini", size=50))
    orders = []
    for _ in range(2):
        run(trainer, trainer.steps_per_epoch)
        orders.append(trainer._order.copy())
    assert sorted(orders[0]) == list(range(128))
    assert not np.array_equal(orders[0], orders[1])


def test_report_carries_per_layer_gradient_and_weight_norms():
    trainer = Trainer(toy_config())
    report = trainer.step()
    assert len(report.layers) == 3  # two hidden layers and the output
    grads = [np.linalg.norm(layer.dW) for layer in trainer.network.layers]
    weights = [np.linalg.norm(layer.W) for layer in trainer.network.layers]
    assert [s.weight_grad_norm for s in report.layers] == pytest.approx(grads, rel=1e-5)
    assert [s.weight_norm for s in report.layers] == pytest.approx(weights, rel=1e-5)
    assert all(s.bias_grad_norm > 0 for s in report.layers)
    assert report.learning_rate == 0.01 and 0 <= report.accuracy <= 1


def test_validation_is_measured_at_the_configured_interval():
    config = toy_config(mode="mini", size=16)
    config.eval_every = 3
    reports = run(Trainer(config), 9)
    assert [r.step for r in reports if r.val_loss is not None] == [3, 6, 9]
    config.eval_every = 0  # at the end of every epoch (8 steps)
    reports = run(Trainer(config), 9)
    assert [r.step for r in reports if r.val_accuracy is not None] == [8]


def test_learning_rate_change_takes_effect_on_the_next_step_without_reset():
    config = toy_config()
    trainer = Trainer(config)
    run(trainer, 3)
    config.learning_rate.value = 0.5
    assert trainer.apply(config) is False
    report = trainer.step()
    assert report.step == 4 and report.learning_rate == 0.5


def test_architecture_change_resets():
    config = toy_config()
    trainer = Trainer(config)
    run(trainer, 3)
    config.architecture.hidden = [Layer(4, "relu")]
    assert trainer.apply(config) is True
    assert trainer.step_count == 0 and trainer.network.sizes == [2, 4, 1]


def test_divergence_is_caught_rolled_back_and_refused_until_the_rate_is_lowered():
    config = toy_config()
    config.optimizer.name, config.learning_rate.value = "sgd", 100.0
    config.architecture.hidden, config.architecture.output, config.architecture.loss = [], "identity", "mse"
    trainer = Trainer(config)
    reports = run(trainer, 200)
    diverged = [r for r in reports if r.status == "diverged"]
    assert len(diverged) == 1
    assert "Lower the learning rate (now 100)" in diverged[0].message
    after = reports[reports.index(diverged[0]) + 1:]
    assert after and all(r.status == "refused" and r.message == diverged[0].message for r in after)
    assert trainer.step_count == diverged[0].step  # refused steps do nothing
    assert all(np.isfinite(p).all() for p in params(trainer))  # rolled back to finite weights
    config.learning_rate.value = 1e-3
    trainer.apply(config)
    report = trainer.step()
    assert report.status == "ok" and math.isfinite(report.loss)


def test_a_rollback_puts_back_the_whole_run_so_counters_agree_with_the_weights():
    config = toy_config(mode="mini", size=24)
    config.optimizer.name, config.learning_rate.value = "momentum", 0.01
    config.architecture.output, config.architecture.loss = "identity", "mse"
    trainer, twin = Trainer(config), Trainer(config)
    run(trainer, 150)
    run(twin, 100)  # where the rollback must land: the checkpoint at step 100
    config.learning_rate.value = 100.0
    trainer.apply(config)
    diverged = next(r for r in run(trainer, 50) if r.status == "diverged")
    assert diverged.step == trainer.step_count == 100 and "rolled back to step 100" in diverged.message
    assert (trainer.samples_seen, trainer.epochs_done) == (twin.samples_seen, twin.epochs_done)
    config.learning_rate.value = 0.01
    trainer.apply(config)
    assert run(trainer, 30) == run(twin, 30)  # same weights, optimizer memory, data order, dropout
    assert all(a.tobytes() == b.tobytes() for a, b in zip(params(trainer), params(twin)))


def test_divergence_is_also_cleared_by_reset():
    config = toy_config()
    config.optimizer.name, config.learning_rate.value = "sgd", 100.0
    config.architecture.output, config.architecture.loss = "identity", "mse"
    trainer = Trainer(config)
    run(trainer, 300)
    assert trainer.diverged
    trainer.reset()
    assert not trainer.diverged and trainer.step().status == "ok"


# --- the one rule: NaN or infinity, or losses far above the start ---------------------------
def run_until_diverged(trainer, steps):
    reports = []
    for _ in range(steps):
        reports.append(trainer.step())
        if reports[-1].status != "ok":
            break
    return reports


def diverging(losses):
    """Whether the run has diverged after each step, by the rule computed here from its losses:
    those of the last 16 steps add up to more than 16 × 10 times the first step's."""
    return [sum(losses[max(0, i - 15):i + 1]) > 160 * losses[0] for i in range(len(losses))]


@pytest.mark.parametrize("dataset, optimizer, lr, hidden, diverged_at", [
    ("spiral", "adam", 100.0, None, 2),
    ("xor", "adam", 100.0, None, 3),
    ("mnist", "sgd", 10.0, [Layer(64, "relu")], 3),
    ("linear-system", "sgd", 0.092, None, 41)])  # full batch: every loss exact, the same rule
def test_losses_far_above_the_start_diverge_at_the_step_the_rule_says(dataset, optimizer, lr,
                                                                      hidden, diverged_at):
    """Adam at rate 100 went on "training" at a loss of 1e10, and SGD at 10 on MNIST 784-64-10
    went 2.36 → 19 → 1,334 → 122 without a word: only NaN and infinity counted."""
    config = preset(dataset)
    config.optimizer.name, config.learning_rate.value = optimizer, lr
    config.architecture.hidden = hidden or config.architecture.hidden
    trainer = Trainer(config)
    reports = run_until_diverged(trainer, 100)
    losses = [r.loss for r in reports]  # the diverged report keeps the loss of its step
    if dataset == "mnist":
        assert losses == pytest.approx([2.356, 19.09, 1334.5], rel=1e-3)
    assert diverging(losses) == [False] * (diverged_at - 1) + [True]
    assert [r.status for r in reports] == ["ok"] * (diverged_at - 1) + ["diverged"]
    assert reports[-1].step == trainer.step_count == 0  # rolled back to the checkpoint at 0
    last = losses[-16:]
    assert reports[-1].message == (
        f"Training diverged at step {diverged_at}: the loss rose from {losses[0]:,.4g} at step 1 "
        f"to {losses[-1]:,.4g}; the losses of the last {len(last)} steps add up to "
        f"{sum(last):,.4g}, over 160 times the first (10 times it on average over 16 steps). The "
        f"run was rolled back to step 0. Lower the learning rate (now {lr:g}) or reset to "
        f"continue.")
    assert trainer.step().status == "refused"


@pytest.mark.parametrize("dataset, steps, settings", [
    ("mnist", 300, {}), ("mnist-binary", 300, {}), ("spiral", 20_000, {}),
    ("linear-system", 2000, {}),
    ("spiral", 2000, {"value": 3.0}),  # oscillating: 4.8 times its start over 16 steps at most
    # One example a step: a single loss reaches 23 times the start, 16 steps 2.3 times it.
    ("mnist", 3000, {"value": 0.1, "optimizer": "sgd", "batch": "stochastic"})])
def test_healthy_runs_and_their_wild_batches_never_diverge(dataset, steps, settings):
    config = preset(dataset)
    if "value" in settings:  # a constant rate
        config.learning_rate = LearningRateConfig(settings["value"])
    config.optimizer.name = settings.get("optimizer", config.optimizer.name)
    config.batch.mode = settings.get("batch", config.batch.mode)
    trainer = Trainer(config)
    reports = run(trainer, steps)
    assert {r.status for r in reports} == {"ok"}
    if "batch" in settings:
        assert max(r.loss for r in reports) > 20 * reports[0].loss  # the wild batch was there


def test_a_loss_that_is_not_a_number_diverges_whatever_its_start():
    """Targets of 1e20 square to infinity in float32 at the first step already."""
    x = np.ones((8, 2), np.float32)
    split = Split(x, np.full((8, 1), 1e20))
    config = preset("linear-system")
    config.dtype = "float32"
    trainer = Trainer(config, Dataset("linear-system", split, Split(x[:0], split.y[:0]), split, None))
    report = trainer.step()
    assert report.status == "diverged" and report.step == 0
    assert report.message.startswith("Training diverged at step 1: the loss became NaN or infinite.")


def test_the_start_is_the_first_steps_loss_and_a_restored_run_keeps_it():
    config = toy_config(mode="stochastic")  # one example, and dropout, as the first step takes them
    trainer = Trainer(config)
    start = trainer.start_loss
    assert run(trainer, 150)[0].loss == start
    restored = Trainer(config)
    restored.restore(trainer.snapshot())
    assert restored.start_loss == start and run(restored, 20) == run(trainer, 20)


def test_loss_that_does_not_suit_the_data_is_a_config_error():
    config = preset("linear-system")
    config.architecture.loss, config.architecture.output = "cross_entropy", "softmax"
    with pytest.raises(ConfigError, match="cross_entropy' does not suit linear-system"):
        Trainer(config)


def test_mnist_binary_holds_only_zeros_and_ones():
    data = load_dataset(preset("mnist-binary").data, seed=0)
    assert set(np.unique(data.train.y)) == {0, 1} and data.n_classes == 2
    assert len(data.train) + len(data.validation) == 5923 + 6742
    assert len(data.test) == 980 + 1135


def test_validation_split_is_carved_from_the_training_set():
    data = load_dataset(preset("mnist").data, seed=0)
    assert (len(data.train), len(data.validation), len(data.test)) == (54000, 6000, 10000)
    assert data.train.x.dtype == np.uint8  # kept compact until batched


@pytest.mark.parametrize("name", ["spiral", "xor", "circles", "gaussians"])
def test_toy_sets_honour_size_ratio_and_seed(name):
    config = preset(name)
    config.data.samples, config.data.test_fraction = 300, 0.2
    a, b = load_dataset(config.data, 3), load_dataset(config.data, 3)
    assert (len(a.train), len(a.test)) == (240, 60)
    assert np.array_equal(a.train.x, b.train.x)
    assert 0.3 < a.train.y.mean() < 0.7  # both classes present


def test_a_configuration_that_fails_leaves_the_run_untouched():
    config = toy_config()
    trainer = Trainer(config)
    run(trainer, 5)
    before = params(trainer)
    bad = toy_config()
    bad.data.name = "linear-system"  # real-valued targets: cross-entropy cannot train on them
    bad.architecture.loss, bad.architecture.output = "cross_entropy", "softmax"
    with pytest.raises(ConfigError, match="does not suit linear-system"):
        trainer.apply(bad)
    assert trainer.config == config and trainer.dataset.name == "spiral"
    assert trainer.step_count == 5 and all(np.array_equal(a, b) for a, b in zip(before, params(trainer)))
    assert trainer.step().step == 6


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop"])
def test_a_restored_snapshot_goes_on_exactly_like_the_original(optimizer):
    config = toy_config(mode="mini", size=24)
    config.optimizer.name = optimizer
    original = Trainer(config)
    run(original, 11)  # mid-epoch, with optimizer memory and dropout draws behind it
    state = original.snapshot()
    resumed = Trainer(config)
    resumed.restore(state)
    assert run(resumed, 15) == run(original, 15)
    for a, b in zip(params(original), params(resumed)):
        assert a.tobytes() == b.tobytes()


def test_a_snapshot_at_the_end_of_an_epoch_with_a_short_last_batch_restores():
    config = toy_config(mode="mini", size=48)  # 128 training examples: batches of 48, 48, 32
    original = Trainer(config)
    reports = run(original, 3)
    assert [r.batch_size for r in reports] == [48, 48, 32] and reports[-1].epoch_end
    state = original.snapshot()
    assert state.position == len(state.order) == 128
    resumed = Trainer(config)
    resumed.restore(state)
    assert run(resumed, 7) == run(original, 7)


def test_snapshot_is_a_copy():
    trainer = Trainer(toy_config())
    state = trainer.snapshot()
    before = state.parameters["layer1.weight"].copy()
    run(trainer, 5)
    assert np.array_equal(state.parameters["layer1.weight"], before)


def test_restore_names_the_layer_that_does_not_fit():
    trainer = Trainer(toy_config())
    other = toy_config()
    other.architecture.hidden = [Layer(8, "tanh"), Layer(5, "tanh")]
    with pytest.raises(ValueError, match=r"layer2.weight has shape \(8, 5\) in the file, \(8, 8\)"):
        trainer.restore(Trainer(other).snapshot())


def test_every_change_of_a_setting_during_a_run_is_recorded_with_its_step():
    from gdplayground.engine import SettingChange

    config = toy_config()
    trainer = Trainer(config)
    run(trainer, 7)
    config.learning_rate.value, config.optimizer.name = 0.03, "sgd"
    trainer.apply(config)
    run(trainer, 3)
    config.learning_rate.schedule = "cosine"
    trainer.apply(config)
    assert trainer.changes == [SettingChange(7, "optimizer.name", "adam", "sgd"),
                               SettingChange(7, "learning_rate.value", 0.01, 0.03),
                               SettingChange(10, "learning_rate.schedule", "constant", "cosine")]
    assert trainer.started_with.learning_rate.value == 0.01
    trainer.reset()
    assert trainer.changes == []


def test_a_run_trained_with_the_settings_of_its_last_step_not_those_set_after_it():
    """A rate changed and then Reset: the run that ends trained every step at the old rate."""
    from gdplayground.engine import SettingChange

    config = toy_config()
    trainer = Trainer(config)
    run(trainer, 4)
    config.learning_rate.value = 0.5
    trainer.apply(config)
    run(trainer, 3)
    assert trainer.trained_with() == (trainer.config, (SettingChange(4, "learning_rate.value", 0.01, 0.5),))
    config.learning_rate.value, config.optimizer.name = 0.03, "sgd"
    trainer.apply(config)
    config.learning_rate.value = 0.02  # twice at one step: still the settings before both
    trainer.apply(config)
    settings, changed = trainer.trained_with()
    assert (settings.learning_rate.value, settings.optimizer.name) == (0.5, "adam")
    assert changed == (SettingChange(4, "learning_rate.value", 0.01, 0.5),)
    assert trainer.config.learning_rate.value == 0.02  # the next step's settings stay as set
