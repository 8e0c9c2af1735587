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
    def __init__(self, rasa_url: str, actions_url: str | None, api_token: str | None = None):
        # RASA_URL may list several servers (comma-separated): they share trackers and locks in
        # Redis, so any of them can take any owner's next message; we take them in turn.
        self.rasa_urls = [u.strip().rstrip("/") for u in rasa_url.split(",") if u.strip()]
        self._turn = itertools.cycle(range(len(self.rasa_urls)))
        self.actions_url = actions_url.rstrip("/") if actions_url else None
        self._http = requests.Session()
        self._actions_checked = 0.0
        self._actions_up = False
        self._lock = threading.Lock()
        self._api = api_token

    def _actions_healthy(self, fresh: bool = False) -> bool:
        # Rasa swallows an unreachable action server and still consumes the turn, so we ask
        # the action server ourselves first (cached for a second: cheap on the hot path).
        if not self.actions_url:
            return True
        with self._lock:
            if not fresh and time.monotonic() - self._actions_checked < 1.0:
                return self._actions_up
        try:
            # After a turn (fresh) a slow answer is no reason to take the turn back: wait longer.
            up = self._http.get(f"{self.actions_url}/health", timeout=2.0 if fresh else 0.5).ok
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
        if not self._actions_healthy(fresh=True):
            # The action server went away during the turn (a crash, kill -9): Rasa went on
            # without the events of the action it could not reach (a ticket not raised, a form
            # not closed). Take the turn back out of the conversation; the message is kept and
            # asked again when the action server is back (actions are idempotent per message).
            self._undo_turn(base, sender, metadata.get("dedupe_key"))
            raise AssistantUnavailable("action server went away during the turn", component="actions")
        texts = [m["text"] for m in response.json() if m.get("text")]
        if not texts:
            raise AssistantUnavailable("rasa answered nothing")
        return texts

    def _api_token(self) -> str | None:
        """Rasa's conversation API, when the servers run with it (RASA_ENABLE_API=1 and
        RASA_AUTH_TOKEN, scripts/rasa_server.py): it lets a retry see a turn that went through,
        and take back a turn that lost an action. Without it, both are skipped."""
        return self._api

    def answered_before(self, sender: str, dedupe_key: str | None) -> list[str] | None:
        """The assistant's texts for a delivery Rasa already took (None: it never did, or we
        cannot tell). Raises AssistantUnavailable while that turn has no answer yet."""
        token = self._api_token()
        if not dedupe_key or not token:
            return None
        try:
            with self._lock:
                base = self.rasa_urls[next(self._turn)]
            response = self._http.get(
                f"{base}/conversations/{sender}/tracker", params={"include_events": "ALL", "token": token}, timeout=10
            )
            if response.status_code in (401, 403, 404):
                return None  # no API on this server: ask again, as before
            events = response.json().get("events") or []
        except (requests.RequestException, ValueError) as exc:
            raise AssistantUnavailable(f"rasa: {exc.__class__.__name__}") from exc
        starts = [
            i
            for i, e in enumerate(events)
            if e.get("event") == "user" and (e.get("metadata") or {}).get("dedupe_key") == dedupe_key
        ]
        if not starts:
            return None
        texts = []
        for e in events[starts[-1] + 1 :]:
            if e.get("event") == "user":
                break
            if e.get("event") == "bot" and e.get("text"):
                texts.append(e["text"])
        if not texts:
            raise AssistantUnavailable("that turn has no answer yet")
        return texts

    def _undo_turn(self, base: str, sender: str, dedupe_key: str | None) -> None:
        """Put the conversation back as it was before this message's turn."""
        token = self._api_token()
        if not dedupe_key or not token:
            return
        try:
            tracker = self._http.get(
                f"{base}/conversations/{sender}/tracker", params={"include_events": "ALL", "token": token}, timeout=10
            ).json()
            events = tracker.get("events") or []
            starts = [
                i
                for i, e in enumerate(events)
                if e.get("event") == "user" and (e.get("metadata") or {}).get("dedupe_key") == dedupe_key
            ]
            if starts:
                self._http.put(
                    f"{base}/conversations/{sender}/tracker/events",
                    json=events[: starts[0]],
                    params={"token": token},
                    timeout=10,
                ).raise_for_status()
        except (requests.RequestException, ValueError):
            pass  # Rasa went too: the turn stays; the retry answers from where it stands

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
