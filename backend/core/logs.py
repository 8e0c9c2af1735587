"""Structured (JSON-lines) logs for every process. Never log secrets or full phone numbers:
mask them with backend.text.phones.mask before they reach a log call."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# Query parameters that carry secrets (WeChat's API URLs hold the access token, its pushes the
# signatures): blanked in every line, including tracebacks of libraries we do not control.
_SECRET_PARAM = re.compile(
    r"((?:access_token|secret|appsecret|token|signature|msg_signature|echostr|auth_token)=)[^&\s\"'<>\\]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if level is None:
        from backend.core.config import load_settings  # logs is imported before settings are read

        level = load_settings().log_level
    root.setLevel(level)
    # Libraries that narrate their start-up at INFO.
    for noisy in ("alembic", "rq.worker", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
