"""The action server: `python -m actions.server` (instead of `rasa run actions`).

rasa-sdk's own runner binds 0.0.0.0 with no authentication: anyone reaching the port could post a
tracker with any sender and slots, file tickets on any house or read anyone's tickets. Here:

- it listens on ACTIONS_HOST, 127.0.0.1 unless a multi-host deployment says otherwise;
- with ACTIONS_TOKEN set, every call but GET /health must carry it (Rasa sends it from
  bot/endpoints.yml as the X-Actions-Token header); on any interface other than loopback the
  token is required (16+ characters) or the server refuses to start.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys

ACTIONS_TOKEN_HEADER = "X-Actions-Token"
MIN_TOKEN_LENGTH = 16
log = logging.getLogger("actions.server")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: we cannot know what it resolves to, so treat it as exposed


def check_config(host: str, token: str) -> str | None:
    """Why the server must not start with this interface and token, or None."""
    if token and len(token) < MIN_TOKEN_LENGTH:
        return f"ACTIONS_TOKEN is too short: at least {MIN_TOKEN_LENGTH} characters"
    if not is_loopback(host) and not token:
        return (
            f"ACTIONS_HOST={host} is not loopback: set ACTIONS_TOKEN (at least {MIN_TOKEN_LENGTH} "
            "random characters, the same for Rasa) so only Rasa can call the action server"
        )
    return None


def create_app(token: str):
    from rasa_sdk.endpoint import create_app as sdk_app
    from rasa_sdk.plugin import plugin_manager
    from sanic import response

    app = sdk_app("actions", cors_origins=None)
    # What rasa-sdk's own runner does: plugins (rasa_sdk_plugins: the metrics) attach to the app.
    plugin_manager().hook.attach_sanic_app_extensions(app=app)

    @app.middleware("request")
    async def require_token(request):
        if request.path == "/health" or not token:
            return None
        given = request.headers.get(ACTIONS_TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def main(argv: list[str] | None = None) -> int:
    import argparse

    from rasa_sdk import utils

    parser = argparse.ArgumentParser(description="the action server (loopback unless ACTIONS_HOST says otherwise)")
    from backend.core.config import load_settings, require_safe

    settings = load_settings()
    parser.add_argument("-p", "--port", type=int, default=settings.actions_port)
    args = parser.parse_args(argv)
    host, token = settings.actions_host, settings.actions_token
    problem = check_config(host, token)
    if problem:
        print(f"action server: refusing to start: {problem}", file=sys.stderr)
        return 2
    require_safe(settings, "action server")  # prints why and exits
    utils.configure_colored_logging(settings.log_level)
    utils.update_sanic_log_level()
    app = create_app(token)
    log.info("action server on %s:%s (token %s)", host, args.port, "required" if token else "not set")
    app.run(host, args.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
