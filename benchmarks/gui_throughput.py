"""Training throughput with the full window live, next to the same configuration headless, and
the gaps between GUI frames while it trains. Prints figures; asserts nothing.

    python benchmarks/gui_throughput.py [--seconds 10] [train flags, e.g. --dataset spiral]

The window part runs offscreen. Each side trains for the same wall time; they alternate
(headless, window, headless, window) so that drift of the machine affects both alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gdplayground.cli import add_train_flags, config_from_args  # noqa: E402
from gdplayground.engine import Trainer  # noqa: E402


def headless(config, seconds: float) -> float:
    trainer = Trainer(config)
    for _ in range(20):  # warm-up: caches, BLAS threads
        trainer.step()
    start, samples = time.perf_counter(), trainer.samples_seen
    while time.perf_counter() - start < seconds:
        trainer.step()
    return (trainer.samples_seen - samples) / (time.perf_counter() - start)


def windowed(config, seconds: float) -> tuple[float, np.ndarray]:
    """(samples per second, gaps in ms between the window's redraw ticks) while playing."""
    from gdplayground.gui.app import application, pause, wait_for
    from gdplayground.gui.main_window import MainWindow

    application()
    window = MainWindow(config)
    window.show()
    wait_for(lambda: window.info is not None, 60)
    ticks, frames = [], []
    window.redraw_timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.toggle_play()
    wait_for(lambda: window.last_step >= 20, 60)
    window.session.framed.connect(lambda f: frames.append((f.time, f.samples_seen)))
    ticks.clear()
    pause(seconds)
    window.toggle_play()
    wait_for(lambda: not window.running, 60)
    window.close()
    (t0, s0), (t1, s1) = frames[0], frames[-1]
    return (s1 - s0) / (t1 - t0), np.diff(ticks) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    add_train_flags(parser)
    args = parser.parse_args()
    config = config_from_args(args)
    rates_headless, rates_window, gaps = [], [], []
    for _ in range(args.rounds):
        rates_headless.append(headless(config, args.seconds))
        rate, tick_gaps = windowed(config, args.seconds)
        rates_window.append(rate)
        gaps.append(tick_gaps)
    gaps = np.concatenate(gaps)
    h, w = np.median(rates_headless), np.median(rates_window)
    print(f"configuration: {config.data.name}, layers "
          f"{[layer.units for layer in config.architecture.hidden]}, {config.optimizer.name}, "
          f"batch {config.batch.mode} {config.batch.size}; {args.seconds:g} s per side, "
          f"{args.rounds} rounds")
    print(f"headless     {h:12,.0f} samples/s   (runs: {', '.join(f'{r:,.0f}' for r in rates_headless)})")
    print(f"window live  {w:12,.0f} samples/s   (runs: {', '.join(f'{r:,.0f}' for r in rates_window)})")
    ratios = [wr / hr for wr, hr in zip(rates_window, rates_headless)]
    print(f"ratio window/headless  {w / h:.3f}   (round by round: "
          f"{', '.join(f'{r:.3f}' for r in ratios)})")
    print(f"GUI frame gaps (ms, redraw timer set to 33): median {np.median(gaps):.1f}  "
          f"p99 {np.percentile(gaps, 99):.1f}  max {gaps.max():.1f}  over {len(gaps)} frames")


if __name__ == "__main__":
    sys.exit(main())
