"""Metrics and health of the running processes: webhook (two gunicorn workers, summed by the
master), worker (its counters and the records read at scrape time), action server (through
rasa-sdk's plugin hook), console; readiness that fails while Rasa loads its model."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import AES_KEY, APPID, TOKEN
from tests.e2e.wx import WeChat, wait_for


def scrape(port: int) -> list:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def total(samples: list, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_the_webhook_counts_messages_and_reply_latency_over_all_its_workers(system):
    wx = WeChat(system.base_url, TOKEN, AES_KEY, APPID, "aes")
    port = system.ports.webhook_metrics
    before = scrape(port)
    owners = [f"o-e2e-metrics-{i}" for i in range(8)]
    # Several at once, so both gunicorn workers take some; the master serves the sum.
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda o: wx.say(o, "物业电话多少")[0], owners))
    assert all(replies), replies
    after = scrape(port)
    grew = lambda name, **labels: total(after, name, **labels) - total(before, name, **labels)  # noqa: E731
    assert grew("wuye_owner_messages_total", type="text") == 8
    assert grew("wuye_replies_total", outcome="answered") == 8
    assert grew("wuye_reply_seconds_count", outcome="answered") == 8
    assert grew("wuye_reply_seconds_bucket", outcome="answered", le="4.5") == 8
    assert grew("wuye_outbound_messages_total", channel="passive", status="sent", errcode="0") == 8
    assert grew("wuye_http_requests_total", app="webhook", route="wechat_message", status="2xx") == 8
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "o-e2e-metrics" not in text  # never an openid in a label

    # The action server counted the custom actions those turns ran.
    actions = scrape(system.ports.actions_metrics)
    assert total(actions, "wuye_action_runs_total", outcome="ok") >= 1
    assert total(actions, "wuye_action_seconds_count") >= 1


def test_the_worker_serves_its_counters_the_records_and_its_health(system):
    port = system.ports.worker_metrics
    samples = scrape(port)
    assert total(samples, "wuye_records_up", store="database") == 1
    assert total(samples, "wuye_records_up", store="redis") == 1
    assert any(s.name == "wuye_queue_depth" and s.labels["queue"] == "wuye:high" for s in samples)
    assert any(s.name == "wuye_sla_clocks" for s in samples)
    assert total(samples, "wuye_template_quota_limit") == 100_000
    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status_code == 200 and health.json() == {"ok": True, "redis": True, "database": True}


def test_the_console_and_every_process_answer_health_checks(system):
    console = scrape(system.ports.console_metrics)
    assert total(console, "wuye_http_requests_total", app="console", route="healthz") >= 1
    assert requests.get(f"{system.console_url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"http://127.0.0.1:{system.ports.actions}/health", timeout=5).status_code == 200
    assert requests.get(f"http://127.0.0.1:{system.ports.actions_metrics}/healthz", timeout=5).status_code == 200
    assert requests.get(f"http://127.0.0.1:{system.ports.rasa}/", timeout=5).status_code == 200
    health = requests.get(f"{system.base_url}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["database"] is True


def test_readiness_fails_while_rasa_loads_its_model_and_liveness_does_not(system):
    ready = f"{system.base_url}/readyz"
    assert requests.get(ready, timeout=5).status_code == 200
    system.stop("rasa")
    try:
        down = requests.get(ready, timeout=5)
        assert down.status_code == 503 and down.json()["rasa_model_loaded"] is False
        # The webhook itself is alive (it answers owners with the holding reply): no restart.
        assert requests.get(f"{system.base_url}/healthz", timeout=5).status_code == 200
        system.start("rasa")
        assert system.procs["rasa"].poll() is None  # started, still loading its model
        loading = requests.get(ready, timeout=5)
        assert loading.status_code == 503 and loading.json()["rasa_model_loaded"] is False
    finally:
        if "rasa" not in system.procs:
            system.start("rasa")
        system.wait_rasa()
    assert wait_for(lambda: requests.get(ready, timeout=5).status_code == 200, 30)
