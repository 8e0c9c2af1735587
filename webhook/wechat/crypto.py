"""Safe mode (安全模式) message encryption: AES-256-CBC as WeChat specifies it.

Written on `cryptography` directly rather than wechatpy 1.8.18's WeChatCrypto: that one
checks neither the padding bytes nor the length field against the buffer, compares the
signature with `!=` and parses the envelope with plain xmltodict (entities allowed).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import ProtocolError, SignatureError
from .messages import cdata
from .signing import sha1_signature

_BLOCK = 32  # WeChat pads to 32 bytes, not to the AES block size of 16
_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")
_B64_RE = re.compile(rb"[A-Za-z0-9+/]+={0,2}")


class SafeModeCrypto:
    def __init__(self, token: str, encoding_aes_key: str, appid: str):
        if not isinstance(encoding_aes_key, str) or not _KEY_RE.fullmatch(encoding_aes_key):
            raise ProtocolError("EncodingAESKey must be 43 base64 characters")
        if not appid:
            raise ProtocolError("safe mode needs the appid")
        self.token = token
        self.appid = appid
        self._appid_bytes = appid.encode("utf-8")
        self._key = base64.b64decode(encoding_aes_key + "=")  # 32 bytes

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plaintext: bytes, random16: bytes | None = None) -> str:
        random16 = os.urandom(16) if random16 is None else random16
        if len(random16) != 16:
            raise ValueError("random16 must be 16 bytes")
        data = random16 + struct.pack(">I", len(plaintext)) + plaintext + self._appid_bytes
        pad = _BLOCK - len(data) % _BLOCK  # always 1..32, a full block when aligned
        data += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypt_b64: str) -> bytes:
        raw = encrypt_b64.encode("ascii", "replace") if isinstance(encrypt_b64, str) else b""
        if not _B64_RE.fullmatch(raw):
            raise ProtocolError("Encrypt is not base64")
        try:
            cipher_bytes = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("Encrypt is not base64") from None
        if not cipher_bytes or len(cipher_bytes) % 16:
            raise ProtocolError("Encrypt is not a whole number of AES blocks")
        dec = self._cipher().decryptor()
        data = dec.update(cipher_bytes) + dec.finalize()

        # Everything below fails the same way, with the same message: no hint as to which
        # check failed (no padding oracle), and a forgery is a 403, not a 400.
        pad = data[-1]
        ok = 1 <= pad <= _BLOCK and len(data) >= 20 + pad and data[-pad:] == bytes([pad]) * pad
        if ok:
            body = data[16:-pad]
            (length,) = struct.unpack(">I", body[:4])
            ok = 4 + length <= len(body)
        if ok:
            msg, appid = body[4 : 4 + length], body[4 + length :]
            ok = hmac.compare_digest(appid, self._appid_bytes)
        if not ok:
            raise SignatureError("message does not decrypt for this account")
        return msg

    def encrypt_reply(self, reply_xml: str, timestamp: str, nonce: str) -> str:
        encrypt = self.encrypt(reply_xml.encode("utf-8"))
        signature = sha1_signature(self.token, str(timestamp), str(nonce), encrypt)
        return (
            f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{cdata(str(timestamp))}</TimeStamp>"
            f"<Nonce>{cdata(str(nonce))}</Nonce></xml>"
        )
