"""Prometheus metrics for an app served by several gunicorn workers.

Each worker is its own process with its own counters; prometheus-client's multiprocess mode has
them write to files in one folder, and the gunicorn master serves the sum on a loopback port.
prometheus-client decides the mode when it is first imported, so this module sets
PROMETHEUS_MULTIPROC_DIR before anything imports it (gunicorn loads its config file in the
master, before the workers fork and load the app).

Used from a gunicorn config module (webhook/gunicorn_conf.py, console/gunicorn_conf.py):

    when_ready, child_exit = configure("webhook", "webhook_metrics_port")
"""

from __future__ import annotations

import os
import shutil

from backend.core.config import VAR_DIR, load_settings


def configure(name: str, port_setting: str):
    """`port_setting` names the Settings field with this server's metrics port."""
    settings = load_settings()
    port, host = getattr(settings, port_setting), settings.metrics_host
    if not port:  # metrics switched off for this server
        return (lambda server: None), (lambda server, worker: None)
    # One folder per server (named by its metrics port, unique on the host), emptied at start:
    # files of a previous run would add its counts to this one's.
    folder = VAR_DIR / "metrics" / f"{name}-{port}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)

    # Imported here, not at the top: prometheus-client (and backend.core.metrics, which imports
    # it) must first be imported after PROMETHEUS_MULTIPROC_DIR is set, above.
    def when_ready(server) -> None:
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        from backend.core import metrics

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        metrics.serve(port, registry, host=host)

    def child_exit(server, worker) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    return when_ready, child_exit
