"""Learning-rate schedules: the learning rate in force at a given step (counted from 0)."""

from __future__ import annotations

import math

from gdplayground.config import LearningRateConfig


def learning_rate_at(step: int, cfg: LearningRateConfig) -> float:
    lr = _decayed(step, cfg)
    if step < cfg.warmup_steps:  # linear warm-up: 1/w, 2/w, … of the scheduled rate
        lr *= (step + 1) / cfg.warmup_steps
    return lr


def _decayed(step: int, cfg: LearningRateConfig) -> float:
    if cfg.schedule == "step":
        return cfg.value * cfg.gamma ** (step // cfg.decay_steps)
    if cfg.schedule == "exponential":
        return cfg.value * cfg.gamma ** (step / cfg.decay_steps)
    if cfg.schedule == "cosine":
        progress = min(step, cfg.decay_steps) / cfg.decay_steps
        floor = min(cfg.min_value, cfg.value)
        return floor + (cfg.value - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.value
