"""The inbound webhook protocol: URL check and POST decoding (plain, safe and compatible mode).

Pure protocol, no web framework: the app passes the query args and the raw body in and maps
the exceptions to statuses (ProtocolError 400, SignatureError 403, PayloadTooLarge 413).
"""

from __future__ import annotations

import time
from typing import Mapping

from .crypto import SafeModeCrypto
from .errors import PayloadTooLarge, ProtocolError, SignatureError
from .messages import (
    MAX_BODY_BYTES,
    InboundMessage,
    message_from_fields,
    parse_fields,
    parse_message,
    render_text_reply,
    split_text,
)
from .signing import check_msg_signature, check_timestamp, check_url, sha1_signature

__all__ = [
    "MAX_BODY_BYTES",
    "InboundMessage",
    "PayloadTooLarge",
    "ProtocolError",
    "SafeModeCrypto",
    "SignatureError",
    "check_timestamp",
    "check_url",
    "decode_post",
    "parse_message",
    "render_text_reply",
    "sha1_signature",
    "split_text",
    "verify_url_request",
]


def verify_url_request(
    args: Mapping[str, str], token: str, aes_key: str | None = None, appid: str | None = None, now: float | None = None
) -> str:
    """The admin UI's GET URL check: the echostr to answer, or SignatureError.

    The timestamp is deliberately not checked for freshness (a one-off by the admin UI, and the
    official vector is old); `aes_key`, `appid` and `now` are accepted for symmetry and unused:
    an official account's URL check is plain even in safe mode.
    """
    check_url(token, args.get("signature"), args.get("timestamp"), args.get("nonce"))
    echostr = args.get("echostr")
    if not echostr:
        raise ProtocolError("missing echostr")
    return echostr


def decode_post(
    args: Mapping[str, str],
    body: bytes,
    token: str,
    aes_key: str | None,
    appid: str | None,
    now: float | None = None,
    check_time: bool = True,
) -> tuple[InboundMessage, str]:
    """Authenticate and parse one pushed message. Returns (message, "plain" | "aes")."""
    encrypt_type = (args.get("encrypt_type") or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        raise ProtocolError("unknown encrypt_type")
    if encrypt_type == "aes" and not (aes_key and appid):
        raise ProtocolError("safe mode not configured")
    if aes_key and encrypt_type != "aes":
        # No silent downgrade: with an EncodingAESKey the account is in safe or compatible mode,
        # and both always send encrypt_type=aes; a plain push can only be someone else's.
        raise SignatureError("plain mode refused: the account is configured with an EncodingAESKey")
    if not token:
        raise ProtocolError("no token configured")

    timestamp, nonce = args.get("timestamp"), args.get("nonce")
    if not (isinstance(timestamp, str) and timestamp and isinstance(nonce, str) and nonce):
        raise SignatureError("missing signature parameters")

    if encrypt_type == "raw":
        check_url(token, args.get("signature"), timestamp, nonce)
        if check_time:
            check_timestamp(timestamp, time.time() if now is None else now)
        return parse_message(body), "plain"

    # Safe or compatible mode. Compatible mode also sends `signature` and plaintext fields;
    # only msg_signature covers the ciphertext, so that alone is checked and only the
    # decrypted fields are trusted.
    msg_signature = args.get("msg_signature")
    if not msg_signature:
        raise SignatureError("missing msg_signature")
    if check_time:
        check_timestamp(timestamp, time.time() if now is None else now)
    crypto = SafeModeCrypto(token, aes_key, appid)
    encrypt = parse_fields(body).get("Encrypt")
    if not encrypt:
        raise ProtocolError("missing Encrypt")
    check_msg_signature(token, msg_signature, timestamp, nonce, encrypt)
    return message_from_fields(parse_fields(crypto.decrypt(encrypt))), "aes"
