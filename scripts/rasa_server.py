"""Starts one Rasa server: `python -m scripts.rasa_server -m <model> -p <port>`.

Only the REST channel the webhook uses is served, on loopback. Rasa's HTTP API (trackers of every
conversation with phone numbers, setting slots, unloading the model) stays off unless
RASA_ENABLE_API=1, and then it needs RASA_AUTH_TOKEN (16+ characters), read here from the
environment and handed to Rasa inside this process, so it never shows in the process list.
"""

from __future__ import annotations

import os
import sys

MIN_TOKEN_LENGTH = 16


def rasa_argv(argv: list[str], environ=os.environ) -> list[str]:
    args = ["run", *argv]
    if environ.get("RASA_ENABLE_API", "").strip() == "1":
        token = environ.get("RASA_AUTH_TOKEN", "").strip()
        if len(token) < MIN_TOKEN_LENGTH:
            raise SystemExit(f"rasa: RASA_ENABLE_API=1 needs RASA_AUTH_TOKEN (at least {MIN_TOKEN_LENGTH} characters)")
        args += ["--enable-api", "--auth-token", token]
    return args


def main() -> None:
    argv = rasa_argv(sys.argv[1:])
    sys.argv = ["rasa", *argv]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
