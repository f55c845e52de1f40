"""`gdplayground bench` sections engine, torch and gemm: the engine's training rate on
configurations (a)-(e), against PyTorch's and (dense (a)-(d)) against NumPy's own matrix products;
and the configurations, which the other sections train too."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from gdplayground.config import ExperimentConfig, Layer, preset
from gdplayground.layer_grammar import parse_layer
from gdplayground.engine.conv import feature_shapes

IMAGE = (1, 28, 28)


@dataclass(frozen=True)
class Setup:
    hidden: tuple[int, ...]
    optimizer: str
    lr: float
    batch: int
    features: tuple[str, ...] = ()  # convolutions and pools first, in the --layers grammar

    def config(self) -> ExperimentConfig:
        config = preset("mnist")
        config.data.validation_split = 0.0
        config.architecture.hidden = [*self.feature_layers,
                                      *(Layer(units, "relu") for units in self.hidden)]
        config.optimizer.name, config.learning_rate.value = self.optimizer, self.lr
        config.batch.mode, config.batch.size = "mini", self.batch
        return config

    @property
    def feature_layers(self) -> list[Layer]:
        return [parse_layer(word) for word in self.features]

    @property
    def sizes(self) -> list[int]:
        """The dense layers' sizes, from the flattened last feature map or the image."""
        inputs = np.prod(feature_shapes(self.feature_layers, IMAGE)[-1] if self.features else IMAGE)
        return [int(inputs), *self.hidden, 10]

    @property
    def label(self) -> str:
        """784-256-128-10; conv8x5,pool,conv16x5,pool,10 with feature layers."""
        return ",".join([*self.features, "-".join(map(str, self.sizes[bool(self.features):]))])

    def flops_per_sample(self) -> int:
        """6 per weight (forward, weight gradient, input gradient), less the first layer's
        input gradient, which nothing needs."""
        weights = [a * b for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        return 6 * sum(weights) - 2 * weights[0]


SETUPS = {
    "a": Setup((256, 128), "adam", 1e-3, 128),
    "b": Setup((64, 32), "momentum", 1e-2, 32),
    "c": Setup((), "sgd", 1e-2, 1),
    "d": Setup((1024, 1024), "adam", 1e-3, 512),
    "e": Setup((), "adam", 1e-3, 64, ("conv8x5", "pool", "conv16x5", "pool")),
}
DENSE = [key for key, setup in SETUPS.items() if not setup.features]  # what the gemm section multiplies


def engine_section(figures, repeats, seconds, out) -> dict:
    out("engine: training samples per second")
    rates = {}
    for key, setup in SETUPS.items():
        rates[key] = _median_rate(engine_runner(setup.config()), repeats, seconds)
        out(f"  ({key}) {setup.label:<16} {setup.optimizer:<8} batch "
            f"{setup.batch:<4} {rates[key]:12,.0f} samples/s")
    return rates


def engine_runner(config: ExperimentConfig, trainer=None):
    """A function that trains for some seconds and returns the samples per second: a new
    Trainer of `config`, or `trainer` going on."""
    from gdplayground.engine import Trainer

    trainer = trainer or Trainer(config)

    def train_for(seconds: float) -> float:
        start, samples = time.perf_counter(), trainer.samples_seen
        while time.perf_counter() - start < seconds:
            trainer.step()
        return (trainer.samples_seen - samples) / (time.perf_counter() - start)
    train_for(0.3)  # warm-up
    return train_for


def torch_section(figures, repeats, seconds, out) -> dict:
    try:
        import torch
    except ImportError:
        out("torch: skipped, PyTorch is not installed (pip install torch)")
        return {"skipped": "PyTorch is not installed"}
    threads, torch_threads = blas_threads(), torch.get_num_threads()
    torch.set_num_threads(threads)  # as many as the engine's BLAS: a fair race
    out(f"torch: the same training in PyTorch on the CPU, {threads} thread(s) each side; "
        "engine/torch from alternating runs of whole training steps (batch gathered, forward, "
        "backward, optimizer update)")
    results = {}
    try:
        for key, setup in SETUPS.items():
            _, rate, ratio = _alternate(engine_runner(setup.config()), _torch_runner(setup),
                                        repeats, seconds)
            results[key] = {"samples_per_second": rate, "engine_over_torch": ratio,
                            "threads": threads}
            out(f"  ({key}) {rate:12,.0f} samples/s    engine/torch {ratio:5.2f}"
                + (f"    ({setup.label}, {setup.optimizer}, batch {setup.batch})"
                   if setup.features else ""))
    finally:
        torch.set_num_threads(torch_threads)
    return results


def blas_threads() -> int:
    """The threads OpenBLAS runs NumPy's products on (OPENBLAS_NUM_THREADS, else the cores)."""
    from threadpoolctl import threadpool_info

    return next((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), 1)


def _torch_runner(setup: Setup):
    import torch

    from gdplayground.data.mnist import load_bundled_mnist

    images, labels = load_bundled_mnist()[:2]
    # uint8, each batch converted as it is drawn, as the engine does: 60,000 digits in float32
    # took seconds to build for every row. Copies: the cached MNIST arrays are read-only.
    x = torch.from_numpy(images.reshape(len(images), *(IMAGE if setup.features else (-1,))).copy())
    y = torch.from_numpy(labels.copy())
    model = torch.nn.Sequential(*_torch_features(setup, torch), *_torch_dense(setup, torch))
    optimizer = {"adam": lambda p: torch.optim.Adam(p, setup.lr),
                 "momentum": lambda p: torch.optim.SGD(p, setup.lr, momentum=0.9),
                 "sgd": lambda p: torch.optim.SGD(p, setup.lr)}[setup.optimizer](model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    order, position = torch.randperm(len(x)), [0]

    def step() -> int:
        if position[0] >= len(x):
            order[:], position[0] = torch.randperm(len(x)), 0
        batch = order[position[0]:position[0] + setup.batch]
        position[0] += setup.batch
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x[batch].float() / 255), y[batch]).backward()
        optimizer.step()
        return len(batch)

    def train_for(seconds: float) -> float:
        start, samples = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            samples += step()
        return samples / (time.perf_counter() - start)
    return train_for


