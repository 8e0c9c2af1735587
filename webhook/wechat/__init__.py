"""WeChat official-account inbound protocol. Pure protocol, no Flask: the app wraps it."""

from .crypto import SafeModeCrypto
from .errors import PayloadTooLarge, ProtocolError, SignatureError
from .messages import MAX_BODY_BYTES, InboundMessage, parse_message, render_text_reply, split_text
from .protocol import decode_post, verify_url_request
from .signing import check_timestamp, check_url, sha1_signature

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
