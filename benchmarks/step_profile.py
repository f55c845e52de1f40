"""Where a training step's time goes: each part of `Trainer.step`, in µs per step.

    python benchmarks/step_profile.py a          # configuration (a) of `gdplayground bench`
    python benchmarks/step_profile.py d --steps 100

The engine's own functions are wrapped with timers (nothing is copied from `Trainer.step`), so
the parts add up to less than the whole by the timers' cost and the step's own glue, which the
last line shows. Compare figures within one run: this machine's speed drifts between runs.
"""

from __future__ import annotations

import argparse
import time

from timing import timed

from gdplayground.bench.engine import SETUPS
from gdplayground.engine import losses, network, optimizers, trainer

PARTS = {  # (owner, attribute): the name it is reported under
    (trainer.Trainer, "_next_batch"): "choose the batch",
    (trainer.Trainer, "_batch"): "gather and convert the batch",
    (network.Network, "forward"): "forward pass (products, bias, activations)",
    (losses.SoftmaxCrossEntropy, "forward"): "loss",
    (trainer, "accuracy"): "batch accuracy",
    (losses.SoftmaxCrossEntropy, "backward"): "loss gradient",
    (network.Network, "backward"): "backward pass (products, activations, bias sums)",
    (trainer, "_norm"): "gradient and weight norms",
    (optimizers.Optimizer, "step"): "optimizer update",
}


def profile(key: str, steps: int, warmup: int = 200) -> dict[str, float]:
    """Seconds per step spent in each part, and in the whole step."""
    with timed(PARTS) as (spent, _):
        run = trainer.Trainer(SETUPS[key].config())
        for _ in range(warmup):
            run.step()
        spent.clear()
        start = time.perf_counter()
        for _ in range(steps):
            run.step()
        whole = time.perf_counter() - start
    return {**{label: seconds / steps for label, seconds in spent.items()}, "whole step": whole / steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setup", choices=sorted(SETUPS), help="a configuration of `gdplayground bench`")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    per_step = profile(args.setup, args.steps)
    whole = per_step.pop("whole step")
    print(f"configuration ({args.setup}): {whole * 1e6:,.0f} µs a step, over {args.steps} steps")
    for label, seconds in sorted(per_step.items(), key=lambda item: -item[1]):
        print(f"  {seconds * 1e6:8.1f} µs  {seconds / whole:6.1%}  {label}")
    rest = whole - sum(per_step.values())
    print(f"  {rest * 1e6:8.1f} µs  {rest / whole:6.1%}  the step's own glue and the timers")


if __name__ == "__main__":
    main()
