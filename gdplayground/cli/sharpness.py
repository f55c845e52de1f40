"""`gdplayground sharpness`: how sharp the ground is under a weight file's or a run's weights,
headless: the Hessian's largest eigenvalues and its smallest on a fixed batch of training
examples, λ_max against 2/lr."""

from __future__ import annotations

import math
import time

from gdplayground.cli.flags import (
    SHARPNESS_SAMPLES, UsageError, at_least_one, path_given, whole_number)

TOP = 3  # largest eigenvalues printed


def register(commands) -> None:
    command = commands.add_parser(
        "sharpness", help="the loss's largest Hessian eigenvalue λ_max against 2/lr",
        description="The largest eigenvalues of the loss's Hessian (and its smallest) at a "
                    "weight file's or a run folder's weights, on a fixed batch of training "
                    "examples, by Lanczos iteration on Hessian-vector products; λ_max beside "
                    "2/lr, above which plain gradient descent at that rate diverges along the "
                    "sharpest direction.")
    command.add_argument("weights", type=path_given, metavar="WEIGHTS_OR_RUN",
                         help="a .npz weight file or a run folder written by gdplayground")
    command.add_argument("--samples", type=at_least_one, default=SHARPNESS_SAMPLES,
                         help="training examples the loss is the mean over (default "
                              f"{SHARPNESS_SAMPLES:,}; all of them when the set is smaller)")
    command.add_argument("--seed", type=whole_number, default=0,
                         help="the seed of Lanczos's random start vector (default 0)")
    command.set_defaults(run=run_sharpness)


def run_sharpness(args) -> int:
    from gdplayground.cli.train import trained_from
    from gdplayground.engine.schedules import learning_rate_at
    from gdplayground.labs.sharpness import TOLERANCE, against_bound, sharpness

    trainer = trained_from(args.weights)
    probe = trainer.gradient_probe(args.samples)
    rate = learning_rate_at(trainer.step_count, trainer.config.learning_rate)
    optimizer = trainer.config.optimizer.name
    print(f"{args.weights}: {trainer.dataset.name}, trained {trainer.step_count:,} steps")
    print(f"{probe.describe()}; dropout off")
    started = time.perf_counter()
    result = sharpness(probe, top=TOP, smallest=True, seed=args.seed)
    seconds = time.perf_counter() - started
    if math.isnan(result.largest):
        raise UsageError(f"{args.weights}: the loss overflows at these weights: its Hessian "
                         f"cannot be measured")
    print(f"λ_max = {result.largest:.6g}, {against_bound(result.largest, rate)}")
    if optimizer == "sgd":
        stable = result.largest <= 2 / rate if rate > 0 else True
        print(f"plain gradient descent at lr {rate:g} is {'stable' if stable else 'unstable'} "
              f"here on this batch's loss")
    else:
        print(f"(2/lr is plain gradient descent's bound; this run's {optimizer} at lr {rate:g} "
              f"steps by another rule, to which it does not apply as such)")
    largest = ", ".join(f"{value:.6g}" for value in result.top)
    saddle = "negative: a saddle, not a minimum" if result.smallest < 0 else "none negative"
    print(f"largest: {largest}   smallest: {result.smallest:.6g} ({saddle})")
    outcome = (f"converged to {TOLERANCE:g} of the spectrum's scale" if result.converged else
               "NOT converged: the figures are estimates")
    print(f"{outcome}, {result.products} Hessian-vector products, {seconds:.1f} s")
    return 0
