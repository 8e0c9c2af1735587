"""Forged, malformed and oversized requests get a clear 4xx, never a 5xx."""

from __future__ import annotations

import time

import requests

from tests.e2e.conftest import TOKEN
from webhook.wechat import sha1_signature


def signed(ts=None):
    """Query of a safe-mode push (the system has an EncodingAESKey); the body decides the rest."""
    ts = str(ts or int(time.time()))
    return {
        "timestamp": ts,
        "nonce": "123",
        "signature": sha1_signature(TOKEN, ts, "123"),
        "encrypt_type": "aes",
        "msg_signature": "0" * 40,
    }


def test_url_check(system):
    # The admin UI's check is plain even in safe mode (the official vector's Token is too short
    # for a deployment, so the signature is computed for this system's Token).
    ts, nonce = "1714036504", "1514711492"
    r = requests.get(
        f"{system.base_url}/wechat",
        params={
            "signature": sha1_signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "4375120948345356249",
        },
    )
    assert (r.status_code, r.text) == (200, "4375120948345356249")


def test_url_check_forged(system):
    r = requests.get(
        f"{system.base_url}/wechat",
        params={"signature": "0" * 40, "timestamp": "1714036504", "nonce": "1514711492", "echostr": "1"},
    )
    assert r.status_code == 403


def test_forged_post_is_403(system, wechat):
    params = signed()
    body = wechat.xml("o-forged", "text", {"Content": "hi"}, "1").replace(
        "</xml>", "<Encrypt><![CDATA[abc]]></Encrypt></xml>"
    )
    r = requests.post(f"{system.base_url}/wechat", params=params, data=body)
    assert r.status_code == 403


def test_stale_timestamp_is_403(system, wechat):
    r = wechat.post(wechat.xml("o-stale", "text", {"Content": "hi"}, "2"), timestamp=int(time.time()) - 400)
    assert r.status_code == 403


def test_malformed_xml_is_400(system):
    for body in (
        b"<xml><ToUserName>",
        b"not xml at all",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    ):
        r = requests.post(f"{system.base_url}/wechat", params=signed(), data=body)
        assert r.status_code == 400, body


def test_too_large_is_413(system):
    r = requests.post(f"{system.base_url}/wechat", params=signed(), data=b"<xml>" + b"a" * 300_000 + b"</xml>")
    assert r.status_code == 413
