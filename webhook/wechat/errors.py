"""Exceptions of the inbound protocol layer; each maps to one HTTP status in the app."""


class ProtocolError(Exception):
    """The request is malformed: the app answers 400."""


class SignatureError(ProtocolError):
    """Forged, badly signed, stale or undecryptable request: the app answers 403."""


class PayloadTooLarge(ProtocolError):
    """The body is larger than any real WeChat push: the app answers 413."""
