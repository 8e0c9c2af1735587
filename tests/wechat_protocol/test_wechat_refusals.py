"""Forged, stale, malformed and hostile requests: only ProtocolError / SignatureError escape."""

import base64
import random
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from webhook.wechat import (
    PayloadTooLarge,
    ProtocolError,
    SafeModeCrypto,
    SignatureError,
    decode_post,
    parse_message,
    sha1_signature,
)

TOKEN, AES_KEY, APPID = "AAAAA", "A" * 43, "wxba5fad812f8e6fb9"
NOW = 1_700_000_000
TEXT = (
    b"<xml><ToUserName><![CDATA[gh_acc]]></ToUserName><FromUserName><![CDATA[oUSER]]></FromUserName>"
    b"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    b"<Content><![CDATA[hello]]></Content><MsgId>1</MsgId></xml>"
)


def plain_args(ts=str(NOW), nonce="n1"):
    return {"signature": sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


def signed_aes(encrypt, ts=str(NOW), nonce="n2"):
    args = {
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(TOKEN, ts, nonce, encrypt),
    }
    return args, f"<xml><ToUserName>gh_acc</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()


def raw_encrypt(data: bytes) -> str:
    """AES with the account key over arbitrary bytes: lets a test build bad padding etc."""
    key = base64.b64decode(AES_KEY + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def decode(args, body, **kw):
    # Plain pushes are checked as a plain-mode account (no key) would: with a key they are
    # refused before their signature is even looked at, which would hide what is tested here.
    aes = (args.get("encrypt_type") or "").lower() == "aes"
    return decode_post(
        args, body, TOKEN, AES_KEY if aes else None, APPID if aes else None, now=kw.pop("now", NOW), **kw
    )


def test_wrong_signature():
    with pytest.raises(SignatureError):
        decode(dict(plain_args(), signature="f" * 40), TEXT)
    with pytest.raises(SignatureError):
        decode(dict(plain_args(), signature="签名"), TEXT)  # non-ASCII must not be a TypeError


@pytest.mark.parametrize("missing", ["signature", "timestamp", "nonce"])
def test_missing_signature_params(missing):
    args = plain_args()
    del args[missing]
    with pytest.raises(SignatureError):
        decode(args, TEXT)


def test_wrong_msg_signature():
    args, body = signed_aes(SafeModeCrypto(TOKEN, AES_KEY, APPID).encrypt(TEXT))
    with pytest.raises(SignatureError):
        decode(dict(args, msg_signature="0" * 40), body)
    with pytest.raises(SignatureError):
        decode({k: v for k, v in args.items() if k != "msg_signature"}, body)


def test_wrong_appid_in_plaintext():
    # Correctly signed, but encrypted for another account.
    args, body = signed_aes(SafeModeCrypto(TOKEN, AES_KEY, "wx0000000000000000").encrypt(TEXT))
    with pytest.raises(SignatureError):
        decode(args, body)


def test_tampered_ciphertext():
    encrypt = SafeModeCrypto(TOKEN, AES_KEY, APPID).encrypt(TEXT)
    data = bytearray(base64.b64decode(encrypt))
    data[-1] ^= 1
    tampered = base64.b64encode(bytes(data)).decode()
    args, body = signed_aes(encrypt)
    with pytest.raises(SignatureError):  # signed over the original: the signature catches it
        decode(args, body.replace(encrypt.encode(), tampered.encode()))
    with pytest.raises(SignatureError):  # re-signed by someone with the token: decryption catches it
        decode(*signed_aes(tampered))


@pytest.mark.parametrize(
    "pad_bytes",
    [
        b"\x00" * 32,  # pad 0
        b"\x21" * 32,  # pad 33 > 32
        b"\x05" * 31 + b"\x04",  # inconsistent pad bytes
    ],
)
def test_bad_padding(pad_bytes):
    body = b"r" * 16 + struct.pack(">I", 5) + b"hello" + APPID.encode()
    body += b"x" * (-len(body) % 32)
    args, post = signed_aes(raw_encrypt(body + pad_bytes))
    with pytest.raises(SignatureError):
        decode(args, post)


def test_bad_length_field():
    body = b"r" * 16 + struct.pack(">I", 10_000) + b"hello" + APPID.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(SignatureError):
        decode(*signed_aes(raw_encrypt(body + bytes([pad]) * pad)))


@pytest.mark.parametrize("encrypt", ["not base64!", "QUJD", "", "A" * 15 + "="])
def test_malformed_encrypt(encrypt):
    with pytest.raises(ProtocolError):
        SafeModeCrypto(TOKEN, AES_KEY, APPID).decrypt(encrypt)


@pytest.mark.parametrize("offset", [360, -360])
def test_stale_timestamp(offset):
    with pytest.raises(SignatureError):
        decode(plain_args(), TEXT, now=NOW + offset)
    args, body = signed_aes(SafeModeCrypto(TOKEN, AES_KEY, APPID).encrypt(TEXT))
    with pytest.raises(SignatureError):
        decode(args, body, now=NOW + offset)
    decode(plain_args(), TEXT, now=NOW + offset, check_time=False)  # explicit opt-out works


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content></xml>"""
BARE_DOCTYPE = b"<!DOCTYPE xml><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName></xml>"


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        BARE_DOCTYPE,
        b"hello world",
        b"",
        b"   ",
        b"\xff\xfe\x00",
        b"<xml>",
        b"<xml></xml>",
        b"[]",
        b"{",
        b'"x"',
        TEXT.replace(b"<FromUserName><![CDATA[oUSER]]></FromUserName>", b""),
        TEXT.replace(b"<MsgType><![CDATA[text]]></MsgType>", b""),
        TEXT.replace(b"1700000000", b"soon"),
        TEXT.replace(b"<xml>", b"<root>").replace(b"</xml>", b"</root>"),
        TEXT.replace(b"</xml>", b"<FromUserName>oOTHER</FromUserName></xml>"),  # duplicate field
        TEXT.replace(b"text", b"location").replace(
            b"</xml>", b"<Location_X>nan</Location_X><Location_Y>1</Location_Y></xml>"
        ),
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_are_protocol_errors(body):
    with pytest.raises(ProtocolError) as err:
        decode(plain_args(), body)
    assert not isinstance(err.value, SignatureError)


def test_aes_envelope_without_encrypt():
    args, _ = signed_aes("x")
    with pytest.raises(ProtocolError):
        decode(args, b"<xml><ToUserName>gh</ToUserName></xml>")


def test_unknown_encrypt_type():
    with pytest.raises(ProtocolError):
        decode(dict(plain_args(), encrypt_type="rot13"), TEXT)


def test_oversized_body():
    with pytest.raises(PayloadTooLarge):
        decode(plain_args(), TEXT + b" " * 1_000_000)


def _mutate(rng, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        pos = rng.randrange(len(data) + 1)
        if op < 0.4 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op < 0.7:
            data[pos:pos] = rng.choice(
                [b"<", b">", b"&", b"]]>", b"<!DOCTYPE x>", b"&x;", b"\x00", b"\xe4\xb8", b"<a>", b"</xml>", b"{", b'"']
            )
        else:
            del data[pos : pos + rng.randint(1, 20)]
    return bytes(data)


def test_fuzz_only_protocol_errors_escape():
    rng = random.Random(20240426)
    crypto = SafeModeCrypto(TOKEN, AES_KEY, APPID)
    json_body = b'{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"event","Event":"x"}'
    seeds = [TEXT, json_body, BILLION_LAUGHS, EXTERNAL_ENTITY]
    outcomes = {"ok": 0, "refused": 0}

    def attempt(fn):
        try:
            fn()
            outcomes["ok"] += 1
        except ProtocolError:
            outcomes["refused"] += 1
        # anything else propagates and fails the test

    for i in range(400):
        kind = i % 4
        if kind == 0:  # random bytes
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
            attempt(lambda: decode(plain_args(), body))
        elif kind == 1:  # mutated valid / hostile plain bodies, correctly signed
            body = _mutate(rng, rng.choice(seeds))
            attempt(lambda: decode(plain_args(), body))
        elif kind == 2:  # correctly signed safe-mode posts whose plaintext was mutated
            attempt(lambda: decode(*signed_aes(crypto.encrypt(_mutate(rng, rng.choice(seeds))))))
        else:  # random ciphertext of any length, correctly signed, and mutated base64
            encrypt = base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.choice([16, 32, 48, 64, 100]))))
            attempt(lambda: decode(*signed_aes(encrypt.decode())))
            attempt(lambda: crypto.decrypt(_mutate(rng, crypto.encrypt(TEXT).encode()).decode("latin-1")))
    assert outcomes["refused"] > 300 and outcomes["ok"] > 0, outcomes  # both paths exercised


def test_parse_message_fuzz_random_args():
    rng = random.Random(7)
    for _ in range(200):
        args = {
            k: "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(0, 5)))
            for k in rng.sample(["signature", "timestamp", "nonce", "encrypt_type", "msg_signature"], rng.randint(0, 5))
        }
        with pytest.raises(ProtocolError):
            decode(args, TEXT)
    with pytest.raises(ProtocolError):
        parse_message("not bytes but str")
