"""The training engine: pure NumPy, no Qt, usable headless."""

from gdplayground.engine.trainer import LayerStats, SettingChange, StepReport, Trainer, TrainingState

__all__ = ["LayerStats", "SettingChange", "StepReport", "Trainer", "TrainingState"]