def _torch_features(setup: Setup, torch) -> list:
    """The convolutions (each with its ReLU) and pools, then the flatten."""
    layers, channels = [], IMAGE[0]
    for spec in setup.feature_layers:
        if spec.kind == "conv":
            padding = spec.kernel // 2 if spec.padding == "same" else 0
            layers += [torch.nn.Conv2d(channels, spec.units, spec.kernel, spec.stride, padding),
                       torch.nn.ReLU()]
            channels = spec.units
        else:
            layers.append(torch.nn.MaxPool2d(2) if spec.kind == "maxpool" else torch.nn.AvgPool2d(2))
    return layers + [torch.nn.Flatten()] if layers else []


def _torch_dense(setup: Setup, torch) -> list:
    layers, sizes = [], setup.sizes
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [torch.nn.Linear(n_in, n_out)] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    return layers


def gemm_section(figures, repeats, seconds, out) -> dict:
    out("gemm: NumPy's products (np.dot, as the engine calls them) on each dense configuration's "
        "shapes, and the engine's share of their rate, from alternating runs")
    results = {}
    for key in DENSE:
        setup = SETUPS[key]
        engine, rate, share = _alternate(engine_runner(setup.config()), _gemm_runner(setup),
                                         repeats, seconds)
        achieved = engine * setup.flops_per_sample()
        results[key] = {"gemm_gflops": rate / 1e9, "engine_gflops": achieved / 1e9,
                        "fraction": share * setup.flops_per_sample()}
        out(f"  ({key}) GEMM {rate / 1e9:7.1f} GFLOP/s   engine {achieved / 1e9:7.1f} GFLOP/s   "
            f"{share * setup.flops_per_sample():6.1%}")
    return results


def _gemm_runner(setup: Setup):
    """A function that runs one step's products for some seconds (forward, weight gradients,
    input gradients) and returns their flops per second."""
    rng = np.random.default_rng(0)
    b = setup.batch
    products = []
    for i, (n_in, n_out) in enumerate(zip(setup.sizes[:-1], setup.sizes[1:])):
        x, w = rng.random((b, n_in), np.float32), rng.random((n_in, n_out), np.float32)
        dz = rng.random((b, n_out), np.float32)
        products += [(x, w, np.empty((b, n_out), np.float32)),
                     (x.T, dz, np.empty((n_in, n_out), np.float32))]
        if i:
            products.append((dz, w.T, np.empty((b, n_in), np.float32)))
    flops = sum(2 * a.shape[0] * a.shape[1] * c.shape[1] for a, c, _ in products)

    def multiply_for(duration: float) -> float:
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < duration:
            for a, c, result in products:
                np.dot(a, c, out=result)
            count += 1
        return count * flops / (time.perf_counter() - start)
    return multiply_for


