"""gunicorn config for the webhook: `gunicorn -c python:webhook.gunicorn_conf webhook.wsgi:app`.

Its workers' metrics are summed and served by the master on WEBHOOK_METRICS_PORT (loopback).
"""
from backend.core.gunicorn_metrics import configure

when_ready, child_exit = configure("webhook", "WEBHOOK_METRICS_PORT", 9200)
