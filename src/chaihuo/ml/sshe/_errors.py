"""The error SSHE LR raises when training leaves the range its fixed point supports."""

from __future__ import annotations

from chaihuo.ml._diverged import TrainingDivergedError

__all__ = ["TrainingDivergedError"]
