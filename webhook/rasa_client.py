"""Talks to the Rasa server's REST channel, and knows when the assistant cannot answer."""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import requests


class AssistantUnavailable(Exception):
    """Rasa or the action server is down (or answered nothing): keep the message, answer later."""

    def __init__(self, message: str, component: str = "rasa"):
        super().__init__(message)
        self.component = component  # rasa | actions: which one to look at (a metric label)


class RasaClient:
    def __init__(self, rasa_url: str, actions_url: str | None):
        # RASA_URL may list several servers (comma-separated): they share trackers and locks in
        # Redis, so any of them can take any owner's next message; we take them in turn.
        self.rasa_urls = [u.strip().rstrip("/") for u in rasa_url.split(",") if u.strip()]
        self._turn = itertools.cycle(range(len(self.rasa_urls)))
        self.actions_url = actions_url.rstrip("/") if actions_url else None
        self._http = requests.Session()
        self._actions_checked = 0.0
        self._actions_up = False
        self._lock = threading.Lock()

    def _actions_healthy(self) -> bool:
        # Rasa swallows an unreachable action server and still consumes the turn, so we ask
        # the action server ourselves first (cached for a second: cheap on the hot path).
        if not self.actions_url:
            return True
        with self._lock:
            if time.monotonic() - self._actions_checked < 1.0:
                return self._actions_up
        try:
            up = self._http.get(f"{self.actions_url}/health", timeout=0.5).ok
        except requests.RequestException:
            up = False
        with self._lock:
            self._actions_up, self._actions_checked = up, time.monotonic()
        return up

    def send(self, sender: str, text: str, metadata: dict[str, Any], timeout: float) -> list[str]:
        """One owner message in, the assistant's texts out."""
        if not self._actions_healthy():
            raise AssistantUnavailable("action server is not answering", component="actions")
        try:
            with self._lock:
                base = self.rasa_urls[next(self._turn)]
            response = self._http.post(
                f"{base}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=(1.0, timeout),
            )
        except requests.RequestException as exc:
            raise AssistantUnavailable(f"rasa: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise AssistantUnavailable(f"rasa answered HTTP {response.status_code}")
        texts = [m["text"] for m in response.json() if m.get("text")]
        if not texts:
            raise AssistantUnavailable("rasa answered nothing")
        return texts

    def model_loaded(self, url: str) -> bool:
        """Whether this Rasa server has its model loaded and answers. While it loads, `rasa run`
        does not serve at all (the model loads before the server starts) and `/status` (with
        --enable-api) answers 409; a server run without the API answers 404 there, and then
        answering `/` at all means loaded."""
        try:
            status = self._http.get(f"{url}/status", timeout=0.5).status_code
            if status == 200:
                return True
            if status in (401, 403, 404):  # API off or token-protected: serving means loaded
                return self._http.get(f"{url}/", timeout=0.5).ok
            return False
        except requests.RequestException:
            return False

    def ready(self) -> dict[str, bool]:
        """Readiness: every Rasa server has its model loaded, and the action server answers."""
        rasa = all(self.model_loaded(u) for u in self.rasa_urls)
        return {"rasa_model_loaded": rasa, "actions": self._actions_healthy()}

    def healthy(self) -> bool:
        try:
            return all(self._http.get(f"{u}/", timeout=0.5).ok for u in self.rasa_urls) and self._actions_healthy()
        except requests.RequestException:
            return False
