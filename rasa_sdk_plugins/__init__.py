"""Metrics for the action server, through rasa-sdk's own plugin hook.

rasa-sdk looks for a top-level package named `rasa_sdk_plugins` when the action server starts
and calls `init_hooks(manager)`; its `attach_sanic_app_extensions` hook hands us the Sanic app we
do not create ourselves. We count every action call by action name and outcome, time it, and
serve /metrics and /healthz on ACTIONS_METRICS_PORT (loopback) from the same process.
"""

from __future__ import annotations

import time

import pluggy

hookimpl = pluggy.HookimplMarker("rasa_sdk")
# What the action server's answer means (rasa_sdk.endpoint): 400 is a form rejecting a value,
# 404 an action it does not have, 500 an action that raised.
OUTCOMES = {200: "ok", 400: "rejected", 404: "not_found", 500: "error"}


class _Metrics:
    @hookimpl
    def attach_sanic_app_extensions(self, app) -> None:
        from backend.core import metrics
        from backend.core.config import load_settings

        @app.listener("before_server_start")
        async def _serve(_app, _loop):
            settings = load_settings()
            metrics.serve(settings.actions_metrics_port, metrics.default_registry(), host=settings.metrics_host)

        @app.on_request
        async def _started(request):
            request.ctx.started = time.monotonic()

        @app.on_response
        async def _count(request, response):
            if request.path != "/webhook":
                return
            outcome = OUTCOMES.get(response.status, "error")
            action = "unknown"
            if outcome != "not_found":  # a name Rasa sent that we do not have: not a label
                try:
                    action = (request.json or {}).get("next_action") or "unknown"
                except Exception:  # noqa: BLE001 - an unreadable body is counted, not raised
                    action = "unknown"
            metrics.ACTION_RUNS.labels(action, outcome).inc()
            started = getattr(request.ctx, "started", None)
            if started is not None:
                metrics.ACTION_SECONDS.labels(action).observe(time.monotonic() - started)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(_Metrics())
