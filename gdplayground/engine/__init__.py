"""The training engine: pure NumPy, no Qt, usable headless."""

from gdplayground.engine.trainer import LayerStats, StepReport, Trainer, TrainingState

__all__ = ["LayerStats", "StepReport", "Trainer", "TrainingState"]
