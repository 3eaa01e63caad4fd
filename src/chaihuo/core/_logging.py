"""Logging set-up, called explicitly by entry points (importing chaihuo configures nothing)."""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

from chaihuo.core._settings import LoggingSettings

__all__ = ["JsonLineFormatter", "configure_logging"]

_HANDLER_NAME = "chaihuo"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and any `extra` fields."""

    _STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            (key, value) for key, value in record.__dict__.items() if key not in self._STANDARD
        )
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(settings: LoggingSettings, stream: TextIO | None = None) -> logging.Logger:
    """Install (or replace) chaihuo's handler on the `chaihuo` logger and return that logger."""
    logger = logging.getLogger("chaihuo")
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    if settings.json_lines:
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(settings.level)
    logger.propagate = False
    return logger
