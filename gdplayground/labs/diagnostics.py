"""The coach: reads a run's step reports and names what is going wrong, from the step it began,
with the numbers that show it and what to try.

`Coach.add(reports)` takes reports as they come, any number at a time, and returns the
diagnoses they newly raise; the same ones however the reports are split. It keeps fixed-size
windows of the recent steps (every step's loss; every SAMPLE_EVERY-th step's layer figures) and
checks them every CHECK_EVERY steps: about a microsecond a step in all. Events that need no
window (a divergence, the learning rate reaching zero, a held-out measurement) are looked at as
they come. A windowed diagnosis dates from the first step of its window that shows it.

Divergence is the trainer's word (trainer.DIVERGENCE_FACTOR gives its rule): the coach names
the divergence the trainer rolled back, with the trainer's numbers. The held-out loss it watches
for overfitting is the validation split's, or with none, the small test set's points that the
window's plot shows (StepReport.test_loss). Its advice fits the run's settings as they are when
it speaks: no "try Adam" to an Adam run, no Xavier to a Xavier network.

A name is raised once, and again only if its condition has been clear for REARM_AFTER steps
and comes back: a condition hovering at its threshold does not fill the list. A divergence's
rollback takes the run back to an earlier step, and a changed setting makes another run of the
steps that follow, so the windows start again from there.

The thresholds were set on the runs of tests/test_diagnostics.py, made to show each problem,
and on the healthy presets (MNIST, the spiral over several seeds, the linear system), which
raise nothing: the comments give the figures on both sides.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from gdplayground.engine.trainer import UNIT_STATS_EVERY, StepReport, Trainer
from gdplayground.labs.sharpness import growth_factor, sharpness, stability_bound

CHECK_EVERY = 100  # steps between checks of the windows: a check costs some 40 us
WINDOW = 200  # steps the windowed diagnoses look back over: long enough to outlast batch noise
PLATEAU_WINDOW = 1000  # a plateau must last: the spiral preset's slowest 1000 steps still fall 9%
SAMPLE_EVERY = UNIT_STATS_EVERY  # layer figures are sampled on the steps that measure units
REARM_AFTER = 1000  # steps a condition must stay clear before its name can be raised again

OSCILLATION_JUMP = 2.0  # a jump: the loss at least doubles from one step to the next …
# … on this share of the window's steps. A rate too high gives 10-25% (the spiral at Adam 3,
# SGD 10); batch noise gives at most 4.5% on the spiral preset while its loss is still high.
OSCILLATION_SHARE = 0.10
# Oscillation, plateaus and saturation are about a loss still above this share of its start
# (on most of the window's steps): once a run has learned, small losses of small batches jump by
# 2× often (MNIST 0-vs-1: a quarter of its steps), a converged run stops improving, and units
# may saturate on data they separate well; none of that is a problem.
STALLED_LEVEL = 0.5
PLATEAU_PROGRESS = 0.01  # the loss moved less than 1% from the window's first fifth to its last
PLATEAU_FIFTH = 5  # the means compared are of a fifth of the window each, to average out noise
# Layer 1's gradient per weight against the last layer's: 0.07 on the MNIST preset, 0.01 on a
# three-layer sigmoid network, 4e-4 on a six-layer one (He initialisation; 9e-5 with Xavier).
VANISHING_RATIO = 1e-3
EXPLODING_GROWTH = 1e3  # a layer's gradient norm this many times the lowest it has been
SATURATED_SHARE = 0.5  # of a layer's activations near their limits (the spiral preset: 0.38)
DEAD_SHARE = 0.5  # of a layer's units silent for a whole batch (the MNIST preset: at most 0.1)
# A unit silent for one example is not dead: with fewer examples a batch, a healthy layer can
# look half dead, so smaller batches count as no evidence of dead units.
DEAD_MIN_BATCH = 16
OVERFIT_RISE = 1.1  # the held-out loss this many times its best …
OVERFIT_EVALUATIONS = 3  # … at this many measurements in a row, the training loss lower than then,
# … for at least this share of the steps it took to reach its best. Points measured every step
# (the window at a slow pace) wander by 4% on the spiral preset: three in a row above a lucky
# best came at step 1,500, its test loss still falling; held this long, the rise is named at
# 11,200 (best 0.154 at step 6,710, then 0.22) whether measured every step or every thousand.
OVERFIT_SPAN = 0.5
TRAIN_LOSS_STEPS = 20  # steps whose mean loss stands for the training loss at an evaluation
ADAPTIVE = ("adam", "rmsprop", "adagrad")  # divide the gradient's scale out: clipping it does little
# A divergence's λ_max, measured at the weights the run went back to, in the training worker:
# on this many training examples, to 1% of the spectrum's scale in at most this many
# Hessian-vector products (784-256-128-10 after 200 steps: 8 products, 0.7 s on a busy 2-core
# machine; 11.8 where 1,000 examples give 9.8: enough to tell whether it is above 2/lr).
SHARPNESS_EXAMPLES, SHARPNESS_TOLERANCE, SHARPNESS_PRODUCTS = 128, 1e-2, 12

STEP, LOSS = attrgetter("step"), attrgetter("loss")
NAMES = ("divergence", "oscillation", "plateau", "vanishing-gradients", "exploding-gradients",
         "saturation", "dead-units", "overfitting", "rate-zero")


class Diagnosis(NamedTuple):
    """A problem the coach sees: its name (one of NAMES), the step it began, the evidence in a
    short sentence with the numbers, and what to try."""

    name: str
    step: int
    evidence: str
    suggestion: str

    def line(self) -> str:
        """One line, beginning with the name: for a terminal."""
        return f"{self.name} (from step {self.step}): {self.evidence} — {self.suggestion}"


class Window:
    """The last `size` rows of fixed width appended, in a fixed array."""

    def __init__(self, size: int, width: int):
        self._rows = np.full((size, width), np.nan)
        self.total = 0  # rows ever appended

    def __len__(self) -> int:
        return min(self.total, len(self._rows))

    def extend(self, rows: np.ndarray) -> None:
        size = len(self._rows)
        kept = rows[-size:]
        self._rows[(self.total + len(rows) - len(kept) + np.arange(len(kept))) % size] = kept
        self.total += len(rows)

    def last(self, n: int | None = None) -> np.ndarray:
        """The last n rows (all that are kept, if fewer or None), oldest first."""
        n = min(len(self), n or len(self))
        end = self.total % len(self._rows)
        if n <= end:
            return self._rows[end - n:end]
        return np.concatenate([self._rows[end - n:], self._rows[:end]])


class Coach:
    """Diagnoses the trainer's run from its reports; `diagnoses` holds all it has raised, oldest
    first. It reads the trainer's settings (for its advice and the changes that start its windows
    again) and its start loss, and is made again when the trainer starts a new run."""

    def __init__(self, trainer: Trainer):
        self._weights = np.array([layer.W.size for layer in trainer.network.layers], float)
        self._trainer = trainer
        self.diagnoses: list[Diagnosis] = []
        self._last_seen: dict[str, int] = {}  # the last step each name's condition held
        self._start_loss = trainer.start_loss  # the first step's loss, at the starting weights
        validated = len(trainer.dataset.validation) > 0
        self._held_out = attrgetter("val_loss" if validated else "test_loss")
        self._held_out_name = "validation" if validated else "test"
        self._last_step, self._learning_rate = 0, math.nan
        self._start_windows()

    def _start_windows(self) -> None:
        layers = len(self._weights)
        self._losses = Window(PLATEAU_WINDOW, 2)  # step, loss
        # step, then per layer: gradient per weight, dead share, saturated share
        self._samples = Window(WINDOW // SAMPLE_EVERY, 1 + 3 * layers)
        self._first_step: int | None = None  # the windows' first step
        self._best: tuple[float, int, float] | None = None  # the best held-out loss: step, training loss
        self._risen: tuple[int, int] | None = None  # (since what step, how many measurements) above it
        self._first_gradient: np.ndarray | None = None  # per layer, at the first sample
        self._lowest = np.full(layers, np.inf)  # per layer: the lowest gradient norm sampled …
        self._lowest_at = np.zeros(layers)  # … and its step

    # --- taking reports ------------------------------------------------------------------
    def add(self, reports) -> list[Diagnosis]:
        """Take the next reports of the run; return the diagnoses they newly raise."""
        raised: list[Diagnosis] = []
        done = 0
        for i in [i for i, report in enumerate(reports) if report.status != "ok"]:
            self._take(reports[done:i], raised)
            done = i + 1
            if reports[i].status == "diverged":
                self._rolled_back(reports[i], raised)
        self._take(reports[done:], raised)
        self.diagnoses += raised
        return raised

    def _take(self, reports, raised: list) -> None:
        """Consecutive "ok" reports: into the windows in chunks that end at a check or a held-out
        measurement, each followed by what is due there, or before the first step taken with a
        changed setting, which starts the windows again."""
        if not len(reports):
            return
        n, first = len(reports), reports[0].step
        steps = (first + np.arange(n, dtype=float) if reports[-1].step == first + n - 1
                 else np.fromiter(map(STEP, reports), float, n))  # consecutive, but for a resume
        losses = np.fromiter(map(LOSS, reports), float, n)
        held_out = np.array(list(map(self._held_out, reports)), dtype=float)  # None: NaN
        changed = np.isin(steps - 1, [change.step for change in self._trainer.changes])
        stops = np.union1d(np.flatnonzero((steps % CHECK_EVERY == 0) | np.isfinite(held_out)) + 1,
                           np.flatnonzero(changed))
        start = 0
        for stop in [*stops, len(reports)]:
            if stop <= start:
                continue
            if changed[start]:  # the first step with other settings: the windows saw other runs
                self._start_windows()
            if self._first_step is None:
                self._first_step = int(steps[start])
            self._losses.extend(np.column_stack([steps[start:stop], losses[start:stop]]))
            self._sample(reports[start:stop], steps[start:stop])
            self._last_step, self._learning_rate = reports[stop - 1].step, reports[stop - 1].learning_rate
            step = int(steps[stop - 1])
            if np.isfinite(held_out[stop - 1]):
                self._measured(step, held_out[stop - 1], raised)
            if step % CHECK_EVERY == 0:
                self._check(step, raised)
            start = stop
        if reports[-1].learning_rate == 0:
            self._rate_zero(reports, raised)

    def _sample(self, reports, steps: np.ndarray) -> None:
        picked = np.flatnonzero(steps % SAMPLE_EVERY == 0)
        if len(picked):
            self._samples.extend(np.array([self._sample_row(reports[i]) for i in picked]))

    def _sample_row(self, report: StepReport) -> list[float]:
        layers, dead_counts = report.layers, report.batch_size >= DEAD_MIN_BATCH
        gradients = [s.weight_grad_norm for s in layers]
        dead = [s.dead if s.dead is not None and dead_counts else math.nan for s in layers]
        saturated = [math.nan if s.saturated is None else s.saturated for s in layers]
        return [report.step, *gradients, *dead, *saturated]

    def _raise(self, raised: list, name: str, step: int, began: int, evidence: str,
               suggestion: str) -> None:
        """The condition of `name` holds at `step`: raise it unless it is already raised and
        has not been clear for REARM_AFTER steps since."""
        last = self._last_seen.get(name)
        self._last_seen[name] = step
        if last is None or step - last > REARM_AFTER:
            raised.append(Diagnosis(name, int(began), evidence, suggestion))

    # --- events --------------------------------------------------------------------------
    def _rolled_back(self, report: StepReport, raised: list) -> None:
        step = self._last_step + 1  # the report carries the step the run went back to
        self._learning_rate = self._config.learning_rate.value  # the setting the trainer refuses
        self._raise(raised, "divergence", step, step,
                    f"at step {step} {report.cause}; the run went back to step {report.step}"
                    f"{self._sharpness_note(report)}",
                    _either(self._lower_rate(" tenfold"), self._clip()))
        self._last_step = report.step
        self._start_windows()

    def _sharpness_note(self, report: StepReport) -> str:
        """λ_max at the weights the run went back to, when above 2/lr at the rate the run
        diverged with: the divergence in numbers. Measured only on a divergence, and only while
        the trainer is still at those weights."""
        trainer, rate = self._trainer, report.learning_rate
        if trainer.step_count != report.step or rate <= 0:
            return ""
        probe = trainer.gradient_probe(SHARPNESS_EXAMPLES)
        result = sharpness(probe, tolerance=SHARPNESS_TOLERANCE, max_products=SHARPNESS_PRODUCTS)
        largest, bound = result.largest, stability_bound(rate)
        if not largest > bound:
            return ""
        name = self._config.optimizer.name
        caveat = "" if name == "sgd" else f" (plain gradient descent's bound: {name} steps by another rule)"
        return (f"; λ_max {'=' if result.converged else '≈'} {largest:.4g} at step {report.step} "
                f"(on {len(probe.x)} training examples), above 2/lr = {bound:.4g}: along the "
                f"sharpest direction each step multiplies the error by |1 − lr·λ| = "
                f"{growth_factor(rate, largest):.3g}{caveat}")

    def _rate_zero(self, reports, raised: list) -> None:
        began = next(r.step for r in reports if r.learning_rate == 0)
        rate = self._config.learning_rate
        knob = (f"the schedule's floor (now {rate.min_value:g}) or its decay steps"
                if rate.schedule == "cosine" else f"γ (now {rate.gamma:g}) or the decay steps")
        self._raise(raised, "rate-zero", reports[-1].step, began,
                    f"the schedule has brought the learning rate to 0 at step {began}: the steps "
                    f"since change nothing",
                    f"raise {knob}, or stop here")

    def _measured(self, step: int, loss: float, raised: list) -> None:
        """A held-out loss: overfitting once it has stayed above OVERFIT_RISE times its best for
        OVERFIT_EVALUATIONS measurements and OVERFIT_SPAN of the steps to that best, while the
        training loss went on falling."""
        train = float(np.mean(self._losses.last(TRAIN_LOSS_STEPS)[:, 1]))
        if self._best is None or loss < self._best[0]:
            self._best, self._risen = (loss, step, train), None
            return
        best, best_step, best_train = self._best
        if not loss > OVERFIT_RISE * best:
            self._risen = None
            return
        since, count = self._risen or (step, 0)
        self._risen = since, count + 1
        if (count + 1 >= OVERFIT_EVALUATIONS and train < best_train
                and step - since >= OVERFIT_SPAN * (best_step - self._first_step)):
            self._raise(raised, "overfitting", step, best_step,
                        f"the {self._held_out_name} loss rose from {best:.3g} at step {best_step} "
                        f"to {loss:.3g} (above {OVERFIT_RISE:g}× its best since step {since}) "
                        f"while the training loss fell from {best_train:.3g} to {train:.3g}",
                        _either(self._regularise(), "train on more data",
                                f"keep the weights of step {best_step}"))

    # --- windowed checks -----------------------------------------------------------------
    def _check(self, step: int, raised: list) -> None:
        losses = self._losses.last()
        recent, samples = losses[-WINDOW:], self._samples.last()
        start = self._start_loss
        with np.errstate(all="ignore"):  # zero gradients and losses make NaN, which compares False
            # The run has not learned much: most of the window's losses are above STALLED_LEVEL
            # of the start (the median is).
            stalled = start > 0 and 2 * np.count_nonzero(recent[:, 1] >= STALLED_LEVEL * start) >= len(recent)
            if len(samples):
                self._check_vanishing(step, samples, raised)
                self._check_exploding(step, samples, raised)
                self._check_units(step, samples, stalled, raised)  # before the plateau names them
            if stalled and not self._check_oscillation(step, recent, start, raised):
                self._check_plateau(step, losses, start, raised)

    def _check_oscillation(self, step, recent, start, raised) -> bool:
        if len(recent) < WINDOW:
            return False
        loss = recent[:, 1]
        jumps = loss[1:] >= OSCILLATION_JUMP * loss[:-1]
        share = np.count_nonzero(jumps) / len(jumps)
        if share < OSCILLATION_SHARE:
            return False
        self._raise(raised, "oscillation", step, recent[1:, 0][jumps][0],
                    f"the loss at least doubled from one step to the next on {share:.0%} of the "
                    f"last {len(recent)} steps, and hovers around {np.median(loss):.3g} (it "
                    f"started at {start:.3g})",
                    _either(self._lower_rate(), self._larger_batches()))
        return True

    def _check_plateau(self, step, losses, start, raised) -> None:
        if len(losses) < PLATEAU_WINDOW:
            return
        fifth = len(losses) // PLATEAU_FIFTH
        first, last = losses[:fifth, 1].mean(), losses[-fifth:, 1].mean()
        progress = 1 - last / first
        if not abs(progress) < PLATEAU_PROGRESS:  # a loss that rose further is no plateau
            return
        causes = [name for name in ("vanishing-gradients", "saturation", "dead-units")
                  if self._last_seen.get(name) == step]  # found at this check, just before
        suggestion = _either(f"raise the learning rate (now {self._learning_rate:g})",
                             None if self._config.optimizer.name == "adam" else "try Adam")
        if causes:
            suggestion = f"look at {' and '.join(causes)} first; failing that, {suggestion}"
        self._raise(raised, "plateau", step, losses[0, 0],
                    f"over the last {len(losses)} steps the loss went from {first:.4g} to "
                    f"{last:.4g} (means of {fifth} steps), {abs(progress):.2%} "
                    f"{'lower' if progress >= 0 else 'higher'}; it started at {start:.3g}",
                    suggestion)

    def _check_vanishing(self, step, samples, raised) -> None:
        layers = len(self._weights)
        if layers < 2 or len(samples) * SAMPLE_EVERY < WINDOW:
            return
        per_weight = samples[:, 1:1 + layers] / np.sqrt(self._weights)
        ratios = per_weight[:, :-1] / per_weight[:, -1:]
        # Below the threshold on most samples (its median is); a gradient of exactly 0 is dead
        # units' doing, not this.
        low = np.count_nonzero((ratios > 0) & (ratios < VANISHING_RATIO), axis=0)
        if 2 * low.max() <= len(ratios):
            return
        layer = int(np.argmax(low))
        squashing = np.isfinite(samples[:, 1 + 2 * layers:]).any()
        remedies = (["ReLU with He initialisation", "fewer layers"] if squashing else
                    [None if self._config.architecture.init == "he" else "He initialisation",
                     "fewer layers", None if self._config.optimizer.name == "adam" else "Adam"])
        self._raise(raised, "vanishing-gradients", step,
                    _since(samples[:, 0], ratios[:, layer] < VANISHING_RATIO),
                    f"layer {layer + 1}'s gradient per weight is {np.median(ratios[:, layer]):.2g} "
                    f"of the last layer's (median over the last {len(samples) * SAMPLE_EVERY} "
                    f"steps)",
                    "try " + _either(*remedies))

    def _check_exploding(self, step, samples, raised) -> None:
        """A layer's gradient norm, on most of the window's samples (its median is), far above
        the lowest it has been, and above where it began: gradients that shrink to round-off as
        a run converges wobble by large factors, but far below their start."""
        layers = len(self._weights)
        gradients = samples[:, 1:1 + layers]
        if self._first_gradient is None:
            self._first_gradient = gradients[0].copy()  # the window's rows are views
        high = (gradients > EXPLODING_GROWTH * self._lowest) & (gradients > self._first_gradient)
        count = np.count_nonzero(high, axis=0)
        if 2 * count.max() > len(samples):
            layer = int(np.argmax(count))
            typical, lowest = np.median(gradients[:, layer]), self._lowest[layer]
            self._raise(raised, "exploding-gradients", step, _since(samples[:, 0], high[:, layer]),
                        f"layer {layer + 1}'s gradient norm grew to {typical:.2g} (median over "
                        f"steps {samples[0, 0]:.0f}-{samples[-1, 0]:.0f}), {typical / lowest:.2g}× "
                        f"the {lowest:.2g} it was at step {self._lowest_at[layer]:.0f}",
                        _either(self._lower_rate(), self._clip()))
        least = gradients.min(axis=0)
        lower = least < self._lowest
        self._lowest_at[lower] = samples[gradients.argmin(axis=0), 0][lower]
        self._lowest[lower] = least[lower]

    def _check_units(self, step, samples, stalled: bool, raised) -> None:
        if len(samples) * SAMPLE_EVERY < WINDOW:
            return
        layers, steps = len(self._weights), len(samples) * SAMPLE_EVERY
        dead = samples[:, 1 + layers:1 + 2 * layers].min(axis=0)  # NaN if any sample is not
        saturated = samples[:, 1 + 2 * layers:].min(axis=0)
        if (dead >= DEAD_SHARE).any():
            layer = int(np.nanargmax(dead))
            self._raise(raised, "dead-units", step, samples[0, 0],
                        f"in every batch of the last {steps} steps, {_at_least(dead[layer])} of "
                        f"layer {layer + 1}'s units fired for no example",
                        _either(self._lower_rate(),
                                None if self._activation(layer) == "leaky_relu" else "try Leaky ReLU"))
        # A classifier that has learned may drive its units to their limits and be the better
        # for it (two Gaussian blobs: 59%): saturation is a problem while the loss stays high.
        if stalled and (saturated >= SATURATED_SHARE).any():
            layer = int(np.nanargmax(saturated))
            self._raise(raised, "saturation", step, samples[0, 0],
                        f"in every batch of the last {steps} steps, {_at_least(saturated[layer])} "
                        f"of layer {layer + 1}'s activations were within 2% of their range from "
                        f"its ends, where they pass almost no gradient",
                        _either(self._lower_rate(" if large steps drove them there"),
                                None if self._config.architecture.init == "xavier" else
                                "start from smaller weights (Xavier initialisation)",
                                "try ReLU with He initialisation"))

    # --- advice that fits the run --------------------------------------------------------
    @property
    def _config(self):
        return self._trainer.config

    def _activation(self, layer: int) -> str | None:
        hidden = self._config.architecture.weighted  # as the network numbers its layers
        return hidden[layer].activation if layer < len(hidden) else None

    def _lower_rate(self, how: str = "") -> str | None:
        """Lowering the rate, unless the schedule has brought it to 0."""
        rate = self._learning_rate
        return f"lower the learning rate (now {rate:g}){how}" if rate != 0 else None

    def _clip(self) -> str | None:
        """Clipping the gradient norm, or clipping it harder: for the optimizers whose step it
        shortens (an adaptive one divides the gradient's scale out)."""
        optimizer = self._config.optimizer
        if optimizer.name in ADAPTIVE:
            return None
        clip = optimizer.clip_norm
        return f"clip the gradient norm harder (now {clip:g})" if clip else "clip the gradient norm"

    def _larger_batches(self) -> str | None:
        whole = self._trainer.steps_per_epoch == 1  # every step sees the whole training set
        return None if whole else "use larger batches"

    def _regularise(self) -> str:
        """Dropout or L2: more of them if the run has some."""
        arch, l2 = self._config.architecture, self._config.optimizer.l2
        kinds = [("dropout", arch.dropout)] if arch.hidden else []  # it silences hidden units
        kinds.append(("L2", l2))
        verb = "use more" if any(value for _, value in kinds) else "add"
        return f"{verb} " + " or ".join(f"{kind} (now {value:g})" if value else kind
                                       for kind, value in kinds)


def _either(*options: str | None) -> str:
    """The options that apply (None: one that does not), as "a, b, or c"."""
    kept = [option for option in options if option]
    return ", or ".join(filter(None, [", ".join(kept[:-1]), *kept[-1:]]))


def _at_least(share: float) -> str:
    """A share measured as the least over many batches: "all", or "81% or more"."""
    return "all" if share >= 0.995 else f"{share:.0%} or more"


def _since(steps: np.ndarray, holds: np.ndarray) -> int:
    """The first of the steps at the end for which `holds` is true (the last step if none is)."""
    broken = np.flatnonzero(~holds)
    if not len(broken):
        return int(steps[0])
    return int(steps[min(broken[-1] + 1, len(steps) - 1)])
