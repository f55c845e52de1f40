"""The training engine: pure NumPy, no Qt, usable headless.

What trains a network and nothing else: the network (network.py) with its activations and losses,
the optimizers and learning-rate schedules, the trainer and its step reports (trainer.py), the
history of a run (history.py), the memory a run needs (memory.py), the gradient check of backprop
(gradcheck.py) and the copy of a run a check works on (probe.py).

The engine imports none of the labs (gdplayground.labs), the store of files and exports
(gdplayground.store), the command line, the bench, the window or Qt: they use the engine, never
the other way (pyproject.toml's import contracts). Beneath it are only the configuration, the
data (with resources.py) and files.py.
"""

from gdplayground.engine.trainer import LayerStats, SettingChange, StepReport, Trainer, TrainingState

__all__ = ["LayerStats", "SettingChange", "StepReport", "Trainer", "TrainingState"]
