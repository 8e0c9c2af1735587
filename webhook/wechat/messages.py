"""Inbound message parsing, the passive text reply, and splitting long text."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Mapping

import defusedxml.ElementTree as DET

from .errors import PayloadTooLarge, ProtocolError

MAX_BODY_BYTES = 256 * 1024  # real pushes are a few KB; anything bigger is not WeChat


@dataclass(frozen=True)
class InboundMessage:
    to_user: str  # ToUserName (the account)
    from_user: str  # FromUserName (openid)
    create_time: int
    msg_type: str  # text, image, voice, video, shortvideo, location, link, event
    msg_id: str | None
    content: str | None = None
    pic_url: str | None = None
    media_id: str | None = None
    recognition: str | None = None  # WeChat's voice transcript; empty or absent when off
    format: str | None = None
    event: str | None = None  # lower-cased
    event_key: str | None = None
    location: tuple[float, float] | None = None  # (latitude, longitude)
    label: str | None = None
    # A plain dict, not a read-only proxy: the message may be pickled onto a job queue.
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        # WeChat retries with the same MsgId; events have none, so FromUserName + CreateTime.
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.from_user}:{self.create_time}:{self.event or ''}"


def parse_fields(data: bytes) -> dict[str, str]:
    """Top-level fields of an XML or JSON push, every value as text. ProtocolError otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise ProtocolError("body must be bytes")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge("body too large")
    head = bytes(data).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return _xml_fields(data)
    if head.startswith(b"{"):
        return _json_fields(data)
    raise ProtocolError("body is neither XML nor JSON")


def _xml_fields(data: bytes) -> dict[str, str]:
    try:
        # No DTD at all: WeChat never sends one, and it is how entity attacks start.
        root = DET.fromstring(bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as exc:  # any parser failure (ParseError, Defused*, LookupError...) is malformed input
        raise ProtocolError(f"bad XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise ProtocolError("root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str):  # comments / processing instructions
            continue
        if child.tag in fields:
            # Two FromUserName fields would let whichever reader wins decide who spoke.
            raise ProtocolError(f"duplicate field {child.tag}")
        # Leaf text kept as is (Content may start with spaces); nested fields (ScanCodeInfo...)
        # flattened, their full structure is not needed by the app.
        fields[child.tag] = "".join(t.strip() for t in child.itertext()) if len(child) else (child.text or "")
    return fields


def _json_fields(data: bytes) -> dict[str, str]:
    try:
        obj = json.loads(bytes(data))
    except Exception as exc:  # ValueError, UnicodeDecodeError, RecursionError on deep nesting
        raise ProtocolError(f"bad JSON: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("JSON body is not an object")
    fields = {}
    for key, value in obj.items():
        if value is None:
            value = ""
        elif isinstance(value, (dict, list, bool)):
            value = json.dumps(value, ensure_ascii=False)
        fields[key] = str(value)
    return fields


def _float(raw: Mapping[str, str], key: str) -> float:
    try:
        value = float(raw[key])
    except (KeyError, ValueError):
        raise ProtocolError(f"bad or missing {key}") from None
    if not math.isfinite(value):
        raise ProtocolError(f"bad {key}")
    return value


def message_from_fields(raw: dict[str, str]) -> InboundMessage:
    for key in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not raw.get(key, "").strip():
            raise ProtocolError(f"missing {key}")
    create_time = raw["CreateTime"].strip()
    if not re.fullmatch(r"[0-9]{1,12}", create_time):
        raise ProtocolError("CreateTime is not a number")
    msg_type = raw["MsgType"].strip().lower()
    event = raw["Event"].strip().lower() if raw.get("Event") else None

    location = None
    if msg_type == "location":
        location = (_float(raw, "Location_X"), _float(raw, "Location_Y"))
    elif event == "location":
        location = (_float(raw, "Latitude"), _float(raw, "Longitude"))

    return InboundMessage(
        to_user=raw["ToUserName"].strip(),
        from_user=raw["FromUserName"].strip(),
        create_time=int(create_time),
        msg_type=msg_type,
        # Only MsgId: the MsgID of TEMPLATESENDJOBFINISH names our outbound send, not this push.
        msg_id=raw.get("MsgId", "").strip() or None,
        content=raw.get("Content"),
        pic_url=raw.get("PicUrl"),
        media_id=raw.get("MediaId"),
        recognition=raw.get("Recognition"),
        format=raw.get("Format"),
        event=event,
        event_key=raw.get("EventKey"),
        location=location,
        label=raw.get("Label"),
        raw=raw,
    )


def parse_message(data: bytes) -> InboundMessage:
    """An inbound push (XML, or JSON as the new push format and the debug tool send)."""
    return message_from_fields(parse_fields(data))


# Characters XML 1.0 cannot carry at all, not even in CDATA; lone surrogates cannot be encoded.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def cdata(text: str) -> str:
    text = _NOT_XML.sub("", text)
    # "]]>" would end the section early; close and reopen around it.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text_reply(to_user: str, from_user: str, content: str, create_time: int | None = None) -> str:
    """Passive text reply. to_user is the owner's openid, from_user the account."""
    create_time = int(time.time()) if create_time is None else int(create_time)
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


_BREAK_AFTER = frozenset("\n。！？!?")
_PREFER_WINDOW = 0.3  # look for a break only in the last 30% so parts do not get tiny


def split_text(content: str, limit_bytes: int = 2048) -> list[str]:
    """Split into parts of at most limit_bytes UTF-8 bytes, whole characters only, preferring
    to end a part after a newline or sentence punctuation. "" gives []."""
    if limit_bytes < 4:  # a 4-byte character must fit, or no progress is possible
        raise ValueError("limit_bytes must be at least 4")
    parts: list[str] = []
    start, n = 0, len(content)
    while start < n:
        end, size = start, 0
        while end < n:
            width = len(content[end].encode("utf-8", "surrogatepass"))
            if size + width > limit_bytes:
                break
            size += width
            end += 1
        if end < n:
            floor = end - max(1, int((end - start) * _PREFER_WINDOW))
            for i in range(end - 1, max(floor, start) - 1, -1):
                if content[i] in _BREAK_AFTER:
                    end = i + 1
                    break
        parts.append(content[start:end])
        start = end
    return parts
