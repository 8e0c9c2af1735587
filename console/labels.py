"""Chinese labels for codes, Beijing time for timestamps, masked phone numbers: template filters."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from backend.core.clock import SHANGHAI
from backend.core.models import TICKET_CHANNELS
from backend.text.phones import mask, mask_phones
from console.access import PERMISSIONS, ROLE_LABELS, can

STATUS = {
    "new": "待派单",
    "dispatched": "已派单",
    "accepted": "已接单",
    "on_site": "处理中",
    "done": "已完成",
    "closed": "已关闭",
    "cancelled": "已取消",
}
KIND = {"repair": "报修", "complaint": "投诉", "paid_service": "有偿服务", "suggestion": "意见/建议"}
URGENCY = {"urgent": "紧急", "normal": "普通"}
STAFF_ROLE = {"technician": "维修师傅", "supervisor": "主管", "customer_service": "客服"}
RESIDENT_ROLE = {"owner": "业主", "tenant": "租户", "family": "家属"}
STEP = {
    "created": "业主提交",
    "renovation": "相关装修",
    "photo_added": "上传照片",
    "note": "备注",
    "reply": "回复业主",
    "status_changed": "状态变更",
    "cancelled": "取消",
    "dispatched": "派单",
    "assigned": "派单",
    "reassigned": "改派",
    "accepted": "接单",
    "on_site": "到场",
    "arrived": "到场",
    "reopened": "重新打开",
    "handled": "办结",
    "done": "完工",
    "closed": "关闭",
    "rated": "评价",
}
OUTBOUND_STATUS = {"queued": "待发送", "sent": "已发送", "failed": "发送失败", "local": "已发送（本地）"}
ASSIGNMENT = {
    "pending": "待接单",
    "accepted": "已接单",
    "transferred": "已转派",
    "timed_out": "超时未接",
    "closed": "已结束",
    "declined": "已拒绝",
}
FINISHED = ("done", "closed", "cancelled")


def beijing(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(SHANGHAI).strftime(fmt)


def duration(seconds: float) -> str:
    """Whole minutes, hours and days in Chinese: 25分钟, 3小时10分钟, 2天5小时."""
    minutes = max(int(seconds // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    return f"{minutes}分钟"


def actor(value: str | None) -> str:
    """Who did a step, in words: 业主 / 员工 #3 / 后台 admin / 系统."""
    value = value or ""
    kind, _, who = value.partition(":")
    return {"owner": "业主", "staff": f"员工 #{who}", "console": f"后台 {who}", "system": "系统"}.get(kind, value)


def shown(value):
    """Jinja's `finalize`: every value a page prints passes here, so a phone number an owner (or a
    colleague) typed into a message, a description or a note is masked on every page, for every
    role, including pages written later. Only Markup passes unchanged (see `unmasked`)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return mask_phones(value)
    return value


def unmasked(value: str | None) -> Markup:
    """Printed as it is (still HTML-escaped): the number 显示号码 revealed (audited), the CSRF
    token, what the viewer typed into a search box, a photo's address."""
    return escape(value or "")


def same_site_path(target: str) -> bool:
    """A path on this site, and nothing a browser could read as another host: no scheme, no
    "//host", no backslash ("/\\host" is "//host" to browsers), no control characters or spaces
    (browsers drop tabs and newlines, so "/\\t/evil.example" becomes "//evil.example")."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(unicodedata.category(c)[0] in "CZ" for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def photo_url(value: str | None) -> Markup | None:
    """A photo's address, only when it is a web address (WeChat's PicUrl) or a path on this site
    (the demo's); anything else (say a javascript: link) is not shown at all."""
    value = (value or "").strip()
    web = value.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in value)
    if web or same_site_path(value):
        return unmasked(value)
    return None


def register(app) -> None:
    app.jinja_env.filters.update(
        beijing=beijing,
        mask=mask,
        mask_phones=mask_phones,
        unmasked=unmasked,
        photo_url=photo_url,
        duration=duration,
        actor=actor,
        status=lambda c: STATUS.get(c, c),
        kind=lambda c: KIND.get(c, c),
        channel=lambda c: TICKET_CHANNELS.get(c, c),
        urgency=lambda c: URGENCY.get(c, c),
        staff_role=lambda c: STAFF_ROLE.get(c, c),
        resident_role=lambda c: RESIDENT_ROLE.get(c, c),
        step=lambda c: STEP.get(c, c),
        outbound_status=lambda c: OUTBOUND_STATUS.get(c, c),
        assignment=lambda c: ASSIGNMENT.get(c, c),
    )
    app.jinja_env.globals.update(
        STATUS=STATUS,
        KIND=KIND,
        URGENCY=URGENCY,
        ROLE_LABELS=ROLE_LABELS,
        can=can,
        PERMISSIONS=PERMISSIONS,
    )
