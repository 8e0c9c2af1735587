"""Owners' own answers through /wechat against the real stack, with the two demo communities
loaded (幸福里花园 and 阳光城, both with a 3栋2单元501): binding on the right phone, then the
fee from the imported bills; a wrong phone binds nothing; notices and contacts come from the
owner's own community."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from backend.core.models import BindingRequest, WechatBinding

_owner = itertools.count(1)


def new_owner(mode: str) -> str:
    return f"o-e2e-home-{mode}-{next(_owner)}"


def read(db_session, stmt):
    """Read, then end the transaction: on SQLite an open one holds the write lock (BEGIN
    IMMEDIATE) and the webhook could not record the next message."""
    db_session.expire_all()
    found = db_session.execute(stmt).scalars().all()
    db_session.commit()
    return found


def bindings_of(db_session, openid):
    return read(db_session, select(WechatBinding).where(WechatBinding.openid == openid))


def test_bind_with_the_right_phone_then_the_fee_is_the_imported_bill(wechat, db_session):
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "我还欠多少物业费")
    assert "绑定" in reply
    reply, _ = wechat.say(owner, "绑定房屋")
    assert "手机号" in reply
    reply, _ = wechat.say(owner, "3栋2单元501 13800001001")
    assert "绑定成功" in reply and "幸福里花园 3栋2单元501" in reply
    (binding,) = bindings_of(db_session, owner)
    assert binding.is_current and binding.resident_id is not None
    reply, _ = wechat.say(owner, "我家物业费还欠多少")
    assert "751.80元" in reply and "2026年第4季度" in reply
    assert "2.80元/m²/月 × 89.50m²" in reply and "收支公示" in reply


def test_wrong_phone_is_refused_and_binds_nothing(wechat, db_session):
    owner = new_owner(wechat.mode)
    reply, _ = wechat.say(owner, "我是3栋2单元501的业主 帮我绑定 手机13912345678")
    assert "没有绑定" in reply and "139****5678" in reply
    assert bindings_of(db_session, owner) == []
    requests = read(db_session, select(BindingRequest).where(BindingRequest.openid == owner))
    assert [r.reason for r in requests] == ["phone_not_listed"]
    reply, _ = wechat.say(owner, "物业费欠多少")
    assert "先绑定" in reply and "751.80" not in reply


def test_notices_and_contacts_come_from_the_owners_own_community(wechat, db_session):
    mine, theirs = new_owner(wechat.mode), new_owner(wechat.mode)
    assert "绑定成功" in wechat.say(mine, "绑定 3-2-501 13800001001")[0]
    assert "绑定成功" in wechat.say(theirs, "绑定房屋 阳光城3栋2单元501 手机13800003001")[0]

    reply, _ = wechat.say(mine, "最近有什么通知")
    assert "幸福里花园" in reply and "消杀" in reply and "地下车库照明" not in reply
    reply, _ = wechat.say(mine, "更多")
    assert "垃圾分类" in reply and "消杀" not in reply
    reply, _ = wechat.say(theirs, "最近有什么通知")
    assert "阳光城" in reply and "地下车库照明改造" in reply and "消杀" not in reply

    reply, _ = wechat.say(mine, "物业电话多少")
    assert "0571-8888 6666" in reply and "林晓" in reply and "021" not in reply
    reply, _ = wechat.say(theirs, "管家电话多少")
    assert "021-6666 8888" in reply and "马可" in reply and "0571" not in reply


def test_paid_service_price_and_booking_for_the_bound_home(wechat, db_session):
    from backend.core.models import Ticket

    owner = new_owner(wechat.mode)
    assert "绑定成功" in wechat.say(owner, "绑定 3-2-501 13800001001")[0]
    reply, _ = wechat.say(owner, "开锁多少钱")
    assert "80.00元/次" in reply
    reply, _ = wechat.say(owner, "帮我预约开锁")
    (ticket,) = read(db_session, select(Ticket).where(Ticket.openid == owner))
    assert ticket.kind == "paid_service" and ticket.number.startswith("FW") and ticket.number in reply
    assert ticket.location_label == "3栋2单元501"
