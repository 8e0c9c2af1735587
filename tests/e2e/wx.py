"""Plays WeChat's side of the webhook: signed XML in plain, compatible or safe mode, replies decoded."""

from __future__ import annotations

import itertools
import random
import string
import time
from xml.sax.saxutils import escape

import defusedxml.ElementTree as ET
import requests

from webhook.wechat import SafeModeCrypto, sha1_signature

ACCOUNT = "gh_e2e_account"
_msg_ids = itertools.count(int(time.time() * 1000))


def next_msg_id() -> str:
    return str(next(_msg_ids))


def _nonce() -> str:
    return "".join(random.choices(string.digits, k=9))


class WeChat:
    def __init__(self, base_url: str, token: str, aes_key: str, appid: str, mode: str = "plain"):
        self.url = base_url.rstrip("/") + "/wechat"
        self.token, self.mode = token, mode
        self.crypto = SafeModeCrypto(token, aes_key, appid)
        self.http = requests.Session()

    def xml(self, openid: str, msg_type: str, fields: dict, msg_id: str | None = None) -> str:
        parts = [
            f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
            f"<CreateTime>{int(time.time())}</CreateTime>",
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
        ]
        parts += [f"<{k}><![CDATA[{escape(str(v))}]]></{k}>" for k, v in fields.items()]
        if msg_id is not None:
            parts.append(f"<MsgId>{msg_id}</MsgId>")
        return "<xml>" + "".join(parts) + "</xml>"

    def post(self, xml: str, timestamp: int | None = None) -> requests.Response:
        ts, nonce = str(timestamp or int(time.time())), _nonce()
        params = {"timestamp": ts, "nonce": nonce, "signature": sha1_signature(self.token, ts, nonce), "openid": "x"}
        body = xml
        if self.mode in ("aes", "compat"):
            encrypted = self.crypto.encrypt(xml.encode())
            params.update(encrypt_type="aes", msg_signature=sha1_signature(self.token, ts, nonce, encrypted))
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
            if self.mode == "compat":  # compatible mode: the plaintext fields ride along, unsigned
                body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return self.http.post(self.url, params=params, data=body.encode(), timeout=10)

    def reply_text(self, response: requests.Response) -> str | None:
        """The passive reply's text, or None for `success`/empty."""
        assert response.status_code == 200, response.text
        if response.text in ("success", ""):
            return None
        root = ET.fromstring(response.content)
        if root.find("Encrypt") is not None:
            assert self.mode in ("aes", "compat")
            sig = sha1_signature(
                self.token, root.findtext("TimeStamp"), root.findtext("Nonce"), root.findtext("Encrypt")
            )
            assert sig == root.findtext("MsgSignature"), "reply signature must verify"
            root = ET.fromstring(self.crypto.decrypt(root.findtext("Encrypt")))
        return root.findtext("Content")

    def say(self, openid: str, text: str, msg_id: str | None = None) -> tuple[str | None, float]:
        msg_id = msg_id or str(next(_msg_ids))
        started = time.monotonic()
        response = self.post(self.xml(openid, "text", {"Content": text}, msg_id))
        return self.reply_text(response), time.monotonic() - started


def wait_for(check, timeout: float = 30.0, every: float = 0.1):
    """Poll `check` until it returns something truthy (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not seen within {timeout} s")
