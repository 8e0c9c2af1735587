"""The action server dies during a turn: Rasa goes on without that action's events, so the
client takes the turn back out of the conversation and the message is kept for a retry."""

from __future__ import annotations

import threading

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from webhook.rasa_client import AssistantUnavailable, RasaClient


def _serve(app: Flask) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


EVENTS = [
    {"event": "action", "name": "action_session_start"},
    {"event": "user", "text": "我要报修", "metadata": {"dedupe_key": "msg:1"}},
    {"event": "bot", "text": "什么东西坏了？"},
    {"event": "user", "text": "对的", "metadata": {"dedupe_key": "msg:2"}},
    {"event": "action", "name": "action_submit_repair"},  # its events were lost
]


@pytest.fixture
def fakes():
    # Rasa's conversation API, as the servers run with it: token-protected, loopback only.
    state = {"actions_up": [True], "put": None}
    actions, rasa = Flask("actions"), Flask("rasa")

    @actions.get("/health")
    def health():
        up = state["actions_up"].pop(0) if len(state["actions_up"]) > 1 else state["actions_up"][0]
        return ("ok", 200) if up else ("gone", 503)

    @rasa.post("/webhooks/rest/webhook")
    def turn():
        return jsonify([{"text": "好的"}])

    @rasa.get("/conversations/<sender>/tracker")
    def tracker(sender):
        assert request.args.get("include_events") == "ALL" and request.args.get("token") == "t" * 24
        return jsonify({"sender_id": sender, "events": EVENTS})

    @rasa.put("/conversations/<sender>/tracker/events")
    def replace(sender):
        state["put"] = request.get_json()
        return jsonify({})

    (a_url, a_srv), (r_url, r_srv) = _serve(actions), _serve(rasa)
    yield state, RasaClient(r_url, a_url, api_token="t" * 24)
    a_srv.shutdown()
    r_srv.shutdown()


def test_turn_is_undone_when_the_action_server_went_away_during_it(fakes):
    state, client = fakes
    state["actions_up"] = [True, False]  # up before the turn, gone after it
    with pytest.raises(AssistantUnavailable, match="during the turn"):
        client.send("o1", "对的", {"dedupe_key": "msg:2"}, timeout=5)
    assert state["put"] == EVENTS[:3]  # the conversation as it was before "对的"


def test_turn_stands_when_the_action_server_stayed_up(fakes):
    state, client = fakes
    state["actions_up"] = [True]
    assert client.send("o1", "对的", {"dedupe_key": "msg:2"}, timeout=5) == ["好的"]
    assert state["put"] is None


def test_answered_before_reads_the_turn_from_the_conversation(fakes):
    _, client = fakes
    assert client.answered_before("o1", "msg:1") == ["什么东西坏了？"]  # that turn happened: its answer
    assert client.answered_before("o1", "msg:9") is None  # never reached Rasa: ask it
    with pytest.raises(AssistantUnavailable, match="no answer yet"):
        client.answered_before("o1", "msg:2")  # taken, not answered (yet): never ask twice


def test_without_rasas_api_nothing_is_read_or_undone(fakes):
    state, with_api = fakes
    client = RasaClient(with_api.rasa_urls[0], with_api.actions_url)  # RASA_ENABLE_API unset
    state["actions_up"] = [True, False]
    with pytest.raises(AssistantUnavailable, match="during the turn"):
        client.send("o1", "对的", {"dedupe_key": "msg:2"}, timeout=5)
    assert state["put"] is None
    assert client.answered_before("o1", "msg:1") is None
