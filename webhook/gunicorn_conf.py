"""gunicorn config for the webhook: `gunicorn -c python:webhook.gunicorn_conf webhook.wsgi:app`.

Its workers' metrics are summed and served by the master on WEBHOOK_METRICS_PORT (loopback).
"""

from backend.core.gunicorn_metrics import configure

when_ready, child_exit = configure("webhook", "webhook_metrics_port")

# Workers leave with their master, and let go of the port at once (a restarted master binds it).
from backend.core.gunicorn_workers import post_fork, worker_exit  # noqa: E402, F401
