"""The convolution kernels' speed against PyTorch on the CPU, run by hand (not a test):

    .venv/bin/python benchmarks/conv_speed.py

The stack of the issue's bench row (e) without its dense layer and optimizer: conv8x5 (same) →
ReLU → pool → conv16x5 (same) → ReLU → pool, forward and backward, on a batch of 64 MNIST-size
1×28×28 inputs, the first layer's input gradient skipped on both sides. Engine and torch run in
turns (a slow spell of the machine hits both) with as many torch threads as OpenBLAS has; then
one more engine turn under timers says where the engine's CPU time goes.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import timed  # noqa: E402

from gdplayground.engine.activations import ACTIVATIONS  # noqa: E402
from gdplayground.engine.conv import Conv2D, MaxPool2D  # noqa: E402
from gdplayground.engine.network import Workspace, _carver  # noqa: E402

BATCH, SHAPE = 64, (1, 28, 28)
CONVS = [(1, 8, 5), (8, 16, 5)]  # (C_in, C_out, k)


def blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return next((pool["num_threads"] for pool in threadpool_info() if pool["internal_api"] == "openblas"), 1)


def engine_stack(rng):
    """The layers on one workspace and one flat parameter array, as a Network will hold them."""
    workspace = Workspace(np.float32)
    size = sum(c_out * c_in * k * k + c_out for c_in, c_out, k in CONVS)
    carve = _carver(np.zeros(size, np.float32), np.zeros(size, np.float32))
    layers = []
    for i, (c_in, c_out, k) in enumerate(CONVS):
        W, dW = carve((c_out, c_in, k, k))
        b, db = carve((c_out,))
        conv = Conv2D(c_in, c_out, k, W, b, dW, db, workspace, key=i)
        conv.initialise("he", 0.0, rng)
        layers += [conv, MaxPool2D(workspace, key=i)]
    return layers


def engine_runner(rng):
    layers, relu = engine_stack(rng), ACTIVATIONS["relu"]
    x = rng.random((BATCH, *SHAPE), dtype=np.float32)
    grad = rng.standard_normal((BATCH, 16, 7, 7)).astype(np.float32)

    def step():
        a, activated = x, []
        for conv, pool in zip(layers[::2], layers[1::2]):
            a = relu.forward(conv.forward(a, train=True))
            activated.append(a)
            a = pool.forward(a, train=True)
        g = grad
        for i in (1, 0):
            g = relu.backward(activated[i], layers[2 * i + 1].backward(g))
            g = layers[2 * i].backward(g, need_input_grad=i > 0)
    return step


def torch_runner(rng):
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(rng.random((BATCH, *SHAPE), dtype=np.float32))
    grad = torch.from_numpy(rng.standard_normal((BATCH, 16, 7, 7)).astype(np.float32))
    params = [(torch.randn(c_out, c_in, k, k, requires_grad=True), torch.zeros(c_out, requires_grad=True))
              for c_in, c_out, k in CONVS]

    def step():
        a = x
        for W, b in params:
            a = F.max_pool2d(F.relu(F.conv2d(a, W, b, padding=W.shape[-1] // 2)), 2)
        for W, b in params:
            W.grad = b.grad = None
        a.backward(grad)
    return step


def per_second(step, seconds: float) -> float:
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps / (time.perf_counter() - start)


def conv_speed(repeats: int = 7, seconds: float = 1.0, out=print) -> dict:
    """Median engine and torch steps a second, the median of their ratios, and the engine's
    time by part (milliseconds a step)."""
    import torch

    threads = blas_threads()
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    ours, theirs = engine_runner(rng), torch_runner(rng)
    per_second(ours, 0.3), per_second(theirs, 0.3)  # warm-up
    pairs = []
    for turn in range(repeats):
        first, second = (ours, theirs) if turn % 2 == 0 else (theirs, ours)
        a, b = per_second(first, seconds), per_second(second, seconds)
        pairs.append((a, b) if turn % 2 == 0 else (b, a))
    engine, torch_rate = statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)
    ratio = statistics.median(a / b for a, b in pairs)
    out(f"threads {threads} (OpenBLAS and torch), batch {BATCH}, conv8x5 → pool → conv16x5 → pool")
    out(f"engine {engine:7.1f} steps/s ({1e3 / engine:5.2f} ms)   torch {torch_rate:7.1f} steps/s "
        f"({1e3 / torch_rate:5.2f} ms)   engine/torch {ratio:4.2f} (median of {repeats} turns)")
    parts = breakdown(ours, seconds)
    out("engine's time by part, ms a step: " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    return {"engine": engine, "torch": torch_rate, "ratio": ratio, "parts": parts}


def breakdown(step, seconds: float) -> dict[str, float]:
    """Milliseconds of this thread's CPU time a step (the machine's other jobs do not count) in
    the products (np.dot, np.matmul), in col2im's slice adds, in the other copies (im2col's
    gather, the padding: np.copyto) and in the pools; the rest is ReLU, bias, sums and glue.
    Timers cost a little; the parts are for proportions."""
    parts = {(np, "dot"): "products", (np, "matmul"): "products", (np, "copyto"): "copies",
             (Conv2D, "_col2im"): "col2im", (MaxPool2D, "forward"): "pool fwd",
             (MaxPool2D, "backward"): "pool bwd"}
    with timed(parts, clock=time.thread_time) as (spent, _):
        start, steps = time.thread_time(), 0
        while time.thread_time() - start < seconds:
            step()
            steps += 1
        total = time.thread_time() - start
    result = {label: 1e3 * spent[label] / steps for label in parts.values()}
    result["total"] = 1e3 * total / steps
    return result


if __name__ == "__main__":
    conv_speed()
