"""A local stand-in for WeChat's API, for tests, the bench and trying things without WeChat.

    python -m scripts.wechat_standin --port 9100     # then WECHAT_API_BASE_URL=http://127.0.0.1:9100

It answers the calls the product makes (token, customer-service and template messages, temporary
media: `media[media_id] = bytes`, an unknown id is errcode 40007) the way
WeChat does, records what it received, and can be told to fail the next calls with an errcode
(`failures`) or an HTTP status (`http_failures`), to retire every token it issued
(`expire_tokens`, as when another client fetched a new one), or to be slow (`delay`).
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server


class _Handler(WSGIRequestHandler):
    # Without these the stand-in, not the product, would be what a benchmark measures: Nagle's
    # algorithm against delayed ACKs stalls each small response ~40 ms, and HTTP/1.0 makes every
    # call open a new connection. WeChat's API keeps connections alive and answers at once.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"


class StandIn:
    def __init__(self):
        self.app = Flask("wechat-standin")
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.failures: list[int] = []  # errcodes to answer to the next message calls
        self.failures_for: dict[str, list[int]] = {}  # the same, for calls to one openid only
        self.http_failures: list[int] = []  # HTTP statuses to answer to the next message calls
        self.delay = 0.0  # seconds each message call takes (it is recorded after the wait)
        self.arrived = 0  # message calls that reached us, recorded or not
        # Hold every message call after this many were recorded, until release(): the caller is
        # then certainly in the middle of a call (tests kill it there). Held calls are recorded
        # when released, as WeChat would have delivered them.
        self.hold_after: int | None = None
        self.holding = 0
        self._released = threading.Event()
        self._ids = itertools.count(1)
        self.media: dict[str, bytes] = {}  # media_id: what /cgi-bin/media/get serves
        self.media_http_failures: list[int] = []  # HTTP statuses to answer to the next media calls
        self.media_calls = 0
        self._routes()
        self._server = None

    def _routes(self):
        app = self.app

        @app.get("/cgi-bin/token")
        def token():
            if not request.args.get("appid") or not request.args.get("secret"):
                return jsonify(errcode=41002, errmsg="appid missing")
            with self.lock:
                self.tokens_issued += 1
                token = f"standin-token-{self.tokens_issued}"
                self.valid_tokens.add(token)
                return jsonify(access_token=token, expires_in=7200)

        def record(kind: str):
            token = request.args.get("access_token")
            if not token:
                return jsonify(errcode=41001, errmsg="access_token missing")
            with self.lock:
                self.arrived += 1
                if token not in self.valid_tokens:
                    return jsonify(errcode=40001, errmsg="invalid credential, access_token is invalid or not latest")
                if self.http_failures:
                    return "busy", self.http_failures.pop(0)
            if self.delay:
                time.sleep(self.delay)  # like WeChat, it goes on even if the caller hangs up
            with self.lock:
                hold = self.hold_after is not None and len(self.messages) >= self.hold_after
                if hold:
                    self.holding += 1
            if hold:
                self._released.wait(120)
            with self.lock:
                body = request.get_json(force=True, silent=True) or {}
                mine = self.failures_for.get(body.get("touser"))
                if mine:
                    return jsonify(errcode=mine.pop(0), errmsg="stand-in failure")
                if self.failures:
                    code = self.failures.pop(0)
                    return jsonify(errcode=code, errmsg="stand-in failure")
                self.messages.append({"kind": kind, "at": time.time(), "body": body, "id": next(self._ids)})
                return jsonify(errcode=0, errmsg="ok", msgid=self.messages[-1]["id"])

        @app.post("/cgi-bin/message/custom/send")
        def custom():
            return record("custom")

        @app.post("/cgi-bin/message/template/send")
        def template():
            return record("template")

        @app.get("/cgi-bin/media/get")
        def media_get():
            token = request.args.get("access_token")
            with self.lock:
                self.media_calls += 1
                if not token or token not in self.valid_tokens:
                    return jsonify(errcode=40001, errmsg="invalid credential, access_token is invalid or not latest")
                if self.media_http_failures:
                    return "busy", self.media_http_failures.pop(0)
                data = self.media.get(request.args.get("media_id", ""))
            if data is None:
                return jsonify(errcode=40007, errmsg="invalid media_id")
            return data, 200, {"Content-Type": "image/jpeg", "Content-Disposition": 'attachment; filename="m.jpg"'}

        @app.get("/_standin/pic/<media_id>")
        def picture(media_id: str):  # a PicUrl: the same bytes, no token (as WeChat's image links)
            with self.lock:
                self.media_calls += 1
                data = self.media.get(media_id)
            if data is None:
                return "not found", 404
            return data, 200, {"Content-Type": "image/jpeg"}

        @app.get("/_standin/messages")
        def listing():
            with self.lock:
                return jsonify(messages=list(self.messages))

    # --- in-process use (tests, bench) -------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        self._server = make_server("127.0.0.1", port, self.app, threaded=True, request_handler=_Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self):
        if self._server:
            self._server.shutdown()

    def release(self) -> None:
        with self.lock:
            self.hold_after = None
        self._released.set()

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.failures.clear()
            self.failures_for.clear()
            self.http_failures.clear()
            self.media.clear()
            self.media_http_failures.clear()
            self.media_calls = 0
            self.valid_tokens.clear()
            self.tokens_issued = self.arrived = self.holding = 0
            self.delay = 0.0
            self.hold_after = None
        self._released = threading.Event()

    def to(self, openid: str, kind: str | None = None) -> list[dict]:
        with self.lock:
            return [
                m for m in self.messages if m["body"].get("touser") == openid and (kind is None or m["kind"] == kind)
            ]

    def to_kind(self, kind: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if m["kind"] == kind]

    def texts_to(self, openid: str) -> list[str]:
        with self.lock:
            return [
                m["body"].get("text", {}).get("content", "")
                for m in self.messages
                if m["kind"] == "custom" and m["body"].get("touser") == openid
            ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    print(f"WeChat API stand-in on http://127.0.0.1:{args.port}")
    StandIn().app.run("127.0.0.1", args.port)


if __name__ == "__main__":
    main()
