"""Request signatures and timestamp freshness."""

from __future__ import annotations

import hashlib
import hmac
import re

from .errors import SignatureError

_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() would accept "١٢٣"


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: the parts sorted as strings, joined, SHA-1 hex."""
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode("utf-8")).hexdigest()


def _same(expected: str, given) -> bool:
    # Bytes, because compare_digest refuses non-ASCII str (a TypeError, not a refusal).
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8"))


def check_url(token: str, signature, timestamp, nonce) -> None:
    """Check `signature` = sha1(token, timestamp, nonce); SignatureError if it does not match."""
    if not (token and isinstance(timestamp, str) and isinstance(nonce, str)):
        raise SignatureError("missing signature parameters")
    if not _same(sha1_signature(token, timestamp, nonce), signature):
        raise SignatureError("bad signature")


def check_msg_signature(token: str, msg_signature, timestamp: str, nonce: str, encrypt: str) -> None:
    if not _same(sha1_signature(token, timestamp, nonce, encrypt), msg_signature):
        raise SignatureError("bad msg_signature")


def check_timestamp(timestamp: str, now: float, tolerance: int = 300) -> None:
    """Refuse replays: the timestamp must be within `tolerance` seconds of now, either way."""
    if not isinstance(timestamp, str) or not _DIGITS.fullmatch(timestamp):
        raise SignatureError("timestamp is not a number")
    if abs(now - int(timestamp)) > tolerance:
        raise SignatureError("stale timestamp")
