"""The command line, on the same engine as the window: one module per family of commands
(train, window, tools), the flags they share in `flags`. Bad input ends in one line naming what
is wrong and what is allowed, exit code 2."""

from __future__ import annotations

import contextlib
import sys

from gdplayground.bench import SECTIONS
from gdplayground.cli import (
    animate, export_torch, gradcheck, inspect, landscape, lessons, race, sharpness, sweep)
from gdplayground.cli.flags import (
    Parser, UsageError, add_train_flags, decimal_number, flag_message, flags_given, path_given,
    whole_number)
from gdplayground.cli.tools import run_bench
from gdplayground.cli.train import run_evaluate, run_train
from gdplayground.cli.window import run_screenshot, run_window
from gdplayground.config import ConfigError
from gdplayground.console import ForgivingStream, error_line
from gdplayground.data import DataError
from gdplayground.store.onnx_export import OnnxUnavailable
from gdplayground.store.weights import WeightFileError

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["window", *argv]  # the window is the default command, flags and all
    given: dict[str, str] = {}
    stdout = ForgivingStream(sys.stdout)
    try:
        with contextlib.redirect_stdout(stdout):
            args = parser.parse_args(argv)
            given = flags_given(args)
            code = run_window(args) if args.command is None else args.run(args)
    except (UsageError, ConfigError, DataError, WeightFileError, OnnxUnavailable) as exc:
        return _error(flag_message(exc, given))
    if stdout.failure:  # the work is done, but what it printed went nowhere
        return _error(f"cannot write to standard output: {stdout.failure}")
    return code


def _error(message: str) -> int:
    print(f"gdplayground: error: {error_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> Parser:
    parser = Parser(prog="gdplayground", description="Watch gradient descent train a neural network.")
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    train = commands.add_parser("train", help="train from the command line, headless")
    add_train_flags(train)
    train.set_defaults(run=run_train)
    evaluate = commands.add_parser("evaluate", help="loss and accuracy of a weight file")
    evaluate.add_argument("weights", type=path_given, help="a .npz weight file written by gdplayground")
    evaluate.set_defaults(run=run_evaluate)
    bench = commands.add_parser("bench", help="measure the engine against PyTorch and NumPy's "
                                "GEMM, and the window's cost to training")
    bench.add_argument("--only", help="comma-separated sections: " + ", ".join(SECTIONS))
    bench.add_argument("--repeats", type=whole_number, default=5, help="runs per figure (median)")
    bench.add_argument("--seconds", type=decimal_number, default=2.0, help="length of each run")
    bench.add_argument("--json", type=path_given, help="also write the figures to this JSON file")
    bench.add_argument("--long-seconds", type=decimal_number, default=600.0,
                       help="length of the long-run section's run (default ten minutes)")
    bench.set_defaults(run=run_bench)
    gradcheck.register(commands)
    window = commands.add_parser("window", help="open the playground window (the default), "
                                 "set up with any train flags")
    add_train_flags(window)
    window.set_defaults(run=run_window)
    shot = commands.add_parser("screenshot", help="train N steps in the window offscreen and "
                               "save it as a PNG")
    add_train_flags(shot)
    shot.set_defaults(run=run_screenshot)
    race.register(commands)
    sweep.register(commands)
    inspect.register(commands)
    sharpness.register(commands)
    landscape.register(commands)
    animate.register(commands)
    lessons.register(commands)
    export_torch.register(commands)
    return parser

