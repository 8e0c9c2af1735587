"""The one builder of template messages (模板消息) and its one truncation rule.

Since May 2023 WeChat shows only a template's keyword fields (no first/remark), and cuts each at
about 20 characters on the phone (docs/WECHAT_PROTOCOL.md). So every field is squeezed to one line
and, when longer than FIELD_LIMIT, cut to FIELD_LIMIT - 1 characters plus "…", so the reader sees
that something was cut rather than a word broken silently. The full text travels with the
template (`text`), for the customer-service message and for our own records.
"""

from __future__ import annotations

FIELD_LIMIT = 20


def cut(value: str | None) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= FIELD_LIMIT else value[: FIELD_LIMIT - 1] + "…"


def fields(*values: str | None) -> dict:
    """{"keyword1": {"value": …}, …} in the order given."""
    return {f"keyword{i}": {"value": cut(v)} for i, v in enumerate(values, start=1)}


def message(template_id: str, text: str, *values: str | None, url: str | None = None) -> dict:
    """What delivery.record keeps as `template`: the id, the keyword fields, the link, the full text."""
    return {"template_id": template_id, "data": fields(*values), "url": url, "text": text}
