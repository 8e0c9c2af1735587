"""gunicorn config for the console: `gunicorn -c python:console.gunicorn_conf console.wsgi:app`.

Its workers' metrics are summed and served by the master on CONSOLE_METRICS_PORT (loopback).
"""
from backend.core.gunicorn_metrics import configure

when_ready, child_exit = configure("console", "CONSOLE_METRICS_PORT", 9202)
