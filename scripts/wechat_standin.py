"""A local stand-in for WeChat's API, for tests, the bench and trying things without WeChat.

    python -m scripts.wechat_standin --port 9100     # then WECHAT_API_BASE_URL=http://127.0.0.1:9100

It answers the calls the product makes (token, customer-service and template messages) the way
WeChat does, records what it received, and can be told to fail the next calls with an errcode.
"""
from __future__ import annotations

import argparse
import itertools
import threading
import time

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


class StandIn:
    def __init__(self):
        self.app = Flask("wechat-standin")
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.tokens_issued = 0
        self.failures: list[int] = []  # errcodes to answer to the next message calls
        self._ids = itertools.count(1)
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
                return jsonify(access_token=f"standin-token-{self.tokens_issued}", expires_in=7200)

        def record(kind: str):
            if not request.args.get("access_token"):
                return jsonify(errcode=41001, errmsg="access_token missing")
            with self.lock:
                if self.failures:
                    code = self.failures.pop(0)
                    return jsonify(errcode=code, errmsg="stand-in failure")
                body = request.get_json(force=True, silent=True) or {}
                self.messages.append({"kind": kind, "at": time.time(), "body": body, "id": next(self._ids)})
                return jsonify(errcode=0, errmsg="ok", msgid=self.messages[-1]["id"])

        @app.post("/cgi-bin/message/custom/send")
        def custom():
            return record("custom")

        @app.post("/cgi-bin/message/template/send")
        def template():
            return record("template")

        @app.get("/_standin/messages")
        def listing():
            with self.lock:
                return jsonify(messages=list(self.messages))

    # --- in-process use (tests, bench) -------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        self._server = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self):
        if self._server:
            self._server.shutdown()

    def texts_to(self, openid: str) -> list[str]:
        with self.lock:
            return [m["body"].get("text", {}).get("content", "") for m in self.messages
                    if m["kind"] == "custom" and m["body"].get("touser") == openid]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    print(f"WeChat API stand-in on http://127.0.0.1:{args.port}")
    StandIn().app.run("127.0.0.1", args.port)


if __name__ == "__main__":
    main()