def path_cost_section(figures, repeats, seconds, out) -> dict:
    """The training rate with the path kept (as every run keeps it) against the same run with
    WeightPath.offer a no-op: configurations (a) and (c), whose steps of one example are the
    shortest the path's offer is added to (target: at most 2% slower).

    One trainer takes both turns: two trainers of the same run differ in speed by up to 20% on
    this machine (where their buffers fall). The turns are short (a tenth of `seconds`), many,
    and in swapped order from pair to pair: this machine's speed drifts by 30% from one second
    to the next, which longer turns caught in one of the two. Beside the ratio, what settles it
    below the noise: the offers' own time (a path kept over the same steps, without training)
    against the time of a step."""
    from gdplayground.engine import Trainer

    out("path-cost: training samples/s keeping the path and not keeping it, from short "
        "alternating turns of one run")
    results = {}
    for name in ("a", "c"):
        config = SETUPS[name].config()
        trainer = Trainer(config)
        kept, not_kept = _keeping(config, trainer, True), _keeping(config, trainer, False)
        pairs = [_turns(kept, not_kept, seconds / 10, swapped=i % 2)
                 for i in range(10 * repeats)]
        ratios = [ours / theirs for ours, theirs in pairs]
        ratio, (low, _, high) = statistics.median(ratios), statistics.quantiles(ratios)
        step_us = 1e6 * config.batch.size / statistics.median(theirs for _, theirs in pairs)
        offer_us = _offer_time(trainer)
        results[name] = {"ratio": ratio, "quartiles": [low, high], "offer_us": offer_us,
                         "step_us": step_us}
        out(f"  ({name}) kept/not kept {ratio:.3f} (quartiles {low:.3f} to {high:.3f}): "
            f"{1 - ratio:+.1%} slower; the offers alone {offer_us:.2f} µs a step of "
            f"{step_us:.0f} µs: {offer_us / step_us:.2%} (target: at most 2%)")
    return results


def _turns(ours, theirs, seconds: float, swapped: bool) -> tuple[float, float]:
    if swapped:
        other = theirs(seconds)
        return ours(seconds), other
    return ours(seconds), theirs(seconds)


def _offer_time(trainer) -> float:
    """Microseconds a step that a path of this run costs, offers and copies and thinning: a
    fresh path offered the weights at every one of the steps the trainer has taken."""
    from gdplayground.engine.path import WeightPath

    flat, steps = trainer.network.flat, trainer.step_count
    path = WeightPath(0, flat, 0.1)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        path.offer(step, flat, 0.1)
    return 1e6 * (time.perf_counter() - start) / max(steps, 1)


def _keeping(config: ExperimentConfig, trainer, keep: bool):
    """`engine_runner` of `trainer`, which keeps its path in these turns, or does not."""
    offer, train_for = trainer.path.offer, engine_runner(config, trainer)

    def turn(seconds: float) -> float:
        trainer.path.offer = offer if keep else _keep_nothing
        return train_for(seconds)
    return turn


def _keep_nothing(step: int, weights, rate: float) -> None:
    """WeightPath.offer's stand-in for the turns without a path."""


def _alternate(ours, theirs, repeats: int, seconds: float) -> tuple[float, float, float]:
    """Medians of our rate, their rate and the ratio ours/theirs, measured in turns so that a
    slow spell of the machine (on this VM a figure can drift by 30% within a minute) hits both."""
    ours(min(0.5, seconds)), theirs(min(0.5, seconds))  # warm-up
    pairs = [(ours(seconds), theirs(seconds)) for _ in range(repeats)]
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a / b for a, b in pairs))


def _median_rate(measure, repeats: int, seconds: float) -> float:
    measure(min(0.5, seconds))  # warm-up: caches, allocations, BLAS threads
    return statistics.median(measure(seconds) for _ in range(repeats))
