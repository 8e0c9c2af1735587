"""Interruptions in the complaint form, the decoration application and a waiting binding, through
/wechat against the real stack (trained model, action server): a question is answered and the
pending question asked again, off-topic is declined (a second time leaves), 不办了 / 算了 stops the
flow and nothing is recorded (issue 14; actions/interruptions.py)."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from backend.core.models import RenovationApplication, Ticket

_owner = itertools.count(1)

ASK_WHAT = "具体是什么情况"  # utter_ask_complaint_description
ASK_WHERE = "是在哪里发生的"  # utter_ask_complaint_location


def new_owner(mode: str) -> str:
    return f"o-e2e-intr-{mode}-{next(_owner)}"


def rows(db_session, model, **where):
    db_session.expire_all()
    found = db_session.execute(select(model).filter_by(**where)).scalars().all()
    db_session.expunge_all()
    db_session.commit()
    return found


def test_a_complaint_survives_a_question_and_off_topic_then_is_cancelled(wechat, db_session):
    owner = new_owner(wechat.mode)
    assert ASK_WHAT in wechat.say(owner, "我要投诉")[0]
    reply, _ = wechat.say(owner, "物业电话多少")
    assert "电话" in reply and ASK_WHAT in reply  # answered, then asked again
    reply, _ = wechat.say(owner, "讲个笑话")
    assert "帮不上忙" in reply and ASK_WHAT in reply
    reply, _ = wechat.say(owner, "楼上每天半夜拖椅子 吵得睡不着")
    assert ASK_WHERE in reply  # the real answer: on to the next question
    reply, _ = wechat.say(owner, "讲个笑话")
    assert "帮不上忙" in reply and ASK_WHERE in reply  # declined again, not left: the answer reset the count
    reply, _ = wechat.say(owner, "不办了")
    assert "先不登记投诉" in reply
    assert rows(db_session, Ticket, openid=owner) == []


def test_off_topic_twice_leaves_a_complaint(wechat, db_session):
    owner = new_owner(wechat.mode)
    wechat.say(owner, "我要投诉")
    assert ASK_WHAT in wechat.say(owner, "讲个笑话")[0]
    reply, _ = wechat.say(owner, "明天会下雨吗")
    assert "投诉我先帮您停在这里" in reply
    reply, _ = wechat.say(owner, "物业电话多少")
    assert "电话" in reply and ASK_WHAT not in reply  # the form is gone
    assert rows(db_session, Ticket, openid=owner) == []


def test_a_decoration_application_survives_questions_then_is_cancelled(wechat, db_session):
    owner = new_owner(wechat.mode)
    assert "绑定成功" in wechat.say(owner, "绑定 12-1102 13800001003")[0]  # 王芳, 12栋1102
    reply, _ = wechat.say(owner, "我要装修")
    assert "做哪些项目" in reply
    reply, _ = wechat.say(owner, "装修押金多少")
    assert "押金" in reply and "做哪些项目" in reply
    reply, _ = wechat.say(owner, "物业电话多少")
    assert "电话" in reply and "做哪些项目" in reply
    reply, _ = wechat.say(owner, "算了")
    assert "装修申请先不提交了" in reply
    assert rows(db_session, RenovationApplication, openid=owner) == []


def test_a_binding_waiting_for_its_answer_survives_a_question_then_off_topic_twice_leaves(wechat):
    owner = new_owner(wechat.mode)
    assert "房号和在物业登记的手机号" in wechat.say(owner, "绑定房屋")[0]
    reply, _ = wechat.say(owner, "物业电话多少")
    assert "电话" in reply and "接着帮您绑定房屋" in reply
    reply, _ = wechat.say(owner, "讲个笑话")
    assert "帮不上忙" in reply and "接着帮您绑定房屋" in reply
    reply, _ = wechat.say(owner, "明天会下雨吗")
    assert "房屋绑定我先帮您停在这里" in reply
    reply, _ = wechat.say(owner, "物业电话多少")
    assert "接着帮您绑定房屋" not in reply
