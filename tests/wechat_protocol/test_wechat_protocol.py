"""Official vectors, round trips and the three modes of the inbound protocol."""

import base64
import json

import defusedxml.ElementTree as ET
import pytest

from webhook.wechat import (
    InboundMessage,
    ProtocolError,
    SafeModeCrypto,
    SignatureError,
    check_timestamp,
    check_url,
    decode_post,
    parse_message,
    sha1_signature,
    verify_url_request,
)

# Official test vectors (the scheme: docs/WECHAT_PROTOCOL.md).
TOKEN = "AAAAA"
AES_KEY = "A" * 43
APPID = "wxba5fad812f8e6fb9"
VECTOR_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcv"
    "ZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2"
    "Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBr"
    "ebufAlr7F9mFUPAJGj04="
)
NOW = 1_700_000_000


def plain_args(ts=str(NOW), nonce="n1"):
    return {"signature": sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "oUSER"}


def aes_post(plaintext: bytes, compatible=False, ts=str(NOW), nonce="n2", appid=APPID):
    crypto = SafeModeCrypto(TOKEN, AES_KEY, appid)
    encrypt = crypto.encrypt(plaintext)
    args = {
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(TOKEN, ts, nonce, encrypt),
    }
    extra = ""
    if compatible:
        args["signature"] = sha1_signature(TOKEN, ts, nonce)
        extra = "<FromUserName><![CDATA[oPLAINTEXT]]></FromUserName><MsgType>text</MsgType>"
    body = f"<xml><ToUserName><![CDATA[gh_acc]]></ToUserName>{extra}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return args, body.encode()


