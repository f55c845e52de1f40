"""The training loop, one iteration at a time: `Trainer.step()` runs a single update and returns
a small report, which is what the CLI prints and the window plots.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gdplayground.config import ConfigError, ExperimentConfig, changes
from gdplayground.layer_grammar import layer_words
from gdplayground.data import Dataset, Split, load_dataset
from gdplayground.engine.probe import Probe
from gdplayground.engine.losses import OUTPUT_RANGES, accuracy, make_loss
from gdplayground.engine.conv import feature_shapes
from gdplayground.engine.memory import check_fits, evaluation_rows, feature_floats, training_bytes
from gdplayground.engine.network import NOT_MEASURED, Network
from gdplayground.engine.optimizers import Optimizer
from gdplayground.engine.path import KeptPath, WeightPath
from gdplayground.engine.schedules import learning_rate_at

OPTIMIZER_STATE = "all"  # the optimizer keeps one state for the network's flat parameter array
CHECKPOINT_EVERY = 100  # steps between the snapshots a diverged run rolls back to
# A run has diverged when a loss, gradient or weight is NaN or infinite, or when the losses of
# its last DIVERGENCE_STEPS steps add up to more than DIVERGENCE_STEPS × DIVERGENCE_FACTOR times
# its start (the loss of its first step): ten times it on average, which no healthy preset comes
# near (the spiral at Adam's rate 3, oscillating, reaches 4.8 times; MNIST at SGD 0.1 one
# example a step, 3.7), while one wild batch of a healthy run does not count (that run's worst
# is 32 times the start) and a single loss of 160 times it does (SGD 10 on MNIST: 565 times).
DIVERGENCE_FACTOR = 10
DIVERGENCE_STEPS = 16
TEST_LIMIT = 5000  # test sets up to this size (the toy sets' half) are measured while training
PROBE_EXAMPLES, PROBE_SEED = 32, 0x6C4B  # a gradient check's batch, drawn from the run's seed
# Steps between measurements of dead and saturated units. They change slowly, and measuring
# them costs a few microseconds a layer: 10% of a toy network's step, were it every step.
UNIT_STATS_EVERY = 10


class LayerStats(NamedTuple):
    """One layer's figures after a step. `dead` and `saturated` describe the layer's units on
    the step's batch (Network.unit_stats), measured on every UNIT_STATS_EVERY-th step: None on
    the others, and always for a layer without such units (the output layer among them)."""

    weight_grad_norm: float
    bias_grad_norm: float
    weight_norm: float
    dead: float | None = None  # ReLU-family layers: fraction of units silent for the whole batch
    saturated: float | None = None  # sigmoid, tanh: fraction of activations near their limits


class StepReport(NamedTuple):
    """What one iteration did. `status` is "ok", "diverged" (this step made the run diverge, by
    the rule of DIVERGENCE_FACTOR, and the run was rolled back to its last checkpoint, whose step
    `step` then gives; `cause` says what happened) or "refused" (the run is diverged; nothing
    was done).

    Named tuples rather than frozen dataclasses: as immutable, and five times cheaper to make,
    which counts at 20,000 steps a second."""

    step: int  # iterations completed, counting this one
    epoch: int  # the epoch this step belongs to, from 1
    epoch_end: bool
    batch_size: int
    loss: float
    accuracy: float | None
    learning_rate: float
    layers: tuple[LayerStats, ...]
    val_loss: float | None = None
    val_accuracy: float | None = None
    test_loss: float | None = None  # of a small test set, now and then (with_test_figures)
    test_accuracy: float | None = None
    status: str = "ok"
    message: str = ""
    cause: str = ""  # of a divergence, with its numbers: "the loss became NaN or infinite"
    sharpness: float | None = None  # λ_max after the step, where measured (train --sharpness-every)


class SettingChange(NamedTuple):
    """A setting changed during a run, taking effect on the step after `step`."""

    step: int
    path: str  # "learning_rate.value"
    old: object
    new: object


@dataclass(frozen=True)
class TrainingState:
    """Everything a run needs to go on exactly as it would have: weights, optimizer memory, where
    it is in the data and its random generators. All copies, so it can cross threads."""

    step: int
    epochs: int
    samples_seen: int
    parameters: dict[str, np.ndarray]  # "layer1.weight" -> array
    optimizer: dict[str, dict]  # {"all": the optimizer's state over the flat parameter array}
    order: np.ndarray  # this epoch's shuffled order of the training examples
    position: int  # how far through `order` the run is
    shuffle_rng: dict  # bit-generator states
    dropout_rng: dict
    path: KeptPath | None = None  # the weights along the way, when asked for (snapshot(path=True))


class Trainer:
    def __init__(self, config: ExperimentConfig, dataset: Dataset | None = None):
        self.config = copy.deepcopy(config).validate()
        self.dataset = dataset or load_dataset(self.config.data, self.config.seed)
        self.reset()

    # --- set-up --------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to step 0: fresh weights, optimizer state and data order, all from the seed.

        Everything is built before anything is replaced, so a configuration that does not suit
        the data raises ConfigError and leaves the trainer as it was.
        """
        cfg, data = self.config, self.dataset
        arch = cfg.architecture
        dtype = np.dtype(cfg.dtype)
        loss = make_loss(arch.loss, arch.output)
        try:
            n_out = loss.n_outputs(data.n_classes, data.n_targets)
            targets = {name: loss.encode(split.y, n_out, dtype)
                       for name, split in self._splits().items()}
        except ValueError as exc:
            raise ConfigError(f"architecture.loss '{arch.loss}' does not suit {data.name}: {exc}",
                              "architecture.loss") from None
        if data.n_classes is None:
            _check_reachable(targets["train"], arch.output, data.name)
        init_seed, shuffle_seed, dropout_seed = np.random.SeedSequence(cfg.seed).spawn(3)
        layout = network_layout(cfg, data, n_out)
        self._check_memory(layout, cfg)
        network = Network(layout.sizes, [layer.activation for layer in arch.dense],
                          bias=arch.bias, dropout=arch.dropout, dtype=dtype,
                          features=arch.features, input_shape=layout.input_shape)
        self._eval_rows = evaluation_rows(feature_floats(arch.features, layout.input_shape)[0],
                                          dtype.itemsize)
        network.initialise(arch.init, arch.init_sigma, np.random.default_rng(init_seed))
        network.dropout_rng = np.random.default_rng(dropout_seed)
        self.dtype, self.loss, self._targets, self.network = dtype, loss, targets, network
        self._unmeasured = [NOT_MEASURED] * len(network.layers)  # unit stats between measurements
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        self.optimizer = Optimizer(cfg.optimizer, [param for param, _ in self._parameters])
        self.step_count, self.epochs_done, self.samples_seen = 0, 0, 0
        self.path = WeightPath(0, network.flat, learning_rate_at(0, cfg.learning_rate))
        self._order, self._position = np.arange(0), 0
        self._full_batch: np.ndarray | None = None
        self._divergence: tuple[float, str] | None = None  # (learning rate then, what happened)
        self._recent_losses: deque[float] = deque(maxlen=DIVERGENCE_STEPS)
        self.start_loss = self._first_loss()  # what a divergence is measured against
        self._checkpoint = self.snapshot()
        self.started_with = copy.deepcopy(cfg)  # the run's settings at step 0 …
        self.changes: list[SettingChange] = []  # … and every change since
        self._stepped_with = self.started_with  # the settings the last step was taken with

    def trained_with(self) -> tuple[ExperimentConfig, tuple[SettingChange, ...]]:
        """The settings the run's last step was taken with, and the changes that led to them.
        Changes made since that step trained nothing: a run that ends here never had them."""
        untried = self.step_count and any(c.step == self.step_count for c in self.changes)
        if not untried:
            return copy.deepcopy(self.config), tuple(self.changes)
        return (copy.deepcopy(self._stepped_with),
                tuple(c for c in self.changes if c.step < self.step_count))

    def apply(self, config: ExperimentConfig) -> bool:
        """Take a new configuration. Learning rate, optimizer, batch and regularisation take effect
        on the next step; anything else starts a fresh run. Returns True if it reset.

        A configuration that cannot be used (its data fails to load, its loss does not suit the
        data) raises ConfigError or DataError and leaves the run as it was.
        """
        config = copy.deepcopy(config).validate()
        old_config, old_dataset = self.config, self.dataset
        if needs_reset(old_config, config):
            reuse = same_data(old_config, config)
            self.dataset = old_dataset if reuse else load_dataset(config.data, config.seed)
            self.config = config
            try:
                self.reset()
            except ConfigError:
                self.config, self.dataset = old_config, old_dataset
                raise
            return True
        self._check_memory(self._layout(), config)  # a bigger batch, say
        if not any(change.step == self.step_count for change in self.changes):
            self._stepped_with = copy.deepcopy(old_config)  # the settings of the steps so far
        self.changes += [SettingChange(self.step_count, *change) for change in changes(old_config, config)]
        self.config = config
        if config.optimizer.name != old_config.optimizer.name:
            self.optimizer = Optimizer(config.optimizer, [param for param, _ in self._parameters])
        self.optimizer.hyper = config.optimizer
        self.network.dropout = config.architecture.dropout
        return False

    # --- training ------------------------------------------------------------------------
    @np.errstate(all="ignore")  # overflow is how divergence starts; it is caught below, not warned
    def step(self) -> StepReport:
        """Run one iteration. Never raises for a diverging run: the report says what happened."""
        lr = learning_rate_at(self.step_count, self.config.learning_rate)
        if self._divergence and self.config.learning_rate.value >= self._divergence[0]:
            return self._refused_report(lr)
        self._divergence = None
        indices, epoch_end = self._next_batch()
        x, targets = self._batch(indices)
        loss, outputs = self.loss.forward(self.network.forward(x, train=True), targets)
        labels = self.dataset.train.y
        acc = accuracy(outputs, labels if indices is None else labels[indices])
        self.network.backward(self.loss.backward(outputs, targets))
        self.network.add_penalty_gradient(self.config.optimizer.l1, self.config.optimizer.l2)
        grad_norms = [(_norm(layer.dW), _norm(layer.db)) for layer in self.network.layers]
        unit_stats = (self.network.unit_stats() if (self.step_count + 1) % UNIT_STATS_EVERY == 0
                      else self._unmeasured)
        finite = math.isfinite(loss + sum(g + b for g, b in grad_norms))  # NaN and inf propagate
        if finite:
            self._clip(grad_norms)
            self.optimizer.step(self._parameters, lr)
        weight_norms = [_norm(layer.W) for layer in self.network.layers]
        self._advance(len(x), epoch_end)
        stats = tuple(LayerStats(g, b, w, dead, saturated)
                      for (g, b), w, (dead, saturated) in zip(grad_norms, weight_norms, unit_stats))
        report = StepReport(self.step_count, self.epochs_done + (not epoch_end), epoch_end,
                            len(x), loss, acc, lr, stats)
        cause = self._divergence_cause(loss, finite and math.isfinite(sum(weight_norms)))
        if cause:
            return self._diverge(report, cause)
        self.path.offer(self.step_count, self.network.flat, lr)
        if self.step_count % CHECKPOINT_EVERY == 0:
            self._checkpoint = self.snapshot()
        if self._validation_due(epoch_end) and len(self.dataset.validation):
            val_loss, val_acc = self.evaluate("validation")
            report = report._replace(val_loss=val_loss, val_accuracy=val_acc)
        return report

    @np.errstate(all="ignore")
    def evaluate(self, split: str) -> tuple[float, float | None]:
        """Mean loss and accuracy of the current weights on "train", "validation" or "test"."""
        data, targets = self._splits()[split], self._targets[split]
        if not len(data):
            return math.nan, None
        total_loss, correct = 0.0, 0.0
        for start in range(0, len(data), self._eval_rows):
            chunk = slice(start, start + self._eval_rows)
            logits = self.network.forward(self._features(data.x[chunk]))
            loss, out = self.loss.forward(logits, targets[chunk])
            total_loss += loss * len(out)
            correct += (accuracy(out, data.y[chunk]) or 0.0) * len(out)
        classified = data.y.ndim == 1
        return total_loss / len(data), correct / len(data) if classified else None

    def with_test_figures(self, report: StepReport) -> StepReport:
        """The report of the step just taken with the test set's loss and accuracy, if the set is
        small enough to measure while training (TEST_LIMIT): the held-out points the window
        plots with each picture and `gdplayground train` every few steps, and the coach reads
        when there is no validation split."""
        if report.status != "ok" or not 0 < len(self.dataset.test) <= TEST_LIMIT:
            return report
        loss, accuracy = self.evaluate("test")
        return report._replace(test_loss=loss, test_accuracy=accuracy)

    def gradient_probe(self, n_examples: int = PROBE_EXAMPLES) -> Probe:
        """Copies of what a gradient check needs (engine.probe.Probe): the network at its
        current weights, `n_examples` training examples drawn from the seed, the loss, L1/L2."""
        train, arch, opt = self.dataset.train, self.config.architecture, self.config.optimizer
        rng = np.random.default_rng(np.random.SeedSequence([self.config.seed, PROBE_SEED]))
        picked = np.sort(rng.permutation(len(train))[:n_examples])
        x = train.x[picked].astype(np.float64) * self.dataset.input_scale
        targets = self.loss.encode(train.y[picked], self.network.sizes[-1], np.float64)
        return Probe.of(self.network, arch.loss, arch.output, x, targets, opt.l1, opt.l2)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output-layer activations (probabilities for classifiers) for raw inputs x."""
        return np.concatenate([self.loss.predict(self.network.forward(
            self._features(x[start:start + self._eval_rows]))).copy()
            for start in range(0, max(len(x), 1), self._eval_rows)])

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.dataset.train) / self._batch_size())

    @property
    def steps_to_epoch_end(self) -> int:
        if self.config.batch.mode == "full" or self._position >= len(self._order):
            return self.steps_per_epoch
        return math.ceil((len(self._order) - self._position) / self._batch_size())

    @property
    def diverged(self) -> bool:
        return self._divergence is not None

    @property
    def settled_step(self) -> int:
        """The last step that no divergence can undo: the latest checkpoint's."""
        return self._checkpoint.step

    # --- batches -------------------------------------------------------------------------
    def _batch_size(self, config: ExperimentConfig | None = None) -> int:
        batch = (config or self.config).batch
        n = len(self.dataset.train)
        return {"full": n, "stochastic": 1}.get(batch.mode, min(batch.size, n))

    def _layout(self) -> Layout:
        network = self.network
        return Layout(network.sizes, network.input_shape or None)

    def _check_memory(self, layout: Layout, config: ExperimentConfig) -> None:
        """ConfigError, before anything is allocated, if the run would not fit in memory."""
        arch = config.architecture
        needed = training_bytes(layout.sizes, np.dtype(config.dtype).itemsize,
                                self._batch_size(config), len(self.dataset.train), arch.dropout,
                                arch.features, layout.input_shape)
        what = ",".join(map(layer_words, arch.features)) + "," if arch.features else ""
        check_fits(needed, f"A {what}{_shape_name(layout.sizes)} network", "architecture.hidden")

    def _next_batch(self) -> tuple[np.ndarray | None, bool]:
        """Indices of the next batch (None for the whole set) and whether it ends the epoch.

        Examples are reshuffled, from the seed, at the start of every epoch.
        """
        n = len(self.dataset.train)
        if self.config.batch.mode == "full":
            return None, True
        if self._position >= len(self._order):
            self._order, self._position = self._shuffle_rng.permutation(n), 0
        end = min(self._position + self._batch_size(), n)  # an epoch's last batch may be short
        indices = self._order[self._position:end]
        self._position = end
        return indices, end == n

    def _batch(self, indices: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        train = self.dataset.train
        if indices is None:
            if self._full_batch is None:
                self._full_batch = self._features(train.x).copy()
            return self._full_batch, self._targets["train"]
        raw = np.take(train.x, indices, axis=0,
                      out=self.network.workspace.get("raw batch", len(indices), train.x.shape[1],
                                                     train.x.dtype))
        return self._features(raw), self._targets["train"][indices]

    def _features(self, x: np.ndarray) -> np.ndarray:
        """Model inputs from raw data (kept compact, e.g. uint8 pixels, until batched)."""
        features = self.network.workspace.get("features", len(x), x.shape[1])
        return np.multiply(x, self.dtype.type(self.dataset.input_scale), out=features,
                           casting="same_kind")

    def _splits(self) -> dict[str, Split]:
        d = self.dataset
        return {"train": d.train, "validation": d.validation, "test": d.test}

    def _advance(self, batch_size: int, epoch_end: bool) -> None:
        self.step_count += 1
        self.samples_seen += batch_size
        self.epochs_done += epoch_end

    def _validation_due(self, epoch_end: bool) -> bool:
        every = self.config.eval_every
        return self.step_count % every == 0 if every else epoch_end

    # --- updates -------------------------------------------------------------------------
    @property
    def _parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """What the optimizer updates: all the network's parameters, as one flat array."""
        return [(self.network.flat, self.network.flat_grad)]

    def _clip(self, grad_norms) -> None:
        limit = self.config.optimizer.clip_norm
        if not limit:
            return
        total = math.sqrt(sum(g * g + b * b for g, b in grad_norms))
        if total > limit:
            for _, grad in self._parameters:
                grad *= limit / total

    # --- divergence ----------------------------------------------------------------------
    def snapshot(self, path: bool = False) -> TrainingState:
        """A copy of the run as it stands between two steps; with `path`, with the weights
        along the way (the divergence checkpoints go without: a run rolled back forgets the
        points after its checkpoint instead)."""
        return TrainingState(
            step=self.step_count, epochs=self.epochs_done, samples_seen=self.samples_seen,
            parameters={name: param.copy() for name, param, _ in self.network.parameters()},
            optimizer={OPTIMIZER_STATE: copy.deepcopy(self.optimizer.states[0])},
            order=self._order.copy(), position=self._position,
            shuffle_rng=copy.deepcopy(self._shuffle_rng.bit_generator.state),
            dropout_rng=copy.deepcopy(self.network.dropout_rng.bit_generator.state),
            path=self.path.kept() if path else None)

    def restore(self, state: TrainingState) -> None:
        """Go on from a snapshot of a run with this network and data. ValueError names a misfit,
        and leaves the run as it was: everything is checked before anything is replaced."""
        self._check_fits(state)
        for name, param, _ in self.network.parameters():
            param[...] = state.parameters[name]
        self.optimizer.states = [copy.deepcopy(state.optimizer.get(OPTIMIZER_STATE, {}))]
        self.step_count, self.epochs_done, self.samples_seen = state.step, state.epochs, state.samples_seen
        self._order, self._position = state.order.copy(), state.position
        self._shuffle_rng.bit_generator.state = copy.deepcopy(state.shuffle_rng)
        self.network.dropout_rng.bit_generator.state = copy.deepcopy(state.dropout_rng)
        if state.path is None or not len(state.path):
            self.path.truncate(state.step)
        else:
            self.path = WeightPath.resumed(state.path, self.path.capacity)
        self._divergence, self._checkpoint = None, self.snapshot()
        self._recent_losses.clear()  # the divergence rule's steps count from here

    def _check_fits(self, state: TrainingState) -> None:
        names = [name for name, _, _ in self.network.parameters()]
        if sorted(state.parameters) != sorted(names):
            raise ValueError(f"the saved parameters are {', '.join(state.parameters)}; "
                             f"this network has {', '.join(names)}")
        for name, param, _ in self.network.parameters():
            saved = state.parameters[name]
            if saved.shape != param.shape:
                raise ValueError(f"{name} has shape {saved.shape} in the file, "
                                 f"{param.shape} in this network")
        memory = state.optimizer.get(OPTIMIZER_STATE, {})
        if any(isinstance(v, np.ndarray) and v.shape != self.network.flat.shape for v in memory.values()):
            raise ValueError("the saved optimizer state does not fit this network")
        n, order = len(self.dataset.train), state.order
        if len(order) and (len(order) != n or not np.array_equal(np.sort(order), np.arange(n))):
            changed = f" ({len(order):,} when it was saved: has the file changed?)" \
                if self.config.data.is_table and len(order) != n else ""
            raise ValueError(f"the saved data order is not an order of this dataset's {n} "
                             f"training examples{changed}")
        if state.path is not None:
            _check_path(state.path, self.network.flat, state.step)
        if not 0 <= state.position <= len(order):
            raise ValueError(f"the saved position {state.position} is outside the data order "
                             f"(0 to {len(order)})")

    @np.errstate(all="ignore")
    def _first_loss(self) -> float:
        """The loss of the run's first step as it will be taken (its batch, its dropout), at the
        initial weights; the data order and random generators are left as they were. Known
        from the start, so a run restored from a later step measures against it too."""
        generators = (self._shuffle_rng, self.network.dropout_rng)
        states = [copy.deepcopy(generator.bit_generator.state) for generator in generators]
        x, targets = self._batch(self._next_batch()[0])
        loss, _ = self.loss.forward(self.network.forward(x, train=True), targets)
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state
        self._order, self._position = np.arange(0), 0
        return loss

    def _divergence_cause(self, loss: float, finite: bool) -> str:
        """What makes the step just taken a divergence, with its numbers ("" if nothing does):
        a loss, gradient or weight NaN or infinite, or losses far above the start."""
        if not math.isfinite(loss):
            return "the loss became NaN or infinite"
        if not finite:
            return "the gradients or weights became NaN or infinite"
        recent = self._recent_losses
        recent.append(loss)
        total, limit = sum(recent), DIVERGENCE_STEPS * DIVERGENCE_FACTOR
        if not total > limit * self.start_loss:
            return ""
        return (f"the loss rose from {self.start_loss:,.4g} at step 1 to {loss:,.4g}; the "
                f"losses of the last {len(recent)} steps add up to {total:,.4g}, over {limit} "
                f"times the first ({DIVERGENCE_FACTOR} times it on average over "
                f"{DIVERGENCE_STEPS} steps)")

    def _diverge(self, report: StepReport, cause: str) -> StepReport:
        """Roll the run back to the last checkpoint (weights, optimizer memory, counters, data
        order) and refuse to go on at this learning rate. The report's step is the step the run
        is back at, so counters, curves and saved files agree with the restored weights."""
        checkpoint = self._checkpoint
        self.restore(checkpoint)
        lr_value = self.config.learning_rate.value
        message = (f"Training diverged at step {report.step}: {cause}. The run was rolled back "
                   f"to step {checkpoint.step}. Lower the learning rate (now {lr_value:g}) or "
                   f"reset to continue.")
        self._divergence = (lr_value, message)
        return report._replace(step=checkpoint.step, epoch=checkpoint.epochs + 1, epoch_end=False,
                               status="diverged", message=message, cause=cause)

    def _refused_report(self, lr: float) -> StepReport:
        stats = tuple(LayerStats(math.nan, math.nan, _norm(layer.W)) for layer in self.network.layers)
        return StepReport(self.step_count, self.epochs_done + 1, False, 0, math.nan, None, lr,
                          stats, status="refused", message=self._divergence[1])


def _check_path(path: KeptPath, flat: np.ndarray, step: int) -> None:
    """ValueError unless `path` could have been kept by a run of the network whose weights are
    `flat`, from its initial weights at step 0 up to `step`."""
    steps = path.steps
    if steps.ndim != 1 or path.weights.shape != (len(steps), flat.size) or \
            path.rates.shape != steps.shape:
        raise ValueError(f"the kept path's weights have shape {path.weights.shape}, not "
                         f"({len(steps)}, {flat.size}) for its {len(steps)} steps")
    if path.weights.dtype != flat.dtype:
        raise ValueError(f"the kept path's weights are {path.weights.dtype}, this network's "
                         f"{flat.dtype}")
    if len(steps) and (steps.dtype.kind not in "iu" or steps[0] != 0 or
                       np.any(np.diff(steps) <= 0) or steps[-1] > step):
        raise ValueError(f"the kept path's steps must rise from 0 to at most the run's step {step}")
    if not np.isfinite(path.weights).all():
        raise ValueError("the kept path has weights that are NaN or infinite")
    if not (np.isfinite(path.rates) & (path.rates >= 0)).all():
        raise ValueError("the kept path's learning rates must be finite and not negative")


def same_data(a: ExperimentConfig, b: ExperimentConfig) -> bool:
    """Whether two configurations load the same dataset (toy sets are drawn from the seed)."""
    return a.data == b.data and a.seed == b.seed


def needs_reset(old: ExperimentConfig, new: ExperimentConfig) -> bool:
    """Whether going from `old` to `new` changes the data, the network's shape or the seed."""
    def frozen(cfg: ExperimentConfig):
        arch = dataclasses.replace(cfg.architecture, dropout=0.0)
        return cfg.data, arch, cfg.seed, cfg.dtype
    return frozen(old) != frozen(new)


def _check_reachable(targets: np.ndarray, output: str, dataset: str) -> None:
    """ConfigError if real-valued targets lie outside what the output activation can reach:
    binary cross-entropy on targets of 4 gives a negative loss, a sigmoid never gets there."""
    low, high = OUTPUT_RANGES[output]
    if targets.min() < low or targets.max() > high:
        raise ConfigError(
            f"architecture.output '{output}' reaches only {low:g} to {high:g}, but {dataset}'s "
            f"targets run from {targets.min():g} to {targets.max():g}: choose identity with mean "
            f"squared error", "architecture.output")


class Layout(NamedTuple):
    """The sizes of a network's dense layers, input to output, and the image shape its feature
    layers read (None without any)."""

    sizes: list[int]
    input_shape: tuple[int, int, int] | None


def network_layout(config: ExperimentConfig, data: Dataset, n_out: int) -> Layout:
    """The network a configuration makes on `data`: ConfigError if its convolutions and pools
    find no images, or do not fit them."""
    arch = config.architecture
    dense = [layer.units for layer in arch.dense]
    if not arch.features:
        return Layout([data.n_features, *dense, n_out], None)
    if data.image_shape is None:
        raise ConfigError(f"convolution and pooling layers need images, and {data.name} holds "
                          "none: use dense layers only", "architecture.hidden")
    input_shape = (1, *data.image_shape)
    try:
        last = feature_shapes(arch.features, input_shape)[-1]
    except ValueError as exc:
        raise ConfigError(f"architecture.hidden: {exc} (the images are "
                          f"{input_shape[1]}x{input_shape[2]})", "architecture.hidden") from None
    return Layout([int(np.prod(last)), *dense, n_out], input_shape)


def _shape_name(sizes: list[int]) -> str:
    """784-256-128-10, with repeated widths counted: 784-8192×32-10."""
    runs = [(size, len(list(group))) for size, group in itertools.groupby(sizes)]
    return "-".join(f"{size}×{count}" if count > 2 else "-".join([str(size)] * count)
                    for size, count in runs)


def _norm(array: np.ndarray | None) -> float:
    if array is None:
        return 0.0
    return math.sqrt(np.vdot(array, array))
