"""`gdplayground export-torch WEIGHTS_OR_RUN [--out DIR]`: File ▸ Export PyTorch script…,
headless. Writes model_torch.py, the network as a standalone PyTorch script, and test_set.npz,
the test set it evaluates, for a weight file or a run folder (store/torch_export.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from gdplayground.cli.flags import UsageError, path_given


def register(commands) -> None:
    export = commands.add_parser(
        "export-torch", help="write a trained network as a standalone PyTorch script",
        description="Write model_torch.py, which builds the network as torch.nn.Sequential, "
                    "loads its weights with numpy.load(allow_pickle=False) and prepares raw "
                    "inputs as training did, and test_set.npz, which `python model_torch.py` "
                    "evaluates. The script needs only NumPy and PyTorch.")
    export.add_argument("source", type=path_given, metavar="WEIGHTS_OR_RUN",
                        help="a .npz weight file or a run folder (gdplayground train --out, "
                             "File ▸ Export run…)")
    export.add_argument("--out", type=path_given, metavar="DIR",
                        help="the folder to write the two files into, made if it is missing "
                             "(default: the weight file's folder)")
    export.set_defaults(run=run_export_torch)


def run_export_torch(args) -> int:
    from gdplayground.cli.train import trained_from
    from gdplayground.store.export import WEIGHTS_FILE
    from gdplayground.store.torch_export import SCRIPT_FILE, TEST_SET_FILE, write_torch

    source: Path = args.source
    weights = source / WEIGHTS_FILE if source.is_dir() else source
    out: Path = args.out or weights.parent
    trainer = trained_from(source)
    _check_folder(out)
    made = not out.exists()
    try:
        out.mkdir(exist_ok=True)
        write_torch(out, weights, trainer.config, trainer.network.sizes, trainer.dataset)
    except OSError as exc:
        if made:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise UsageError(f"cannot write the results to {out}: {exc.strerror or exc}") from None
    print(f"wrote {out / SCRIPT_FILE} and {out / TEST_SET_FILE}; `python {out / SCRIPT_FILE}` "
          "evaluates the network with PyTorch")
    return 0


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a folder")
    if not out.exists() and not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