def xml(**fields):
    inner = "".join(
        f"<{k}><![CDATA[{v}]]></{k}>" if isinstance(v, str) else f"<{k}>{v}</{k}>" for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>".encode()


BASE = dict(ToUserName="gh_acc", FromUserName="oUSER", CreateTime=NOW)


# --- official vectors -------------------------------------------------------------------


def test_url_check_vector():
    args = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    assert verify_url_request(args, TOKEN, AES_KEY, APPID) == "4375120948345356249"
    check_url(TOKEN, args["signature"], args["timestamp"], args["nonce"])


def test_url_check_wrong_signature():
    args = {"signature": "0" * 40, "timestamp": "1714036504", "nonce": "1514711492", "echostr": "x"}
    with pytest.raises(SignatureError):
        verify_url_request(args, TOKEN)
    with pytest.raises(SignatureError):
        verify_url_request({"echostr": "x"}, TOKEN)


def test_safe_mode_post_vector():
    args = {
        "timestamp": "1714112445",
        "nonce": "415670741",
        "encrypt_type": "aes",
        "msg_signature": "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
    }
    assert sha1_signature(TOKEN, args["timestamp"], args["nonce"], VECTOR_ENCRYPT) == args["msg_signature"]
    body = f"<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt></xml>"
    msg, mode = decode_post(args, body.encode(), TOKEN, AES_KEY, APPID, check_time=False)
    assert mode == "aes"
    assert msg.to_user == "gh_97417a04a28d"
    assert msg.from_user == "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
    assert msg.create_time == 1714112445
    assert msg.msg_type == "event" and msg.event == "debug_demo"
    assert msg.raw["debug_str"] == "hello world"
    assert msg.msg_id is None
    # The same vector is refused as stale when the time is checked.
    with pytest.raises(SignatureError):
        decode_post(args, body.encode(), TOKEN, AES_KEY, APPID)


def test_vector_decrypts_to_json():
    plain = SafeModeCrypto(TOKEN, AES_KEY, APPID).decrypt(VECTOR_ENCRYPT)
    assert json.loads(plain)["debug_str"] == "hello world"


# --- crypto round trips -----------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 31, 32, 33, 1000])
def test_encrypt_decrypt_roundtrip(size):
    crypto = SafeModeCrypto(TOKEN, AES_KEY, APPID)
    plaintext = ("物业" * size).encode()[:size]
    encrypt = crypto.encrypt(plaintext)
    assert crypto.decrypt(encrypt) == plaintext
    assert crypto.encrypt(plaintext, b"r" * 16) == crypto.encrypt(plaintext, b"r" * 16)
    assert len(base64.b64decode(encrypt)) % 32 == 0  # padded to 32-byte blocks


def test_encrypt_reply_roundtrip():
    crypto = SafeModeCrypto(TOKEN, AES_KEY, APPID)
    reply = "<xml><Content><![CDATA[您好]]></Content></xml>"
    envelope = crypto.encrypt_reply(reply, "1714112445", "nonce9")
    root = ET.fromstring(envelope)
    fields = {k: root.find(k).text for k in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")}
    assert fields["TimeStamp"] == "1714112445" and fields["Nonce"] == "nonce9"
    assert fields["MsgSignature"] == sha1_signature(TOKEN, "1714112445", "nonce9", fields["Encrypt"])
    assert crypto.decrypt(fields["Encrypt"]).decode() == reply


def test_bad_aes_key():
    for key in ["A" * 42, "A" * 44, "!" * 43, "", "A" * 42 + "="]:
        with pytest.raises(ProtocolError):
            SafeModeCrypto(TOKEN, key, APPID)


# --- modes ------------------------------------------------------------------------------


def test_safe_mode_xml_post():
    args, body = aes_post(xml(**BASE, MsgType="text", Content="水管漏了", MsgId="42"))
    msg, mode = decode_post(args, body, TOKEN, AES_KEY, APPID, now=NOW)
    assert mode == "aes" and msg.content == "水管漏了" and msg.msg_id == "42"


def test_compatible_mode_trusts_only_the_ciphertext():
    args, body = aes_post(xml(**BASE, MsgType="text", Content="hi", MsgId="7"), compatible=True)
    assert "signature" in args and "msg_signature" in args
    msg, mode = decode_post(args, body, TOKEN, AES_KEY, APPID, now=NOW)
    assert mode == "aes" and msg.from_user == "oUSER" and msg.content == "hi"


def test_raw_encrypt_type_is_plain():
    args = dict(plain_args(), encrypt_type="raw")
    msg, mode = decode_post(args, xml(**BASE, MsgType="text", Content="x", MsgId="1"), TOKEN, None, None, now=NOW)
    assert mode == "plain"


def test_safe_mode_not_configured():
    args, body = aes_post(xml(**BASE, MsgType="text", Content="x", MsgId="1"))
    with pytest.raises(ProtocolError) as err:
        decode_post(args, body, TOKEN, None, None, now=NOW)
    assert not isinstance(err.value, SignatureError)


def decode_plain(body):
    # A plain-mode account has no EncodingAESKey (with one, plain pushes are refused).
    msg, mode = decode_post(plain_args(), body, TOKEN, None, None, now=NOW + 10)
    assert mode == "plain"
    return msg


def test_plain_text():
    msg = decode_plain(xml(**BASE, MsgType="text", Content="  电梯坏了 ]]", MsgId="1234567890123456"))
    assert isinstance(msg, InboundMessage)
    assert (msg.to_user, msg.from_user, msg.create_time) == ("gh_acc", "oUSER", NOW)
    assert msg.msg_type == "text" and msg.content == "  电梯坏了 ]]"
    assert msg.msg_id == "1234567890123456"
    assert msg.raw["Content"] == "  电梯坏了 ]]" and msg.raw["CreateTime"] == str(NOW)


def test_plain_image():
    msg = decode_plain(xml(**BASE, MsgType="image", PicUrl="http://x/p.jpg", MediaId="m1", MsgId="2"))
    assert (msg.msg_type, msg.pic_url, msg.media_id) == ("image", "http://x/p.jpg", "m1")


def test_plain_voice_with_recognition():
    msg = decode_plain(xml(**BASE, MsgType="voice", MediaId="v1", Format="amr", Recognition="我要报修", MsgId="3"))
    assert (msg.msg_type, msg.media_id, msg.format, msg.recognition) == ("voice", "v1", "amr", "我要报修")
    empty = decode_plain(xml(**BASE, MsgType="voice", MediaId="v1", Format="amr", Recognition="", MsgId="4"))
    assert empty.recognition == ""
    absent = decode_plain(xml(**BASE, MsgType="voice", MediaId="v1", Format="amr", MsgId="5"))
    assert absent.recognition is None


def test_plain_subscribe_with_scene():
    msg = decode_plain(xml(**BASE, MsgType="event", Event="subscribe", EventKey="qrscene_123", Ticket="T"))
    assert (msg.msg_type, msg.event, msg.event_key, msg.msg_id) == ("event", "subscribe", "qrscene_123", None)


def test_plain_click():
    msg = decode_plain(xml(**BASE, MsgType="event", Event="CLICK", EventKey="REPAIR"))
    assert (msg.event, msg.event_key) == ("click", "REPAIR")


def test_plain_location_message_and_event():
    msg = decode_plain(
        xml(
            **BASE,
            MsgType="location",
            Location_X=23.134521,
            Location_Y=113.358803,
            Scale=20,
            Label="幸福小区3栋",
            MsgId="6",
        )
    )
    assert msg.location == (23.134521, 113.358803) and msg.label == "幸福小区3栋"
    evt = decode_plain(xml(**BASE, MsgType="event", Event="LOCATION", Latitude=23.1, Longitude=113.3, Precision=119.4))
    assert evt.event == "location" and evt.location == (23.1, 113.3)


def test_nested_event_fields_flattened():
    body = (
        b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>event</MsgType><Event>scancode_push</Event><EventKey>k</EventKey>"
        b"<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo></xml>"
    )
    msg = parse_message(body)
    assert msg.raw["ScanCodeInfo"] == "qrcode1"


def test_parse_json_message():
    msg = parse_message(json.dumps({**BASE, "MsgType": "text", "Content": "hi", "MsgId": 99}).encode())
    assert msg.content == "hi" and msg.msg_id == "99" and msg.create_time == NOW


def test_dedupe_key():
    text = decode_plain(xml(**BASE, MsgType="text", Content="x", MsgId="555"))
    assert text.dedupe_key == "msg:555"
    evt = decode_plain(xml(**BASE, MsgType="event", Event="subscribe"))
    assert evt.dedupe_key == f"evt:oUSER:{NOW}:subscribe"
    # A template-send report carries MsgID (our outbound id), not MsgId.
    tpl = decode_plain(xml(**BASE, MsgType="event", Event="TEMPLATESENDJOBFINISH", MsgID=200163836, Status="success"))
    assert tpl.msg_id is None and tpl.dedupe_key == f"evt:oUSER:{NOW}:templatesendjobfinish"


def test_timestamp_window():
    check_timestamp(str(NOW - 300), NOW)
    check_timestamp(str(NOW + 300), NOW)
    for bad in [str(NOW - 360), str(NOW + 360), "", "abc", "1e9", " 1700000000", "-1", "١٢٣"]:
        with pytest.raises(SignatureError):
            check_timestamp(bad, NOW)


def test_module_does_not_import_flask():
    import ast
    import pathlib

    import webhook.wechat

    for path in pathlib.Path(webhook.wechat.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] in ("flask", "werkzeug") for n in names), path
