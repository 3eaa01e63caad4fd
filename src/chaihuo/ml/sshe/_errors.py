"""The error SSHE LR raises when training leaves the range its fixed point supports."""

from __future__ import annotations

from chaihuo.core import ChaihuoError

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(ChaihuoError):
    """The loss or a score left the range the fixed-point protocol supports (learning rate
    too large)."""

    code = "INVALID_INPUT"
