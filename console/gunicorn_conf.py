"""gunicorn config for the console: `gunicorn -c python:console.gunicorn_conf console.wsgi:app`.

Its workers' metrics are summed and served by the master on CONSOLE_METRICS_PORT (loopback).
"""

from backend.core.gunicorn_metrics import configure

when_ready, child_exit = configure("console", "console_metrics_port")

# Workers leave with their master, and let go of the port at once (a restarted master binds it).
from backend.core.gunicorn_workers import post_fork, worker_exit  # noqa: E402, F401
